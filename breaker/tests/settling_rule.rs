//! The settling rule of `AccountReservation` with a producer and a consumer
//! in different accounts (a stream's items dropped by their consumer): the
//! frees are charged to the consumer, so the producer's reservation settles
//! early, by at most what the consumer freed of the producer's blocks,
//! which the consumer's `foreign_freed_bytes` reports (the stated bound).
//! And the breaker settling account reservations itself before a reading
//! that counts their work twice would trip it.

use std::alloc::System;
use std::sync::mpsc;

use heapguard_alloc::{Account, CountingAlloc};
use heapguard_breaker::testing::ManualSource;
use heapguard_breaker::{AccountReservation, BreakerConfig, BreakerState, Budget, MemoryBreaker};
use std::time::Duration;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const MIB: u64 = 1 << 20;

#[test]
fn a_producer_whose_items_a_consumer_frees_settles_early_by_at_most_the_consumers_foreign_frees() {
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(1 << 30))
            .source(ManualSource::new(0))
            .watch_cancel_line(false),
    )
    .unwrap();
    let (producer, consumer) = (Account::new("producer"), Account::new("consumer"));
    let mut reservation = breaker.try_reserve_in(&producer, 10 * MIB).unwrap();
    let (items, received) = mpsc::sync_channel::<Vec<u8>>(1);
    let consuming = consumer.spawn(move || {
        // Each item is dropped here, inside the consumer's account.
        received.iter().map(|item| item.len() as u64).sum::<u64>()
    });
    let produced = producer.spawn(move || {
        for _ in 0..8 {
            items.send(vec![1u8; MIB as usize]).unwrap();
        }
    });
    produced.join().unwrap();
    assert_eq!(consuming.join().unwrap(), 8 * MIB);
    // Every item is freed: the producer's work holds nothing now. Its
    // account saw 8 MiB allocated and no free.
    // The threads' own bookkeeping (channel ends, thread state) moves
    // each account by a few hundred bytes either way.
    const SLACK: u64 = 4096;
    let settled = reservation.settle();
    assert!(
        settled.abs_diff(2 * MIB) <= SLACK,
        "settled by the producer's 8 MiB of growth: {settled}"
    );
    let early = (10 * MIB) - settled; // what it settled although freed
    let foreign = consumer.usage().foreign_freed_bytes;
    assert!(
        foreign.abs_diff(8 * MIB) <= SLACK,
        "the consumer reports what it freed of others': {foreign}"
    );
    assert!(
        early <= foreign + SLACK,
        "settled early by {early} bytes, beyond the consumer's {foreign} foreign-freed bytes"
    );
    assert_eq!(breaker.reserved(), settled);
}

/// A breaker over `memory` with a 1,000 MiB budget: trip line 800 MiB,
/// no refresher, no holding time.
fn breaker_over(memory: &ManualSource) -> MemoryBreaker {
    MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(1000 * MIB))
            .source(memory.clone())
            .min_state_duration(Duration::ZERO)
            .watch_cancel_line(false),
    )
    .unwrap()
}

/// A process breaker over `memory` (as [`breaker_over`]) and its child
/// `requests`, with a 400 MiB budget of its own.
fn process_and_requests(memory: &ManualSource) -> (MemoryBreaker, MemoryBreaker) {
    let process = breaker_over(memory);
    let requests = process
        .child(BreakerConfig::new(Budget::Bytes(400 * MIB)).name("requests"))
        .unwrap();
    (process, requests)
}

/// `mib` MiB allocated inside `job`, held.
fn allocate_in(job: &Account, mib: u64) -> Vec<u8> {
    let _inside = job.enter();
    vec![1u8; (mib * MIB) as usize]
}

/// A job's 250 MiB account reservation in `breaker`, and the 100 MiB its
/// work then allocated (its owner has not settled since).
struct Job {
    account: Account,
    reservation: AccountReservation,
    /// Held until the job is dropped.
    _data: Vec<u8>,
}

fn job_in(breaker: &MemoryBreaker) -> Job {
    let account = Account::new("job");
    let reservation = breaker.try_reserve_in(&account, 250 * MIB).unwrap();
    let data = allocate_in(&account, 100);
    Job {
        account,
        reservation,
        _data: data,
    }
}

