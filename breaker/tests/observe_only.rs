//! Observe-only mode: with enforcement off a breaker computes its levels,
//! events and counters as usual, and refuses nothing and cancels nothing;
//! it reports what it would have done.

mod common;

use common::manual_breaker;
use std::alloc::System;
use std::time::Duration;

use heapguard_alloc::{Account, CountingAlloc};
use heapguard_breaker::{
    BreakerConfig, BreakerEvent, BreakerState, Budget, CancelToken, PressureLevel,
};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

#[test]
fn observing_refuses_nothing_cancels_nothing_and_reports_the_levels() {
    let (breaker, memory, _clock) = manual_breaker(
        BreakerConfig::new(Budget::Bytes(1000))
            .name("watching")
            .min_state_duration(Duration::ZERO)
            .watch_cancel_line(false)
            .no_purge()
            .enforce(false),
    );
    assert!(!breaker.enforcing());
    let events = breaker.subscribe();
    let account = Account::new("job");
    let job = breaker.register_job("job", &account, CancelToken::new());
    memory.set(850);
    let usage = breaker.check().expect("observing: the check passes");
    assert_eq!(usage.used(), 850);
    assert_eq!(breaker.state(), BreakerState::Refusing, "it would refuse");
    assert_eq!(breaker.pressure(), PressureLevel::Refuse);
    let held = breaker
        .try_reserve(500)
        .expect("observing: the reservation is granted past the line");
    assert_eq!(breaker.reserved(), 500);
    memory.set(990);
    assert_eq!(breaker.refresh(), PressureLevel::Cancel);
    breaker.refresh();
    assert!(!job.is_cancelled(), "observing: nothing is cancelled");
    assert_eq!(breaker.refusals(), 0);
    assert_eq!(breaker.would_refuse(), 2, "the check and the reservation");
    assert_eq!(breaker.trips(), 1);
    drop(held);
    let seen: Vec<String> = events
        .try_iter()
        .map(|event| match event {
            BreakerEvent::Tripped(_) => "tripped".to_owned(),
            BreakerEvent::Level { from, to, .. } => format!("{from}->{to}"),
            BreakerEvent::WouldCancel { job, .. } => format!("would cancel {job}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        seen,
        [
            "tripped",
            "normal->refuse",
            "refuse->cancel",
            "would cancel job"
        ],
        "once per job, not once per tick"
    );
}
