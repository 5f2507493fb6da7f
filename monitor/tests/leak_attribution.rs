//! A leak alarm names the function that leaks: one function keeps 1 KiB
//! blocks for good, another replaces as many of its own each round; the
//! monitor's `LeakAttributed` event must put the first on top, with its
//! bytes within 25% of the exact growth. The same holds for a service that
//! never marks quiescent samples; and a watched breaker's trip and cancel
//! line each leave a profile naming what held the memory then.
//!
//! jemalloc samples one allocation per 16 KiB here (`lg_prof_sample:14`),
//! so the leak's 24 MiB of growth is about 1,500 sampling intervals: the
//! estimate's relative standard error is about 1/sqrt(1500) = 2.6%, and 25%
//! is nearly ten of them.

use std::hint::black_box;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use heapguard_alloc::{CountingAlloc, Jemalloc};
use heapguard_breaker::{BreakerConfig, Budget, ManualSource, MemoryBreaker, PressureLevel};
use heapguard_monitor::attribution::{Attribution, AttributionConfig, AttributionError};
use heapguard_monitor::detect::TrendConfig;
use heapguard_monitor::{MemoryEvent, MemoryMonitor, MonitorConfig};

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);
heapguard_alloc::enable_heap_profiling!(14);

/// A jemalloc size class: usable size = requested size, so the profile's
/// bytes and the exact count agree.
const BLOCK: usize = 1024;
const LEAKED_PER_ROUND: usize = 1024;
const ROUNDS: usize = 24;
const STEADY_BLOCKS: usize = 4096;

#[inline(never)]
fn leak_blocks(kept: &mut Vec<Box<[u8]>>) {
    for _ in 0..LEAKED_PER_ROUND {
        kept.push(black_box(vec![7u8; BLOCK]).into_boxed_slice());
    }
}

#[inline(never)]
fn churn_steady(held: &mut [Box<[u8]>]) {
    for slot in held.iter_mut() {
        *slot = black_box(vec![3u8; BLOCK]).into_boxed_slice();
    }
}

/// Heap profiles cover the whole process: one test at a time, so no test's
/// allocations show up in another's profiles.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static PROFILES: Mutex<()> = Mutex::new(());
    PROFILES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The attribution among the events received so far, if any.
fn attributed(events: &crossbeam_channel::Receiver<MemoryEvent>) -> Option<Attribution> {
    events.try_iter().find_map(|event| match event {
        MemoryEvent::LeakAttributed { attribution, .. } => Some(attribution),
        _ => None,
    })
}

/// A monitor that samples only when asked, with a detector that alarms on
/// any steady growth and, before any quiescent sample, tests every sample
/// (no block minima).
fn monitor() -> MemoryMonitor {
    heapguard_alloc::profile::activate().expect("profiling enabled by this binary");
    MemoryMonitor::start(MonitorConfig {
        interval: Duration::from_secs(3600),
        trend: Some(TrendConfig {
            warm_up_secs: 0.0,
            min_slope_bytes_per_min: 1.0,
            min_growth_bytes: 1.0,
            minima_block: 1,
            ..TrendConfig::default()
        }),
        ..MonitorConfig::default()
    })
    .expect("monitor")
}

#[test]
fn leak_event_names_the_leaking_function_with_its_bytes() {
    let _alone = one_at_a_time();
    let monitor = monitor();
    let events = monitor.subscribe();
    // Every block the test keeps lives in vectors reserved up front, so the
    // only growth between quiescent points is the leaked blocks themselves.
    let mut kept: Vec<Box<[u8]>> = Vec::with_capacity(LEAKED_PER_ROUND * (ROUNDS + 1));
    let mut held: Vec<Box<[u8]>> = (0..STEADY_BLOCKS)
        .map(|_| vec![0u8; BLOCK].into())
        .collect();
    // Once before the first profile, so its blocks are churn_steady's from then on.
    churn_steady(&mut held);
    monitor
        .attribute_leaks(AttributionConfig::default())
        .expect("attribution");

    let mut attribution = None;
    for _ in 0..ROUNDS {
        leak_blocks(&mut kept);
        churn_steady(&mut held);
        std::thread::sleep(Duration::from_millis(20));
        monitor.mark_quiescent().expect("sample");
        if let Some(found) = attributed(&events) {
            attribution = Some(found);
        }
    }
    let attribution = attribution.expect("a leak was suspected and attributed");
    let top = &attribution.top_sites[0];
    assert!(
        top.function.ends_with("leak_blocks"),
        "top site {top:?} of {:#?}",
        attribution.top_sites
    );
    assert!(top
        .file
        .as_deref()
        .is_some_and(|f| f.ends_with("leak_attribution.rs")));
    // The exact growth over the attributed span: rounds between its two
    // profiles, each keeping LEAKED_PER_ROUND blocks.
    let span = attribution.to_t_secs - attribution.from_t_secs;
    assert!(span > 0.0);
    let samples = monitor.samples();
    let rounds = samples
        .iter()
        .filter(|s| {
            s.quiescent && s.t_secs > attribution.from_t_secs && s.t_secs <= attribution.to_t_secs
        })
        .count();
    let exact = (rounds * LEAKED_PER_ROUND * BLOCK) as f64;
    let error = (top.bytes as f64 - exact).abs() / exact;
    assert!(
        error <= 0.25,
        "estimated {} bytes, exact {exact} ({rounds} rounds): error {error:.3}",
        top.bytes
    );
    assert!(
        rounds * LEAKED_PER_ROUND * BLOCK >= 100 << 14,
        "at least 100 intervals"
    );
    // The steady function holds as much at the end as at the start: its
    // 4 MiB are resampled in each profile, so the difference is sampling
    // noise, about sqrt(2 x 4 MiB x 16 KiB) = 362 KiB (one sigma). Five of
    // them, whatever the span (an early alarm's leak can be a few MiB).
    let sigma = (2.0 * (STEADY_BLOCKS * BLOCK) as f64 * (1u64 << 14) as f64).sqrt();
    for site in &attribution.top_sites {
        if site.function.ends_with("churn_steady") {
            assert!(
                (site.bytes as f64) < 5.0 * sigma,
                "{site:?}, one sigma {sigma:.0}, exact leak {exact}"
            );
        }
    }
    drop((kept, held));
}

