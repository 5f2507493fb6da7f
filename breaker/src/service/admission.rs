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

use crate::jobs::WaitingTicket;
use crate::primitive::Mutex;
use crate::sync::lock;
use crate::CancelToken;

/// An admitted request's handle, in its `http::Request` extensions (axum:
/// `Extension<RequestAdmission>`). Cheap to clone.
#[derive(Clone, Debug)]
pub struct RequestAdmission {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    ticket: WaitingTicket,
    token: CancelToken,
    /// The response future's waker while the request waits, woken by a cancel.
    waker: Mutex<Option<Waker>>,
}

impl RequestAdmission {
    pub(crate) fn new(ticket: WaitingTicket, token: CancelToken) -> Self {
        let shared = Arc::new(Shared {
            ticket,
            token: token.clone(),
            waker: Mutex::new(None),
        });
        let weak = Arc::downgrade(&shared);
        token.on_cancel(move || {
            if let Some(shared) = weak.upgrade() {
                if let Some(waker) = lock(&shared.waker).take() {
                    waker.wake();
                }
            }
        });
        Self { shared }
    }

    /// The request has started its work: from now on the breaker does not
    /// shed it as waiting (a job it registers may still be cancelled past
    /// the cancel line, as any job).
    pub fn start(&self) {
        self.shared.ticket.start();
    }

    /// Whether it started.
    pub fn is_started(&self) -> bool {
        self.shared.ticket.is_started()
    }

    /// The request's token: cancelled when the breaker sheds it while it
    /// waits. Register the request's job with it
    /// ([`MemoryBreaker::register_job`](crate::MemoryBreaker::register_job))
    /// and the request starts.
    pub fn token(&self) -> &CancelToken {
        &self.shared.token
    }

    /// Shed while waiting: the token is cancelled and it never started.
    pub(crate) fn shed(&self) -> bool {
        !self.is_started() && self.shared.token.is_cancelled()
    }

    /// Remembers the waker to wake when the request is shed.
    pub(crate) fn wake_on_shed(&self, waker: &Waker) {
        let mut slot = lock(&self.shared.waker);
        if !slot.as_ref().is_some_and(|old| old.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }
}
