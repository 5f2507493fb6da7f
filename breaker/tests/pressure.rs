//! PressureLevel levels on a fake clock and a settable source: the lines and
//! their defaults, validation, hysteresis, and one event per level change.

mod common;

use common::manual_breaker;
use std::time::Duration;

use heapguard_breaker::testing::{ManualClock, ManualSource};
use heapguard_breaker::{
    BreakerConfig, BreakerEvent, Budget, ConfigError, MemoryBreaker, PressureLevel,
};

fn breaker(config: BreakerConfig) -> (MemoryBreaker, ManualSource, ManualClock) {
    manual_breaker(config.name("test").watch_cancel_line(false).no_purge())
}

/// The level changes a subscriber saw, in order.
fn levels(
    events: &crossbeam_channel::Receiver<BreakerEvent>,
) -> Vec<(PressureLevel, PressureLevel)> {
    events
        .try_iter()
        .filter_map(|event| match event {
            BreakerEvent::Level { from, to, .. } => Some((from, to)),
            _ => None,
        })
        .collect()
}

#[test]
fn default_lines_are_70_80_95_of_the_budget() {
    let (breaker, ..) = breaker(BreakerConfig::new(Budget::Bytes(1000)));
    assert_eq!(
        (
            breaker.warn_bytes(),
            breaker.trip_bytes(),
            breaker.cancel_bytes()
        ),
        (700, 800, 950)
    );
    assert_eq!(breaker.pressure(), PressureLevel::Normal);
}

#[test]
fn default_warn_and_cancel_lines_bend_to_a_custom_trip_line() {
    let (low, ..) = breaker(
        BreakerConfig::new(Budget::Bytes(1000))
            .trip_percent(50.0)
            .reset_percent(40.0),
    );
    assert_eq!((low.warn_bytes(), low.cancel_bytes()), (500, 950));
    let (high, ..) = breaker(BreakerConfig::new(Budget::Bytes(1000)).trip_percent(98.0));
    assert_eq!((high.warn_bytes(), high.cancel_bytes()), (700, 980));
}

#[test]
fn bad_lines_are_typed_errors_naming_the_values() {
    let build = |config: BreakerConfig| {
        MemoryBreaker::new(config.source(ManualSource::new(0))).unwrap_err()
    };
    let base = || BreakerConfig::new(Budget::Bytes(1000));
    assert!(matches!(
        build(base().warn_percent(0.0)),
        ConfigError::WarnPercent { percent } if percent == 0.0
    ));
    assert!(matches!(
        build(base().cancel_percent(100.5)),
        ConfigError::CancelPercent { percent } if percent == 100.5
    ));
    assert!(matches!(
        build(base().cancel_percent(f64::NAN)),
        ConfigError::CancelPercent { .. }
    ));
    let order = build(base().warn_percent(85.0));
    assert!(matches!(
        order,
        ConfigError::LevelOrder { warn, trip, cancel } if (warn, trip, cancel) == (85.0, 80.0, 95.0)
    ));
    assert_eq!(
        order.to_string(),
        "pressure lines must rise: warn (85) <= trip (80) <= cancel (95)"
    );
    assert!(matches!(
        build(base().cancel_percent(75.0)),
        ConfigError::LevelOrder { cancel, .. } if cancel == 75.0
    ));
    assert!(matches!(
        build(base().level_hysteresis_percent(-1.0)),
        ConfigError::LevelHysteresis { points, warn } if (points, warn) == (-1.0, 70.0)
    ));
    assert!(matches!(
        build(base().level_hysteresis_percent(70.0)),
        ConfigError::LevelHysteresis { .. }
    ));
    // Lines may meet: warn = trip = cancel is a breaker with one line.
    let (one_line, ..) = breaker(
        base()
            .warn_percent(80.0)
            .cancel_percent(80.0)
            .level_hysteresis_percent(0.0),
    );
    assert_eq!(one_line.cancel_bytes(), 800);
}

#[test]
fn usage_hovering_at_a_line_changes_the_level_once() {
    let (breaker, memory, _clock) = breaker(BreakerConfig::new(Budget::Bytes(1000)));
    let events = breaker.subscribe();
    for _ in 0..100 {
        for used in [699, 700, 651] {
            memory.set(used);
            breaker.check().unwrap();
            breaker.refresh();
        }
    }
    assert_eq!(breaker.pressure(), PressureLevel::Warn);
    assert_eq!(
        levels(&events),
        [(PressureLevel::Normal, PressureLevel::Warn)]
    );
    memory.set(649);
    breaker.check().unwrap();
    assert_eq!(breaker.pressure(), PressureLevel::Normal);
    assert_eq!(
        levels(&events),
        [(PressureLevel::Warn, PressureLevel::Normal)]
    );
}

#[test]
fn hovering_at_the_cancel_line_changes_the_level_once() {
    let (breaker, memory, _clock) = breaker(BreakerConfig::new(Budget::Bytes(1000)));
    let events = breaker.subscribe();
    memory.set(960);
    assert_eq!(breaker.refresh(), PressureLevel::Cancel);
    for _ in 0..100 {
        for used in [949, 950, 901] {
            memory.set(used);
            breaker.check().unwrap_err();
            assert_eq!(breaker.refresh(), PressureLevel::Cancel);
        }
    }
    memory.set(899);
    assert_eq!(breaker.refresh(), PressureLevel::Refuse);
    assert_eq!(
        levels(&events),
        [
            (PressureLevel::Normal, PressureLevel::Cancel),
            (PressureLevel::Cancel, PressureLevel::Refuse)
        ]
    );
}

#[test]
fn checks_publish_every_level_in_order_with_the_trip_and_the_reset() {
    let (breaker, memory, clock) = breaker(BreakerConfig::new(Budget::Bytes(1000)));
    let events = breaker.subscribe();
    let step = |used: u64| {
        memory.set(used);
        let _ = breaker.check();
        breaker.pressure()
    };
    assert_eq!(step(500), PressureLevel::Normal);
    assert_eq!(step(700), PressureLevel::Warn);
    assert_eq!(step(800), PressureLevel::Refuse);
    assert_eq!(step(950), PressureLevel::Cancel);
    assert_eq!(step(850), PressureLevel::Refuse, "below 90%: cancel clears");
    assert_eq!(
        step(600),
        PressureLevel::Refuse,
        "refusing for its minimum time"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        step(600),
        PressureLevel::Normal,
        "reset, and below the warn clear line"
    );
    let seen: Vec<String> = events
        .try_iter()
        .map(|event| match event {
            BreakerEvent::Tripped(s) => format!("tripped {}", s.used),
            BreakerEvent::Reset(s) => format!("reset {}", s.used),
            BreakerEvent::Level { from, to, snapshot } => {
                format!("{from}->{to} {}", snapshot.used)
            }
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        seen,
        [
            "normal->warn 700",
            "tripped 800",
            "warn->refuse 800",
            "refuse->cancel 950",
            "cancel->refuse 850",
            "reset 600",
            "refuse->normal 600",
        ]
    );
}

#[test]
fn reservations_count_toward_the_level() {
    let (breaker, memory, _clock) = breaker(BreakerConfig::new(Budget::Bytes(1000)));
    memory.set(600);
    let held = breaker.try_reserve(150).unwrap();
    assert_eq!(
        breaker.pressure(),
        PressureLevel::Normal,
        "read before the grant"
    );
    breaker.check().unwrap();
    assert_eq!(breaker.pressure(), PressureLevel::Warn);
    drop(held);
    assert_eq!(breaker.refresh(), PressureLevel::Normal);
}
