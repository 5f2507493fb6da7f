//! jemalloc started with its profiler, but the global allocator is
//! `CountingAlloc<System>`: jemalloc sees none of the program's
//! allocations, so asking for a profile is an error.

use heapguard_alloc::profile::{self, ProfileError};
use heapguard_alloc::CountingAlloc;
use std::alloc::System;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);
heapguard_alloc::enable_heap_profiling!();

#[test]
fn a_profile_over_another_allocator_is_an_error() {
    assert!(profile::is_enabled());
    assert!(matches!(profile::take(), Err(ProfileError::NotJemalloc)));
    assert!(matches!(
        profile::activate(),
        Err(ProfileError::NotJemalloc)
    ));
}
