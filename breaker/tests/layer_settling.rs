//! A request's reservation settles as its account grows: the bytes its
//! handler has allocated (which the breaker's source counts) are not also
//! counted as reserved, whether the layer or the breaker settles it. A real
//! axum server and client on 127.0.0.1.
#![cfg(feature = "http")]

mod common;

use std::alloc::System;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use common::{serve, two_workers};
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
    let runtime = two_workers();
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
        let response = tokio::spawn(reqwest::get(format!("http://{}/", serve(app).await)));
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

/// What a handler does in the next test: allocates 48 MiB, then blocks
/// its worker until the test has checked the breaker (so the layer cannot
/// settle in between), then waits, ending its poll.
#[derive(Clone)]
struct Paused {
    allocated: std::sync::mpsc::SyncSender<()>,
    checked: Arc<std::sync::Mutex<std::sync::mpsc::Receiver<()>>>,
    waiting: Arc<Notify>,
    release: Arc<Notify>,
}

async fn paused_handler(State(steps): State<Paused>) -> &'static str {
    let rows = vec![1u8; 48 * MIB as usize];
    steps.allocated.send(()).unwrap();
    steps.checked.lock().unwrap().recv().unwrap();
    steps.waiting.notify_one();
    steps.release.notified().await;
    drop(rows);
    "done"
}

/// A reading that would trip the breaker settles the request's reservation
/// in the breaker itself, before the layer does at the end of the poll; the
/// layer's stats then follow what is left instead of what they last saw.
#[test]
fn the_stats_follow_a_reservation_the_breaker_settled() {
    let runtime = two_workers();
    let memory = ManualSource::new(0);
    // Trip line 800 MiB.
    let breaker = Arc::new(
        MemoryBreaker::new(
            BreakerConfig::new(Budget::Bytes(1000 * MIB))
                .source(memory.clone())
                .min_state_duration(Duration::ZERO)
                .watch_cancel_line(false)
                .no_purge(),
        )
        .unwrap(),
    );
    let layer = MemoryShedLayer::new(breaker.clone())
        .estimate(|_: &http::Request<Body>| 64 * MIB)
        .request_accounts(Account::new("requests"))
        .http();
    let stats = layer.stats();
    let (allocated, allocated_seen) = std::sync::mpsc::sync_channel(1);
    let (checked_sender, checked) = std::sync::mpsc::sync_channel(1);
    let steps = Paused {
        allocated,
        checked: Arc::new(std::sync::Mutex::new(checked)),
        waiting: Arc::new(Notify::new()),
        release: Arc::new(Notify::new()),
    };
    let app = Router::new()
        .route("/", get(paused_handler))
        .layer(layer)
        .with_state(steps.clone());
    runtime.block_on(async {
        let response = tokio::spawn(reqwest::get(format!("http://{}/", serve(app).await)));
        let (breaker_in_check, memory_in_check) = (breaker.clone(), memory.clone());
        let reserved_after_check = tokio::task::spawn_blocking(move || {
            allocated_seen
                .recv_timeout(Duration::from_secs(30))
                .expect("the handler allocated");
            // 760 MiB used (the 48 MiB among them) and 64 reserved would
            // trip; settled first, 16 MiB are left reserved.
            memory_in_check.set(760 * MIB);
            let usage = breaker_in_check.check().expect("settled, not tripped");
            checked_sender.send(()).unwrap();
            usage.reserved()
        })
        .await
        .unwrap();
        assert!(
            (15 * MIB..=17 * MIB).contains(&reserved_after_check),
            "reserved {reserved_after_check}"
        );
        steps.waiting.notified().await;
        // The poll ends at the handler's wait, and the layer settles then
        // (bounded wait for it).
        let deadline = Instant::now() + Duration::from_secs(30);
        while stats.reserved_bytes() != breaker.reserved() {
            assert!(
                Instant::now() < deadline,
                "stats {} against the breaker's {}",
                stats.reserved_bytes(),
                breaker.reserved()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert!((15 * MIB..=17 * MIB).contains(&stats.reserved_bytes()));
        steps.release.notify_one();
        let response = response.await.unwrap().unwrap();
        assert_eq!(response.text().await.unwrap(), "done");
    });
    assert_eq!((breaker.reserved(), stats.reserved_bytes()), (0, 0));
}
