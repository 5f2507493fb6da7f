//! The `limit` feature: a refused allocation fails cleanly, and racing
//! threads never pass the limit by more than the documented slack.
#![cfg(feature = "limit")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Barrier;
use std::thread;

use heapguard_alloc::{limit, limit_slack, set_limit, stats, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

#[path = "common/refuses.rs"]
mod refuses;
use refuses::Refuses;

/// Shares the global accounting domain with `GLOBAL`, like every value.
static REFUSING: CountingAlloc<Refuses> = CountingAlloc::new(Refuses);

const HEADROOM: u64 = 8 << 20;
const BLOCK: usize = 4096;

/// One test function: the limit is process-wide, nothing may run beside it.
#[test]
fn limit_refuses_cleanly_and_bounds_racing_threads() {
    try_reserve_fails_cleanly();
    a_failed_inner_allocation_leaves_no_peak();
    two_racing_threads_stay_within_the_slack();
    assert_eq!(limit(), None);
}

fn try_reserve_fails_cleanly() {
    let mut v: Vec<u8> = Vec::with_capacity(16);
    set_limit(Some(stats().live_bytes + HEADROOM));
    assert!(limit().is_some());
    let refused = v.try_reserve(64 << 20);
    let fits = v.try_reserve(1 << 20);
    let mut grown: Vec<u8> = Vec::new();
    let refused_growth = grown.try_reserve_exact(HEADROOM as usize * 2);
    set_limit(None);
    assert!(refused.is_err(), "64 MiB must not fit in 8 MiB of headroom");
    assert!(fits.is_ok(), "1 MiB fits");
    assert!(refused_growth.is_err());
    // The process lives on and can allocate again.
    assert!(v.try_reserve(64 << 20).is_ok());
}

fn a_failed_inner_allocation_leaves_no_peak() {
    heapguard_alloc::reset_peak();
    let base = stats();
    // A generous limit, a request the inner allocator refuses: the limit
    // reserves the TiB first, then must give it back without a trace.
    set_limit(Some(u64::MAX - 1));
    let layout = Layout::from_size_align(1 << 40, 8).unwrap();
    // SAFETY: a valid, non-zero-sized layout; nothing is returned to free.
    let refused = unsafe { REFUSING.alloc(layout) };
    set_limit(None);
    assert!(refused.is_null());
    let after = stats();
    assert!(
        after.peak_bytes < base.live_bytes + (1 << 30),
        "the refused TiB left no peak"
    );
    assert!(
        after.live_bytes < base.live_bytes + (1 << 30),
        "nor any live bytes"
    );
}

fn two_racing_threads_stay_within_the_slack() {
    // Three parties: the racers start only once the limit is set, however
    // late the main thread gets to set it.
    let barrier = Barrier::new(3);
    let limit_bytes = stats().live_bytes + HEADROOM;
    let peak_live = thread::scope(|scope| {
        let racers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    // Capacity up front: no bookkeeping allocation during the race.
                    let mut blocks: Vec<Vec<u8>> = Vec::with_capacity(4096);
                    barrier.wait();
                    while blocks.len() < blocks.capacity() {
                        let mut block = Vec::new();
                        if block.try_reserve_exact(BLOCK).is_err() {
                            break;
                        }
                        blocks.push(block);
                    }
                    blocks
                })
            })
            .collect();
        set_limit(Some(limit_bytes));
        barrier.wait();
        let held: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        let live = stats().live_bytes;
        set_limit(None);
        assert!(
            held.iter().all(|blocks| blocks.len() < blocks.capacity()),
            "both threads hit the limit"
        );
        live
    });
    assert!(
        peak_live <= limit_bytes + limit_slack(),
        "live {peak_live} passed limit {limit_bytes} by more than the slack {}",
        limit_slack()
    );
    // And the limit was not absurdly strict: it let most of the headroom through.
    assert!(peak_live + limit_slack() + BLOCK as u64 * 2 >= limit_bytes);
}
