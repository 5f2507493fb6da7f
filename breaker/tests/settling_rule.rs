//! The settling rule of `AccountReservation` with a producer and a consumer
//! in different accounts (a stream's items dropped by their consumer): the
//! frees are charged to the consumer, so the producer's reservation settles
//! early, by at most what the consumer freed of the producer's blocks,
//! which the consumer's `foreign_freed_bytes` reports (the stated bound).

use std::alloc::System;
use std::sync::mpsc;

use heapguard_alloc::{Account, CountingAlloc};
use heapguard_breaker::testing::ManualSource;
use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};

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
