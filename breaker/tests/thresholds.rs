//! The state machine on a fake clock and a settable source: lines,
//! hysteresis, minimum time in a state, purge, events, logs.

mod common;

use common::manual_breaker;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use heapguard_breaker::event::SUBSCRIBER_CAPACITY;
use heapguard_breaker::testing::{ManualClock, ManualSource};
use heapguard_breaker::{
    BreakerConfig, BreakerEvent, BreakerState, Budget, MemoryBreaker, MemorySource, SourceError,
    TripCause,
};

struct Rig {
    breaker: MemoryBreaker,
    memory: ManualSource,
    clock: ManualClock,
}

fn rig(limit: u64, min_state: Duration) -> Rig {
    rig_with(BreakerConfig::new(Budget::Bytes(limit)).min_state_duration(min_state))
}

fn rig_with(config: BreakerConfig) -> Rig {
    let (breaker, memory, clock) = manual_breaker(config.name("test").no_purge());
    Rig {
        breaker,
        memory,
        clock,
    }
}

#[test]
fn trips_at_exactly_80_percent_and_resets_below_70() {
    let Rig {
        breaker, memory, ..
    } = rig(1000, Duration::ZERO);
    assert_eq!((breaker.trip_bytes(), breaker.reset_bytes()), (800, 700));
    memory.set(799);
    let usage = breaker.check().unwrap();
    assert_eq!(
        (usage.used(), usage.limit(), usage.breaker()),
        (799, 1000, "test")
    );
    assert!((usage.percent() - 79.9).abs() < 1e-9);
    memory.set(800);
    let tripped = breaker.check().unwrap_err();
    assert_eq!(breaker.state(), BreakerState::Refusing);
    assert_eq!(
        (tripped.used(), tripped.limit(), tripped.breaker()),
        (800, 1000, "test")
    );
    assert!((tripped.percent() - 80.0).abs() < 1e-9);
    assert!(matches!(tripped.cause(), TripCause::OverThreshold));
    // Between the lines it stays refusing.
    memory.set(750);
    assert!(breaker.check().is_err());
    memory.set(700);
    assert!(breaker.check().is_err(), "700 is not below the 70% line");
    memory.set(699);
    assert!(breaker.check().is_ok());
    assert_eq!(breaker.state(), BreakerState::Accepting);
    assert_eq!(breaker.trips(), 1);
    assert_eq!(breaker.refusals(), 3);
    // Between the lines it stays accepting.
    memory.set(799);
    assert!(breaker.check().is_ok());
}

#[test]
fn a_refusal_held_by_min_state_duration_says_how_long_in_whole_milliseconds() {
    let Rig {
        breaker,
        memory,
        clock,
    } = rig(1000, Duration::from_secs(1));
    memory.set(900);
    assert!(breaker.check().is_err());
    // Below the reset line 29.272609 ms later: held for 970.727391 ms more.
    memory.set(100);
    clock.advance(Duration::from_nanos(29_272_609));
    assert_eq!(
        breaker.check().unwrap_err().to_string(),
        "memory breaker `test` is refusing new work for 971 ms more: usage fell to 10.0% of \
         its 1000 B budget (trips at 80%, resets below 70%), but it tripped too recently to \
         reset yet"
    );
    // Past 10 s, tenths of a second.
    let Rig {
        breaker,
        memory,
        clock,
    } = rig(1000, Duration::from_secs(60));
    memory.set(900);
    assert!(breaker.check().is_err());
    memory.set(100);
    clock.advance(Duration::from_millis(47_460));
    assert!(breaker
        .check()
        .unwrap_err()
        .to_string()
        .contains("for 12.5 s more: usage fell"));
}

