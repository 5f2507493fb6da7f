//! `is_active()` is true when `CountingAlloc` is the global allocator, over
//! either inner allocator.

use heapguard_alloc::{is_active, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc<tikv_jemallocator::Jemalloc> =
    CountingAlloc::new(tikv_jemallocator::Jemalloc);

#[test]
fn installed_means_active() {
    assert!(is_active());
    assert!(is_active());
}