#[test]
fn a_service_that_never_marks_quiescent_samples_still_gets_its_leak_attributed() {
    let _alone = one_at_a_time();
    let monitor = monitor();
    let events = monitor.subscribe();
    let mut kept: Vec<Box<[u8]>> = Vec::with_capacity(LEAKED_PER_ROUND * (ROUNDS + 1));
    monitor
        .attribute_leaks(AttributionConfig::default())
        .expect("attribution");
    let mut attribution = None;
    for _ in 0..ROUNDS {
        leak_blocks(&mut kept);
        std::thread::sleep(Duration::from_millis(20));
        // A plain sample, as the monitor's own thread takes: never quiescent.
        let sample = monitor.sample_now().expect("sample");
        assert!(!sample.quiescent);
        if let Some(found) = attributed(&events) {
            attribution = Some(found);
        }
    }
    let attribution = attribution.expect("plain samples still raise and attribute a leak");
    let top = &attribution.top_sites[0];
    assert!(
        top.function.ends_with("leak_blocks"),
        "top site {top:?} of {:#?}",
        attribution.top_sites
    );
    drop(kept);
}

#[test]
fn paced_profiles_skip_samples_but_never_the_alarm() {
    let _alone = one_at_a_time();
    let monitor = monitor();
    let events = monitor.subscribe();
    let mut kept: Vec<Box<[u8]>> = Vec::with_capacity(LEAKED_PER_ROUND * (ROUNDS + 1));
    // A share so small that no sample after the first profile is due.
    monitor
        .attribute_leaks(AttributionConfig {
            max_time_share: 1e-9,
            ..AttributionConfig::default()
        })
        .expect("attribution");
    let mut found = None;
    for _ in 0..ROUNDS {
        leak_blocks(&mut kept);
        let sample = monitor.mark_quiescent().expect("sample");
        if let Some(attribution) = attributed(&events) {
            found = Some((sample, attribution));
            break;
        }
    }
    let (alarm, attribution) = found.expect("a leak was suspected and attributed");
    let first = monitor.samples()[0].t_secs;
    // From the profile taken at the start (before any sample), to one taken
    // at the alarm's own sample.
    assert!(attribution.from_t_secs < first, "{attribution:?}");
    assert_eq!(attribution.to_t_secs, alarm.t_secs);
    assert!(attribution.top_sites[0].function.ends_with("leak_blocks"));
    drop(kept);
}

/// Bytes each breaker test holds: 2,048 sampling intervals of 16 KiB, so
/// a profile's estimate is within 25% with room to spare (2.2% one sigma).
const HELD: usize = 32 << 20;

#[inline(never)]
fn hold_before_the_trip() -> Vec<Box<[u8]>> {
    (0..HELD / BLOCK)
        .map(|_| black_box(vec![5u8; BLOCK]).into_boxed_slice())
        .collect()
}

#[inline(never)]
fn hold_before_the_cancel_line() -> Vec<Box<[u8]>> {
    (0..HELD / BLOCK)
        .map(|_| black_box(vec![9u8; BLOCK]).into_boxed_slice())
        .collect()
}