#[test]
fn min_state_duration_holds_both_states_but_not_past_the_whole_budget() {
    let Rig {
        breaker,
        memory,
        clock,
    } = rig(1000, Duration::from_secs(1));
    memory.set(850);
    assert!(breaker.check().is_err(), "the first trip is immediate");
    memory.set(100);
    clock.advance(Duration::from_millis(400));
    let early = breaker.check().unwrap_err();
    match early.cause() {
        TripCause::MinStateDuration { remaining } => {
            assert_eq!(*remaining, Duration::from_millis(600))
        }
        other => panic!("unexpected cause {other:?}"),
    }
    clock.advance(Duration::from_millis(600));
    assert!(breaker.check().is_ok());
    // Just reset: a reading over the trip line is held for a second...
    memory.set(900);
    clock.advance(Duration::from_millis(999));
    assert!(breaker.check().is_ok());
    assert_eq!(breaker.state(), BreakerState::Accepting);
    // ...but the whole budget trips at once.
    memory.set(1000);
    assert!(breaker.check().is_err());
    assert_eq!(breaker.trips(), 2);
}

/// Every state change of 60 s of hovering, in ms on the manual clock. The
/// readings repeat every 6 steps of 10 ms: 78%, 82%, 79%, 81%, 78.5%, 81.5%.
/// The first trip is at once (10 ms); after that each change waits out the
/// 1 s minimum and then for the next reading across the line: a reset for a
/// reading under 79% (steps 0 and 4 of the 6), a trip for one at 80% or over
/// (steps 1, 3 and 5). From 4050 ms on that is 1030 ms to a reset, 1010 ms to
/// the next trip.
const HOVERING_CHANGES_MS: [u64; 59] = [
    10, 1020, 2030, 3040, 4050, 5080, 6090, 7120, 8130, 9160, 10170, 11200, 12210, 13240, 14250,
    15280, 16290, 17320, 18330, 19360, 20370, 21400, 22410, 23440, 24450, 25480, 26490, 27520,
    28530, 29560, 30570, 31600, 32610, 33640, 34650, 35680, 36690, 37720, 38730, 39760, 40770,
    41800, 42810, 43840, 44850, 45880, 46890, 47920, 48930, 49960, 50970, 52000, 53010, 54040,
    55050, 56080, 57090, 58120, 59130,
];

#[test]
fn usage_hovering_at_the_line_changes_state_at_most_once_per_min_duration() {
    let min_state = Duration::from_secs(1);
    let Rig {
        breaker,
        memory,
        clock,
    } = rig_with(
        BreakerConfig::new(Budget::Bytes(10_000))
            .trip_percent(80.0)
            .reset_percent(79.0)
            .min_state_duration(min_state),
    );
    let mut changes = Vec::new();
    let mut last = breaker.state();
    // 60 s in 10 ms steps, usage swinging between 78% and 82%.
    for step in 0..6000u64 {
        let swing = [7800, 8200, 7900, 8100, 7850, 8150][(step % 6) as usize];
        memory.set(swing);
        let _ = breaker.check();
        if breaker.state() != last {
            last = breaker.state();
            changes.push((clock_now(&clock), last));
        }
        clock.advance(Duration::from_millis(10));
    }
    let expected: Vec<(Duration, BreakerState)> = HOVERING_CHANGES_MS
        .iter()
        .enumerate()
        .map(|(index, &ms)| {
            let state = if index % 2 == 0 {
                BreakerState::Refusing
            } else {
                BreakerState::Accepting
            };
            (Duration::from_millis(ms), state)
        })
        .collect();
    assert_eq!(changes, expected);
    assert_eq!(breaker.trips(), 30);
    for pair in changes.windows(2) {
        assert!(pair[1].0 - pair[0].0 >= min_state, "changes at {pair:?}");
    }
}

fn clock_now(clock: &ManualClock) -> Duration {
    use heapguard_breaker::config::Clock;
    clock.now()
}

