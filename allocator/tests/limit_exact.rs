//! The `limit` feature on one thread: `set_limit` publishes the calling
//! thread's unpublished bytes, so a request of exactly the headroom fits and
//! one byte more does not; a limit below the live bytes is accepted, refuses
//! growth and lets frees and shrinking go on. Runs without libtest's harness
//! (see Cargo.toml): no other thread holds unpublished bytes.

use std::alloc::System;

use heapguard_alloc::{limit, set_limit, stats, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const HEADROOM: usize = 1 << 20;

fn a_request_of_exactly_the_headroom_fits_after_setup() {
    // A few KB of setup, far below the flush threshold: unpublished until
    // `set_limit` publishes them.
    let setup: Vec<String> = (0..100).map(|i| format!("setup string {i:>30}")).collect();
    let mut exact: Vec<u8> = Vec::new();
    let mut over: Vec<u8> = Vec::new();
    set_limit(Some(stats().live_bytes + HEADROOM as u64));
    let fits = exact.try_reserve_exact(HEADROOM);
    set_limit(Some(stats().live_bytes + HEADROOM as u64));
    let refused = over.try_reserve_exact(HEADROOM + 1);
    set_limit(None);
    assert!(fits.is_ok(), "exactly the headroom fits");
    assert!(refused.is_err(), "one byte more is refused");
    drop((setup, exact));
}

fn a_limit_below_the_live_bytes_refuses_growth_and_lets_memory_go() {
    let mut held: Vec<u8> = Vec::with_capacity(64 << 10);
    held.resize(64 << 10, 7);
    let live = stats().live_bytes;
    let below = live - (16 << 10);
    set_limit(Some(below));
    let stored = limit();
    let mut grow: Vec<u8> = Vec::new();
    let refused_small = grow.try_reserve_exact(16);
    // Shrinking and freeing are never refused.
    held.truncate(1 << 10);
    held.shrink_to_fit();
    let shrunk = held.capacity();
    let fits_again = grow.try_reserve_exact(16);
    set_limit(None);
    assert_eq!(stored, Some(below), "the limit is kept as given");
    assert!(
        refused_small.is_err(),
        "16 bytes over a limit already passed"
    );
    assert_eq!(shrunk, 1 << 10, "shrinking succeeds under the limit");
    assert!(fits_again.is_ok(), "63 KiB freed: 16 bytes fit again");
}

fn main() {
    a_request_of_exactly_the_headroom_fits_after_setup();
    println!("test a_request_of_exactly_the_headroom_fits_after_setup ... ok");
    a_limit_below_the_live_bytes_refuses_growth_and_lets_memory_go();
    println!("test a_limit_below_the_live_bytes_refuses_growth_and_lets_memory_go ... ok");
}
