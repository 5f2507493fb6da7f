//! A request's reservation settles as its account grows: the bytes its
//! handler has allocated (which the breaker's source counts) are not also
//! counted as reserved. A real axum server and client on 127.0.0.1.
#![cfg(feature = "http")]

use std::alloc::System;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use heapguard_alloc::{Account, CountingAlloc};
use heapguard_breaker::service::MemoryShedLayer;
use heapguard_breaker::testing::ManualSource;
use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};
use tokio::sync::Notify;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const MIB: u64 = 1 << 20;

#[derive(Clone)]
struct Steps {
    allocated: Arc<Notify>,
    release: Arc<Notify>,
}

/// Allocates 48 MiB (inside the request's account: the layer polls the
/// handler there), then holds it until released.
async fn handler(State(steps): State<Steps>) -> &'static str {
    let rows = vec![1u8; 48 * MIB as usize];
    steps.allocated.notify_one();
    steps.release.notified().await;
    drop(rows);
    "done"
}

#[test]
fn the_reservation_settles_as_the_request_allocates() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let breaker = Arc::new(
        MemoryBreaker::new(
            BreakerConfig::new(Budget::Bytes(1 << 30))
                .source(ManualSource::new(0))
                .no_purge(),
        )
        .unwrap(),
    );
    let layer = MemoryShedLayer::new(breaker.clone())
        .estimate(|_: &http::Request<Body>| 64 * MIB)
        .request_accounts(Account::new("requests"))
        .http();
    let stats = layer.stats();
    let steps = Steps {
        allocated: Arc::new(Notify::new()),
        release: Arc::new(Notify::new()),
    };
    let app = Router::new()
        .route("/", get(handler))
        .layer(layer)
        .with_state(steps.clone());
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let response = tokio::spawn(reqwest::get(format!("http://{address}/")));
        steps.allocated.notified().await;
        // The handler's poll that allocated ended in a wait: the layer
        // settled the reservation then (bounded wait for that poll to end).
        let deadline = Instant::now() + Duration::from_secs(30);
        while breaker.reserved() > 17 * MIB {
            assert!(Instant::now() < deadline, "reserved {}", breaker.reserved());
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // 64 MiB estimated, 48 MiB real: 16 MiB still reserved, to within
        // a MiB: the account's lag (2 x FLUSH_THRESHOLD per thread) and the
        // request's other allocations and frees.
        let reserved = breaker.reserved();
        assert!(
            (15 * MIB..=17 * MIB).contains(&reserved),
            "reserved {reserved}"
        );
        assert_eq!(stats.reserved_bytes(), reserved);
        steps.release.notify_one();
        let response = response.await.unwrap().unwrap();
        assert_eq!(response.text().await.unwrap(), "done");
    });
    assert_eq!((breaker.reserved(), stats.reserved_bytes()), (0, 0));
}
