//! Each thread's `measure` state: running totals advanced only while a scope
//! is open, part of the thread's allocator state; [`super`] opens and closes
//! scopes over them.

use core::cell::Cell;

use crate::counters::Totals;
use crate::event::Event;
#[cfg(feature = "histogram")]
use crate::histogram::SIZE_CLASSES;
use crate::local_counters::LocalCounters;

/// Per-thread running totals, advanced only while a scope is open.
pub(crate) struct ScopeCells {
    pub(crate) depth: Cell<u32>,
    /// `peak` is the highest `net` since the innermost open scope began.
    pub(crate) counters: LocalCounters,
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

    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            totals: self.counters.totals(),
            net: self.counters.net.get(),
            #[cfg(feature = "histogram")]
            classes: core::array::from_fn(|k| self.classes[k].get()),
        }
    }
}

pub(crate) struct Snapshot {
    pub(crate) totals: Totals,
    pub(crate) net: i64,
    #[cfg(feature = "histogram")]
    pub(crate) classes: [u64; SIZE_CLASSES],
}
