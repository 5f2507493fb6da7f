//! An inner allocator that refuses every allocation, for the binaries that
//! include this file: a failure that happens on any host (a huge request to
//! `System` succeeds where memory is overcommitted).

use std::alloc::{GlobalAlloc, Layout};

/// Refuses every allocation.
pub struct Refuses;

// SAFETY: never hands out memory, so there is nothing to uphold; `dealloc`
// is never reached because no pointer is ever returned.
unsafe impl GlobalAlloc for Refuses {
    unsafe fn alloc(&self, _: Layout) -> *mut u8 {
        std::ptr::null_mut()
    }
    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}
