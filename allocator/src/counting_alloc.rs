//! The `GlobalAlloc` wrapper.

use core::alloc::{GlobalAlloc, Layout};

use crate::event::Event;
#[cfg(feature = "sampling")]
use crate::sampler::{self, Call};
#[cfg(not(feature = "sampling"))]
use crate::thread::record;
#[cfg(feature = "sampling")]
use crate::thread::record_rest_then_sample;
use crate::thread::{count, record_rest};

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
// calls never touches the memory and never unwinds. With `sampling`, a
// sampled block is moved into a slot of the sampler's region (the same bytes,
// the same size, aligned to at least `layout.align()`), and a slot block is
// freed there or moved back out to `A` on `realloc`, never passed to `A`.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract for `layout`.
        unsafe { alloc_with(&self.inner, layout, false) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc_zeroed`'s contract for `layout`.
        unsafe { alloc_with(&self.inner, layout, true) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        #[cfg(feature = "sampling")]
        if sampler::may_hold(ptr) {
            // SAFETY: the caller upholds `dealloc`'s contract; `ptr` lies
            // where slot blocks live: `SlotsFirst` frees a slot block into
            // its slot and hands any other block (the region not mapped
            // there) to `A`.
            return unsafe { dealloc_slot(&self.inner, ptr, layout) };
        }
        // SAFETY: the caller upholds `dealloc`'s contract, and `ptr` is not
        // a slot block: it came from `A`.
        unsafe { dealloc_with(&self.inner, ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        #[cfg(feature = "sampling")]
        if sampler::may_hold(ptr) {
            // SAFETY: the caller upholds `realloc`'s contract; `ptr` lies
            // where slot blocks live: `SlotsFirst` moves a slot block out to
            // `A` and hands any other block to `A`'s own `realloc`.
            return unsafe { realloc_slot(&self.inner, ptr, layout, new_size) };
        }
        // SAFETY: the caller upholds `realloc`'s contract, and `ptr` is not
        // a slot block: it came from `A`.
        unsafe { realloc_with(&self.inner, ptr, layout, new_size) }
    }
}

/// `alloc` or `alloc_zeroed` through `inner`, counted.
///
/// # Safety
/// As `GlobalAlloc::alloc` for `inner`.
#[inline(always)]
unsafe fn alloc_with<A: GlobalAlloc>(inner: &A, layout: Layout, zeroed: bool) -> *mut u8 {
    #[cfg(feature = "limit")]
    if crate::limit::is_set() {
        // SAFETY: the caller upholds `alloc`'s contract for `layout`.
        return unsafe { crate::limit::alloc_within(inner, layout, zeroed) };
    }
    // SAFETY: the caller upholds `alloc`'s contract for `layout`.
    let ptr = unsafe {
        if zeroed {
            inner.alloc_zeroed(layout)
        } else {
            inner.alloc(layout)
        }
    };
    if ptr.is_null() {
        return ptr;
    }
    #[cfg(not(feature = "sampling"))]
    record(Event::Alloc(layout.size() as u64));
    #[cfg(feature = "sampling")]
    if count(Event::Alloc(layout.size() as u64)) {
        let call = if zeroed {
            Call::AllocZeroed
        } else {
            Call::Alloc
        };
        // SAFETY: `ptr` is `inner`'s block with `layout`, just counted.
        return unsafe { alloc_after_slow_path(inner, ptr, layout.size(), call) };
    }
    ptr
}

/// `dealloc` through `inner`, counted.
///
/// # Safety
/// As `GlobalAlloc::dealloc` for `inner`.
#[inline(always)]
unsafe fn dealloc_with<A: GlobalAlloc>(inner: &A, ptr: *mut u8, layout: Layout) {
    #[cfg(feature = "limit")]
    if crate::limit::is_set() {
        #[cfg(feature = "sampling")]
        if layout.size() > sampler::SLOT_SIZE {
            sampler::region::forget_large(ptr);
        }
        // SAFETY: the caller upholds `dealloc`'s contract.
        return unsafe { crate::limit::dealloc_within(inner, ptr, layout) };
    }
    // A free cannot fail, so it is counted first: the inner call is then
    // the last thing this method does, a tail call with nothing to keep
    // across it, on both paths.
    if count(Event::Dealloc(layout.size() as u64)) {
        // SAFETY: as below.
        return unsafe { dealloc_after_slow_path(inner, ptr, layout) };
    }
    // SAFETY: the caller guarantees `ptr` was allocated by `inner` with
    // `layout`.
    unsafe { inner.dealloc(ptr, layout) }
}

/// `realloc` through `inner`, counted.
///
/// # Safety
/// As `GlobalAlloc::realloc` for `inner`.
#[inline(always)]
unsafe fn realloc_with<A: GlobalAlloc>(
    inner: &A,
    ptr: *mut u8,
    layout: Layout,
    new_size: usize,
) -> *mut u8 {
    #[cfg(feature = "limit")]
    if crate::limit::is_set() {
        #[cfg(feature = "sampling")]
        if layout.size() > sampler::SLOT_SIZE {
            sampler::region::forget_large(ptr);
        }
        // SAFETY: the caller upholds `realloc`'s contract.
        return unsafe { crate::limit::realloc_within(inner, ptr, layout, new_size) };
    }
    #[cfg(feature = "sampling")]
    if layout.size() > sampler::SLOT_SIZE {
        // SAFETY: the caller upholds `realloc`'s contract.
        return unsafe { realloc_large(inner, ptr, layout, new_size) };
    }
    // SAFETY: the caller upholds `realloc`'s contract: `ptr` came from
    // `inner` with `layout`, and `new_size` is valid.
    let new_ptr = unsafe { inner.realloc(ptr, layout, new_size) };
    // SAFETY: `new_ptr` is what `inner.realloc` returned for these
    // arguments.
    unsafe { count_realloc(inner, new_ptr, layout, new_size) }
}

/// `realloc` of a block of more than a slot's size, which may be a large
/// sampled block: out of line, so that the common path keeps nothing
/// across a call of its own.
///
/// # Safety
/// As `GlobalAlloc::realloc` for `inner`.
#[cfg(feature = "sampling")]
#[cold]
#[inline(never)]
unsafe fn realloc_large<A: GlobalAlloc>(
    inner: &A,
    ptr: *mut u8,
    layout: Layout,
    new_size: usize,
) -> *mut u8 {
    // The old block is `inner`'s to move or free: forget a sample of it
    // first (a free of this size always takes the slow path anyway).
    sampler::region::forget_large(ptr);
    // SAFETY: the caller upholds `realloc`'s contract.
    let new_ptr = unsafe { inner.realloc(ptr, layout, new_size) };
    // SAFETY: `new_ptr` is what `inner.realloc` returned for these
    // arguments.
    unsafe { count_realloc(inner, new_ptr, layout, new_size) }
}

/// Counts what `inner.realloc(_, layout, new_size)` returned, `new_ptr`,
/// and returns the block to hand out.
///
/// # Safety
/// `new_ptr` is null or `inner`'s block of `new_size` bytes with `layout`'s
/// alignment, just reallocated from a block with `layout`.
#[inline(always)]
unsafe fn count_realloc<A: GlobalAlloc>(
    inner: &A,
    new_ptr: *mut u8,
    layout: Layout,
    new_size: usize,
) -> *mut u8 {
    #[cfg(not(feature = "sampling"))]
    let _ = inner;
    // A failed realloc leaves the old block allocated, and counted.
    if new_ptr.is_null() {
        return new_ptr;
    }
    let event = Event::Realloc {
        old: layout.size() as u64,
        new: new_size as u64,
    };
    #[cfg(not(feature = "sampling"))]
    record(event);
    #[cfg(feature = "sampling")]
    if count(event) {
        // SAFETY: `new_ptr` is `inner`'s block of `new_size` bytes with
        // `layout`'s alignment, just counted, holding the bytes the caller
        // expects.
        return unsafe {
            realloc_after_slow_path(inner, new_ptr, layout.size(), new_size, layout.align())
        };
    }
    new_ptr
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
    // Every free of more than a slot's size comes here (the free budget
    // never holds that much): the only frees that can be of a large
    // sampled block.
    #[cfg(feature = "sampling")]
    if layout.size() > sampler::SLOT_SIZE {
        sampler::region::forget_large(ptr);
    }
    // SAFETY: the caller upholds `dealloc`'s contract for `ptr` and `layout`.
    unsafe { inner.dealloc(ptr, layout) }
}

/// `alloc`'s slow path with sampling: the counting's duties, then the
/// sample if one is due. It takes no alignment, so that the fast path keeps
/// none across the inner call (see [`Call::Alloc`]).
///
/// # Safety
/// `ptr` is `inner`'s block of `size` bytes, just allocated and counted by
/// `call`.
#[cfg(feature = "sampling")]
#[cold]
#[inline(never)]
unsafe fn alloc_after_slow_path<A: GlobalAlloc>(
    inner: &A,
    ptr: *mut u8,
    size: usize,
    call: Call,
) -> *mut u8 {
    // SAFETY: as the caller says.
    unsafe { record_rest_then_sample(Event::Alloc(size as u64), inner, ptr, size, call) }
}

/// `realloc`'s slow path with sampling. It takes the sizes and the
/// alignment as scalars, in registers: a `Layout` or an [`Event`] argument
/// would be passed by pointer, and the fast path would store it to the
/// stack on every call in case the slow path runs.
///
/// # Safety
/// `new_ptr` is `inner`'s block of `new_size` bytes aligned to `align`,
/// just reallocated from `old_size` bytes and counted.
#[cfg(feature = "sampling")]
#[cold]
#[inline(never)]
unsafe fn realloc_after_slow_path<A: GlobalAlloc>(
    inner: &A,
    new_ptr: *mut u8,
    old_size: usize,
    new_size: usize,
    align: usize,
) -> *mut u8 {
    let event = Event::Realloc {
        old: old_size as u64,
        new: new_size as u64,
    };
    // SAFETY: as the caller says.
    unsafe { record_rest_then_sample(event, inner, new_ptr, new_size, Call::Realloc { align }) }
}

/// `dealloc` of a slot block.
///
/// # Safety
/// As `GlobalAlloc::dealloc`; `ptr` is a slot block.
#[cfg(feature = "sampling")]
#[cold]
#[inline(never)]
unsafe fn dealloc_slot<A: GlobalAlloc>(inner: &A, ptr: *mut u8, layout: Layout) {
    // SAFETY: `SlotsFirst` frees slot blocks into their slots.
    unsafe { dealloc_with(&SlotsFirst(inner), ptr, layout) }
}

/// `realloc` of a slot block.
///
/// # Safety
/// As `GlobalAlloc::realloc`; `ptr` is a slot block.
#[cfg(feature = "sampling")]
#[cold]
#[inline(never)]
unsafe fn realloc_slot<A: GlobalAlloc>(
    inner: &A,
    ptr: *mut u8,
    layout: Layout,
    new_size: usize,
) -> *mut u8 {
    // SAFETY: `SlotsFirst` moves slot blocks out to `inner`.
    unsafe { realloc_with(&SlotsFirst(inner), ptr, layout, new_size) }
}

/// `A` for blocks of `A`, the sampler's slots for slot blocks: a free goes
/// to the slot, a realloc moves the block out to a new block of `A`.
#[cfg(feature = "sampling")]
struct SlotsFirst<'a, A>(&'a A);

// SAFETY: blocks not in the region go to `A` unchanged; a slot block is
// freed into its slot, or copied (the lesser of its old and new sizes) into
// a fresh block of `A` with the same alignment, as `realloc` promises.
#[cfg(feature = "sampling")]
unsafe impl<A: GlobalAlloc> GlobalAlloc for SlotsFirst<'_, A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc_zeroed`'s contract.
        unsafe { self.0.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if sampler::in_region(ptr) {
            let kept = sampler::region::free_slot(ptr);
            if !kept.is_null() {
                // SAFETY: the slot block stood for `kept`, `A`'s block from
                // the `alloc` the caller made with this very `layout`.
                unsafe { self.0.dealloc(kept, layout) };
            }
        } else {
            // SAFETY: the caller upholds `dealloc`'s contract; not a slot
            // block, so `A`'s.
            unsafe { self.0.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !sampler::in_region(ptr) {
            // SAFETY: the caller upholds `realloc`'s contract; `A`'s block.
            return unsafe { self.0.realloc(ptr, layout, new_size) };
        }
        let kept = sampler::region::kept_block(ptr);
        let new_ptr = if kept.is_null() {
            // SAFETY: `realloc`'s contract makes this a valid layout with a
            // nonzero size.
            unsafe {
                self.0
                    .alloc(Layout::from_size_align_unchecked(new_size, layout.align()))
            }
        } else {
            // The inner block the slot stood for, allocated with `layout`
            // (its bytes are stale: the slot's are copied below).
            // SAFETY: `kept` is `A`'s block with `layout`; `new_size` is
            // valid by `realloc`'s contract.
            unsafe { self.0.realloc(kept, layout, new_size) }
        };
        if !new_ptr.is_null() {
            // SAFETY: the slot holds `layout.size()` bytes of the caller's,
            // the new block `new_size`; a slot never overlaps `A`'s blocks.
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size));
            }
            sampler::region::free_slot(ptr);
        }
        new_ptr
    }
}
