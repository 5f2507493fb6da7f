//! The registry's own code, opened to the loom models (`tests/loom_*.rs`).
//! Compiled only under `cfg(loom)`, never in a normal build: a [`Registry`]
//! here is the crate's registry type with `N` slots, built on loom's
//! primitives, and a [`Block`] is the counter block a thread keeps in its
//! thread-local storage.

use super::ThreadCounters;
use crate::counters::Totals;
use core::sync::atomic::Ordering::Relaxed;

/// A registry of `N` slots: the process's registry type, built afresh for
/// each execution a model explores.
pub struct Registry<const N: usize>(super::Registry<N>);

impl<const N: usize> Registry<N> {
    /// No slot taken, no retired totals.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self(super::Registry::new())
    }

    /// Takes a free slot for `block`; `None` when all `N` are taken.
    pub fn register(&self, block: &Block) -> Option<usize> {
        self.0.register(&block.0)
    }

    /// Gives slot `index` back, moving `block`'s totals to the retired ones.
    pub fn retire(&self, index: usize, block: &Block) {
        self.0.retire(index, &block.0)
    }

    /// What `stats()` reads: the retired totals plus every registered block.
    pub fn sum(&self) -> Reading {
        Reading::from(self.0.sum())
    }

    /// Slots held now.
    pub fn in_use(&self) -> usize {
        self.0.in_use()
    }

    /// One past the highest slot index ever taken.
    pub fn high_water(&self) -> usize {
        self.0.high_water()
    }
}

/// A thread's counter block, counted into the way the allocator's fast path
/// does: one relaxed load and store per counter, by its owner only.
pub struct Block(ThreadCounters);

impl Block {
    /// Nothing counted.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        // The budgets go negative at once and stay so: the model has no
        // slow path to refill them, and the bytes are `base - budget`
        // whatever the budget.
        Self(ThreadCounters::new())
    }

    /// Counts one allocation of `bytes`.
    pub fn allocate(&self, bytes: u64) {
        let counters = &self.0;
        bump(&counters.allocations);
        let budget = &counters.alloc_budget;
        budget.store(budget.load(Relaxed).wrapping_sub(bytes as i64), Relaxed);
    }

    /// Counts one deallocation of `bytes`.
    pub fn free(&self, bytes: u64) {
        let counters = &self.0;
        bump(&counters.deallocations);
        let budget = &counters.free_budget;
        budget.store(budget.load(Relaxed).wrapping_sub(bytes as i64), Relaxed);
    }
}

fn bump(counter: &core::sync::atomic::AtomicU64) {
    counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
}

/// A reading of the registry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reading {
    /// Allocations counted.
    pub allocations: u64,
    /// Deallocations counted.
    pub deallocations: u64,
    /// Bytes allocated.
    pub allocated_bytes: u64,
    /// Bytes freed.
    pub freed_bytes: u64,
}

impl From<Totals> for Reading {
    fn from(totals: Totals) -> Self {
        Self {
            allocations: totals.allocations,
            deallocations: totals.deallocations,
            allocated_bytes: totals.allocated_bytes,
            freed_bytes: totals.freed_bytes,
        }
    }
}
