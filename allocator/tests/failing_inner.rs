//! A null from the inner allocator is returned as is and counted nowhere; a
//! failed `realloc` leaves the old block counted.

use std::alloc::{GlobalAlloc, Layout, System};

use heapguard_alloc::{measure, CountingAlloc, Usage};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

#[path = "common/refuses.rs"]
mod refuses;
use refuses::Refuses;

/// Allocates through `System` but refuses to grow or shrink.
struct RefusesRealloc;

// SAFETY: `alloc`/`dealloc` forward to `System`; `realloc` returning null is
// allowed and leaves the block untouched.
unsafe impl GlobalAlloc for RefusesRealloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, _: *mut u8, _: Layout, _: usize) -> *mut u8 {
        std::ptr::null_mut()
    }
}

static REFUSES: CountingAlloc<Refuses> = CountingAlloc::new(Refuses);
static REFUSES_REALLOC: CountingAlloc<RefusesRealloc> = CountingAlloc::new(RefusesRealloc);

#[test]
fn a_refused_allocation_is_counted_nowhere() {
    let layout = Layout::from_size_align(4096, 64).unwrap();
    let ((plain, zeroed), usage) = measure(|| {
        // SAFETY: non-zero size; a null result is checked below.
        unsafe { (REFUSES.alloc(layout), REFUSES.alloc_zeroed(layout)) }
    });
    assert!(plain.is_null() && zeroed.is_null());
    assert_eq!(usage, Usage::default());
}

#[test]
fn a_failed_realloc_leaves_the_old_block_counted() {
    let layout = Layout::from_size_align(512, 8).unwrap();
    // SAFETY: non-zero size.
    let (ptr, usage) = measure(|| unsafe { REFUSES_REALLOC.alloc(layout) });
    assert!(!ptr.is_null());
    assert_eq!((usage.allocations, usage.net_bytes), (1, 512));

    // SAFETY: `ptr` came from REFUSES_REALLOC with `layout`.
    let (grown, usage) = measure(|| unsafe { REFUSES_REALLOC.realloc(ptr, layout, 8192) });
    assert!(grown.is_null());
    assert_eq!(usage, Usage::default(), "a failed realloc counts nothing");

    // SAFETY: the old block is still ours after a failed realloc.
    let ((), usage) = measure(|| unsafe { REFUSES_REALLOC.dealloc(ptr, layout) });
    assert_eq!((usage.deallocations, usage.net_bytes), (1, -512));
}
