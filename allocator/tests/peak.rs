//! The process-wide peak and `reset_peak`, and the bound of `live_bytes()`.
//! Runs without libtest's harness (see Cargo.toml): the peak is process-wide
//! and `peak == live` right after a reset is exact, so no other thread may
//! free anything between the reset and the reading.

use std::alloc::System;

use heapguard_alloc::{
    live_bytes, live_bytes_error_bound, reset_peak, stats, CountingAlloc, FLUSH_THRESHOLD,
};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const BIG: u64 = 32 << 20;

fn main() {
    peak_follows_the_high_water_and_reset_restarts_it();
    println!("test peak_follows_the_high_water_and_reset_restarts_it ... ok");
}

fn peak_follows_the_high_water_and_reset_restarts_it() {
    reset_peak();
    let base = stats();
    assert_eq!(base.peak_bytes, base.live_bytes);
    let bound = live_bytes_error_bound();
    assert!(bound >= FLUSH_THRESHOLD, "this thread holds a slot");

    let big = std::hint::black_box(vec![1u8; BIG as usize]);
    let during = stats();
    drop(big);
    let after = stats();
    // A block larger than the flush threshold is published at once.
    assert!(during.peak_bytes >= base.live_bytes + BIG - bound);
    assert!(after.peak_bytes >= base.live_bytes + BIG - bound);
    assert!(after.peak_bytes <= base.live_bytes + BIG + bound);
    assert!(after.live_bytes <= base.live_bytes + bound);

    reset_peak();
    let reset = stats();
    assert_eq!(reset.peak_bytes, reset.live_bytes);
    assert!(reset.peak_bytes < base.live_bytes + BIG / 2);

    live_bytes_stays_within_its_documented_bound();
}

/// Runs after the peak checks, never beside them: the peak is process-wide.
fn live_bytes_stays_within_its_documented_bound() {
    // Many small allocations stay batched; the cheap reading may lag the
    // exact one by at most the bound, in either direction.
    let mut held = Vec::with_capacity(10_000);
    for i in 0..10_000usize {
        held.push(vec![0u8; 1 + i % 200]);
        if i % 997 == 0 {
            let exact = stats().live_bytes as i128;
            let cheap = live_bytes() as i128;
            let bound = live_bytes_error_bound() as i128;
            assert!(
                (exact - cheap).abs() <= bound,
                "exact {exact} cheap {cheap} bound {bound}"
            );
        }
    }
    drop(held);
    let exact = stats().live_bytes as i128;
    let cheap = live_bytes() as i128;
    assert!((exact - cheap).abs() <= live_bytes_error_bound() as i128);
}
