//! Scoped measurement: what this thread allocated inside a closure.

use core::cell::Cell;

use crate::counters::Totals;
use crate::event::Event;
#[cfg(feature = "histogram")]
use crate::histogram::{SizeClasses, SIZE_CLASSES};
use crate::local_counters::LocalCounters;
use crate::thread::with_thread;

/// What one thread allocated inside a [`measure`] scope.
///
/// Bytes are requested sizes (`Layout::size()`), not the allocator's usable
/// sizes. A `realloc` counts once in `reallocations`, its old size in
/// `freed_bytes` and its new size in `allocated_bytes`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Usage {
    /// Calls to `alloc` and `alloc_zeroed`.
    pub allocations: u64,
    /// Calls to `dealloc`.
    pub deallocations: u64,
    /// Calls to `realloc`.
    pub reallocations: u64,
    /// Bytes allocated, including the new size of each `realloc`.
    pub allocated_bytes: u64,
    /// Bytes freed, including the old size of each `realloc`.
    pub freed_bytes: u64,
    /// `allocated_bytes - freed_bytes`: negative when the scope freed memory
    /// allocated before it.
    pub net_bytes: i64,
    /// The highest `net_bytes` reached at any moment inside the scope (0 if
    /// it never rose above its start).
    pub peak_bytes: u64,
    /// Allocations and reallocations per power-of-two size class.
    #[cfg(feature = "histogram")]
    pub size_classes: SizeClasses,
}

/// Per-thread running totals, advanced only while a scope is open.
pub(crate) struct ScopeCells {
    depth: Cell<u32>,
    /// `peak` is the highest `net` since the innermost open scope began.
    counters: LocalCounters,
    #[cfg(feature = "histogram")]
    classes: [Cell<u64>; SIZE_CLASSES],
}

impl ScopeCells {
    pub(crate) const fn new() -> Self {
        Self {
            depth: Cell::new(0),
            counters: LocalCounters::new(),
            #[cfg(feature = "histogram")]
            classes: [const { Cell::new(0) }; SIZE_CLASSES],
        }
    }

    #[inline(always)]
    pub(crate) fn is_open(&self) -> bool {
        self.depth.get() != 0
    }

    #[inline]
    pub(crate) fn record(&self, event: Event) {
        self.counters.record(event);
        #[cfg(feature = "histogram")]
        if let Some(size) = event.classified_size() {
            let class = &self.classes[crate::histogram::size_class(size as usize)];
            class.set(class.get().wrapping_add(1));
        }
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            totals: self.counters.totals(),
            net: self.counters.net.get(),
            #[cfg(feature = "histogram")]
            classes: core::array::from_fn(|k| self.classes[k].get()),
        }
    }
}

struct Snapshot {
    totals: Totals,
    net: i64,
    #[cfg(feature = "histogram")]
    classes: [u64; SIZE_CLASSES],
}

/// An open scope. Closing it (also on unwind) restores the enclosing scope's
/// running peak, so scopes nest and a panic leaves no trace.
struct OpenScope {
    start: Snapshot,
    /// The enclosing scope's running peak when this one opened.
    outer_peak: i64,
}

impl OpenScope {
    fn open() -> Self {
        with_thread(|thread| {
            let cells = &thread.scope;
            let start = cells.snapshot();
            let outer_peak = cells.counters.peak.replace(start.net);
            cells.depth.set(cells.depth.get() + 1);
            thread.settle(false);
            OpenScope { start, outer_peak }
        })
        .unwrap_or_else(|| OpenScope {
            start: Snapshot {
                totals: Totals::default(),
                net: 0,
                #[cfg(feature = "histogram")]
                classes: [0; SIZE_CLASSES],
            },
            outer_peak: 0,
        })
    }

