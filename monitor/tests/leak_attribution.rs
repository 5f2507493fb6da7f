//! A leak alarm names the function that leaks: one function keeps 1 KiB
//! blocks for good, another replaces as many of its own each round; the
//! monitor's `LeakAttributed` event must put the first on top, with its
//! bytes within 25% of the exact growth.
//!
//! jemalloc samples one allocation per 16 KiB here (`lg_prof_sample:14`),
//! so the leak's 24 MiB of growth is about 1,500 sampling intervals: the
//! estimate's relative standard error is about 1/sqrt(1500) = 2.6%, and 25%
//! is nearly ten of them.

use std::hint::black_box;
use std::time::Duration;

use heapguard_alloc::{CountingAlloc, Jemalloc};
use heapguard_monitor::attribution::AttributionConfig;
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

#[test]
fn leak_event_names_the_leaking_function_with_its_bytes() {
    heapguard_alloc::profile::activate().expect("profiling enabled by this binary");
    let config = MonitorConfig {
        interval: Duration::from_secs(3600),
        trend: Some(TrendConfig {
            warm_up_secs: 0.0,
            min_slope_bytes_per_min: 1.0,
            min_growth_bytes: 1.0,
            ..TrendConfig::default()
        }),
        ..MonitorConfig::default()
    };
    let monitor = MemoryMonitor::start(config).expect("monitor");
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
        if let Some(found) = events.try_iter().find_map(|event| match event {
            MemoryEvent::LeakAttributed { attribution, .. } => Some(attribution),
            _ => None,
        }) {
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
    // noise, about sqrt(2 x 4 MiB x 16 KiB) = 370 KiB (one sigma); a quarter
    // of the leak's growth is over five of them.
    for site in &attribution.top_sites {
        if site.function.ends_with("churn_steady") {
            assert!(
                (site.bytes as f64) < exact / 4.0,
                "{site:?}, exact leak {exact}"
            );
        }
    }
    drop((kept, held));
}
