//! Memory freed on another thread than the one that allocated it: each
//! thread's own net bytes go negative or positive, the process sum is exact.

use std::alloc::System;
use std::sync::mpsc;
use std::thread;

use heapguard_alloc::{measure, stats, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

fn frees_on_another_thread_balance_in_the_process_totals() {
    // Warm std's lazily initialised thread machinery.
    thread::spawn(|| ()).join().unwrap();

    let before = stats();
    {
        // Room for every block: this thread never blocks on a send, so std
        // never caches a waiting context in its thread-locals (which would
        // outlive the test and count as live bytes).
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(100);
        let consumer = thread::spawn(move || {
            let mut freed = Vec::with_capacity(100);
            for _ in 0..100 {
                let block = rx.recv().unwrap();
                let ((), usage) = measure(|| drop(block));
                freed.push(usage);
            }
            freed
        });
        let mut produced = Vec::with_capacity(100);
        for i in 0..100usize {
            let size = 100 + 37 * i;
            let (block, usage) = measure(|| vec![i as u8; size]);
            produced.push(usage);
            tx.send(block).unwrap();
        }
        drop(tx);
        let freed = consumer.join().unwrap();

        for (i, (made, gone)) in produced.iter().zip(&freed).enumerate() {
            let size = (100 + 37 * i) as i64;
            assert_eq!((made.allocations, made.net_bytes), (1, size));
            assert_eq!((gone.deallocations, gone.net_bytes), (1, -size));
        }
    }
    let after = stats();
    // Every block, the channel and the consumer thread's own state are gone:
    // the sum over threads is back to the byte, though the producer's own
    // counters say +sum and the consumer's say -sum.
    assert_eq!(after.live_bytes, before.live_bytes);
    assert!(after.allocations - before.allocations >= 100);
    assert_eq!(
        after.allocations - before.allocations,
        after.deallocations - before.deallocations
    );
}

/// Runs without libtest (see Cargo.toml): nothing else allocates meanwhile.
fn main() {
    frees_on_another_thread_balance_in_the_process_totals();
    println!("test frees_on_another_thread_balance_in_the_process_totals ... ok");
}
