//! The tower layer: decides in `call`, never in `poll_ready`; reserves each
//! request's estimate for its response's life; 503 with `Retry-After`, 413
//! for a request that could never fit; bypassed routes are never shed;
//! request accounts charge exactly what the request allocated.
#![cfg(all(feature = "tower", feature = "http"))]

mod common;

use std::alloc::System;
use std::convert::Infallible;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::two_workers;
use heapguard_alloc::{Account, CountingAlloc};
use heapguard_breaker::service::{
    MemoryShedLayer, RefusalKind, Refused, ShedStats, GRPC_RESOURCE_EXHAUSTED,
};
use heapguard_breaker::testing::ManualSource;
use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};
use http::{Request, Response, StatusCode};
use tokio::sync::Semaphore;
use tower_layer::Layer;
use tower_service::Service;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

/// A 1000-byte budget (trip line 800 bytes, reset below 700) over a settable reading.
fn breaker(memory: &ManualSource) -> Arc<MemoryBreaker> {
    Arc::new(
        MemoryBreaker::new(
            BreakerConfig::new(Budget::Bytes(1000))
                .name("requests")
                .min_state_duration(Duration::ZERO)
                .source(memory.clone()),
        )
        .expect("valid breaker"),
    )
}

/// Polls once with a waker that does nothing.
fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

fn ready<F: Future>(future: F) -> F::Output {
    match poll_once(pin!(future)) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future was expected to be ready at once"),
    }
}

/// An inner service whose readiness the test sets; answers `Ok(bytes)`.
#[derive(Clone)]
struct Gate {
    open: Arc<AtomicBool>,
}

impl Service<u64> for Gate {
    type Response = u64;
    type Error = Infallible;
    type Future = std::future::Ready<Result<u64, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if self.open.load(SeqCst) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    fn call(&mut self, bytes: u64) -> Self::Future {
        std::future::ready(Ok(bytes))
    }
}

#[test]
fn poll_ready_is_the_inner_readiness_and_never_waits_on_memory() {
    let memory = ManualSource::new(0);
    let breaker = breaker(&memory);
    let open = Arc::new(AtomicBool::new(true));
    let mut service = MemoryShedLayer::new(breaker.clone()).layer(Gate { open: open.clone() });
    let mut cx = Context::from_waker(Waker::noop());

    memory.set(1000); // 100% of the budget: the breaker refuses everything
    assert!(breaker.check().is_err());
    assert!(matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))));
    let refused = ready(service.call(1)).unwrap_err();
    let refused = refused.downcast::<Refused>().expect("a Refused");
    assert_eq!(refused.kind(), RefusalKind::Overloaded);
    assert_eq!(refused.http_status(), 503);
    assert_eq!(refused.grpc_code(), GRPC_RESOURCE_EXHAUSTED);
    assert_eq!(refused.retry_after(), Some(Duration::from_secs(1)));
    assert!(refused.tripped().is_some());
    assert!(refused
        .to_string()
        .contains("request shed under memory pressure"));

    open.store(false, SeqCst);
    memory.set(0);
    assert!(
        service.poll_ready(&mut cx).is_pending(),
        "inner not ready: not ready"
    );
}

/// An HTTP handler that holds each admitted request until the test lets it
/// go, and tells the test it started.
#[derive(Clone)]
struct Held {
    release: Arc<Semaphore>,
}

impl Service<Request<()>> for Held {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<String>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: Request<()>) -> Self::Future {
        let release = self.release.clone();
        Box::pin(async move {
            let _permit = release.acquire().await.expect("semaphore open");
            Ok(Response::new("done".to_owned()))
        })
    }
}

/// The estimate a request carries in its `x-estimate` header (0 without one).
fn estimate_header(request: &Request<()>) -> u64 {
    request
        .headers()
        .get("x-estimate")
        .and_then(|value| value.to_str().ok()?.parse().ok())
        .unwrap_or(0)
}

fn is_health_check(request: &Request<()>) -> bool {
    request.uri().path() == "/healthz"
}

type HttpLayer = MemoryShedLayer<
    fn(&Request<()>) -> u64,
    fn(&Request<()>) -> bool,
    heapguard_breaker::service::Http,
>;

/// Requests carry their estimate in an `x-estimate` header; `/healthz` is never shed.
fn http_layer(breaker: Arc<MemoryBreaker>) -> HttpLayer {
    MemoryShedLayer::new(breaker)
        .estimate(estimate_header as fn(&Request<()>) -> u64)
        .bypass(is_health_check as fn(&Request<()>) -> bool)
        .retry_after(Duration::from_millis(1500))
        .http()
}

