//! The end-to-end workloads with `CountingAlloc<Jemalloc>` and jemalloc's
//! heap profiler compiled in (feature `profiling`), started inactive, and a
//! memory monitor beside them (a sample a second), as in a service.
//!
//! `e2e_profiled <workload> [runs] on` switches the profiler on (sampling
//! one allocation per 512 KiB) and the monitor's leak attribution with it
//! (profiles paced to its default share of time); without `on` the
//! profiler stays compiled in but inactive.
use std::process::ExitCode;
use std::time::Duration;

use heapguard_alloc::{profile, CountingAlloc, Jemalloc};
use heapguard_monitor::attribution::AttributionConfig;
use heapguard_monitor::{MemoryMonitor, MonitorConfig};

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);
heapguard_alloc::enable_heap_profiling!();

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let on = args.last().is_some_and(|last| last == "on");
    if on {
        args.pop();
    }
    let monitor = match MemoryMonitor::start(MonitorConfig {
        interval: Duration::from_secs(1),
        ..MonitorConfig::default()
    }) {
        Ok(monitor) => monitor,
        Err(error) => {
            eprintln!("cannot start the monitor: {error}");
            return ExitCode::FAILURE;
        }
    };
    if on {
        if let Err(error) = profile::activate() {
            eprintln!("cannot switch the heap profiler on: {error}");
            return ExitCode::FAILURE;
        }
        if let Err(error) = monitor.attribute_leaks(AttributionConfig::default()) {
            eprintln!("cannot attribute leaks: {error}");
            return ExitCode::FAILURE;
        }
    }
    let label = if on {
        "profiling on"
    } else {
        "profiling inactive"
    };
    let status = heapguard_benches::e2e::main_with(label, &args);
    drop(monitor);
    status
}
