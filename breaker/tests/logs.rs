//! A state change logs once, not once per check.
//!
//! This test has a binary of its own: `tracing` caches each callsite's
//! interest the first time any thread reaches it. Run beside other tests that
//! trip and reset a breaker with no subscriber, the reset callsite could be
//! cached as "never" before this test installs its subscriber, and its log
//! would be lost (seen once in CI as 1 event instead of 2).

mod common;

use common::manual_breaker;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use heapguard_breaker::{BreakerConfig, Budget};

/// Counts `tracing` events, to show a state change logs once.
struct CountEvents(Arc<AtomicUsize>);

impl tracing::Subscriber for CountEvents {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {
        self.0.fetch_add(1, SeqCst);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn logs_once_per_state_change_not_per_check() {
    let events = Arc::new(AtomicUsize::new(0));
    let (breaker, memory, _clock) = manual_breaker(
        BreakerConfig::new(Budget::Bytes(1000))
            .min_state_duration(Duration::ZERO)
            .name("test")
            .no_purge(),
    );
    tracing::subscriber::with_default(CountEvents(events.clone()), || {
        memory.set(900);
        for _ in 0..100 {
            assert!(breaker.check().is_err());
        }
        assert_eq!(events.load(SeqCst), 1);
        memory.set(0);
        for _ in 0..100 {
            assert!(breaker.check().is_ok());
        }
    });
    assert_eq!(events.load(SeqCst), 2);
}
