//! With glibc's malloc (`System`) as the global allocator and no jemalloc,
//! a breaker on resident memory recovers once the program frees: the
//! default purge hook calls `malloc_trim(0)` before refusing, so the pages
//! glibc keeps after a free cannot hold it tripped.
//!
//! One test in its own binary: it reads the whole process's RSS, which any
//! other test running beside it would move. Built with every feature as
//! well (`jemalloc` on adds jemalloc's purge to the hook; `System` stays
//! the allocator here).
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::alloc::System;

use heapguard_breaker::reading::RssSource;
use heapguard_breaker::testing::ManualClock;
use heapguard_breaker::{BreakerConfig, BreakerState, Budget, MemoryBreaker, MemorySource};

#[global_allocator]
static GLOBAL: System = System;

const MIB: u64 = 1 << 20;
const RECORD: usize = 1024;
const TOTAL: u64 = 350 * MIB;

fn rss() -> u64 {
    RssSource::new().unwrap().used_bytes().unwrap()
}

fn breaker(
    budget: u64,
    clock: &ManualClock,
    config: impl Fn(BreakerConfig) -> BreakerConfig,
) -> MemoryBreaker {
    // No refresher: on the manual clock its tick is due at the same instant
    // as the test's check, and could take the purge the check below counts
    // on (a check that finds the tick purging defers to it, without waiting
    // for what the purge leaves).
    MemoryBreaker::new(config(
        BreakerConfig::new(Budget::Bytes(budget))
            .name("rss")
            .source(RssSource::new().unwrap())
            .clock(clock.clone())
            .watch_cancel_line(false),
    ))
    .unwrap()
}

#[test]
fn the_default_hook_trims_glibc_and_the_breaker_accepts_after_its_minimum_time() {
    let baseline = rss();
    // Trips at baseline + 100 MiB (80% of the budget), resets below
    // baseline + 87.5 MiB (70%).
    let budget = (baseline + 100 * MIB) * 10 / 8;
    let clock = ManualClock::new();
    let trimmed = breaker(budget, &clock, |config| config);
    let untrimmed = breaker(budget, &clock, BreakerConfig::no_purge);

    // 350 MiB in 1 KiB records, every byte written.
    let mut records: Vec<Box<[u8]>> = (0..(TOTAL as usize / RECORD))
        .map(|i| vec![i as u8 | 1; RECORD].into_boxed_slice())
        .collect();
    assert!(rss() >= baseline + 300 * MIB, "the records are resident");
    assert!(trimmed.check().is_err(), "350 MiB live is over the line");
    assert!(untrimmed.check().is_err());
    assert_eq!(trimmed.state(), BreakerState::Refusing);

    // Keep 1% (every hundredth record, spread over the whole heap, so glibc
    // cannot give the pages back by shrinking its heaps from the top), free
    // the rest.
    let mut index = 0;
    records.retain(|_| {
        index += 1;
        index % 100 == 0
    });
    records.shrink_to_fit();
    let kept: u64 = records.iter().map(|record| record.len() as u64).sum();
    assert_eq!(kept, TOTAL / 100 / RECORD as u64 * RECORD as u64);
    let freed = rss();
    assert!(
        freed >= baseline + 300 * MIB,
        "glibc keeps the freed pages resident: {} MiB over the baseline",
        (freed - baseline) / MIB
    );

    // Its minimum time in a state passes (and the purge interval with it).
    clock.advance(BreakerConfig::DEFAULT_MIN_STATE_DURATION);
    assert!(
        untrimmed.check().is_err(),
        "without a purge the freed pages hold it tripped"
    );
    let usage = trimmed
        .check()
        .expect("malloc_trim gave the freed pages back and it accepts again");
    assert_eq!(trimmed.state(), BreakerState::Accepting);
    assert!(usage.used() < trimmed.reset_bytes());
    assert!(
        usage.used() + 250 * MIB <= freed,
        "RSS fell by most of the freed records: {} -> {} MiB",
        freed / MIB,
        usage.used() / MIB
    );
    assert_eq!(trimmed.trips(), 1);
    drop(records);
}
