//! 10,000 thread births and deaths: live bytes back to the baseline exactly,
//! and slots reused so their number stays bounded by the threads alive at once.

use std::alloc::System;
use std::thread;

use heapguard_alloc::{slot_usage, stats, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const THREADS: usize = 10_000;
const AT_ONCE: usize = 16;

fn wave(first: usize) {
    let handles: Vec<_> = (first..first + AT_ONCE)
        .map(|i| {
            thread::spawn(move || {
                // Allocate, free, and leave a block to a neighbour thread: a
                // mix of local and cross-thread frees.
                let keep = vec![i as u8; 64 + i % 512];
                let scratch: Vec<String> = (0..8).map(|k| format!("{i}-{k}")).collect();
                drop(scratch);
                keep
            })
        })
        .collect();
    for handle in handles {
        drop(handle.join().unwrap());
    }
}

fn ten_thousand_threads_leave_no_byte_behind() {
    wave(0); // warm std's lazily initialised thread machinery
    let before = stats();
    let mut started = AT_ONCE;
    while started < THREADS {
        wave(started);
        started += AT_ONCE;
    }
    let after = stats();
    assert_eq!(
        after.live_bytes, before.live_bytes,
        "live bytes after {THREADS} threads"
    );
    assert!(after.allocations - before.allocations >= (THREADS as u64 - AT_ONCE as u64) * 10);

    // At most AT_ONCE workers plus the main thread ever held a slot at once.
    let slots = slot_usage();
    assert!(slots.claimed <= AT_ONCE + 1, "{slots:?}");
    assert_eq!(slots.in_use, 1, "only the main thread is left: {slots:?}");
}

/// Runs without libtest (see Cargo.toml): nothing else allocates meanwhile.
fn main() {
    ten_thousand_threads_leave_no_byte_behind();
    println!("test ten_thousand_threads_leave_no_byte_behind ... ok");
}
