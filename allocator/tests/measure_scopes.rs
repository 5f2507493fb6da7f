//! `measure` is exact for this thread while others allocate hard, nests, and
//! survives a panic.

use std::alloc::System;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use heapguard_alloc::{measure, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

#[test]
fn exact_while_another_thread_allocates_hard() {
    let stop = Arc::new(AtomicBool::new(false));
    // Rounds of allocation each noise thread has made.
    let churned: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let noisy: Vec<_> = (0..2)
        .map(|index| {
            let (stop, churned) = (Arc::clone(&stop), Arc::clone(&churned));
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let v: Vec<String> = (0..64).map(|i| i.to_string()).collect();
                    std::hint::black_box(v);
                    churned[index].fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Measure until each noise thread has demonstrably churned meanwhile (a
    // loaded machine may not run one of them for a while), for at most 60 s.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut round = 0usize;
    while round < 200 || churned.iter().any(|c| c.load(Ordering::Relaxed) < 500) {
        assert!(
            Instant::now() < deadline,
            "the noise threads churned {:?} rounds in 60 s",
            churned
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect::<Vec<_>>()
        );
        round += 1;
        let (blocks, usage) = measure(|| {
            (0..10)
                .map(|i| vec![0u8; 100 + i + round])
                .collect::<Vec<_>>()
        });
        let payload: u64 = (0..10).map(|i| (100 + i + round) as u64).sum();
        let outer = 10 * std::mem::size_of::<Vec<u8>>() as u64;
        assert_eq!(usage.allocations, 11);
        assert_eq!(usage.deallocations, 0);
        assert_eq!(usage.allocated_bytes, payload + outer);
        assert_eq!(usage.net_bytes, (payload + outer) as i64);
        assert_eq!(usage.peak_bytes, payload + outer);
        drop(blocks);
    }
    stop.store(true, Ordering::Relaxed);
    for handle in noisy {
        handle.join().unwrap();
    }
}

#[test]
fn nested_scopes_each_see_their_own_work_and_peak() {
    let ((), outer) = measure(|| {
        let a = vec![0u8; 1000];
        let (b, inner) = measure(|| {
            let tmp = vec![0u8; 5000];
            drop(tmp);
            vec![0u8; 300]
        });
        assert_eq!((inner.allocations, inner.deallocations), (2, 1));
        assert_eq!((inner.net_bytes, inner.peak_bytes), (300, 5000));
        drop(a);
        drop(b);
    });
    assert_eq!((outer.allocations, outer.deallocations), (3, 3));
    assert_eq!(outer.net_bytes, 0);
    // The outer peak: 1000 held while the inner scope reached 5000 more.
    assert_eq!(outer.peak_bytes, 6000);
}

#[test]
fn a_panicking_scope_leaves_the_enclosing_scope_correct() {
    let ((), outer) = measure(|| {
        let held = vec![0u8; 2000];
        let result = catch_unwind(AssertUnwindSafe(|| {
            measure(|| {
                let big = vec![0u8; 10_000];
                std::hint::black_box(&big);
                panic!("inside a measured scope");
            })
        }));
        assert!(result.is_err());
        // After the panic this thread is back in the outer scope only.
        let (after, usage) = measure(|| vec![0u8; 7]);
        assert_eq!(
            (usage.allocations, usage.net_bytes, usage.peak_bytes),
            (1, 7, 7)
        );
        drop(after);
        drop(held);
    });
    // The panic payload and its machinery allocate too, so the outer scope
    // is bounded below, but its peak includes the panicked scope's 10,000.
    assert!(outer.peak_bytes >= 12_000, "{outer:?}");
    assert!(outer.allocations >= 3);
}
