//! The sampler thread, subscribers and breaker events, on a
//! settable source (no global allocator here).

use crossbeam_channel::{RecvTimeoutError, TryRecvError};
#[cfg(feature = "breaker")]
use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};
use heapguard_monitor::detect::GrowthRule;
use heapguard_monitor::{
    LeakEvidence, MemoryEvent, MemoryMonitor, MonitorConfig, MonitorError, RecoveredFrom,
    SUBSCRIBER_QUEUE,
};
use heapguard_reading::{ManualSource, MemorySource, SourceError};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const HOUR: Duration = Duration::from_secs(3600);

/// A monitor whose thread never ticks during a test: samples come from
/// `sample_now` only.
fn quiet_monitor(config: MonitorConfig) -> (MemoryMonitor, ManualSource) {
    let heap = ManualSource::new(0);
    let config = MonitorConfig {
        interval: HOUR,
        ..config
    };
    let monitor = MemoryMonitor::start_with_source(config, Arc::new(heap.clone())).unwrap();
    (monitor, heap)
}

fn budget_1000() -> MonitorConfig {
    MonitorConfig {
        budget_bytes: Some(1000),
        ..MonitorConfig::default()
    }
}

/// Waits (bounded) until `done` holds; panics if it never does.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn the_thread_samples_into_a_bounded_window() {
    // The source reads 4242 from the start, so every sample the thread
    // takes, however the threads are scheduled, reads it.
    let heap = ManualSource::new(4242);
    let config = MonitorConfig {
        interval: Duration::from_millis(1),
        window: 5,
        ..MonitorConfig::default()
    };
    let monitor = MemoryMonitor::start_with_source(config, Arc::new(heap.clone())).unwrap();
    assert_eq!(monitor.source_name(), "manual");
    eventually("20 samples", || monitor.samples_taken() >= 20);
    let samples = monitor.samples();
    assert_eq!(samples.len(), 5);
    assert!(samples
        .windows(2)
        .all(|pair| pair[0].t_secs <= pair[1].t_secs));
    assert!(samples
        .iter()
        .all(|sample| sample.live_bytes == 4242 && !sample.quiescent));
    // A new reading shows up: at most one sample counted after `taken` read
    // the source before the change (the one under way), so the newest
    // sample once 2 more are counted reads the new value.
    heap.set(77);
    let taken = monitor.samples_taken();
    eventually("2 samples after the change", || {
        monitor.samples_taken() >= taken + 2
    });
    assert_eq!(monitor.latest().unwrap().live_bytes, 77);
    assert_eq!(monitor.samples().len(), 5);
}

