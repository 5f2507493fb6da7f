//! The monitor's costs: one sample (what the sampler thread does each
//! interval) and the leak detector over a full 60-point window.
//!
//! The counting allocator is the global allocator, so the sample reads it
//! (live bytes and peak) as well as RSS from `/proc` (and jemalloc's
//! resident bytes when heapguard-monitor's `jemalloc` feature is on in the
//! build, as it is when the demo is built alongside).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use heapguard_alloc::{CountingAlloc, Jemalloc};
use heapguard_monitor::detect::{evaluate_trend, SeriesPoint, TrendConfig, TrendDetector};
use heapguard_monitor::Sampler;

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);

const MIB: u64 = 1 << 20;
const WINDOW: usize = 60;

/// A steady quiescent series around 300 MiB with a few MiB of noise: the
/// common case, where every scale is tested and none reports a leak.
fn steady_point(minute: u64) -> SeriesPoint {
    SeriesPoint::quiescent(minute as f64 * 60.0, 300 * MIB + (minute * 7919 % 5) * MIB)
}

fn monitor_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("monitor");
    match Sampler::with_default_source() {
        Ok(sampler) => {
            group.bench_function("sample", |b| b.iter(|| black_box(sampler.sample(false))));
        }
        Err(error) => eprintln!("monitor/sample skipped: no memory source ({error})"),
    }

    let config = TrendConfig {
        warm_up_secs: 0.0,
        ..TrendConfig::default()
    };
    let window: Vec<SeriesPoint> = (0..WINDOW as u64).map(steady_point).collect();
    group.bench_function("evaluate_trend_60", |b| {
        b.iter(|| black_box(evaluate_trend(black_box(&window), &config, Some(1 << 30))))
    });

    match TrendDetector::new(config, Some(1 << 30)) {
        Ok(mut detector) => {
            let mut minute = 0u64;
            while (minute as usize) < WINDOW {
                detector.observe(steady_point(minute));
                minute += 1;
            }
            group.bench_function("detector_observe_window_60", |b| {
                b.iter(|| {
                    minute += 1;
                    black_box(detector.observe(steady_point(minute)))
                })
            });
        }
        Err(error) => eprintln!("monitor/detector skipped: {error}"),
    }
    group.finish();
}

criterion_group!(benches, monitor_benches);
criterion_main!(benches);
