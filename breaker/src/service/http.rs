//! Refusals as HTTP responses (feature `http`): 503 with `Retry-After`, or 413.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{HeaderValue, RETRY_AFTER};
use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::admission::RequestAdmission;
use super::body::ShedBody;
use super::error::{RefusalKind, Refused};
use super::future::Admitted;
use super::layer::{Bypass, Estimate, Http, MemoryShed};
use super::stats::ShedStats;

impl<S, E, B, ReqBody, ResBody> Service<Request<ReqBody>> for MemoryShed<S, E, B, Http>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    E: Estimate<Request<ReqBody>>,
    B: Bypass<Request<ReqBody>>,
    ResBody: Default,
{
    type Response = Response<ShedBody<ResBody>>;
    type Error = S::Error;
    type Future = HttpResponseFuture<S::Future, ResBody>;

    /// The inner service's readiness; never waits on memory.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        match self.policy.decide(&request) {
            Ok(admission) => {
                // Admitted (not bypassed): waiting until its handler starts.
                let waiting = admission.hold.in_flight().then(|| {
                    let reserved = admission
                        .hold
                        .reservation
                        .as_ref()
                        .map_or(0, |reservation| reservation.bytes());
                    let handle = RequestAdmission::new(self.policy.breaker.admit_waiting(
                        admission.account.clone(),
                        reserved,
                        self.policy.stats.waiting_counter(),
                    ));
                    request.extensions_mut().insert(handle.clone());
                    Waiting {
                        admission: handle,
                        retry_after: self.policy.retry_after,
                        stats: self.policy.stats.clone(),
                    }
                });
                HttpResponseFuture {
                    state: State::Admitted {
                        future: Admitted::call(&mut self.inner, request, admission),
                        waiting,
                    },
                }
            }
            Err(refused) => HttpResponseFuture {
                state: State::Refused {
                    response: Some(refusal_response(&refused)),
                },
            },
        }
    }
}

/// A request's declared body size, from its `Content-Length` header (0 when
/// absent or not a number): for an estimator that weighs what a request
/// declares, `.estimate(|request| content_length(request) + per_request)`.
/// A client can send less than it declares, never more (the server refuses
/// a longer body), so this bounds the body's own bytes.
pub fn content_length<B>(request: &Request<B>) -> u64 {
    request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

/// 503 with `Retry-After` in whole seconds (rounded up, at least 1), or 413.
fn refusal_response<B: Default>(refused: &Refused) -> Response<ShedBody<B>> {
    match refused.kind() {
        RefusalKind::Overloaded => overloaded_response(refused.retry_after().unwrap_or_default()),
        RefusalKind::TooLarge => {
            let mut response = Response::new(ShedBody::default());
            *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            response
        }
    }
}

/// 503 with `Retry-After` in whole seconds (rounded up, at least 1).
fn overloaded_response<B: Default>(retry_after: Duration) -> Response<ShedBody<B>> {
    let mut response = Response::new(ShedBody::default());
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response.headers_mut().insert(
        RETRY_AFTER,
        HeaderValue::from(retry_after_seconds(retry_after)),
    );
    response
}

/// `Retry-After` is whole seconds (RFC 9110 §10.2.3): round up, never 0.
fn retry_after_seconds(retry_after: Duration) -> u64 {
    let whole = retry_after.as_secs();
    let seconds = if retry_after.subsec_nanos() > 0 {
        whole.saturating_add(1)
    } else {
        whole
    };
    seconds.max(1)
}

pin_project! {
    /// The response future of [`MemoryShed`] with [`Http`] refusals.
    pub struct HttpResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<F, B> {
        Refused { response: Option<Response<ShedBody<B>>> },
        Admitted { #[pin] future: Admitted<F>, waiting: Option<Waiting> },
    }
}

/// An admitted request's place among the waiting ones.
struct Waiting {
    admission: RequestAdmission,
    retry_after: Duration,
    stats: ShedStats,
}

impl<F, B: Default, E> Future for HttpResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ShedBody<B>>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(response) = self.as_mut().respond_if_shed(None) {
            return Poll::Ready(Ok(response));
        }
        let polled = match self.as_mut().project().state.project() {
            StateProjection::Refused { response } => match response.take() {
                Some(response) => return Poll::Ready(Ok(response)),
                None => panic!("HttpResponseFuture polled after it completed"),
            },
            StateProjection::Admitted { future, .. } => {
                future.poll_handing_over(cx).map(|(output, hold, account)| {
                    // The body holds the reservation to its end; an error
                    // drops it here.
                    output.map(|response| response.map(|body| ShedBody::new(body, hold, account)))
                })
            }
        };
        if polled.is_pending() {
            // Still waiting after its handler ran (a handler that starts its
            // request at once never gets here): a shed must wake it. The waker
            // is stored first, then the shed checked again, so a shed between
            // the two is answered now rather than missed.
            if let Some(response) = self.respond_if_shed(Some(cx.waker())) {
                return Poll::Ready(Ok(response));
            }
        }
        polled
    }
}

impl<F, B: Default> HttpResponseFuture<F, B> {
    /// Shed while it waited: counts it, drops the handler's future (and with
    /// it the request's hold) and returns the 503 to answer. Otherwise, if it
    /// still waits, remembers `waker` (when given) for a shed to wake.
    fn respond_if_shed(
        self: Pin<&mut Self>,
        waker: Option<&std::task::Waker>,
    ) -> Option<Response<ShedBody<B>>> {
        let mut state = self.project().state;
        let StateProjection::Admitted {
            waiting: Some(waiting),
            ..
        } = state.as_mut().project()
        else {
            return None;
        };
        if let Some(waker) = waker {
            if !waiting.admission.is_started() {
                waiting.admission.wake_on_shed(waker);
            }
        }
        if !waiting.admission.shed() {
            return None;
        }
        waiting.stats.count_shed();
        let response = overloaded_response(waiting.retry_after);
        state.set(State::Refused { response: None });
        Some(response)
    }
}

impl<F, B> std::fmt::Debug for HttpResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpResponseFuture").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_is_the_declared_size_or_zero() {
        let with = |value: &str| {
            Request::post("/")
                .header("content-length", value)
                .body(())
                .unwrap()
        };
        assert_eq!(content_length(&with("1048576")), 1 << 20);
        assert_eq!(content_length(&with("x")), 0);
        assert_eq!(content_length(&with("-5")), 0);
        assert_eq!(content_length(&Request::post("/").body(()).unwrap()), 0);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_and_is_never_zero() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_seconds(Duration::from_secs(30)), 30);
    }
}
