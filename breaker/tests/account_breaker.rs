//! A per-account child breaker stops one job while the others complete.

use std::alloc::System;

use heapguard_alloc::{Account, CountingAlloc};
use heapguard_breaker::reading::{AccountSource, CountingAllocSource};
use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker, Tripped};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const JOB_BUDGET: u64 = 8 << 20; // trips at 80%: 6.4 MiB
const UNITS: usize = 40;

/// Runs `UNITS` units, checking the job's breaker before each; keeps every
/// unit's result. Returns the units done and the refusal, if any.
fn job(breaker: &MemoryBreaker, unit_bytes: usize) -> (Vec<Vec<u8>>, Option<Tripped>) {
    let mut done = Vec::with_capacity(UNITS);
    for _ in 0..UNITS {
        if let Err(tripped) = breaker.check() {
            return (done, Some(tripped));
        }
        done.push(vec![1u8; unit_bytes]);
    }
    (done, None)
}

#[test]
fn one_job_over_its_own_limit_stops_while_the_others_complete() {
    let process = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(16 << 30))
            .name("process")
            .source(CountingAllocSource::new().expect("installed")),
    )
    .expect("process breaker");
    let sizes = [64 << 10, 1 << 20, 100 << 10]; // job-1 needs 40 MiB: over its limit
    let jobs: Vec<(Account, MemoryBreaker)> = (0..sizes.len())
        .map(|i| {
            let account = Account::new(format!("job-{i}"));
            let config = BreakerConfig::new(Budget::Bytes(JOB_BUDGET))
                .name(format!("job-{i}"))
                .source(AccountSource::new(account.clone()).expect("installed"));
            (account, process.child(config).expect("child breaker"))
        })
        .collect();

    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .zip(sizes)
            .map(|((account, breaker), size)| s.spawn(account.bind(move || job(breaker, size))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let (done0, refused0) = &results[0];
    let (done1, refused1) = &results[1];
    let (done2, refused2) = &results[2];
    assert!(
        refused0.is_none() && done0.len() == UNITS,
        "job-0 completes"
    );
    assert!(
        refused2.is_none() && done2.len() == UNITS,
        "job-2 completes"
    );
    let tripped = refused1.as_ref().expect("job-1 is refused");
    assert_eq!(tripped.breaker(), "job-1", "the refusal names the child");
    assert_eq!(tripped.limit(), JOB_BUDGET);
    // 1 MiB units: refused once its account held 7 of them (7 MiB >= 6.4 MiB).
    assert_eq!(done1.len(), 7);
    assert!(tripped.used() >= JOB_BUDGET * 8 / 10);
    // The account holds the 7 units and their vector, plus the small
    // `Tripped` value the job returned.
    let held = 7 * (1 << 20) + (UNITS * std::mem::size_of::<Vec<u8>>()) as u64;
    let live = jobs[1].0.usage().live_bytes;
    assert!(
        (held..held + 1024).contains(&live),
        "live {live}, held {held}"
    );
    // The process breaker never refused: only the job's own limit did.
    assert!(process.check().is_ok());
}
