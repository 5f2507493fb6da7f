//! Spawned work stays in its account through `heapguard_breaker::spawn`; a
//! plain `tokio::spawn` from inside the account is charged to nobody, and
//! the breaker's ledger reports it as unattributed.
#![cfg(feature = "tokio")]

mod common;

use std::alloc::System;

use common::two_workers;
use heapguard_alloc::{Account, CountingAlloc};
use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const MIB: usize = 1 << 20;

#[test]
fn the_helper_charges_the_job_and_a_plain_spawn_is_unattributed() {
    let runtime = two_workers();
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(1 << 40))
            .name("service")
            .watch_cancel_line(false),
    )
    .unwrap();
    let job = Account::new("job");
    let _watched = breaker.watch_account(&job);
    let before = breaker.ledger().unwrap();
    let (charged, blocking, escaped) = runtime.block_on(job.scope(async {
        let charged = heapguard_breaker::spawn::spawn(async { vec![1u8; 8 * MIB] });
        let blocking = heapguard_breaker::spawn::spawn_blocking(|| vec![1u8; 4 * MIB]);
        let escaped = tokio::spawn(async { vec![1u8; 16 * MIB] });
        (
            charged.await.unwrap(),
            blocking.await.unwrap(),
            escaped.await.unwrap(),
        )
    }));
    let live = job.usage().live_bytes as usize;
    // The job holds what its helpers allocated (and the few bytes of its own
    // future's state), not the plain spawn's 16 MiB.
    assert!(
        (12 * MIB..13 * MIB).contains(&live),
        "the job's account holds {live} bytes"
    );
    let after = breaker.ledger().unwrap();
    let grew = after.unattributed_bytes as i64 - before.unattributed_bytes as i64;
    // The plain spawn's 16 MiB is in no account; the rest of the process
    // moved by at most a MiB meanwhile (the runtime's own allocations).
    assert!(
        (15 * MIB as i64..17 * MIB as i64).contains(&grew),
        "unattributed grew by {grew} bytes"
    );
    assert_eq!(after.in_accounts_bytes, job.live_bytes());
    drop((charged, blocking, escaped));
}
