//! More threads alive at once than there are counter slots: the threads
//! without one count through the shared fallback counters, and the totals
//! stay exact to the byte.

use std::alloc::System;
use std::thread;

use heapguard_alloc::{slot_usage, stats, CountingAlloc, MAX_SLOTS};

mod common;
use common::{spawn_all_alive, Gate};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const THREADS: usize = MAX_SLOTS + 16;
const HELD: usize = 1000;

fn threads_past_the_registry_are_counted_to_the_byte() {
    // Warm std's lazily initialised thread machinery.
    thread::spawn(|| ()).join().unwrap();
    let before = stats();
    let (start, finish) = (Gate::default(), Gate::default());
    let work = || {
        let block = vec![1u8; HELD];
        finish.arrive_and_wait().then_some(block)
    };
    thread::scope(|s| {
        let _start_guard = start.send_home_on_exit();
        let _finish_guard = finish.send_home_on_exit();
        let handles = spawn_all_alive(s, THREADS, &start, &work);
        let slots = slot_usage();
        assert_eq!(
            slots.in_use, slots.capacity,
            "every slot is held, so at least 16 threads have none: {slots:?}"
        );
        // Nothing but the blocks is allocated from here until every thread
        // waits at `finish`: the gates wait without allocating.
        let gathered = stats();
        start.set(true);
        finish.wait_for_arrivals(THREADS);
        let held = stats();
        let n = THREADS as u64;
        assert_eq!(held.allocations - gathered.allocations, n);
        assert_eq!(
            held.allocated_bytes - gathered.allocated_bytes,
            n * HELD as u64
        );
        assert_eq!(held.live_bytes - gathered.live_bytes, n * HELD as u64);
        assert_eq!(held.deallocations, gathered.deallocations);
        finish.set(true);
        for handle in handles {
            assert_eq!(
                handle.join().unwrap().flatten().map(|b| b.len()),
                Some(HELD)
            );
        }
    });
    let after = stats();
    assert_eq!(
        after.live_bytes, before.live_bytes,
        "live bytes after {THREADS} threads"
    );
    let slots = slot_usage();
    assert_eq!(slots.in_use, 1, "only the main thread is left: {slots:?}");
}

/// Runs without libtest (see Cargo.toml): nothing else allocates meanwhile.
fn main() {
    threads_past_the_registry_are_counted_to_the_byte();
    println!("test threads_past_the_registry_are_counted_to_the_byte ... ok");
}
