//! Cancels are checked: a job whose memory sits in tasks it spawned and
//! detached (dropping a tokio `JoinHandle` does not stop its task) is
//! cancelled, deregisters at once, and frees nothing; the breaker says so
//! (`CancelFreedTooLittle`, with what the victim still holds) and does not
//! make a second cancel that could not bring the reading under the line.
//! Beside it, a second cancel that would help is made.
//!
//! The jobs run on a real tokio runtime and hold real allocations charged to
//! their accounts; the breaker reads a manual source set to what the
//! accounts hold plus the rest of the process, on a manual clock, and is
//! stepped with `refresh()` (the refresher's step), so every step is
//! deterministic.

mod common;

use common::{eventually, manual_breaker, two_workers};
use std::alloc::System;
use std::time::Duration;

use heapguard_alloc::{Account, CountingAlloc};
use heapguard_breaker::testing::{ManualClock, ManualSource};
use heapguard_breaker::{
    BreakerConfig, BreakerEvent, Budget, CancelToken, JobRegistration, MemoryBreaker,
};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const MIB: u64 = 1 << 20;
const GRACE: Duration = Duration::from_secs(2);

/// A job on `runtime` that spawns a detached task holding `bytes` in the
/// job's account, then waits for its token; when cancelled it returns at
/// once and deregisters, leaving the detached task running until `release`
/// is dropped.
fn job_with_detached_memory(
    runtime: &tokio::runtime::Runtime,
    registration: JobRegistration,
    account: &Account,
    bytes: u64,
) -> tokio::sync::oneshot::Sender<()> {
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let child = account.clone();
    runtime.spawn(account.scope(async move {
        // Detached: the handle is dropped, the task runs on.
        drop(tokio::spawn(child.scope(async move {
            let held = vec![1u8; bytes as usize];
            let _ = released.await;
            drop(held);
        })));
        while !registration.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        drop(registration);
    }));
    release
}

/// A job holding `bytes` in its account, freeing them (inside it) when cancelled.
fn plain_job(
    runtime: &tokio::runtime::Runtime,
    registration: JobRegistration,
    account: &Account,
    bytes: u64,
) {
    let inside = account.clone();
    runtime.spawn(account.scope(async move {
        let held = vec![1u8; bytes as usize];
        while !registration.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        drop(held);
        drop(inside);
        drop(registration);
    }));
}

struct Setup {
    breaker: MemoryBreaker,
    memory: ManualSource,
    clock: ManualClock,
}

fn setup() -> Setup {
    let (breaker, memory, clock) = manual_breaker(
        BreakerConfig::new(Budget::Bytes(100 * MIB))
            .name("service")
            .cancel_grace(GRACE)
            .watch_cancel_line(false)
            .no_purge(),
    );
    Setup {
        breaker,
        memory,
        clock,
    }
}

/// The cancel events, in short.
fn cancel_events(events: &crossbeam_channel::Receiver<BreakerEvent>) -> Vec<String> {
    events
        .try_iter()
        .filter_map(|event| match event {
            BreakerEvent::JobCancelled { job, .. } => Some(format!("cancelled {job}")),
            BreakerEvent::CancelFreed { job, .. } => Some(format!("{job} freed")),
            BreakerEvent::CancelFreedTooLittle {
                job,
                remaining_bytes,
                deregistered,
                snapshot,
                ..
            } => {
                let top = &snapshot.top_accounts[0];
                Some(format!(
                    "{job} freed too little: {} MiB left, deregistered {deregistered}, \
                     top {} {} MiB",
                    remaining_bytes / MIB,
                    top.name,
                    top.live_bytes / MIB
                ))
            }
            BreakerEvent::CancelWithheld {
                job, needed_bytes, ..
            } => Some(format!(
                "withheld {job}: needs {} MiB",
                needed_bytes.div_ceil(MIB)
            )),
            _ => None,
        })
        .collect()
}

/// A large job (60 MiB in a detached task) and a small one (`small` MiB),
/// with the rest of the process holding `rest` MiB: the large one is
/// cancelled and frees nothing; returns the events and whether the small
/// job was cancelled after.
fn run(small: u64, rest: u64) -> (Vec<String>, bool) {
    let runtime = two_workers();
    let Setup {
        breaker,
        memory,
        clock,
    } = setup();
    let events = breaker.subscribe();
    let (large_account, small_account) = (Account::new("large"), Account::new("small"));
    let large = breaker.register_job("large", &large_account, CancelToken::new());
    let small_token = CancelToken::new();
    let small_job = breaker.register_job("small", &small_account, small_token.clone());
    let release = job_with_detached_memory(&runtime, large, &large_account, 60 * MIB);
    plain_job(&runtime, small_job, &small_account, small * MIB);
    eventually("the jobs hold their memory", || {
        large_account.live_bytes() >= 60 * MIB && small_account.live_bytes() >= small * MIB
    });
    let read = || large_account.live_bytes() + small_account.live_bytes() + rest * MIB;
    memory.set(read());
    // Past the 95 MiB cancel line: the large job is cancelled.
    breaker.refresh();
    eventually("the large job deregistered", || {
        breaker.jobs_registered() == 1
    });
    // Deregistered, but its detached task still holds its 60 MiB: within
    // the grace period the breaker waits.
    memory.set(read());
    breaker.refresh();
    clock.advance(GRACE);
    for _ in 0..5 {
        memory.set(read());
        breaker.refresh();
        clock.advance(Duration::from_millis(100));
    }
    let small_cancelled = small_token.is_cancelled();
    if small_cancelled {
        eventually("the small job freed its memory and deregistered", || {
            small_account.live_bytes() == 0 && breaker.jobs_registered() == 0
        });
        memory.set(read());
        breaker.refresh();
    }
    drop(release);
    (cancel_events(&events), small_cancelled)
}

#[test]
fn a_cancel_that_frees_nothing_is_reported_and_a_useless_second_cancel_is_withheld() {
    // 60 + 2 + 37 = 99 MiB: cancelling the 2 MiB job cannot bring it under 95.
    let (events, small_cancelled) = run(2, 37);
    assert_eq!(
        events,
        [
            "cancelled large",
            "large freed too little: 60 MiB left, deregistered true, top large 60 MiB",
            "withheld small: needs 5 MiB",
        ]
    );
    assert!(!small_cancelled, "the small job runs on");
}

#[test]
fn a_second_cancel_that_would_help_is_made() {
    // 60 + 10 + 27 = 97 MiB: cancelling the 10 MiB job brings it to 87.
    let (events, small_cancelled) = run(10, 27);
    assert_eq!(
        events,
        [
            "cancelled large",
            "large freed too little: 60 MiB left, deregistered true, top large 60 MiB",
            "cancelled small",
            "small freed",
        ]
    );
    assert!(small_cancelled);
}
