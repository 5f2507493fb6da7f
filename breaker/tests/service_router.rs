//! The http layer put around a whole axum router (`Layer::layer(&layer,
//! router)`) against the same layer on its routes (`Router::layer`): the
//! same answers, the reservation held by the response body in both, and
//! three allocations fewer per admitted request around the whole router
//! (axum's second boxed route level: its boxed service's clone and its
//! boxed future, and the response body boxed into axum's `Body`; the
//! service benchmark, whose requests come from hyper, counts four).
#![cfg(all(feature = "tower", feature = "http"))]

use std::alloc::System;
use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use axum::body::{Body, Bytes};
use axum::routing::get;
use axum::{Extension, Router};
use heapguard_alloc::CountingAlloc;
use heapguard_breaker::service::{Http, MemoryShedLayer, RequestAdmission};
use heapguard_breaker::testing::ManualSource;
use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};
use http::{Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

/// What each `/work` request reserves until its response body ends.
const ESTIMATE: u64 = 100;

fn breaker() -> Arc<MemoryBreaker> {
    Arc::new(
        MemoryBreaker::new(
            BreakerConfig::new(Budget::Bytes(1 << 20))
                .source(ManualSource::new(0))
                .watch_cancel_line(false),
        )
        .expect("a breaker"),
    )
}

/// The layer of these tests: estimator and bypass as function pointers.
type HttpLayer = MemoryShedLayer<fn(&Request<Body>) -> u64, fn(&Request<Body>) -> bool, Http>;

/// The layer over `breaker`: `/work` reserves [`ESTIMATE`] bytes, every
/// other path bypasses it.
fn layer(breaker: &Arc<MemoryBreaker>) -> HttpLayer {
    let estimate: fn(&Request<Body>) -> u64 = |_| ESTIMATE;
    let bypass: fn(&Request<Body>) -> bool = |request| request.uri().path() != "/work";
    MemoryShedLayer::new(Arc::clone(breaker))
        .estimate(estimate)
        .bypass(bypass)
        .http()
}

/// `/work` starts its request and answers a short text; `/health` answers
/// without an admission. With its state given (`with_state`), as a server
/// serves it: its handlers are made routes once, not per request.
fn routes() -> Router {
    Router::new()
        .route(
            "/work",
            get(
                |admission: Option<Extension<RequestAdmission>>| async move {
                    if let Some(Extension(admission)) = admission {
                        admission.start();
                    }
                    "done"
                },
            ),
        )
        .route("/health", get(|| async { "ok" }))
        .with_state(())
}

fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the service did not answer at once"),
    }
}

/// Calls `service` once with `GET path`; returns the status, whether the
/// body held the reservation while unread, and the body's text, read to
/// its end.
fn serve<S, B>(service: &mut S, path: &str, breaker: &MemoryBreaker) -> (StatusCode, bool, String)
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Debug,
{
    let request = Request::get(path).body(Body::empty()).expect("a request");
    let response = ready(service.call(request)).expect("infallible");
    let status = response.status();
    let held = breaker.reserved() == ESTIMATE;
    let mut body = response.into_body();
    let mut text = Vec::new();
    while let Some(frame) = ready(std::future::poll_fn(|cx| {
        std::pin::Pin::new(&mut body).poll_frame(cx)
    })) {
        if let Ok(data) = frame.expect("a frame").into_data() {
            text.extend_from_slice(&data);
        }
    }
    drop(body);
    (status, held, String::from_utf8(text).expect("text"))
}

#[test]
fn around_the_router_or_on_its_routes_the_layer_answers_alike() {
    let breaker = breaker();
    let mut whole = layer(&breaker).layer(routes());
    let mut on_routes = routes().layer(layer(&breaker));
    for (path, status, text) in [
        ("/work", StatusCode::OK, "done"),
        ("/health", StatusCode::OK, "ok"),
    ] {
        let reserved = path == "/work";
        assert_eq!(
            serve(&mut whole, path, &breaker),
            (status, reserved, text.to_owned()),
            "{path} around the router"
        );
        assert_eq!(
            serve(&mut on_routes, path, &breaker),
            (status, reserved, text.to_owned()),
            "{path} on the routes"
        );
        assert_eq!(breaker.reserved(), 0, "released at the body's end");
    }
    // A path the router does not know: 404 either way (the bypass lets it
    // through).
    assert_eq!(
        serve(&mut whole, "/nowhere", &breaker).0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        serve(&mut on_routes, "/nowhere", &breaker).0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(breaker.reserved(), 0);
    assert_eq!(breaker.requests_waiting(), 0);
}

const REQUESTS: u64 = 100;

/// Allocations and frees of [`REQUESTS`] admitted `/work` requests through
/// `service`, after a warm-up.
fn allocations<S, B>(service: &mut S, breaker: &MemoryBreaker) -> (u64, u64)
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Debug,
{
    // The registry's list of waiting requests reaches its size.
    for _ in 0..20 {
        serve(service, "/work", breaker);
    }
    let ((), measured) = heapguard_alloc::measure(|| {
        for _ in 0..REQUESTS {
            serve(service, "/work", breaker);
        }
    });
    (measured.allocations, measured.deallocations)
}

#[test]
fn around_the_whole_router_an_admitted_request_costs_three_allocations_fewer() {
    let breaker = breaker();
    let (bare, _) = allocations(&mut routes(), &breaker);
    let (whole, whole_freed) = allocations(&mut layer(&breaker).layer(routes()), &breaker);
    let (on_routes, on_routes_freed) = allocations(&mut routes().layer(layer(&breaker)), &breaker);
    assert_eq!(
        on_routes - whole,
        3 * REQUESTS,
        "{bare} bare, {whole} around the router, {on_routes} on its routes"
    );
    // Both free what they allocate (the registry's entries in batches).
    let fewer_freed = on_routes_freed.abs_diff(whole_freed + 3 * REQUESTS);
    assert!(fewer_freed <= 10, "{on_routes_freed} against {whole_freed}");
    // The layer's own: the waiting request, the admission's box in the
    // extensions, and their table growing past 3 entries (axum's
    // `OriginalUri`, `MatchedPath` and URL parameters, and the admission).
    assert_eq!(whole - bare, 3 * REQUESTS, "{whole} against {bare}");
    assert_eq!(breaker.reserved(), 0);
}