/// Waits (at most 10 s) until the monitor's thread has taken `what`.
fn wait_for<T>(what: impl Fn() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = what() {
            return found;
        }
        assert!(Instant::now() < deadline, "no profile within 10 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The estimated bytes held by the site whose function ends with `name`.
fn held_by(profile: &heapguard_alloc::profile::HeapProfile, name: &str) -> f64 {
    profile
        .top_sites(10)
        .iter()
        .filter(|site| site.site.function.contains(name))
        .map(|site| site.bytes)
        .sum()
}

#[test]
fn a_trip_and_the_cancel_line_each_leave_a_profile_of_what_held_the_memory() {
    let _alone = one_at_a_time();
    let monitor = monitor();
    let usage = ManualSource::new(0);
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(1000))
            .name("attribution")
            .source(usage.clone())
            .watch_cancel_line(false)
            .no_purge(),
    )
    .expect("breaker");
    monitor.watch_breaker(breaker.subscribe());
    monitor
        .attribute_leaks(AttributionConfig::default())
        .expect("attribution");
    assert!(monitor.trip_profile().is_none());

    let first = hold_before_the_trip();
    usage.set(850);
    assert!(breaker.check().is_err(), "tripped at 85%");
    let (_, at_trip) = wait_for(|| monitor.trip_profile());
    let top = &at_trip.top_sites(1)[0];
    assert!(
        top.site.function.contains("hold_before_the_trip"),
        "{top:?}"
    );
    let error = (held_by(&at_trip, "hold_before_the_trip") - HELD as f64).abs() / HELD as f64;
    assert!(error <= 0.25, "error {error:.3}");
    assert!(monitor.cancel_line_profile().is_none());

    let second = hold_before_the_cancel_line();
    usage.set(960);
    assert!(breaker.check().is_err());
    assert_eq!(breaker.pressure(), PressureLevel::Cancel);
    let (_, at_cancel) = wait_for(|| monitor.cancel_line_profile());
    for name in ["hold_before_the_trip", "hold_before_the_cancel_line"] {
        let error = (held_by(&at_cancel, name) - HELD as f64).abs() / HELD as f64;
        assert!(error <= 0.25, "{name}: error {error:.3}");
    }
    drop((first, second));
}

#[test]
fn settings_out_of_range_are_refused_by_name() {
    let _alone = one_at_a_time();
    let monitor = monitor();
    let cases = [
        (
            AttributionConfig {
                max_profiles: 1,
                ..AttributionConfig::default()
            },
            "max_profiles must be at least 2, got 1",
        ),
        (
            AttributionConfig {
                top: 0,
                ..AttributionConfig::default()
            },
            "top must be at least 1, got 0",
        ),
        (
            AttributionConfig {
                max_time_share: 0.0,
                ..AttributionConfig::default()
            },
            "max_time_share must be in (0, 1], got 0",
        ),
        (
            AttributionConfig {
                max_time_share: f64::NAN,
                ..AttributionConfig::default()
            },
            "max_time_share must be in (0, 1], got NaN",
        ),
    ];
    for (config, message) in cases {
        let error = monitor.attribute_leaks(config).unwrap_err();
        assert!(
            matches!(error, AttributionError::Config { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains(message), "{error}");
    }
}

#[test]
fn an_attribution_whose_symbolising_does_not_fit_says_so_and_trips_nothing() {
    use heapguard_breaker::BreakerState;
    use heapguard_monitor::observer::Observer;
    use std::sync::Arc;

    let _alone = one_at_a_time();
    let monitor = monitor();
    let events = monitor.subscribe();
    // 40% of the budget used: checks pass, but the observer's 1 GiB
    // reservation is past the trip line.
    let breaker = Arc::new(
        MemoryBreaker::new(
            BreakerConfig::new(Budget::Bytes(1 << 30))
                .source(ManualSource::new(400 << 20))
                .watch_cancel_line(false),
        )
        .expect("breaker"),
    );
    let observer = Observer::new(Arc::clone(&breaker)).with_reservation(1 << 30);
    monitor.symbolize_within(observer.clone());
    let mut kept: Vec<Box<[u8]>> = Vec::with_capacity(LEAKED_PER_ROUND * (ROUNDS + 1));
    monitor
        .attribute_leaks(AttributionConfig::default())
        .expect("attribution");
    let mut attribution = None;
    for _ in 0..ROUNDS {
        leak_blocks(&mut kept);
        std::thread::sleep(Duration::from_millis(20));
        monitor.mark_quiescent().expect("sample");
        if let Some(found) = attributed(&events) {
            attribution = Some(found);
        }
    }
    let attribution = attribution.expect("a leak was suspected and its attribution reported");
    assert!(attribution.top_sites.is_empty(), "{attribution:?}");
    let reason = attribution
        .symbolization_refused
        .as_deref()
        .expect("why the sites are missing");
    assert!(reason.contains("1073741824 bytes does not fit"), "{reason}");
    assert!(
        attribution.growth_bytes > 0,
        "the growth itself is still reported"
    );
    assert_eq!(breaker.state(), BreakerState::Accepting);
    assert_eq!(breaker.reserved(), 0);
    assert!(breaker.check().is_ok());
    assert_eq!(observer.usage().allocations, 0, "nothing was symbolised");
    drop(kept);
}
