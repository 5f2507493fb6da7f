//! With jemalloc as the global allocator and the `jemalloc` feature on, a
//! breaker given no purge setting purges jemalloc before it refuses, and
//! accepts when the purge brought resident memory back under its line.
//!
//! One test in its own binary: it reads the whole process's RSS, which any
//! other test running beside it would move.
#![cfg(feature = "jemalloc")]

use heapguard_alloc::{CountingAlloc, Jemalloc};
use heapguard_breaker::{
    BreakerConfig, BreakerState, Budget, MemoryBreaker, MemorySource, RssSource,
};

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);

const MIB: u64 = 1 << 20;
/// Freed but still resident: what jemalloc keeps as dirty pages until they
/// decay (10 s by default) or are purged.
const DIRTY: u64 = 128 * MIB;
const CHUNK: usize = 64 * 1024;

fn rss() -> u64 {
    RssSource::new().unwrap().used_bytes().unwrap()
}

#[test]
fn the_default_hook_purges_jemalloc_and_the_breaker_accepts_after_it() {
    // Touch every page, so the chunks are resident, then free them all: the
    // pages stay resident as jemalloc's dirty pages.
    let chunks: Vec<Vec<u8>> = (0..DIRTY as usize / CHUNK)
        .map(|i| vec![i as u8 | 1; CHUNK])
        .collect();
    drop(chunks);
    let before = rss();
    let dirty = heapguard_alloc::jemalloc::stats().unwrap();
    assert!(
        dirty.resident >= dirty.allocated + DIRTY / 2,
        "jemalloc holds the freed pages: {dirty:?}"
    );

    // A trip line 32 MiB under the RSS of now: only a purge can bring the
    // reading back under it.
    let line = before - 32 * MIB;
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(line * 10 / 8))
            .name("purged")
            .source(RssSource::new().unwrap()),
    )
    .unwrap();
    assert!(breaker.usage().unwrap().used() >= line);

    let usage = breaker
        .check()
        .expect("the default purge hook gave the dirty pages back");
    assert_eq!(breaker.state(), BreakerState::Accepting);
    assert_eq!(breaker.trips(), 0);
    assert!(
        usage.used() + DIRTY / 2 <= before,
        "RSS fell by at least half the freed pages: {} -> {}",
        before,
        usage.used()
    );
    let purged = heapguard_alloc::jemalloc::stats().unwrap();
    assert!(
        purged.resident + DIRTY / 2 <= dirty.resident,
        "jemalloc's resident fell too: {dirty:?} -> {purged:?}"
    );
}
