//! A cancellation token: a shared flag a job polls between steps.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A flag that says a job should stop. Clones share it; cancelling is
/// one-way and idempotent. No async runtime: a job polls
/// [`is_cancelled`](Self::is_cancelled) (one atomic load) between steps and
/// ends its own work cleanly; a token frees nothing by itself.
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
    cancelled: Arc<AtomicBool>,
}

impl CancelToken {
    /// A token not cancelled yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every holder to stop. Returns whether this call cancelled it
    /// (false if it already was).
    pub fn cancel(&self) -> bool {
        !self.cancelled.swap(true, Ordering::Release)
    }

    /// Whether the token was cancelled.
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Whether `self` and `other` are clones of one token.
    pub fn same_as(&self, other: &CancelToken) -> bool {
        Arc::ptr_eq(&self.cancelled, &other.cancelled)
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}