#[test]
fn dropping_the_handle_stops_and_joins_the_thread() {
    let heap = ManualSource::new(0);
    let config = MonitorConfig {
        interval: Duration::from_millis(1),
        ..MonitorConfig::default()
    };
    let monitor = MemoryMonitor::start_with_source(config, Arc::new(heap)).unwrap();
    let events = monitor.subscribe();
    eventually("a tick", || monitor.samples_taken() >= 2);
    drop(monitor);
    // The thread held the only other reference to the subscribers: once it
    // is joined, the channel is disconnected at once.
    assert_eq!(events.try_recv(), Err(TryRecvError::Disconnected));
    // `stop` is the same as dropping.
    let (monitor, _heap) = quiet_monitor(MonitorConfig::default());
    let events = monitor.subscribe();
    monitor.stop();
    assert_eq!(events.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn sample_now_and_quiescent_marks() {
    let (monitor, heap) = quiet_monitor(MonitorConfig {
        window: 3,
        ..MonitorConfig::default()
    });
    heap.set(10);
    assert_eq!(monitor.sample_now().unwrap().live_bytes, 10);
    heap.set(20);
    let quiescent = monitor.mark_quiescent().unwrap();
    assert!(quiescent.quiescent);
    assert_eq!(quiescent.live_bytes, 20);
    monitor.set_idle(true);
    heap.set(30);
    assert!(monitor.sample_now().unwrap().quiescent);
    monitor.set_idle(false);
    heap.set(40);
    assert!(!monitor.sample_now().unwrap().quiescent);
    let bytes: Vec<u64> = monitor.samples().iter().map(|s| s.live_bytes).collect();
    assert_eq!(bytes, vec![20, 30, 40]);
    assert_eq!(monitor.latest().unwrap().live_bytes, 40);
    assert_eq!(monitor.samples_taken(), 4);
}

#[test]
fn bad_configs_are_refused() {
    let start = |config: MonitorConfig| {
        MemoryMonitor::start_with_source(config, Arc::new(ManualSource::new(0))).unwrap_err()
    };
    assert!(matches!(
        start(MonitorConfig {
            interval: Duration::ZERO,
            ..MonitorConfig::default()
        }),
        MonitorError::ZeroInterval
    ));
    assert!(matches!(
        start(MonitorConfig {
            window: 0,
            ..MonitorConfig::default()
        }),
        MonitorError::ZeroWindow
    ));
    assert!(matches!(
        start(MonitorConfig {
            budget_bytes: Some(0),
            ..MonitorConfig::default()
        }),
        MonitorError::ZeroBudget
    ));
    let error = start(MonitorConfig {
        recover_percent: 80.0,
        ..MonitorConfig::default()
    });
    assert_eq!(
        error.to_string(),
        "recover_percent 80 must not be above high_usage_percent 70"
    );
    let trend = heapguard_monitor::detect::TrendConfig {
        confidence: 2.0,
        ..Default::default()
    };
    assert!(matches!(
        start(MonitorConfig {
            trend: Some(trend),
            ..MonitorConfig::default()
        }),
        MonitorError::Detector(_)
    ));
}

#[test]
fn two_subscribers_each_get_every_event_in_order() {
    let (monitor, heap) = quiet_monitor(budget_1000());
    let first = monitor.subscribe();
    let second = monitor.subscribe();
    for _ in 0..100 {
        heap.set(900);
        monitor.sample_now().unwrap();
        heap.set(100);
        monitor.sample_now().unwrap();
    }
    for subscriber in [first, second] {
        let events: Vec<MemoryEvent> = subscriber.try_iter().collect();
        assert_eq!(events.len(), 200);
        for pair in events.chunks(2) {
            assert!(matches!(
                pair[0],
                MemoryEvent::HighUsage {
                    used_bytes: 900,
                    budget_bytes: 1000,
                    ..
                }
            ));
            assert!(matches!(pair[0], MemoryEvent::HighUsage { percent, .. } if percent == 90.0));
            assert!(matches!(
                pair[1],
                MemoryEvent::Recovered {
                    from: RecoveredFrom::HighUsage,
                    ..
                }
            ));
        }
    }
}

#[test]
fn subscriber_queues_are_bounded_and_count_what_they_drop() {
    let (monitor, heap) = quiet_monitor(budget_1000());
    let reader = monitor.subscribe();
    let idle = monitor.subscribe(); // never read until the end
    drop(monitor.subscribe());
    let mut read = 0;
    for _ in 0..5_000 {
        heap.set(900);
        monitor.sample_now().unwrap();
        heap.set(0);
        monitor.sample_now().unwrap();
        read += reader.try_iter().count();
    }
    assert_eq!(read, 10_000);
    // The idle subscriber holds the first 1,024 events; the rest were
    // dropped for it, and counted. The reader lost none.
    assert_eq!(idle.len(), SUBSCRIBER_QUEUE);
    assert_eq!(monitor.dropped_events(), 10_000 - SUBSCRIBER_QUEUE as u64);
    let first: Vec<MemoryEvent> = idle.try_iter().take(2).collect();
    assert_eq!(first[0].kind(), "high_usage");
    assert_eq!(first[1].kind(), "recovered");
    // A subscriber dropped later is forgotten, and nothing more is dropped
    // for one with room.
    drop(reader);
    heap.set(900);
    monitor.sample_now().unwrap();
    assert_eq!(idle.len(), SUBSCRIBER_QUEUE - 1);
    assert_eq!(monitor.dropped_events(), 10_000 - SUBSCRIBER_QUEUE as u64);
}

#[test]
fn huge_windows_are_refused_not_allocated() {
    let start = |config: MonitorConfig| {
        MemoryMonitor::start_with_source(config, Arc::new(ManualSource::new(0)))
    };
    for window in [1usize << 40, usize::MAX, MonitorConfig::MAX_WINDOW + 1] {
        let error = start(MonitorConfig {
            window,
            ..MonitorConfig::default()
        })
        .unwrap_err();
        assert!(
            matches!(error, MonitorError::WindowTooLarge { window: w, .. } if w == window),
            "{error}"
        );
        let trend = heapguard_monitor::detect::TrendConfig {
            window,
            ..Default::default()
        };
        let error = start(MonitorConfig {
            trend: Some(trend),
            ..MonitorConfig::default()
        })
        .unwrap_err();
        assert!(matches!(error, MonitorError::Detector(_)), "{error}");
        assert!(GrowthRule::new(1.5, window).is_err());
    }
    // The largest window allowed starts at once: nothing is allocated ahead.
    let monitor = start(MonitorConfig {
        window: MonitorConfig::MAX_WINDOW,
        growth_rule: Some(GrowthRule::new(1.5, GrowthRule::MAX_WINDOW).unwrap()),
        ..MonitorConfig::default()
    })
    .unwrap();
    monitor.sample_now().unwrap();
    assert_eq!(monitor.samples().len(), 1);
}

/// A source that panics on every call after the first `good` ones.
struct PanickingSource {
    calls: AtomicU64,
    good: u64,
}

impl MemorySource for PanickingSource {
    fn used_bytes(&self) -> Result<u64, SourceError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.good {
            panic!("the allocator statistics are gone");
        }
        Ok(4096)
    }

    fn name(&self) -> &'static str {
        "panicking"
    }
}

