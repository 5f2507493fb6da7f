//! Acceptance 2: `track` is exact with the counting allocator installed (its
//! own test binary; tests run in parallel, and `track` measures this thread
//! only, so other tests' allocations do not disturb it).

use heapguard_alloc::CountingAlloc;
use heapguard_breaker::CountingAllocSource;
use heapguard_monitor::{track, MemoryMonitor, MonitorConfig, Sampler};
use std::alloc::System;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

#[test]
fn diff_and_peak_are_exact() {
    let (kept, report) = track("build", || {
        let scratch = black_box(vec![0u8; 10_000]);
        drop(scratch);
        black_box(Vec::<u64>::with_capacity(100))
    });
    assert!(report.exact);
    assert_eq!(report.name, "build");
    assert_eq!(report.diff_bytes, 800);
    assert_eq!(report.peak_bytes, 10_000);
    assert_eq!(report.allocations, 2);
    assert!(report.percent_of_budget.is_none());
    drop(kept);
}

#[test]
fn freeing_older_memory_is_a_negative_diff() {
    let old = black_box(vec![1u8; 4096]);
    let ((), report) = track("free", move || drop(old));
    assert_eq!(report.diff_bytes, -4096);
    assert_eq!(report.peak_bytes, 0);
}

#[test]
fn the_handle_reports_percent_of_its_budget() {
    let config = MonitorConfig {
        interval: Duration::from_secs(3600),
        budget_bytes: Some(1 << 40),
        ..MonitorConfig::default()
    };
    let monitor = MemoryMonitor::start(config).unwrap();
    assert_eq!(monitor.source_name(), "counting-alloc");
    let (buffer, report) = monitor.track("grow", || black_box(vec![7u8; 1 << 20]));
    assert_eq!(report.diff_bytes, 1 << 20);
    assert_eq!(report.peak_bytes, 1 << 20);
    let percent = report.percent_of_budget.unwrap();
    assert_eq!(
        percent,
        report.after_bytes as f64 * 100.0 / (1u64 << 40) as f64
    );
    assert!(report.after_bytes > 0);
    drop(buffer);
}

#[test]
fn samples_carry_the_allocators_peak() {
    let sampler = Sampler::new(Arc::new(CountingAllocSource::new().unwrap()));
    let big = black_box(vec![0u8; 3 << 20]);
    let sample = sampler.sample(false).unwrap();
    drop(big);
    assert!(sample.live_bytes >= 3 << 20);
    assert!(sample.peak_bytes.unwrap() >= sample.live_bytes);
    assert!(sample.rss_bytes.unwrap() > 0);
}
