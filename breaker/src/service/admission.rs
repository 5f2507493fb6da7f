//! Admitted requests that have not started (feature `http`): queued work,
//! shed first past the breaker's cancel line.
//!
//! The layer inserts a [`RequestAdmission`] into each admitted request's
//! extensions and registers the request with its breaker as waiting. It
//! starts when its handler calls [`RequestAdmission::start`] or registers
//! its job with [`RequestAdmission::token`]
//! ([`MemoryBreaker::register_job`](crate::MemoryBreaker::register_job)).
//! Past the cancel line the breaker cancels waiting requests, largest
//! first (reservation plus what the request's account holds, a buffered
//! body say), until they hold enough to bring the reading under the line,
//! before it cancels any job; each is answered 503 with `Retry-After` and
//! its handler's future is dropped.

use std::sync::Arc;
use std::task::Waker;

use crate::jobs::WaitingRequest;
use crate::CancelToken;

/// An admitted request's handle, in its `http::Request` extensions (axum:
/// `Extension<RequestAdmission>`). Cheap to clone (an `Arc`); the request
/// stops waiting when the last clone is dropped, if it has not started.
///
/// One allocation per request, shared with the breaker's registry of
/// waiting requests; its [token](Self::token) is made the first time it is
/// asked for (by the handler, or by the breaker when it sheds the request).
#[derive(Clone, Debug)]
pub struct RequestAdmission {
    shared: Arc<WaitingRequest>,
}

impl RequestAdmission {
    pub(crate) fn new(shared: Arc<WaitingRequest>) -> Self {
        Self { shared }
    }

    /// The request has started its work: from now on the breaker does not
    /// shed it as waiting (a job it registers may still be cancelled past
    /// the cancel line, as any job).
    pub fn start(&self) {
        self.shared.start();
    }

    /// Whether it started.
    pub fn is_started(&self) -> bool {
        self.shared.is_started()
    }

    /// The request's token: cancelled when the breaker sheds it while it
    /// waits. Register the request's job with it
    /// ([`MemoryBreaker::register_job`](crate::MemoryBreaker::register_job))
    /// and the request starts.
    pub fn token(&self) -> &CancelToken {
        self.shared.token()
    }

    /// Shed while waiting: the breaker shed it, or its token was cancelled
    /// before it started.
    pub(crate) fn shed(&self) -> bool {
        self.shared.is_shed()
    }

    /// Remembers the waker to wake when the request is shed.
    pub(crate) fn wake_on_shed(&self, waker: &Waker) {
        self.shared.wake_on_shed(waker);
    }
}
