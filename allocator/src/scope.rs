//! Scoped measurement: what this thread allocated inside a closure.

use crate::counters::Totals;
#[cfg(feature = "histogram")]
use crate::histogram::{SizeClasses, SIZE_CLASSES};
use crate::thread::with_thread;

mod cells;

pub(crate) use cells::ScopeCells;
use cells::Snapshot;

/// What one thread allocated inside a [`measure`](crate::measure) scope.
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
