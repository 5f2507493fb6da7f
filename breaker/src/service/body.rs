//! The response body of an admitted request (feature `http`): it holds the
//! request's reservation and its place among the requests in flight until
//! the body has ended or been dropped (a client that leaves mid-stream), and
//! polls the inner body inside the request's account.

use std::pin::Pin;
use std::task::{Context, Poll};

use heapguard_alloc::Account;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::hold::Hold;

pin_project! {
    /// The body of a response from [`MemoryShedLayer::http`](super::MemoryShedLayer::http):
    /// the inner service's body, holding the request's reservation until
    /// its last frame is polled, it fails, or it is dropped, and polled
    /// inside the request's [account](super::MemoryShedLayer::request_accounts)
    /// (so bytes it allocates while streaming are the request's). A refusal's
    /// body, and a bypassed request's, hold nothing.
    pub struct ShedBody<B> {
        #[pin]
        inner: B,
        hold: Option<Hold>,
        account: Option<Account>,
    }
}

impl<B> ShedBody<B> {
    pub(crate) fn new(inner: B, hold: Option<Hold>, account: Option<Account>) -> Self {
        Self {
            inner,
            hold,
            account,
        }
    }

    /// Whether the body still holds its request's reservation (it has not
    /// ended).
    pub fn holds_reservation(&self) -> bool {
        self.hold
            .as_ref()
            .is_some_and(|hold| hold.reservation.is_some())
    }

    /// The inner body, by reference.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }

    /// The inner body (dropping the hold: the reservation is released).
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: Default> Default for ShedBody<B> {
    fn default() -> Self {
        Self::new(B::default(), None, None)
    }
}

impl<B: Body> Body for ShedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = match this.account.as_ref() {
            Some(account) => {
                let _inside = account.enter();
                this.inner.poll_frame(cx)
            }
            None => this.inner.poll_frame(cx),
        };
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            // The body ended (or failed): what it was estimated to need is
            // allocated by now, or freed.
            drop(this.hold.take());
        } else if let Some(hold) = this.hold.as_mut() {
            hold.settle();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> std::fmt::Debug for ShedBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShedBody")
            .field("holds_reservation", &self.holds_reservation())
            .finish_non_exhaustive()
    }
}
