//! Helpers shared by the integration-test binaries that include this module.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Condvar, Mutex};
use std::thread::{self, Scope, ScopedJoinHandle};

/// Holds threads until it is opened (`true`) or they are sent home
/// (`false`). Unlike a `Barrier`, it can release the threads already waiting
/// when a later one fails to start or an assertion fails, so a failure ends
/// the test instead of hanging it. Waiting allocates nothing.
#[derive(Default)]
pub struct Gate {
    state: Mutex<Option<bool>>,
    changed: Condvar,
    arrived: AtomicUsize,
}

impl Gate {
    /// Opens the gate (`true`) or sends every waiting thread home (`false`).
    pub fn set(&self, open: bool) {
        *self.state.lock().unwrap() = Some(open);
        self.changed.notify_all();
    }

    /// A guard that sends the waiting threads home when it is dropped before
    /// the gate was set: keep one alive across the code that waits for the
    /// threads.
    pub fn send_home_on_exit(&self) -> SendHomeOnExit<'_> {
        SendHomeOnExit(self)
    }

    /// Counts this thread in, then waits until the gate is set; true when
    /// it opened.
    pub fn arrive_and_wait(&self) -> bool {
        self.arrived.fetch_add(1, SeqCst);
        let mut state = self.state.lock().unwrap();
        loop {
            match *state {
                Some(open) => return open,
                None => state = self.changed.wait(state).unwrap(),
            }
        }
    }

    /// Waits until `threads` threads have arrived.
    pub fn wait_for_arrivals(&self, threads: usize) {
        while self.arrived.load(SeqCst) < threads {
            thread::yield_now();
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

/// Starts `threads` threads, all alive at once: each makes a counted
/// allocation (taking a counter slot, or finding none left), then waits at
/// `gate`, and runs `work` only if the gate opens. Returns once every thread
/// has arrived. Panics if a thread cannot start; hold a
/// [`Gate::send_home_on_exit`] guard so the others are let go.
pub fn spawn_all_alive<'scope, T, F>(
    scope: &'scope Scope<'scope, '_>,
    threads: usize,
    gate: &'scope Gate,
    work: &'scope F,
) -> Vec<ScopedJoinHandle<'scope, Option<T>>>
where
    F: Fn() -> T + Sync,
    T: Send + 'scope,
{
    let mut handles = Vec::with_capacity(threads);
    for _ in 0..threads {
        let spawned = thread::Builder::new()
            .stack_size(64 << 10)
            .spawn_scoped(scope, move || {
                drop(std::hint::black_box(Box::new(0u8)));
                gate.arrive_and_wait().then(work)
            });
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(error) => panic!("starting thread {} failed: {error}", handles.len()),
        }
    }
    gate.wait_for_arrivals(threads);
    handles
}
