//! Plain thread-local counters: the running totals behind `measure` scopes
//! and account batches. `Cell`s, const-initialised, no `Drop`: safe to touch
//! from inside the allocator.

use core::cell::Cell;

use crate::counters::Totals;
use crate::event::Event;

pub(crate) struct LocalCounters {
    allocations: Cell<u64>,
    deallocations: Cell<u64>,
    reallocations: Cell<u64>,
    allocated_bytes: Cell<u64>,
    freed_bytes: Cell<u64>,
    /// Allocated minus freed bytes.
    pub(crate) net: Cell<i64>,
    /// The highest `net` since the owner last set it.
    pub(crate) peak: Cell<i64>,
}

fn add(cell: &Cell<u64>, by: u64) {
    cell.set(cell.get().wrapping_add(by));
}

impl LocalCounters {
    pub(crate) const fn new() -> Self {
        Self {
            allocations: Cell::new(0),
            deallocations: Cell::new(0),
            reallocations: Cell::new(0),
            allocated_bytes: Cell::new(0),
            freed_bytes: Cell::new(0),
            net: Cell::new(0),
            peak: Cell::new(0),
        }
    }

    /// Counts one event, moving `net` and raising `peak`.
    #[inline]
    pub(crate) fn record(&self, event: Event) {
        match event {
            Event::Alloc(size) => {
                add(&self.allocations, 1);
                add(&self.allocated_bytes, size);
            }
            Event::Dealloc(size) => {
                add(&self.deallocations, 1);
                add(&self.freed_bytes, size);
            }
            Event::Realloc { old, new } => {
                add(&self.reallocations, 1);
                add(&self.allocated_bytes, new);
                add(&self.freed_bytes, old);
            }
        }
        let net = self.net.get().wrapping_add(event.net());
        self.net.set(net);
        if net > self.peak.get() {
            self.peak.set(net);
        }
    }

    /// The counts and bytes so far.
    pub(crate) fn totals(&self) -> Totals {
        Totals {
            allocations: self.allocations.get(),
            deallocations: self.deallocations.get(),
            reallocations: self.reallocations.get(),
            allocated_bytes: self.allocated_bytes.get(),
            freed_bytes: self.freed_bytes.get(),
        }
    }

    /// Back to zero.
    pub(crate) fn reset(&self) {
        for cell in [
            &self.allocations,
            &self.deallocations,
            &self.reallocations,
            &self.allocated_bytes,
            &self.freed_bytes,
        ] {
            cell.set(0);
        }
        self.net.set(0);
        self.peak.set(0);
    }
}
