//! The `GlobalAlloc` wrapper.

use core::alloc::{GlobalAlloc, Layout};

use crate::event::Event;
use crate::thread::{count, record, record_rest};

/// A [`GlobalAlloc`] that forwards every call to `A` and counts what succeeded.
///
/// Install it as the global allocator to count every heap byte of the
/// process:
///
/// ```
/// use heapguard_alloc::CountingAlloc;
/// use std::alloc::System;
///
/// #[global_allocator]
/// static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);
///
/// let before = heapguard_alloc::stats();
/// let data = vec![0u8; 1 << 20];
/// assert!(heapguard_alloc::stats().live_bytes >= before.live_bytes + (1 << 20) - 4096);
/// # drop(data);
/// ```
///
/// All values of `CountingAlloc`, whatever their inner allocator, count into
/// the one process-wide accounting domain read by [`stats`](crate::stats).
/// A value that is not the global allocator (a benchmark calling
/// `GlobalAlloc::alloc` on a static) counts too.
///
/// The wrapper never allocates, locks, logs or panics, and counts an
/// allocation or reallocation only after the inner allocator succeeded: a
/// null from `A` is returned as is and counted nowhere. A free, which cannot
/// fail, is counted just before it is handed to `A`.
pub struct CountingAlloc<A> {
    inner: A,
}

impl<A: GlobalAlloc> CountingAlloc<A> {
    /// Wraps `inner`. `const`, so it can initialise a `static`.
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }

    /// The wrapped allocator.
    pub const fn inner(&self) -> &A {
        &self.inner
    }
}

// SAFETY: every method forwards to `A`, which upholds the `GlobalAlloc`
// contract, with the caller's arguments unchanged; the counting around the
// calls never touches the memory and never unwinds.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        #[cfg(feature = "limit")]
        if crate::limit::is_set() {
            // SAFETY: the caller upholds `alloc`'s contract for `layout`.
            return unsafe { crate::limit::alloc_within(&self.inner, layout, false) };
        }
        // SAFETY: the caller upholds `alloc`'s contract for `layout`.
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            record(Event::Alloc(layout.size() as u64));
        }
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        #[cfg(feature = "limit")]
        if crate::limit::is_set() {
            // SAFETY: the caller upholds `alloc_zeroed`'s contract for `layout`.
            return unsafe { crate::limit::alloc_within(&self.inner, layout, true) };
        }
        // SAFETY: the caller upholds `alloc_zeroed`'s contract for `layout`.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            record(Event::Alloc(layout.size() as u64));
        }
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        #[cfg(feature = "limit")]
        if crate::limit::is_set() {
            // SAFETY: the caller upholds `dealloc`'s contract.
            return unsafe { crate::limit::dealloc_within(&self.inner, ptr, layout) };
        }
        // A free cannot fail, so it is counted first: the inner call is then
        // the last thing this method does, a tail call with nothing to keep
        // across it, on both paths.
        if count(Event::Dealloc(layout.size() as u64)) {
            // SAFETY: as below.
            return unsafe { dealloc_after_slow_path(&self.inner, ptr, layout) };
        }
        // SAFETY: the caller guarantees `ptr` was allocated by this allocator
        // (hence by `A`) with `layout`.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        #[cfg(feature = "limit")]
        if crate::limit::is_set() {
            // SAFETY: the caller upholds `realloc`'s contract.
            return unsafe { crate::limit::realloc_within(&self.inner, ptr, layout, new_size) };
        }
        // SAFETY: the caller upholds `realloc`'s contract: `ptr` came from this
        // allocator (hence from `A`) with `layout`, and `new_size` is valid.
        let new_ptr = unsafe { self.inner.realloc(ptr, layout, new_size) };
        // A failed realloc leaves the old block allocated, and counted.
        if !new_ptr.is_null() {
            record(Event::Realloc {
                old: layout.size() as u64,
                new: new_size as u64,
            });
        }
        new_ptr
    }
}

/// `dealloc`'s slow path, out of line so that the fast path keeps no
/// register across a call.
///
/// # Safety
/// As `GlobalAlloc::dealloc` for `inner`.
#[cold]
#[inline(never)]
unsafe fn dealloc_after_slow_path<A: GlobalAlloc>(inner: &A, ptr: *mut u8, layout: Layout) {
    record_rest(Event::Dealloc(layout.size() as u64));
    // SAFETY: the caller upholds `dealloc`'s contract for `ptr` and `layout`.
    unsafe { inner.dealloc(ptr, layout) }
}
