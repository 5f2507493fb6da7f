//! `track` is exact with the counting allocator installed (its
//! own test binary; tests run in parallel, and `track` measures this thread
//! only, so other tests' allocations do not disturb it).

use heapguard_alloc::CountingAlloc;
use heapguard_monitor::{track, MemoryMonitor, MonitorConfig, Sampler};
use heapguard_reading::{CountingAllocSource, ManualSource};
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
    // A source that reads half the budget: the percentage is known exactly.
    let heap = ManualSource::new(1 << 39);
    let config = MonitorConfig {
        interval: Duration::from_secs(3600),
        budget_bytes: Some(1 << 40),
        ..MonitorConfig::default()
    };
    let monitor = MemoryMonitor::start_with_source(config, Arc::new(heap.clone())).unwrap();
    let (buffer, report) = monitor.track("grow", || {
        let buffer = black_box(vec![7u8; 1 << 20]);
        heap.set(3 << 38); // what the source reads once the work is done
        buffer
    });
    // Before and after come from the monitor's source; the diff and peak
    // from the counting allocator (this thread, exact) all the same.
    assert_eq!(
        (report.before_bytes, report.after_bytes),
        (1 << 39, 3 << 38)
    );
    assert_eq!(report.percent_of_budget, Some(75.0));
    assert!(report.exact);
    assert_eq!(report.diff_bytes, 1 << 20);
    assert_eq!(report.peak_bytes, 1 << 20);
    drop(buffer);
}

#[test]
fn the_default_source_is_the_counting_allocator() {
    let config = MonitorConfig {
        interval: Duration::from_secs(3600),
        budget_bytes: Some(1 << 40),
        ..MonitorConfig::default()
    };
    let monitor = MemoryMonitor::start(config).unwrap();
    assert_eq!(monitor.source_name(), "counting-alloc");
    let (buffer, report) = monitor.track("grow", || black_box(vec![7u8; 1 << 20]));
    // The buffer is still alive when `after` is read. Other tests in this
    // binary allocate too, so only bounds hold process-wide.
    let slack = heapguard_alloc::live_bytes_error_bound();
    assert!(
        report.after_bytes + slack >= 1 << 20,
        "after {} bytes with 1 MiB alive (slack {slack})",
        report.after_bytes
    );
    let percent = report.percent_of_budget.unwrap();
    assert!(percent > 0.0 && percent < 1.0, "{percent}% of 1 TiB");
    drop(buffer);
}

#[test]
fn samples_carry_the_allocators_peak() {
    const MIB: u64 = 1 << 20;
    let sampler = Sampler::new(Arc::new(CountingAllocSource::new().unwrap()));
    let slack = heapguard_alloc::live_bytes_error_bound();
    let big = black_box(vec![0u8; 8 << 20]);
    let during = sampler.sample(false).unwrap();
    drop(big);
    let after = sampler.sample(false).unwrap();
    assert!(during.live_bytes + slack >= 8 * MIB, "{during:?}");
    // The peak remembers the 8 MiB that live bytes no longer hold (other
    // tests here hold far less than 4 MiB at a time).
    let peak = after.peak_bytes.unwrap();
    assert!(peak + slack >= 8 * MIB, "{after:?}");
    assert!(after.live_bytes + 4 * MIB <= peak, "{after:?}");
    assert!(after.rss_bytes.unwrap() > 0);
}
