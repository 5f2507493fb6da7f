//! A tower [`Layer`](tower_layer::Layer) that sheds requests under memory
//! pressure (feature `tower`; HTTP responses with feature `http`).
//!
//! [`MemoryShedLayer`] decides in `call`, never in `poll_ready`: its
//! `poll_ready` passes the inner service's readiness through and never
//! waits on memory, so a server answers a refusal at once instead of
//! queueing the request. For each request it:
//!
//! 1. lets it through untouched when the [bypass](MemoryShedLayer::bypass)
//!    predicate says so (health checks, metrics scrapes: never shed);
//! 2. asks the [estimator](MemoryShedLayer::estimate) how many bytes the
//!    request will need; an estimate at or above the breaker's trip line
//!    could never be granted, even with nothing else running, and is refused
//!    at once as [`RefusalKind::TooLarge`] (HTTP 413);
//! 3. reserves the estimate in the breaker ([`MemoryBreaker::try_reserve`]),
//!    or, for an estimate of 0, runs [`MemoryBreaker::check`]; a refusal is
//!    [`RefusalKind::Overloaded`] (HTTP 503 with `Retry-After`, gRPC
//!    `RESOURCE_EXHAUSTED`);
//! 4. calls the inner service and holds the reservation for the whole
//!    request: with [`MemoryShedLayer::http`], until the response body has
//!    ended or been dropped (a client that leaves mid-stream), the body
//!    being a [`ShedBody`]; otherwise until the response future completes
//!    or is dropped. With
//!    [`request_accounts`](MemoryShedLayer::request_accounts) the call,
//!    every poll of the response future and (with `http`) every poll of the
//!    response body run inside the request's own [`Account`], which the
//!    handler reads with [`Account::current`] (to hand it to the threads
//!    that do its work, for instance). A request body the handler reads in
//!    its future is read inside the account too; one that the server reads
//!    before calling the service (hyper's own buffers) is not.
//!
//! # Queued work sheds first (feature `http`)
//! An admitted request waits until its handler starts its work: it gets a
//! [`RequestAdmission`] in its extensions and starts when the handler calls
//! [`RequestAdmission::start`] or registers its job with the admission's
//! [token](RequestAdmission::token). Past the breaker's cancel line, waiting
//! requests are cancelled first, largest first (their reservations and what
//! their accounts hold), until that brings the reading under the line, and
//! answered 503 with `Retry-After` ([`BreakerEvent::WaitingShed`](crate::BreakerEvent::WaitingShed));
//! no job is cancelled for the breaker's grace period after. New requests
//! are refused first of all: the breaker refuses from its trip line.
//! [`ShedStats::waiting`] counts them.
//!
//! Estimate, then break: admission by a reading alone cannot keep a budget
//! when forty requests arrive together while usage is still low; each
//! reservation is a compare-and-swap against the room left, so together the
//! admitted estimates never pass the trip line.
//!
//! A refusal is answered before the request's body is read. A server that
//! then closes the connection with the body unread makes the kernel reset
//! it: the client's upload fails with a broken pipe, and the reset can
//! destroy the 413 or 503 before the client reads it (hyper closes so; see
//! hyperium/hyper#2384 and #3078). Serve the layer with a lingering close:
//! close the write side, then read and discard what the client still sends
//! for a bounded time (RFC 9112, section 9.6; nginx's `lingering_close`), as
//! the demo's `serve` does.
//!
//! ```
//! use std::sync::Arc;
//! use heapguard_breaker::service::{BoxError, MemoryShedLayer, RefusalKind, Refused};
//! use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};
//! use heapguard_breaker::testing::ManualSource;
//! use tower_layer::Layer;
//! use tower_service::Service;
//!
//! # #[derive(Clone)] struct Echo;
//! # impl Service<u64> for Echo {
//! #     type Response = u64;
//! #     type Error = std::convert::Infallible;
//! #     type Future = std::future::Ready<Result<u64, std::convert::Infallible>>;
//! #     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
//! #         std::task::Poll::Ready(Ok(()))
//! #     }
//! #     fn call(&mut self, bytes: u64) -> Self::Future { std::future::ready(Ok(bytes)) }
//! # }
//! // A 1000-byte budget: the trip line is at 800 bytes.
//! let breaker = Arc::new(MemoryBreaker::new(
//!     BreakerConfig::new(Budget::Bytes(1000)).source(ManualSource::new(0)),
//! )?);
//! // Each request (here a number) is estimated to need that many bytes.
//! let mut service = MemoryShedLayer::new(breaker.clone())
//!     .estimate(|bytes: &u64| *bytes)
//!     .layer(Echo);
//!
//! let held = service.call(500); // admitted: 500 bytes reserved until it completes
//! assert_eq!(breaker.reserved(), 500);
//! let shed = service.call(400); // 900 would pass the trip line
//! let too_large = service.call(5000); // could never fit
//! # fn block<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
//! #         std::task::Poll::Ready(out) => out,
//! #         std::task::Poll::Pending => unreachable!(),
//! #     }
//! # }
//! let refusal = |result: Result<u64, BoxError>| result.unwrap_err().downcast::<Refused>().unwrap();
//! assert_eq!(refusal(block(shed)).kind(), RefusalKind::Overloaded);
//! assert_eq!(refusal(block(too_large)).kind(), RefusalKind::TooLarge);
//! assert_eq!(block(held).unwrap(), 500);
//! assert_eq!(breaker.reserved(), 0, "released when the response completed");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Errors and responses
//! By default the service's error is a [`BoxError`] and a refusal is a
//! [`Refused`] inside it: downcast it, answer
//! [`Refused::grpc_code`] (`RESOURCE_EXHAUSTED`) from a gRPC service, or
//! [`Refused::http_status`] from anything else. With the `http` feature,
//! [`MemoryShedLayer::http`] makes a service over `http::Request` that
//! answers refusals itself: 503 with `Retry-After` (whole seconds, rounded
//! up), or 413, with an empty body; its error is the inner service's, so it
//! fits around an axum `Router` (see below) as well as in `Router::layer`.
//!
//! # What it counts
//! [`ShedStats`] (from [`MemoryShedLayer::stats`]) counts admitted, shed,
//! too-large and bypassed requests across every clone of the layer and the
//! services it built, and reads the requests in flight and the bytes they
//! hold reserved.
//!
//! # What it costs per request
//! With [`MemoryShedLayer::http`], an admitted request costs the layer one
//! allocation (its place among the waiting requests, which its
//! [`RequestAdmission`] shares), the admission's box in the request's
//! extensions, one uncontended lock (registering it) and a few atomic
//! operations; starting it and ending it take no lock, and its token is made
//! only if someone asks for it. Without `http` there is no admission, and an
//! admitted request allocates nothing in the layer (a
//! [request account](MemoryShedLayer::request_accounts) is the allocator's:
//! one per request).
//!
//! # With axum: around the whole router, not `Router::layer`
//! Put the layer around the whole router (`tower_layer::Layer::layer(&layer,
//! router)`, served with hyper-util's `TowerToHyperService`; the example is
//! on [`MemoryShedLayer::http`]). axum's `Router::layer` wraps every route in
//! a second boxed route: per request a second clone of the boxed route
//! service, a second boxed future, and the response body boxed into axum's
//! `Body`: three allocations per request on top of the layer's own three
//! (the test `service_router` counts both; the service benchmark, whose
//! requests come from hyper, counts four), and the futures moved once more. Around
//! the router, the layer sees each request before routing: its bypass and
//! estimator read the full path and the method, and a path the router does
//! not know (404) or a method a route does not take (405) is the bypass's
//! to let through.
//!
//! On the service benchmark (`REQUESTS=400 CONFIGS="counting counting+layer
//! counting+layer+accounts" benches/service_instructions.sh`, cachegrind,
//! one request at a time; a 2-vCPU build VM), the layer cost about 3,050
//! instructions per request over the counting allocator alone in
//! `Router::layer` and 1,980 around the router, 6,700 and 3,720 with
//! request accounts; its allocator calls per request were 14 and 6.
//!
//! # Do not put tower's `LoadShed` above a `Buffer`
//! tower's `Buffer` reports not-ready when its worker's channel is full,
//! and also when tokio's cooperative budget runs out in the task polling
//! it; `LoadShed` turns any not-ready into an overload error. Stacked above
//! a `Buffer`, it sheds requests with no memory pressure at all (reproduced
//! without heapguard in the stack). This layer never waits in `poll_ready`
//! and sheds on memory alone, so `LoadShed` is not needed for memory; if
//! you shed for concurrency too, put `LoadShed` with a `ConcurrencyLimit`
//! directly below it, not above a `Buffer`.

#[cfg(feature = "http")]
mod admission;
#[cfg(feature = "http")]
mod body;
mod error;
mod future;
mod hold;
#[cfg(feature = "http")]
mod http;
mod layer;
mod stats;

#[cfg(feature = "http")]
pub use admission::RequestAdmission;
#[cfg(feature = "http")]
pub use body::ShedBody;
pub use error::{BoxError, RefusalKind, Refused, GRPC_RESOURCE_EXHAUSTED};
pub use future::ResponseFuture;
#[cfg(feature = "http")]
pub use http::{content_length, HttpResponseFuture};
#[cfg(feature = "http")]
pub use layer::Http;
pub use layer::{
    Bypass, Errors, Estimate, MemoryShed, MemoryShedLayer, NoBypass, NoEstimate,
    DEFAULT_RETRY_AFTER,
};
pub use stats::ShedStats;

#[allow(unused_imports)] // for the docs
use crate::MemoryBreaker;
#[allow(unused_imports)] // for the docs
use heapguard_alloc::Account;