#[test]
fn tiny_and_huge_budgets() {
    let tiny = rig(1, Duration::ZERO);
    assert_eq!(
        (tiny.breaker.trip_bytes(), tiny.breaker.reset_bytes()),
        (1, 1)
    );
    assert!(tiny.breaker.check().is_ok());
    assert!(tiny.breaker.try_reserve(1).is_err());
    tiny.memory.set(1);
    assert!(tiny.breaker.check().is_err());

    let huge = rig(u64::MAX, Duration::ZERO);
    let trip = huge.breaker.trip_bytes();
    assert_eq!(u128::from(trip), (u128::from(u64::MAX) * 8).div_ceil(10));
    huge.memory.set(trip - 1);
    assert!(huge.breaker.check().is_ok());
    assert!(huge.breaker.try_reserve(u64::MAX).is_err());
    assert_eq!(huge.breaker.reserved(), 0);
    huge.memory.set(u64::MAX);
    let tripped = huge.breaker.check().unwrap_err();
    assert!((tripped.percent() - 100.0).abs() < 1e-9);
}

#[test]
fn execute_runs_the_work_only_when_accepting() {
    let Rig {
        breaker, memory, ..
    } = rig(1000, Duration::ZERO);
    assert_eq!(breaker.execute(|| 7).unwrap(), 7);
    memory.set(900);
    let mut ran = false;
    assert!(breaker.execute(|| ran = true).is_err());
    assert!(!ran);
}

#[test]
fn the_refusal_message_carries_the_numbers() {
    let Rig {
        breaker, memory, ..
    } = rig(1 << 30, Duration::ZERO);
    memory.set(900 << 20);
    let message = breaker.check().unwrap_err().to_string();
    for needle in [
        "`test`",
        "900.0 MiB used",
        "87.9%",
        "1.0 GiB",
        "trips at 80%",
        "70%",
    ] {
        assert!(
            message.contains(needle),
            "{needle:?} missing from: {message}"
        );
    }
    let error: Box<dyn std::error::Error> = Box::new(breaker.check().unwrap_err());
    assert!(error.to_string().contains("refusing new work"));
}

struct Broken;

impl MemorySource for Broken {
    fn used_bytes(&self) -> Result<u64, SourceError> {
        Err(SourceError::Io {
            path: "/proc/self/statm".into(),
            source: std::io::Error::other("gone"),
        })
    }

    fn name(&self) -> &'static str {
        "broken"
    }
}

#[test]
fn an_unreadable_source_refuses_with_the_reason() {
    let breaker =
        MemoryBreaker::new(BreakerConfig::new(Budget::Bytes(1000)).source(Broken)).unwrap();
    let tripped = breaker.check().unwrap_err();
    assert!(matches!(tripped.cause(), TripCause::Source(_)));
    assert!(std::error::Error::source(&tripped).is_some());
    assert!(tripped.to_string().contains("/proc/self/statm"));
    assert!(breaker.try_reserve(1).is_err());
    assert_eq!(breaker.reserved(), 0);
}

#[test]
fn the_purge_hook_runs_once_before_refusing_and_its_effect_is_read() {
    let memory = ManualSource::new(900);
    let clock = ManualClock::new();
    let purges = Arc::new(AtomicUsize::new(0));
    let (purge_memory, purge_count) = (memory.clone(), purges.clone());
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(1000))
            .source(memory.clone())
            .clock(clock.clone())
            .purge_interval(Duration::from_secs(5))
            // No refresher: its tick could take the purge this test counts
            // (due at the same instant on the manual clock).
            .watch_cancel_line(false)
            .purge_hook(move || {
                purge_count.fetch_add(1, SeqCst);
                purge_memory.set(purge_memory.get() - 200);
            }),
    )
    .unwrap();
    assert_eq!(
        breaker.check().unwrap().used(),
        700,
        "the purge freed enough"
    );
    assert_eq!((purges.load(SeqCst), breaker.trips()), (1, 0));
    // Within the interval no second purge: it trips.
    memory.set(950);
    assert!(breaker.check().is_err());
    assert!(breaker.check().is_err());
    assert_eq!((purges.load(SeqCst), breaker.trips()), (1, 1));
    // Once due, a purge while refusing lets it recover (usage 750 -> 550).
    clock.advance(Duration::from_secs(5));
    memory.set(750);
    assert!(breaker.check().is_ok());
    assert_eq!(purges.load(SeqCst), 2);
}

