//! The `jemalloc` feature: jemalloc's stats beside the counters, and purge.
#![cfg(feature = "jemalloc")]

use heapguard_alloc::{jemalloc, measure, CountingAlloc, Jemalloc};

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);

const BLOCKS: usize = 10_000;
const SIZE: usize = 1000; // jemalloc rounds it up to its 1024-byte size class

/// One test function: jemalloc's stats are process-wide.
#[test]
fn jemalloc_and_the_counters_agree_within_size_class_rounding() {
    let before = jemalloc::stats().expect("stats");
    assert!(before.allocated > 0 && before.resident >= before.active);
    let (blocks, usage) = measure(|| (0..BLOCKS).map(|_| vec![0u8; SIZE]).collect::<Vec<_>>());
    let during = jemalloc::stats().expect("stats");
    let requested = usage.net_bytes as u64;
    assert_eq!(
        requested,
        (BLOCKS * SIZE + BLOCKS * std::mem::size_of::<Vec<u8>>()) as u64
    );
    let held = during.allocated - before.allocated;
    // jemalloc holds each request rounded up to a size class (at most 25%
    // above it past 16 bytes), plus whatever its thread caches keep.
    assert!(held >= requested, "jemalloc {held} < requested {requested}");
    assert!(
        held <= requested + requested / 4 + (1 << 20),
        "jemalloc {held} vs requested {requested}"
    );

    let comparison = jemalloc::compare().expect("compare");
    assert!(comparison.requested_bytes >= requested);
    assert!(comparison.fragmentation.unwrap() >= 1.0);

    drop(blocks);
    let dirty = jemalloc::stats().expect("stats");
    jemalloc::purge().expect("purge");
    let purged = jemalloc::stats().expect("stats");
    assert!(
        purged.resident <= dirty.resident,
        "purge returned pages: {} -> {}",
        dirty.resident,
        purged.resident
    );
}
