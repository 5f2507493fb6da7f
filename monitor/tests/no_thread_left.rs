//! Dropping the handle leaves no sampler thread behind (its own test binary:
//! it counts this process's threads by name).

use heapguard_monitor::{MemoryMonitor, MonitorConfig};
use heapguard_reading::ManualSource;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn monitor_threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.trim() == "heapguard-monit") // comm keeps 15 bytes
        })
        .count()
}

#[test]
fn no_sampler_thread_survives_its_handle() {
    if !std::path::Path::new("/proc/self/task").exists() {
        return; // not Linux: the join in Drop is still exercised elsewhere
    }
    let config = MonitorConfig {
        interval: Duration::from_millis(1),
        ..MonitorConfig::default()
    };
    let monitors: Vec<_> = (0..3)
        .map(|_| {
            MemoryMonitor::start_with_source(config.clone(), Arc::new(ManualSource::new(0)))
                .unwrap()
        })
        .collect();
    // A thread names itself once it runs; it has run once it has sampled.
    eventually("the threads sampled", || {
        monitors.iter().all(|monitor| monitor.samples_taken() > 0)
    });
    assert_eq!(monitor_threads(), 3);
    drop(monitors);
    // The join returns when the kernel clears the thread's id, early in its
    // exit; its entry leaves /proc/self/task a little later. A thread that
    // outlived its handle would stay listed past the deadline.
    eventually("the sampler threads left", || monitor_threads() == 0);
}

/// Waits (bounded, generously for a loaded 2-core machine) until `done`
/// holds; panics if it never does.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}
