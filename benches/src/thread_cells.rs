//! A reference point, not a product: the cheapest possible counting, plain
//! thread-local cells that no other thread can read.
//!
//! It shows what any per-thread counting costs on the machine at hand (a TLS
//! access and a few increments per call), so `CountingAlloc`'s figures can be
//! split into the unavoidable part and its own.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;

struct Cells {
    calls: Cell<u64>,
    allocated: Cell<u64>,
    freed: Cell<u64>,
}

thread_local! {
    static CELLS: Cells = const {
        Cells { calls: Cell::new(0), allocated: Cell::new(0), freed: Cell::new(0) }
    };
}

/// A [`GlobalAlloc`] that forwards to `A` and counts calls and bytes in this
/// thread's cells only (see [`ThreadCells::this_thread`]).
pub struct ThreadCells<A> {
    inner: A,
}

impl<A: GlobalAlloc> ThreadCells<A> {
    /// Wraps `inner`. `const`, so it can initialise a `static`.
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }

    /// This thread's (calls, bytes allocated, bytes freed) through any
    /// `ThreadCells` value.
    pub fn this_thread() -> (u64, u64, u64) {
        CELLS
            .try_with(|c| (c.calls.get(), c.allocated.get(), c.freed.get()))
            .unwrap_or((0, 0, 0))
    }
}

#[inline(always)]
fn count(allocated: u64, freed: u64) {
    let _ = CELLS.try_with(|c| {
        c.calls.set(c.calls.get().wrapping_add(1));
        c.allocated.set(c.allocated.get().wrapping_add(allocated));
        c.freed.set(c.freed.get().wrapping_add(freed));
    });
}

// SAFETY: every method forwards to `A` with the caller's arguments unchanged;
// counting only touches this thread's cells and cannot unwind.
unsafe impl<A: GlobalAlloc> GlobalAlloc for ThreadCells<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract.
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            count(layout.size() as u64, 0);
        }
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `dealloc`'s contract.
        unsafe { self.inner.dealloc(ptr, layout) };
        count(0, layout.size() as u64);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `realloc`'s contract.
        let new_ptr = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() {
            count(new_size as u64, layout.size() as u64);
        }
        new_ptr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::System;

    #[test]
    fn counts_this_threads_calls_and_bytes() {
        static CELLS_SYSTEM: ThreadCells<System> = ThreadCells::new(System);
        let before = ThreadCells::<System>::this_thread();
        let layout = Layout::from_size_align(40, 8).expect("valid");
        // SAFETY: non-zero layout; the block is grown then freed once.
        unsafe {
            let ptr = CELLS_SYSTEM.alloc(layout);
            assert!(!ptr.is_null());
            let ptr = CELLS_SYSTEM.realloc(ptr, layout, 100);
            assert!(!ptr.is_null());
            CELLS_SYSTEM.dealloc(ptr, Layout::from_size_align(100, 8).expect("valid"));
        }
        let after = ThreadCells::<System>::this_thread();
        assert_eq!(after.0 - before.0, 3);
        assert_eq!(after.1 - before.1, 140);
        assert_eq!(after.2 - before.2, 140);
    }
}