    fn usage(&self) -> Usage {
        with_thread(|thread| {
            let now = thread.scope.snapshot();
            let start = &self.start;
            #[cfg(feature = "histogram")]
            let mut size_classes = SizeClasses::default();
            #[cfg(feature = "histogram")]
            for (k, count) in size_classes.counts_mut().iter_mut().enumerate() {
                *count = now.classes[k].wrapping_sub(start.classes[k]);
            }
            let scoped = now.totals.since(start.totals);
            Usage {
                allocations: scoped.allocations,
                deallocations: scoped.deallocations,
                reallocations: scoped.reallocations,
                allocated_bytes: scoped.allocated_bytes,
                freed_bytes: scoped.freed_bytes,
                net_bytes: now.net.wrapping_sub(start.net),
                peak_bytes: thread
                    .scope
                    .counters
                    .peak
                    .get()
                    .wrapping_sub(start.net)
                    .max(0) as u64,
                #[cfg(feature = "histogram")]
                size_classes,
            }
        })
        .unwrap_or_default()
    }
}

impl Drop for OpenScope {
    fn drop(&mut self) {
        let _ = with_thread(|thread| {
            let cells = &thread.scope;
            cells.depth.set(cells.depth.get().saturating_sub(1));
            thread.settle(false);
            let inner_peak = cells.counters.peak.get();
            cells.counters.peak.set(inner_peak.max(self.outer_peak));
        });
    }
}

/// Runs `work` and returns what **this thread** allocated inside it.
///
/// Exact: every allocator call this thread makes inside `work` is counted,
/// and nothing other threads do is. Scopes nest (an outer scope includes its
/// inner scopes), and a panic inside `work` propagates after the scope is
/// closed, leaving any enclosing scope correct.
///
/// Allocations made by threads that `work` spawns are not included: measure
/// inside those threads, or read the process-wide [`stats`](crate::stats).
///
/// # Panics
///
/// When [`CountingAlloc`](crate::CountingAlloc) is not this program's
/// `#[global_allocator]` (checked once, then one relaxed load): without it
/// nothing is counted, and every "must not allocate" assertion would pass
/// whatever the code does. Test binaries install it themselves:
/// `#[global_allocator] static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);`.
///
/// The optimiser may remove an allocation whose block is never read (Rust
/// allows allocator calls to be elided), so a test that counts allocations
/// it does not otherwise use passes them through [`std::hint::black_box`]:
///
/// ```
/// # #[global_allocator]
/// # static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> =
/// #     heapguard_alloc::CountingAlloc::new(std::alloc::System);
/// use std::hint::black_box;
/// let ((), usage) = heapguard_alloc::measure(|| drop(black_box(Box::new(7u64))));
/// assert_eq!((usage.allocations, usage.deallocations), (1, 1));
/// assert_eq!(usage.peak_bytes, 8);
/// ```
///
/// ```
/// # #[global_allocator]
/// # static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> =
/// #     heapguard_alloc::CountingAlloc::new(std::alloc::System);
/// let (v, usage) = heapguard_alloc::measure(|| Vec::<u8>::with_capacity(1000));
/// assert_eq!(usage.allocations, 1);
/// assert_eq!(usage.net_bytes, 1000);
/// assert_eq!(usage.peak_bytes, 1000);
/// drop(v);
/// ```
pub fn measure<R>(work: impl FnOnce() -> R) -> (R, Usage) {
    assert!(
        crate::is_active(),
        "heapguard_alloc::measure: CountingAlloc is not the #[global_allocator] of this program, \
         so nothing can be counted; add \
         `#[global_allocator] static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> = \
         heapguard_alloc::CountingAlloc::new(std::alloc::System);` to this binary"
    );
    measure_or_zeros(work)
}

/// [`measure`] that returns all zeros, instead of panicking, when the
/// counting allocator is not installed: for libraries (the monitor's
/// `track`) that report memory where they can and must work where they
/// cannot.
#[doc(hidden)]
pub fn measure_or_zeros<R>(work: impl FnOnce() -> R) -> (R, Usage) {
    let scope = OpenScope::open();
    let result = work();
    let usage = scope.usage();
    drop(scope);
    (result, usage)
}
