//! The sampler's estimate of a site's live bytes is within its statistical
//! bound. Runs without libtest's harness: one thread, one seeded sequence of
//! draws, so the figure repeats.

use std::alloc::System;
use std::hint::black_box;

use heapguard_alloc::profile::{self, sampling};
use heapguard_alloc::CountingAlloc;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const SIZE: usize = 256;
const COUNT: usize = 100_000;
const INTERVAL: u64 = 16 * 1024;

fn main() {
    let mut kept: Vec<Box<[u8; SIZE]>> = Vec::with_capacity(COUNT);
    sampling::start(INTERVAL).unwrap();
    sampling::seed_this_thread(0x5eed);
    for i in 0..COUNT {
        kept.push(black_box(Box::new([i as u8; SIZE])));
    }
    let taken = profile::take().unwrap();
    // The blocks of SIZE bytes: every sample of that exact size.
    let (objects, bytes) = taken
        .stacks
        .iter()
        .filter(|s| s.sampled_bytes == s.sampled_objects * SIZE as u64)
        .fold((0.0, 0.0), |(o, b), s| (o + s.objects, b + s.bytes));
    let truth = (COUNT * SIZE) as f64;
    // Each block is sampled with p = 1 - exp(-SIZE / INTERVAL), independently;
    // the estimate's relative standard deviation is sqrt((1 - p) / (COUNT p))
    // (2.5% here). Bound: 4 standard deviations.
    let p = 1.0 - (-(SIZE as f64) / INTERVAL as f64).exp();
    let sigma = ((1.0 - p) / (COUNT as f64 * p)).sqrt();
    let error = (bytes - truth) / truth;
    assert!(
        error.abs() < 4.0 * sigma,
        "estimated {bytes:.0} bytes for {truth} ({:+.1}%, bound {:.1}%)",
        error * 100.0,
        4.0 * sigma * 100.0
    );
    assert!(((objects - COUNT as f64) / COUNT as f64).abs() < 4.0 * sigma);
    assert_eq!(sampling::skipped(), 0);
    let coverage = taken
        .coverage
        .expect("CountingAlloc is the global allocator");
    assert!(coverage.active_since.is_some());
    assert!(coverage.live_bytes >= (COUNT * SIZE) as u64);
    drop(kept);
    println!(
        "test estimate_within_bound ... ok ({:+.2}% against a bound of {:.1}%)",
        error * 100.0,
        4.0 * sigma * 100.0
    );
}
