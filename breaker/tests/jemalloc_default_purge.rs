//! With jemalloc as the global allocator and the `jemalloc` feature on, a
//! breaker given no purge setting purges jemalloc before it refuses, and
//! accepts when the purge brought resident memory back under its line.
//!
//! One test in its own binary: it reads the whole process's RSS, which any
//! other test running beside it would move.
#![cfg(feature = "jemalloc")]

use heapguard_alloc::{CountingAlloc, Jemalloc};
use heapguard_breaker::reading::RssSource;
use heapguard_breaker::{BreakerConfig, BreakerState, Budget, MemoryBreaker, MemorySource};
use tikv_jemalloc_ctl::{arenas, Access, AsName};

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);

const MIB: u64 = 1 << 20;
/// Freed but still resident: what jemalloc keeps as dirty pages until they
/// decay (10 s by default, turned off here) or are purged.
const DIRTY: u64 = 128 * MIB;
const CHUNK: usize = 64 * 1024;

fn rss() -> u64 {
    RssSource::new().unwrap().used_bytes().unwrap()
}

/// Turns jemalloc's decay off (-1: never) in every arena there is and in
/// those made later, so freed pages stay resident until a purge however long
/// the test is held up. Returns the decay times of this thread's arena.
fn keep_freed_pages_until_a_purge() -> [libc::ssize_t; 2] {
    const NEVER: libc::ssize_t = -1;
    let kinds = ["dirty", "muzzy"];
    for kind in kinds {
        format!("arenas.{kind}_decay_ms\0")
            .name()
            .write(NEVER)
            .unwrap();
        for arena in 0..arenas::narenas::read().unwrap() {
            // Arenas not made yet refuse (EFAULT); they take the default above.
            let _ = format!("arena.{arena}.{kind}_decay_ms\0")
                .name()
                .write(NEVER);
        }
    }
    let mine: u32 = "thread.arena\0".name().read().unwrap();
    kinds.map(|kind| {
        format!("arena.{mine}.{kind}_decay_ms\0")
            .name()
            .read()
            .unwrap()
    })
}

#[test]
fn the_default_hook_purges_jemalloc_and_the_breaker_accepts_after_it() {
    assert_eq!(keep_freed_pages_until_a_purge(), [-1, -1]);
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