fn request(path: &str, estimate: u64) -> Request<()> {
    Request::builder()
        .uri(path)
        .header("x-estimate", estimate)
        .body(())
        .expect("valid request")
}

#[test]
fn a_burst_at_low_usage_is_admitted_only_as_far_as_the_estimates_fit() {
    const BURST: usize = 40;
    let runtime = two_workers();
    let memory = ManualSource::new(0);
    let breaker = breaker(&memory);
    let layer = http_layer(breaker.clone());
    let stats: ShedStats = layer.stats();
    let release = Arc::new(Semaphore::new(0));
    let service = layer.layer(Held {
        release: release.clone(),
    });

    // 40 requests of 100 bytes each arrive together while usage reads 0:
    // reservations admit 7 (700 bytes; an 8th would reach the 800-byte trip line).
    let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel();
    let responses = runtime.block_on(async {
        let tasks: Vec<_> = (0..BURST)
            .map(|_| {
                let mut service = service.clone();
                let started = started_tx.clone();
                tokio::spawn(async move {
                    std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
                    let response = service.call(request("/suggestions", 100));
                    let _ = started.send(());
                    response.await
                })
            })
            .collect();
        for _ in 0..BURST {
            started_rx.recv().await.expect("every task calls");
        }
        // All 40 calls were made: the admitted ones hold their reservations.
        assert_eq!(breaker.reserved(), 700);
        release.add_permits(BURST);
        let mut responses = Vec::new();
        for task in tasks {
            responses.push(task.await.expect("task").expect("infallible"));
        }
        responses
    });
    let ok = responses
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    let shed: Vec<_> = responses
        .iter()
        .filter(|r| r.status() == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert_eq!(ok, 7);
    assert_eq!(shed.len(), BURST - 7);
    for response in &shed {
        assert_eq!(response.headers()["retry-after"], "2", "1.5 s rounds up");
        assert!(response.body().get_ref().is_empty());
    }
    assert_eq!(
        (stats.admitted(), stats.shed(), stats.too_large()),
        (7, 33, 0)
    );
    // The 7 bodies, not read yet, hold their requests' reservations.
    assert_eq!(breaker.reserved(), 700);
    assert_eq!((stats.in_flight(), stats.reserved_bytes()), (7, 700));
    drop(responses);
    assert_eq!(breaker.reserved(), 0, "every reservation went back");
    assert_eq!((stats.in_flight(), stats.reserved_bytes()), (0, 0));
}

#[test]
fn a_request_that_could_never_fit_is_413_at_once_even_when_idle() {
    let memory = ManualSource::new(0);
    let breaker = breaker(&memory);
    let layer = http_layer(breaker.clone());
    let mut service = layer.layer(Held {
        release: Arc::new(Semaphore::new(10)),
    });
    for estimate in [800, 1000, 5000, u64::MAX] {
        let response = ready(service.call(request("/suggestions", estimate))).unwrap();
        assert_eq!(
            response.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "{estimate}"
        );
        assert!(response.headers().get("retry-after").is_none());
    }
    // 799 bytes is below the trip line: admitted.
    let mut admitted = pin!(service.call(request("/suggestions", 799)));
    assert_eq!(breaker.reserved(), 799);
    let response = loop {
        if let Poll::Ready(response) = poll_once(admitted.as_mut()) {
            break response.unwrap();
        }
    };
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(breaker.reserved(), 799, "held by the response's body");
    drop(response);
    assert_eq!(breaker.reserved(), 0, "released when the body was dropped");
    assert_eq!(layer.stats().too_large(), 4);
}

#[test]
fn health_and_metrics_routes_are_never_shed() {
    let memory = ManualSource::new(0);
    let breaker = breaker(&memory);
    let layer = http_layer(breaker.clone());
    let mut service = layer.layer(Held {
        release: Arc::new(Semaphore::new(10)),
    });
    memory.set(2000); // twice the budget
    let shed = ready(service.call(request("/suggestions", 0))).unwrap();
    assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Bypassed: not estimated (its 10 GB estimate would be 413), not refused.
    let health = ready(service.call(request("/healthz", 10 << 30))).unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(layer.stats().bypassed(), 1);
    assert_eq!(breaker.reserved(), 0);
}

#[test]
fn a_dropped_response_future_returns_its_reservation() {
    let memory = ManualSource::new(0);
    let breaker = breaker(&memory);
    let mut service = http_layer(breaker.clone()).layer(Held {
        release: Arc::new(Semaphore::new(0)),
    });
    let mut pending = Box::pin(service.call(request("/suggestions", 300)));
    assert!(poll_once(pending.as_mut()).is_pending());
    assert_eq!(breaker.reserved(), 300);
    drop(pending); // the client went away
    assert_eq!(breaker.reserved(), 0);
}

/// An inner service whose future allocates `bytes` bytes (in its poll) and
/// names the account it ran in.
#[derive(Clone)]
struct Allocates;

impl Service<u64> for Allocates {
    type Response = (Vec<u8>, Option<String>);
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, bytes: u64) -> Self::Future {
        // The boxed future (allocated here, in `call`) is charged to the request too.
        Box::pin(async move {
            let block = vec![7u8; bytes as usize];
            let account = Account::current().map(|account| account.name().to_owned());
            Ok((block, account))
        })
    }
}

