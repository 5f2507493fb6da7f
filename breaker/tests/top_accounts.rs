//! Who holds it: a trip, a refusal and a cancel name the known accounts
//! holding the most live bytes (registered jobs and watched accounts).

mod common;

use common::manual_breaker;
use std::alloc::System;
use std::time::Duration;

use heapguard_alloc::{Account, CountingAlloc};
use heapguard_breaker::{BreakerConfig, BreakerEvent, Budget, CancelToken};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const MIB: u64 = 1 << 20;

/// `name MiB` of each account listed.
fn named(accounts: &[heapguard_breaker::event::AccountBytes]) -> Vec<String> {
    accounts
        .iter()
        .map(|account| format!("{} {}", account.name, account.live_bytes / MIB))
        .collect()
}

#[test]
fn trips_refusals_and_cancels_name_the_largest_accounts() {
    let (breaker, memory, _clock) = manual_breaker(
        BreakerConfig::new(Budget::Bytes(100 * MIB))
            .name("service")
            .min_state_duration(Duration::ZERO)
            .watch_cancel_line(false)
            .no_purge(),
    );
    let events = breaker.subscribe();
    let accounts: Vec<Account> = ["import", "export", "report", "tiny"]
        .map(Account::new)
        .into();
    let sizes = [30 * MIB, 40 * MIB, 10 * MIB, MIB];
    let held: Vec<Vec<u8>> = accounts
        .iter()
        .zip(sizes)
        .map(|(account, bytes)| {
            let _inside = account.enter();
            vec![1u8; bytes as usize]
        })
        .collect();
    let jobs: Vec<_> = accounts[..2]
        .iter()
        .map(|account| breaker.register_job(account.name(), account, CancelToken::new()))
        .collect();
    // Not jobs: watched for the ledger and the names.
    let watched: Vec<_> = accounts[2..]
        .iter()
        .map(|account| breaker.watch_account(account))
        .collect();
    memory.set(85 * MIB);
    let refused = breaker.check().unwrap_err();
    assert_eq!(
        named(&refused.top_accounts()),
        ["export 40", "import 30", "report 10"]
    );
    assert!(
        refused
            .to_string()
            .ends_with("; largest accounts: export 40.0 MiB, import 30.0 MiB, report 10.0 MiB"),
        "{refused}"
    );
    let Some(BreakerEvent::Tripped(snapshot)) = events.try_iter().next() else {
        panic!("tripped first");
    };
    assert_eq!(
        named(&snapshot.top_accounts),
        ["export 40", "import 30", "report 10"]
    );
    memory.set(99 * MIB);
    breaker.refresh();
    let cancelled = events
        .try_iter()
        .find_map(|event| match event {
            BreakerEvent::JobCancelled { job, snapshot, .. } => Some((job, snapshot)),
            _ => None,
        })
        .expect("a cancel");
    assert_eq!(cancelled.0, "export");
    assert_eq!(
        named(&cancelled.1.top_accounts),
        ["export 40", "import 30", "report 10"]
    );
    // The ledger: every known account counted once.
    let ledger = breaker.ledger().unwrap();
    assert_eq!(ledger.used_bytes, 99 * MIB);
    assert_eq!(ledger.in_accounts_bytes, 81 * MIB);
    assert_eq!(ledger.unattributed_bytes, 18 * MIB);
    drop((jobs, watched, held));
}
