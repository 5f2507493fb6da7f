//! The response futures: the inner call run in the request's account,
//! holding its reservation until it ends.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use heapguard_alloc::{Account, Scoped};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::error::{BoxError, Refused};
use super::hold::{Admission, Hold};

pin_project! {
    /// The inner service's future for an admitted (or bypassed) request.
    pub(crate) struct Admitted<F> {
        #[pin]
        call: Call<F>,
        // Released when `call` completes (or handed to the response body);
        // declared after it so that, when the future is dropped before
        // that, it is dropped after the work it stands for.
        hold: Option<Hold>,
        account: Option<Account>,
    }
}

pin_project! {
    #[project = CallProjection]
    enum Call<F> {
        Plain { #[pin] future: F },
        InAccount { #[pin] future: Scoped<F> },
    }
}

impl<F: Future> Admitted<F> {
    /// Calls `inner` inside the admission's account (if any).
    pub(crate) fn call<S, Req>(inner: &mut S, request: Req, admission: Admission) -> Self
    where
        S: Service<Req, Future = F>,
    {
        let Admission { account, hold } = admission;
        let call = match account.clone() {
            Some(account) => {
                let future = {
                    let _inside = account.enter();
                    inner.call(request)
                };
                Call::InAccount {
                    future: account.scope(future),
                }
            }
            None => Call::Plain {
                future: inner.call(request),
            },
        };
        Self {
            call,
            hold: Some(hold),
            account,
        }
    }

    /// Polls the call; once it is ready, hands over what the request holds
    /// and its account (to the response body, which keeps them to its end).
    #[cfg(feature = "http")]
    pub(crate) fn poll_handing_over(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<(F::Output, Option<Hold>, Option<Account>)> {
        let this = self.project();
        let output = match this.call.project() {
            CallProjection::Plain { future } => future.poll(cx),
            CallProjection::InAccount { future } => future.poll(cx),
        };
        if let Some(hold) = this.hold.as_mut() {
            hold.settle();
        }
        output.map(|output| (output, this.hold.take(), this.account.take()))
    }
}

impl<F: Future> Future for Admitted<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let output = match this.call.project() {
            CallProjection::Plain { future } => future.poll(cx),
            CallProjection::InAccount { future } => future.poll(cx),
        };
        if output.is_ready() {
            // The work is done: its memory is in the reading now, or freed.
            drop(this.hold.take());
        } else if let Some(hold) = this.hold.as_mut() {
            hold.settle();
        }
        output
    }
}

pin_project! {
    /// The response future of [`MemoryShed`](super::MemoryShed): a refusal
    /// ready at once, or the inner service's future.
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<F> {
        Refused { refused: Option<Refused> },
        Admitted { #[pin] future: Admitted<F> },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn admitted(future: Admitted<F>) -> Self {
        Self {
            state: State::Admitted { future },
        }
    }

    pub(crate) fn refused(refused: Refused) -> Self {
        Self {
            state: State::Refused {
                refused: Some(refused),
            },
        }
    }
}

impl<F, T, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Refused { refused } => match refused.take() {
                Some(refused) => Poll::Ready(Err(Box::new(refused))),
                None => panic!("ResponseFuture polled after it completed"),
            },
            StateProjection::Admitted { future } => future.poll(cx).map_err(Into::into),
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
