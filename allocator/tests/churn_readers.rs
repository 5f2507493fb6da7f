//! Threads are born and die while other threads read the process totals:
//! every thread counts in its own thread-local block, which readers reach
//! through the registry, so a reader must never see a block whose thread has
//! gone (a use after free), nor a thread's totals twice or not at all while
//! they move to the retired totals. Each reader's counts only grow, and at
//! the end live bytes are back to the baseline to the byte. CI also runs
//! this binary under valgrind (`CHURN_THREADS=200`).

use std::alloc::System;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::thread;

use heapguard_alloc::{slot_usage, stats, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const AT_ONCE: usize = 8;

/// Reads the totals until `stop`; returns how many readings it took. The
/// counts of calls are cumulative and a thread's move to the retired totals
/// happens under the readers' lock, so each reading is at least the last.
fn read_until(stop: &AtomicBool) -> u64 {
    let mut last = stats();
    let mut readings = 0u64;
    while !stop.load(SeqCst) {
        let now = stats();
        assert!(
            now.allocations >= last.allocations
                && now.deallocations >= last.deallocations
                && now.reallocations >= last.reallocations,
            "counts went back: {last:?} then {now:?}"
        );
        let slots = slot_usage();
        assert!(slots.in_use <= slots.claimed && slots.claimed <= slots.capacity);
        last = now;
        readings += 1;
        // Valgrind runs one thread at a time: a reader that never yields
        // holds the machine for its whole time slice and starves the waves
        // it is there to race with (minutes instead of seconds).
        thread::yield_now();
    }
    readings
}

fn wave(first: usize) {
    let handles: Vec<_> = (first..first + AT_ONCE)
        .map(|i| {
            thread::spawn(move || {
                let keep = vec![i as u8; 32 + i % 300];
                let mut grown = Vec::new();
                for k in 0..20u32 {
                    grown.push(k);
                }
                drop(grown);
                keep
            })
        })
        .collect();
    for handle in handles {
        drop(handle.join().unwrap());
    }
}

fn churn_under_concurrent_readers_is_exact() {
    let threads: usize = std::env::var("CHURN_THREADS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(4000);
    // Warm std's lazily initialised thread machinery, scoped threads too
    // (joined: a scope alone does not wait for its threads' teardown).
    wave(0);
    thread::scope(|s| s.spawn(stats).join().map(drop)).unwrap();
    let stop = AtomicBool::new(false);
    let before = stats();
    let readings = thread::scope(|s| {
        // An array, not a Vec: nothing the test keeps may sit on the heap.
        let readers = [s.spawn(|| read_until(&stop)), s.spawn(|| read_until(&stop))];
        let mut started = AT_ONCE;
        while started < threads {
            wave(started);
            started += AT_ONCE;
        }
        let after_waves = stats();
        stop.store(true, SeqCst);
        let readings = readers.map(|reader| reader.join().unwrap());
        assert!(after_waves.allocations > before.allocations);
        readings
    });
    let after = stats();
    assert_eq!(
        after.live_bytes, before.live_bytes,
        "live bytes after {threads} threads and {readings:?} readings"
    );
    assert!(readings.iter().all(|&n| n > 0), "{readings:?}");
    assert_eq!(slot_usage().in_use, 1, "only the main thread is left");
}

/// Runs without libtest (see Cargo.toml): nothing else allocates meanwhile.
fn main() {
    churn_under_concurrent_readers_is_exact();
    println!("test churn_under_concurrent_readers_is_exact ... ok");
}