#[test]
fn a_reading_that_counts_an_account_reservations_work_twice_settles_it_instead_of_tripping() {
    let memory = ManualSource::new(500 * MIB);
    let breaker = breaker_over(&memory);
    let job = job_in(&breaker);
    // The source now counts the 100 MiB, and its owner has not settled:
    // 600 + 250 would pass the 800 MiB trip line.
    memory.set(600 * MIB);
    assert_eq!(breaker.reserved(), 250 * MIB);

    let usage = breaker.check().expect("settled first: 600 + 150 MiB");
    assert_eq!((usage.used(), usage.reserved()), (600 * MIB, 150 * MIB));
    assert_eq!(breaker.state(), BreakerState::Accepting);
    assert_eq!(job.reservation.bytes(), 150 * MIB);

    // Memory really over the line still trips, the reservation settled.
    memory.set(700 * MIB);
    assert!(breaker.check().is_err(), "700 + 150 MiB trips");
    assert_eq!(breaker.state(), BreakerState::Refusing);
    assert_eq!(breaker.reserved(), 150 * MIB);
    drop(job);
    assert_eq!(breaker.reserved(), 0);
}

#[test]
fn a_reservation_short_of_room_settles_the_others_first() {
    let memory = ManualSource::new(500 * MIB);
    let breaker = breaker_over(&memory);
    let _job = job_in(&breaker);
    // 540 + 250 is under the trip line: the reading alone settles nothing.
    memory.set(540 * MIB);
    // Before settling, 540 + 250 + 40 passes 800; after, 540 + 150 + 40 does not.
    let next = breaker
        .try_reserve(40 * MIB)
        .expect("room once the job's reservation settled");
    assert_eq!(breaker.reserved(), 190 * MIB);
    assert!(
        breaker.try_reserve(70 * MIB).is_err(),
        "540 + 190 + 70 MiB reaches the line"
    );
    assert_eq!(breaker.reserved(), 190 * MIB);
    drop(next);
}

#[test]
fn the_refresher_settles_a_refusing_breaker_so_it_recovers() {
    let memory = ManualSource::new(500 * MIB);
    let breaker = breaker_over(&memory);
    let job = job_in(&breaker);
    // Real memory trips it: 820 + 150 MiB.
    memory.set(820 * MIB);
    assert!(breaker.check().is_err());
    assert_eq!(breaker.reserved(), 150 * MIB);
    // The job allocates 50 MiB more while the rest of the process frees:
    // 590 + 150 is over the 700 MiB reset line, 590 + 100 is not.
    let more = allocate_in(&job.account, 50);
    memory.set(590 * MIB);
    assert!(
        breaker.check().is_err(),
        "a check while refusing settles nothing"
    );
    assert_eq!(breaker.reserved(), 150 * MIB);
    breaker.refresh();
    assert_eq!(breaker.reserved(), 100 * MIB);
    assert_eq!(breaker.state(), BreakerState::Accepting);
    breaker.check().expect("recovered");
    drop((job, more));
}

#[test]
fn a_released_childs_reservation_settles_nothing_in_its_parent() {
    let memory = ManualSource::new(500 * MIB);
    let (process, requests) = process_and_requests(&memory);
    let job = job_in(&requests);
    // The child's handle goes first: its 250 MiB go back to the parent.
    drop(requests);
    assert_eq!(process.reserved(), 0);
    // A reading that would trip the parent settles the child's reservation,
    // which gives nothing more back to the parent.
    memory.set(810 * MIB);
    assert!(process.check().is_err());
    assert_eq!(job.reservation.bytes(), 150 * MIB);
    assert_eq!(process.reserved(), 0);
    drop(job);
    assert_eq!(process.reserved(), 0);
}

#[test]
fn a_parent_settles_its_childrens_account_reservations() {
    let memory = ManualSource::new(500 * MIB);
    let (process, requests) = process_and_requests(&memory);
    let job = job_in(&requests);
    memory.set(600 * MIB);
    process
        .check()
        .expect("the parent settled the child's reservation");
    assert_eq!(process.state(), BreakerState::Accepting);
    assert_eq!(
        (process.reserved(), requests.reserved()),
        (150 * MIB, 150 * MIB)
    );
    assert_eq!(job.reservation.bytes(), 150 * MIB);
    drop(job);
    assert_eq!((process.reserved(), requests.reserved()), (0, 0));
}
