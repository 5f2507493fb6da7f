//! `check()` and the refresher decide through one transition function: a
//! test per place where the refresher's old copy of the state machine
//! disagreed with the check's (a failed reading, a reset after a purge, a
//! child breaker without a source). Each breaker is stepped twice over: a
//! twin driven by `check()` and one driven by `refresh()` (the refresher's
//! step) must agree.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use heapguard_breaker::testing::{ManualClock, ManualSource};
use heapguard_breaker::{
    BreakerConfig, BreakerEvent, BreakerState, Budget, CancelToken, MemoryBreaker, MemorySource,
    PressureLevel, SourceError, TripCause,
};

/// A manual reading that can be made to fail.
#[derive(Clone, Default)]
struct Flaky {
    bytes: ManualSource,
    failing: Arc<AtomicBool>,
}

impl MemorySource for Flaky {
    fn used_bytes(&self) -> Result<u64, SourceError> {
        if self.failing.load(SeqCst) {
            Err(SourceError::NoCgroup {
                reason: "the test broke the reading".to_owned(),
            })
        } else {
            self.bytes.used_bytes()
        }
    }

    fn name(&self) -> &'static str {
        "flaky"
    }
}

fn config(name: &str, clock: &ManualClock) -> BreakerConfig {
    BreakerConfig::new(Budget::Bytes(1000))
        .name(name)
        .clock(clock.clone())
        .min_state_duration(Duration::from_secs(1))
        .watch_cancel_line(false)
}

#[test]
fn a_failed_read_refuses_and_reports_but_never_purges_moves_or_cancels() {
    let clock = ManualClock::new();
    let source = Flaky::default();
    let purges = Arc::new(AtomicUsize::new(0));
    let counter = purges.clone();
    let breaker = MemoryBreaker::new(config("flaky", &clock).source(source.clone()).purge_hook(
        move || {
            counter.fetch_add(1, SeqCst);
        },
    ))
    .unwrap();
    let events = breaker.subscribe();
    let account = heapguard_alloc::Account::new("job");
    let job = breaker.register_job("job", &account, CancelToken::new());
    // At the warn line: a level to keep.
    source.bytes.set(720);
    assert_eq!(breaker.refresh(), PressureLevel::Warn);
    clock.advance(Duration::from_secs(5));
    source.failing.store(true, SeqCst);
    for _ in 0..3 {
        // The refresher's step and a check agree: refuse, change nothing.
        assert_eq!(breaker.refresh(), PressureLevel::Warn);
        let refused = breaker.check().unwrap_err();
        assert!(matches!(refused.cause(), TripCause::Source(_)), "{refused}");
        assert!(breaker.try_reserve(1).is_err());
    }
    assert_eq!(breaker.state(), BreakerState::Accepting);
    assert_eq!(purges.load(SeqCst), 0, "nothing is purged on a failed read");
    assert!(!job.is_cancelled(), "nothing is cancelled on a failed read");
    source.failing.store(false, SeqCst);
    assert_eq!(breaker.refresh(), PressureLevel::Warn);
    breaker.check().unwrap();
    let seen: Vec<String> = events
        .try_iter()
        .map(|event| match event {
            BreakerEvent::ReadFailed { error, .. } => format!("failed: {error}"),
            BreakerEvent::ReadRecovered { snapshot } => format!("recovered at {}", snapshot.used),
            BreakerEvent::Level { from, to, .. } => format!("{from}->{to}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        seen,
        [
            "normal->warn",
            "failed: no memory cgroup: the test broke the reading",
            "recovered at 720"
        ]
    );
}

/// A breaker whose purge hook, once armed, frees memory down to 600 bytes.
fn purging(
    name: &str,
    clock: &ManualClock,
    armed: &Arc<AtomicBool>,
) -> (MemoryBreaker, ManualSource) {
    let memory = ManualSource::new(0);
    let (freed, armed) = (memory.clone(), armed.clone());
    let breaker = MemoryBreaker::new(
        config(name, clock)
            .source(memory.clone())
            .purge_interval(Duration::ZERO)
            .purge_hook(move || {
                if armed.load(SeqCst) {
                    freed.set(600);
                }
            }),
    )
    .unwrap();
    (breaker, memory)
}

#[test]
fn the_refresher_purges_before_it_keeps_refusing_as_a_check_does() {
    let clock = ManualClock::new();
    let armed = Arc::new(AtomicBool::new(false));
    let (checked, checked_memory) = purging("checked", &clock, &armed);
    let (refreshed, refreshed_memory) = purging("refreshed", &clock, &armed);
    let both = [&checked_memory, &refreshed_memory];
    // The purge frees nothing yet: both trip.
    both.iter().for_each(|memory| memory.set(900));
    checked.check().unwrap_err();
    refreshed.refresh();
    assert_eq!(checked.state(), BreakerState::Refusing);
    assert_eq!(refreshed.state(), BreakerState::Refusing);
    // Later, at 720 (above the reset line, 700), a purge would free down
    // to 600: a check purges, reads again and resets; so does the
    // refresher's step (its old copy never purged before a reset).
    clock.advance(Duration::from_secs(2));
    both.iter().for_each(|memory| memory.set(720));
    armed.store(true, SeqCst);
    checked.check().unwrap();
    assert_eq!(refreshed.refresh(), PressureLevel::Normal);
    assert_eq!(checked.state(), BreakerState::Accepting);
    assert_eq!(
        refreshed.state(),
        BreakerState::Accepting,
        "reset after the purge"
    );
    assert_eq!((checked_memory.get(), refreshed_memory.get()), (600, 600));
}

#[test]
fn a_child_without_a_source_moves_its_level_on_refresh_as_on_check() {
    let clock = ManualClock::new();
    let parent = MemoryBreaker::new(
        config("process", &clock)
            .source(ManualSource::new(0))
            .no_purge(),
    )
    .unwrap();
    let child_config = BreakerConfig::new(Budget::Bytes(100))
        .name("job")
        .watch_cancel_line(false);
    let checked = parent.child(child_config.clone()).unwrap();
    let refreshed = parent.child(child_config).unwrap();
    let held = [
        checked.try_reserve(75).unwrap(),
        refreshed.try_reserve(75).unwrap(),
    ];
    checked.check().unwrap();
    assert_eq!(checked.pressure(), PressureLevel::Warn);
    assert_eq!(refreshed.refresh(), PressureLevel::Warn);
    drop(held);
    checked.check().unwrap();
    assert_eq!(checked.pressure(), PressureLevel::Normal);
    assert_eq!(refreshed.refresh(), PressureLevel::Normal);
}

#[test]
fn reading_changes_nothing() {
    let clock = ManualClock::new();
    let memory = ManualSource::new(0);
    let breaker =
        MemoryBreaker::new(config("read", &clock).source(memory.clone()).no_purge()).unwrap();
    memory.set(990);
    for _ in 0..3 {
        assert_eq!(breaker.usage().unwrap().used(), 990);
        assert_eq!(breaker.pressure(), PressureLevel::Normal);
        assert_eq!(breaker.state(), BreakerState::Accepting);
    }
    assert_eq!((breaker.trips(), breaker.refusals()), (0, 0));
    assert_eq!(breaker.reading_age(), None, "no refresh yet");
    breaker.refresh();
    clock.advance(Duration::from_millis(300));
    assert_eq!(breaker.reading_age(), Some(Duration::from_millis(300)));
}