#[test]
fn events_reach_every_live_subscriber_and_never_block() {
    let Rig {
        breaker,
        memory,
        clock,
    } = rig(1000, Duration::ZERO);
    let reader = breaker.subscribe();
    let idle = breaker.subscribe(); // never read
    drop(breaker.subscribe()); // dropped at once
    memory.set(830);
    assert!(breaker.check().is_err());
    memory.set(100);
    clock.advance(Duration::from_millis(1));
    assert!(breaker.check().is_ok());
    // Trips and resets; the pressure levels each moved too (tests/pressure.rs).
    let mut changes = reader
        .try_iter()
        .filter(|event| event.is_trip() || event.is_reset());
    let BreakerEvent::Tripped(trip) = changes.next().unwrap() else {
        panic!("expected a trip first")
    };
    assert_eq!(
        (trip.breaker.as_str(), trip.used, trip.reserved, trip.limit),
        ("test", 830, 0, 1000)
    );
    assert!((trip.percent - 83.0).abs() < 1e-9);
    let reset = changes.next().unwrap();
    assert!(reset.is_reset());
    assert_eq!(reset.snapshot().used, 100);
    assert!(
        changes.next().is_none(),
        "one event per change, not per check"
    );
    drop(changes);
    assert_eq!(breaker.last_trip().unwrap().used, 830);
    // Far more changes than a subscriber queue holds: the breaker goes on.
    for _ in 0..SUBSCRIBER_CAPACITY {
        memory.set(900);
        let _ = breaker.check();
        memory.set(0);
        let _ = breaker.check();
    }
    assert_eq!(breaker.trips(), 1 + SUBSCRIBER_CAPACITY as u64);
    assert_eq!(idle.len(), SUBSCRIBER_CAPACITY);
}

#[test]
fn with_the_default_lines_hovering_at_80_percent_trips_once_and_stays_tripped() {
    let Rig {
        breaker,
        memory,
        clock,
    } = rig_with(BreakerConfig::new(Budget::Bytes(10_000)));
    let events = breaker.subscribe();
    for step in 0..6000u64 {
        memory.set(if step % 2 == 0 { 7_800 } else { 8_200 });
        let _ = breaker.check();
        clock.advance(Duration::from_millis(10));
    }
    assert_eq!(breaker.trips(), 1);
    assert_eq!(breaker.state(), BreakerState::Refusing);
    let changes: Vec<String> = events
        .try_iter()
        .map(|event| match event {
            BreakerEvent::Level { from, to, .. } => format!("{from}->{to}"),
            other if other.is_trip() => "tripped".to_owned(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        changes,
        ["normal->warn", "tripped", "warn->refuse"],
        "one change of state (and of each level) in 60 s of hovering"
    );
}

#[test]
fn a_child_with_its_own_source_trips_by_name_and_the_parent_hears_of_it() {
    let Rig {
        breaker: parent,
        clock,
        ..
    } = rig(1_000_000, Duration::ZERO);
    let parent_events = parent.subscribe();
    let job_memory = ManualSource::new(0);
    let job = parent
        .child(
            BreakerConfig::new(Budget::Bytes(1_000))
                .name("job")
                .source(job_memory.clone()),
        )
        .unwrap();
    job_memory.set(900);
    let tripped = job.check().unwrap_err();
    assert_eq!(tripped.breaker(), "job");
    assert_eq!((job.trips(), parent.trips()), (1, 0));
    assert!(parent.check().is_ok());
    let event = parent_events.try_recv().unwrap();
    assert!(event.is_trip());
    assert_eq!(event.snapshot().breaker, "job");
    // The child inherited the parent's fake clock.
    job_memory.set(0);
    clock.advance(Duration::from_secs(1));
    assert!(job.check().is_ok());
}
