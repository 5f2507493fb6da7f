//! A cancellation token: a shared flag a job polls between steps, and the
//! callbacks that run when it is cancelled.

use std::fmt;

use crate::primitive::{Arc, AtomicBool, Mutex, MutexGuard, Ordering};
use heapguard_reading::caught::run_caught;

type Callback = Box<dyn FnOnce() + Send + 'static>;

/// A flag that says a job should stop. Clones share it; cancelling is
/// one-way and idempotent. No async runtime: a job polls
/// [`is_cancelled`](Self::is_cancelled) (one atomic load) between steps and
/// ends its own work cleanly; a token frees nothing by itself.
///
/// [`on_cancel`](Self::on_cancel) adds a callback run once at the cancel
/// (to abort a task, wake a waiting future, close a stream).
///
/// ```
/// use heapguard_breaker::CancelToken;
/// let token = CancelToken::new();
/// let job = token.clone();
/// assert!(!job.is_cancelled());
/// token.cancel();
/// assert!(job.is_cancelled());
/// ```
#[derive(Clone, Default)]
pub struct CancelToken {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    cancelled: AtomicBool,
    callbacks: Mutex<Vec<Callback>>,
}

impl CancelToken {
    /// A token not cancelled yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every holder to stop and runs the [`on_cancel`](Self::on_cancel)
    /// callbacks. Returns whether this call cancelled it (false if it
    /// already was). Only the call that returns true runs the callbacks,
    /// and they have all run when it returns; a call that returns false
    /// returns at once, possibly while another thread's call is still
    /// running them.
    ///
    /// Every callback runs even if one panics; the first panic is then
    /// raised again here. (When the breaker cancels a job, it catches that
    /// panic and reports it as [`BreakerEvent::CallbackPanicked`](crate::BreakerEvent::CallbackPanicked).)
    pub fn cancel(&self) -> bool {
        let (cancelled, panic) = self.cancel_caught();
        if let Some(message) = panic {
            std::panic::panic_any(message);
        }
        cancelled
    }

    /// [`cancel`](Self::cancel), with the first callback's panic message
    /// returned instead of raised.
    pub(crate) fn cancel_caught(&self) -> (bool, Option<String>) {
        if !self.mark_cancelled() {
            return (false, None);
        }
        (true, self.run_callbacks())
    }

    /// Sets the flag; true if this call set it. The callbacks are run by
    /// [`run_callbacks`](Self::run_callbacks), which the breaker calls
    /// after letting go of its jobs' lock (a callback may end a job, and
    /// ending a job deregisters it under that lock).
    pub(crate) fn mark_cancelled(&self) -> bool {
        !self.shared.cancelled.swap(true, Ordering::AcqRel)
    }

    /// Runs the callbacks added so far (each once), catching panics; the
    /// first panic's message.
    pub(crate) fn run_callbacks(&self) -> Option<String> {
        let callbacks = std::mem::take(&mut *self.lock());
        let mut first = None;
        for callback in callbacks {
            if let Err(message) = run_caught(callback) {
                first.get_or_insert(message);
            }
        }
        first
    }

    /// Whether the token was cancelled.
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.shared.cancelled.load(Ordering::Acquire)
    }

    /// Runs `callback` once when the token is cancelled, on the thread that
    /// cancels it (the breaker's refresher thread when the breaker does), or
    /// at once here if it already is. Keep it short: abort a task, send on a
    /// channel.
    ///
    /// ```
    /// use heapguard_breaker::CancelToken;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    /// let token = CancelToken::new();
    /// let stopped = Arc::new(AtomicBool::new(false));
    /// let flag = stopped.clone();
    /// token.on_cancel(move || flag.store(true, Ordering::SeqCst));
    /// token.cancel();
    /// assert!(stopped.load(Ordering::SeqCst));
    /// ```
    pub fn on_cancel(&self, callback: impl FnOnce() + Send + 'static) {
        let mut callbacks = self.lock();
        // Checked under the lock: `cancel` sets the flag before it takes the
        // callbacks under the same lock, so none is left behind.
        if self.is_cancelled() {
            drop(callbacks);
            callback();
        } else {
            callbacks.push(Box::new(callback));
        }
    }

    /// Whether `self` and `other` are clones of one token.
    #[deprecated(note = "to be removed: keep the token you registered and compare your own ids")]
    #[doc(hidden)]
    pub fn same_as(&self, other: &CancelToken) -> bool {
        self.is(other)
    }

    /// Whether `self` and `other` are clones of one token.
    pub(crate) fn is(&self, other: &CancelToken) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Callback>> {
        self.shared
            .callbacks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn every_callback_runs_once_and_the_first_panic_is_reported() {
        let token = CancelToken::new();
        let ran = Arc::new(AtomicUsize::new(0));
        token.on_cancel(|| panic!("first"));
        let counter = ran.clone();
        token.on_cancel(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(token.cancel_caught(), (true, Some("first".to_owned())));
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        assert_eq!(token.cancel_caught(), (false, None), "callbacks run once");
        let counter = ran.clone();
        token.on_cancel(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(ran.load(Ordering::SeqCst), 2, "added after: runs at once");
    }
}