#[test]
fn a_panicking_source_is_reported_and_the_sampler_goes_on() {
    let source = Arc::new(PanickingSource {
        calls: AtomicU64::new(0),
        good: 1,
    });
    let monitor = MemoryMonitor::start_with_source(
        MonitorConfig {
            interval: Duration::from_millis(1),
            ..MonitorConfig::default()
        },
        source.clone(),
    )
    .unwrap();
    let events = monitor.subscribe();
    let event = events.recv_timeout(Duration::from_secs(30)).unwrap();
    let MemoryEvent::SourceFailed {
        source: name,
        message,
        ..
    } = &event
    else {
        panic!("expected a source failure, got {event:?}");
    };
    assert_eq!(name, "panicking");
    assert_eq!(message, "the allocator statistics are gone");
    // The thread goes on calling the source, and reports each failure.
    let calls = source.calls.load(Ordering::SeqCst);
    eventually("more calls", || {
        source.calls.load(Ordering::SeqCst) > calls + 3
    });
    assert!(monitor.is_sampling());
    assert!(events
        .try_iter()
        .all(|event| event.kind() == "source_failed"));
    let error = monitor.sample_now().unwrap_err();
    assert!(matches!(error, MonitorError::SourcePanicked(ref m) if m == message));
    drop(monitor);
}

/// A source that owns its monitor's handle and drops it when the sampler
/// thread reads it: code running on the sampler thread dropping the handle.
struct SelfDroppingSource {
    handle: Mutex<Option<MemoryMonitor>>,
    dropped: AtomicBool,
}

impl MemorySource for SelfDroppingSource {
    fn used_bytes(&self) -> Result<u64, SourceError> {
        let on_sampler = std::thread::current().name() == Some("heapguard-monitor");
        if on_sampler {
            if let Some(handle) = self.handle.lock().unwrap().take() {
                drop(handle);
                self.dropped.store(true, Ordering::SeqCst);
            }
        }
        Ok(1)
    }

    fn name(&self) -> &'static str {
        "self-dropping"
    }
}

#[test]
fn dropping_the_handle_on_its_own_sampler_thread_is_safe() {
    let source = Arc::new(SelfDroppingSource {
        handle: Mutex::new(None),
        dropped: AtomicBool::new(false),
    });
    let monitor = MemoryMonitor::start_with_source(
        MonitorConfig {
            interval: Duration::from_millis(1),
            budget_bytes: Some(1),
            ..MonitorConfig::default()
        },
        source.clone(),
    )
    .unwrap();
    let events = monitor.subscribe();
    *source.handle.lock().unwrap() = Some(monitor);
    eventually("the sampler dropped its handle", || {
        source.dropped.load(Ordering::SeqCst)
    });
    // The thread did not panic (no `SourceFailed`), and it ends: once it
    // is gone, the subscribers' channel is disconnected.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match events.recv_deadline(deadline) {
            Ok(event) => assert_ne!(event.kind(), "source_failed", "{event:?}"),
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => panic!("the sampler thread never ended"),
        }
    }
}

