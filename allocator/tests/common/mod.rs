//! Helpers shared by the integration-test binaries that include this module.

use std::sync::{Condvar, Mutex};

/// Holds threads until it is opened (`true`) or they are sent home
/// (`false`). Unlike a `Barrier`, it can release the threads already waiting
/// when a later one fails to start, so a failed spawn fails the test instead
/// of hanging it.
#[derive(Default)]
pub struct Gate {
    state: Mutex<Option<bool>>,
    changed: Condvar,
}

impl Gate {
    /// Opens the gate (`true`) or sends every waiting thread home (`false`).
    pub fn set(&self, open: bool) {
        *self.state.lock().unwrap() = Some(open);
        self.changed.notify_all();
    }

    /// A guard that sends the waiting threads home when it is dropped before
    /// the gate was set: keep one alive across the code that waits for the
    /// threads, so a failed assertion there ends the test instead of leaving
    /// a scope waiting forever for threads held at the gate.
    pub fn send_home_on_exit(&self) -> SendHomeOnExit<'_> {
        SendHomeOnExit(self)
    }

    /// Waits until the gate is set; true when it opened.
    pub fn wait_open(&self) -> bool {
        let mut state = self.state.lock().unwrap();
        loop {
            match *state {
                Some(open) => return open,
                None => state = self.changed.wait(state).unwrap(),
            }
        }
    }
}

/// See [`Gate::send_home_on_exit`].
pub struct SendHomeOnExit<'a>(&'a Gate);

impl Drop for SendHomeOnExit<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.is_none() {
            *state = Some(false);
            self.0.changed.notify_all();
        }
    }
}
