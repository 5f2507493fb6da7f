//! With the counting allocator installed, a breaker over a 64 MiB budget
//! trips within 1% of its 80% line as the program allocates toward it.

use heapguard_alloc::CountingAlloc;
use heapguard_breaker::reading::CountingAllocSource;
use heapguard_breaker::testing::ManualClock;
use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker, MemorySource, TripCause};
use std::alloc::System;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const MIB: u64 = 1 << 20;

#[test]
fn trips_within_one_percent_of_80_percent_of_a_64_mib_budget() {
    let budget = 64 * MIB;
    let source = CountingAllocSource::new().unwrap();
    assert_eq!(source.name(), "counting-alloc");
    let clock = ManualClock::new();
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(budget))
            .name("integration")
            .clock(clock.clone())
            .no_purge(),
    )
    .unwrap();
    assert_eq!(breaker.source_name(), Some("counting-alloc"));
    let line = budget * 8 / 10;
    let tolerance = line / 100;

    let baseline = heapguard_alloc::stats().live_bytes;
    assert!(
        baseline < line / 2,
        "the test starts far below the line: {baseline}"
    );
    // Allocate in 64 KiB chunks, checking before each, as a job would.
    let (tripped_at, usage) = heapguard_alloc::measure(|| {
        let mut chunks: Vec<Vec<u8>> = Vec::with_capacity(2048);
        loop {
            match breaker.check() {
                Ok(_) => chunks.push(vec![7u8; 64 * 1024]),
                Err(tripped) => {
                    let exact = heapguard_alloc::stats().live_bytes;
                    break (tripped, exact);
                }
            }
        }
    });
    let (tripped, exact_live) = tripped_at;
    assert_eq!(tripped.breaker(), "integration");
    assert!(matches!(tripped.cause(), TripCause::OverThreshold));
    // The reading that tripped it is within 1% of the line...
    assert!(tripped.used() >= line, "{} < {line}", tripped.used());
    assert!(
        tripped.used() - line <= tolerance,
        "{} vs {line}",
        tripped.used()
    );
    // ...and so is the exact live total at that moment.
    assert!(
        exact_live.abs_diff(line) <= tolerance,
        "exact live {exact_live} vs line {line} (slack {})",
        breaker.slack_bytes()
    );
    // This thread's own allocations got it there (others add little).
    assert!(usage.peak_bytes >= line - baseline - tolerance);
    assert_eq!(breaker.trips(), 1);
    // Everything freed: it resets (after the minimum time in a state).
    clock.advance(std::time::Duration::from_secs(1));
    assert!(breaker.check().is_ok());
}