#[test]
fn a_leak_is_published_with_its_evidence() {
    // The Node service's rule over 3 samples, so a short series shows it.
    let (monitor, heap) = quiet_monitor(MonitorConfig {
        growth_rule: Some(GrowthRule::new(1.5, 3).unwrap()),
        ..MonitorConfig::default()
    });
    let events = monitor.subscribe();
    for bytes in [100, 120, 160] {
        heap.set(bytes);
        monitor.sample_now().unwrap();
    }
    let event = events.try_recv().unwrap();
    let MemoryEvent::LeakSuspected {
        evidence: LeakEvidence::Growth(verdict),
        ..
    } = event
    else {
        panic!("expected a growth-rule leak, got {event:?}");
    };
    assert_eq!((verdict.first_bytes, verdict.last_bytes), (100, 160));
    assert_eq!(events.try_recv(), Err(TryRecvError::Empty));
}

/// A breaker over its own manual source, free to change state at once.
#[cfg(feature = "breaker")]
fn breaker_named(name: &str) -> (MemoryBreaker, ManualSource) {
    let memory = ManualSource::new(0);
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(1000))
            .name(name)
            .min_state_duration(Duration::ZERO)
            .source(memory.clone())
            .no_purge(),
    )
    .unwrap();
    (breaker, memory)
}

#[test]
#[cfg(feature = "breaker")]
fn watched_breaker_trips_and_resets_become_events() {
    let before_start = Instant::now();
    let (monitor, _heap) = quiet_monitor(MonitorConfig::default());
    let events = monitor.subscribe();
    let (breaker, memory) = breaker_named("jobs");
    monitor.watch_breaker(breaker.subscribe());
    memory.set(850);
    assert!(breaker.check().is_err());
    memory.set(100);
    assert!(breaker.check().is_ok());
    let tripped = events.recv_timeout(Duration::from_secs(30)).unwrap();
    // The trip happened between the monitor's start and now, and its time
    // counts from the start.
    let since_start = before_start.elapsed().as_secs_f64();
    let MemoryEvent::BreakerTripped {
        breaker: name,
        used_bytes,
        limit_bytes,
        percent,
        t_secs,
        ..
    } = &tripped
    else {
        panic!("expected a trip, got {tripped:?}");
    };
    assert_eq!(
        (name.as_str(), *used_bytes, *limit_bytes),
        ("jobs", 850, 1000)
    );
    assert!((percent - 85.0).abs() < 1e-9);
    assert!(
        (0.0..=since_start).contains(t_secs),
        "trip at {t_secs} s, {since_start} s after the start"
    );
    let reset = events.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(matches!(
        reset,
        MemoryEvent::Recovered { from: RecoveredFrom::Breaker(ref name), .. } if name == "jobs"
    ));
    assert!(reset.t_secs() >= *t_secs);
    // A dropped breaker is forgotten; the thread goes on forwarding the
    // others. Several rounds, so the thread sees the disconnection while it
    // still has events of the second breaker to forward.
    drop(breaker);
    let (second, memory) = breaker_named("cache");
    monitor.watch_breaker(second.subscribe());
    for round in 0..5 {
        memory.set(900);
        assert!(second.check().is_err());
        memory.set(0);
        assert!(second.check().is_ok());
        for expected in ["trip", "reset"] {
            let event = events
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|error| panic!("round {round}: no {expected}: {error}"));
            let from_cache = match &event {
                MemoryEvent::BreakerTripped { breaker, .. } => {
                    expected == "trip" && breaker == "cache"
                }
                MemoryEvent::Recovered {
                    from: RecoveredFrom::Breaker(name),
                    ..
                } => expected == "reset" && name == "cache",
                _ => false,
            };
            assert!(
                from_cache,
                "round {round}: expected a {expected}, got {event:?}"
            );
        }
    }
    assert_eq!(events.try_recv(), Err(TryRecvError::Empty));
}

#[test]
#[allow(deprecated)]
fn the_former_handle_name_still_names_the_monitor() {
    let (monitor, _heap) = quiet_monitor(MonitorConfig::default());
    let handle: &heapguard_monitor::MonitorHandle = &monitor;
    assert_eq!(handle.source_name(), "manual");
}
