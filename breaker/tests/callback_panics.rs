//! A panicking callback cannot stop the watch: an `on_refresh` action, a
//! purge hook or a cancelled job's `on_cancel` callback that panics is
//! caught, reported as `BreakerEvent::CallbackPanicked` with the breaker's
//! name, and the process's refresher thread, which every breaker without a
//! cgroup reading shares, goes on: a job past the cancel line afterwards is
//! still cancelled.
//!
//! The breakers here read manual sources on budgets in bytes, so they all
//! share the plain refresher, as the breakers of one service do.

use std::alloc::System;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use heapguard_alloc::{Account, CountingAlloc};
use heapguard_breaker::testing::ManualSource;
use heapguard_breaker::{BreakerConfig, BreakerEvent, Budget, CancelToken, MemoryBreaker};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const MIB: u64 = 1 << 20;
/// The refresher ticks every 25 ms; a starved test runner gets 30 s.
const PATIENCE: Duration = Duration::from_secs(30);

fn watched(name: &str, memory: &ManualSource) -> BreakerConfig {
    BreakerConfig::new(Budget::Bytes(100 * MIB))
        .name(name)
        .source(memory.clone())
        .min_state_duration(Duration::ZERO)
}

/// The first `CallbackPanicked` event within the patience.
fn panicked(events: &Receiver<BreakerEvent>) -> (String, &'static str, String) {
    let deadline = Instant::now() + PATIENCE;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match events.recv_timeout(left) {
            Ok(BreakerEvent::CallbackPanicked {
                callback,
                message,
                snapshot,
            }) => return (snapshot.breaker, callback, message),
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    panic!("no CallbackPanicked event within {PATIENCE:?}");
}

/// A job past the cancel line of a fresh breaker is cancelled by the
/// refresher: the watch still runs.
fn the_watch_still_cancels(name: &str) {
    let memory = ManualSource::new(0);
    let breaker = MemoryBreaker::new(watched(name, &memory).no_purge()).unwrap();
    let account = Account::new("later-job");
    let token = CancelToken::new();
    let _job = breaker.register_job("later-job", &account, token.clone());
    memory.set(99 * MIB);
    let deadline = Instant::now() + PATIENCE;
    while !token.is_cancelled() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        token.is_cancelled(),
        "the refresher cancelled a job after the panic"
    );
}

#[test]
fn a_panicking_on_refresh_action_is_reported_and_the_refresher_goes_on() {
    let memory = ManualSource::new(10 * MIB);
    let breaker = MemoryBreaker::new(watched("refresh-panics", &memory).no_purge()).unwrap();
    let events = breaker.subscribe();
    let action = breaker.on_refresh(|_| panic!("on_refresh bug"));
    let (name, callback, message) = panicked(&events);
    assert_eq!(
        (name.as_str(), callback, message.as_str()),
        ("refresh-panics", "on_refresh", "on_refresh bug")
    );
    // It panics on every tick; each is caught, and others are served.
    let _ = panicked(&events);
    the_watch_still_cancels("after-on-refresh");
    drop(action);
}

#[test]
fn a_panicking_purge_hook_is_reported_and_the_refresher_goes_on() {
    let memory = ManualSource::new(0);
    let breaker = MemoryBreaker::new(
        watched("purge-panics", &memory).purge_hook(|| panic!("purge hook bug")),
    )
    .unwrap();
    let events = breaker.subscribe();
    // A registered job makes the refresher watch this breaker; nobody calls
    // check(): the refresher purges before it trips.
    let account = Account::new("job");
    let _job = breaker.register_job("job", &account, CancelToken::new());
    memory.set(85 * MIB);
    let (name, callback, message) = panicked(&events);
    assert_eq!(
        (name.as_str(), callback, message.as_str()),
        ("purge-panics", "purge_hook", "purge hook bug")
    );
    the_watch_still_cancels("after-purge-hook");
}

#[test]
fn a_panicking_cancel_callback_is_reported_and_the_refresher_goes_on() {
    let memory = ManualSource::new(0);
    let breaker = MemoryBreaker::new(watched("cancel-panics", &memory).no_purge()).unwrap();
    let events = breaker.subscribe();
    let account = Account::new("job");
    let token = CancelToken::new();
    token.on_cancel(|| panic!("cancel callback bug"));
    let _job = breaker.register_job("job", &account, token.clone());
    memory.set(99 * MIB);
    let (name, callback, message) = panicked(&events);
    assert_eq!(
        (name.as_str(), callback, message.as_str()),
        ("cancel-panics", "on_cancel", "cancel callback bug")
    );
    assert!(token.is_cancelled());
    the_watch_still_cancels("after-on-cancel");
}