#[test]
fn each_request_runs_in_its_own_account_under_the_parent() {
    let memory = ManualSource::new(0);
    let breaker = Arc::new(
        MemoryBreaker::new(BreakerConfig::new(Budget::Bytes(1 << 40)).source(memory.clone()))
            .expect("valid breaker"),
    );
    let requests = Account::new("requests");
    let mut service = MemoryShedLayer::new(breaker)
        .request_accounts(requests.clone())
        .layer(Allocates);
    let mut bypassing = MemoryShedLayer::new(Arc::new(
        MemoryBreaker::new(BreakerConfig::new(Budget::Bytes(1 << 40)).source(memory)).unwrap(),
    ))
    .bypass(|bytes: &u64| *bytes == 1)
    .request_accounts(requests.clone())
    .layer(Allocates);

    let future = service.call(10_000); // the boxed future is allocated now, in the account
    let boxed = requests.usage();
    assert_eq!(boxed.allocations, 1);
    let (block, name) = ready(future).unwrap();
    assert_eq!(name.as_deref(), Some("request"));
    let usage = requests.usage();
    // The boxed future, the 10,000-byte block and the copy of the name
    // ("request", 7 bytes); the account itself (made before the request
    // entered it) is not charged to it.
    assert_eq!(usage.allocations, 3);
    assert_eq!(usage.allocated_bytes, boxed.allocated_bytes + 10_007);
    assert_eq!(
        usage.freed_bytes, boxed.allocated_bytes,
        "the future freed in the account"
    );
    assert_eq!(
        usage.live_bytes, 10_007,
        "block and name went out with the response"
    );
    drop((block, name));

    // A bypassed request runs outside any request account.
    let (_block, name) = ready(bypassing.call(1)).unwrap();
    assert_eq!(name, None);
    assert_eq!(requests.usage().allocations, 3);
}

/// A handler that starts its request at once and answers an empty 200.
#[derive(Clone)]
struct StartsAtOnce;

impl Service<Request<()>> for StartsAtOnce {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        if let Some(admission) = request
            .extensions()
            .get::<heapguard_breaker::service::RequestAdmission>()
        {
            admission.start();
        }
        std::future::ready(Ok(Response::new(String::new())))
    }
}

#[test]
fn an_admitted_request_costs_the_layer_one_allocation_besides_its_extension() {
    let memory = ManualSource::new(0);
    let breaker = breaker(&memory);
    let mut service = http_layer(breaker.clone()).layer(StartsAtOnce);
    let mut serve = |request: Request<()>| {
        let response = ready(service.call(request)).expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
    };
    // The registry's list of waiting requests reaches its size.
    for _ in 0..20 {
        serve(request("/work", 100));
    }
    const REQUESTS: u64 = 100;
    // What making and dropping the requests costs by itself.
    let ((), plain) = heapguard_alloc::measure(|| {
        for _ in 0..REQUESTS {
            drop(std::hint::black_box(request("/work", 100)));
        }
    });
    let ((), layered) = heapguard_alloc::measure(|| {
        for _ in 0..REQUESTS {
            serve(request("/work", 100));
        }
    });
    // Per request: the waiting request (the layer's one allocation), and
    // the admission in the request's extensions (the value's box, and the
    // map and its table, these requests having no extensions before).
    assert_eq!(layered.allocations - plain.allocations, 4 * REQUESTS);
    assert_eq!(layered.reallocations, plain.reallocations);
    // The extensions are freed with the request; a waiting request's block
    // goes when the registry prunes its entry (at most 10 entries kept
    // with one request waiting at a time).
    let freed = layered.deallocations - plain.deallocations;
    assert!(
        (4 * REQUESTS - 10..=4 * REQUESTS + 10).contains(&freed),
        "{freed} more deallocations"
    );
    assert_eq!(breaker.reserved(), 0);
    assert_eq!(breaker.requests_waiting(), 0);
}
