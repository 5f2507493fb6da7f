//! The registry through which readers reach every thread's counters.
//!
//! Each thread counts into a [`ThreadCounters`] block that lives in its own
//! thread-local storage (see `thread.rs`); the registry holds a pointer to
//! it in one of [`MAX_SLOTS`] slots. A thread takes a slot on its first
//! counted call, lock-free and allocation-free (a compare-exchange on a null
//! slot), and gives it back when its thread-locals are torn down: then its
//! totals are added to the retired totals and the slot is emptied, both
//! under the readers' lock, which every reader holds while it walks the
//! slots. So a reader never touches a block whose thread has gone, and the
//! sum stays exact across any thread churn. The allocator itself never takes
//! the lock: registering is lock-free and only thread exit and readers lock.
//! `fork()` takes it too (`fork.rs`), so a forked child never inherits it
//! held.
//!
//! The registry's shared state is built from the `primitive` facade: std's
//! atomics and mutex, or loom's under `cfg(loom)`, where the loom models
//! (`tests/loom_slots.rs`) run this code through `model.rs`.

use core::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::PoisonError;

use crate::counters::{Counters, Totals};
#[cfg(feature = "histogram")]
use crate::histogram::SIZE_CLASSES;
use crate::primitive::{AtomicPtr, AtomicUsize, Mutex, MutexGuard, Ordering};

#[cfg(all(unix, not(loom)))]
mod fork;
#[cfg(loom)]
pub mod model;

/// How many threads can hold a slot at once. Threads past this count are
/// still counted exactly, through the shared fallback counters (a
/// `fetch_add` each, so slower under contention).
pub const MAX_SLOTS: usize = 1024;

/// One thread's counters, written by that thread only, read by any.
///
/// Bytes are kept as budgets: the fast path subtracts each request from
/// what the thread may still allocate (or free) before its slow path must
/// run, one subtraction whose sign is the only test. The bytes themselves
/// are `base - budget`; the owner moves base and budget together when it
/// refills the budget.
pub(crate) struct ThreadCounters {
    pub(crate) allocations: AtomicU64,
    pub(crate) deallocations: AtomicU64,
    pub(crate) reallocations: AtomicU64,
    /// Bytes this thread may still allocate before its slow path runs;
    /// negative sends the next call there.
    pub(crate) alloc_budget: AtomicI64,
    /// `allocated_bytes + alloc_budget`.
    alloc_base: AtomicU64,
    /// Bytes this thread may still free before its slow path runs.
    pub(crate) free_budget: AtomicI64,
    /// `freed_bytes + free_budget`.
    free_base: AtomicU64,
    #[cfg(feature = "histogram")]
    pub(crate) classes: [AtomicU64; SIZE_CLASSES],
}

/// The budget that sends every call to the slow path.
pub(crate) const EVERY_CALL: i64 = -1;

impl ThreadCounters {
    /// Zero bytes and a budget that sends the first call to the slow path.
    pub(crate) const fn new() -> Self {
        Self {
            allocations: AtomicU64::new(0),
            deallocations: AtomicU64::new(0),
            reallocations: AtomicU64::new(0),
            alloc_budget: AtomicI64::new(EVERY_CALL),
            alloc_base: AtomicU64::new(EVERY_CALL as u64),
            free_budget: AtomicI64::new(EVERY_CALL),
            free_base: AtomicU64::new(EVERY_CALL as u64),
            #[cfg(feature = "histogram")]
            classes: [const { AtomicU64::new(0) }; SIZE_CLASSES],
        }
    }

    /// Bytes allocated, including the new size of each `realloc`.
    pub(crate) fn allocated_bytes(&self) -> u64 {
        bytes(&self.alloc_base, &self.alloc_budget)
    }

    /// Bytes freed, including the old size of each `realloc`.
    pub(crate) fn freed_bytes(&self) -> u64 {
        bytes(&self.free_base, &self.free_budget)
    }

    /// The counters, read with relaxed loads. Exact when read by the owner,
    /// or while the owner is not inside the allocator.
    pub(crate) fn totals(&self) -> Totals {
        Totals {
            allocations: self.allocations.load(Ordering::Relaxed),
            deallocations: self.deallocations.load(Ordering::Relaxed),
            reallocations: self.reallocations.load(Ordering::Relaxed),
            allocated_bytes: self.allocated_bytes(),
            freed_bytes: self.freed_bytes(),
        }
    }

    /// Sets both budgets, keeping the byte totals. Owner only.
    pub(crate) fn set_budgets(&self, alloc: i64, free: i64) {
        set_budget(&self.alloc_base, &self.alloc_budget, alloc);
        set_budget(&self.free_base, &self.free_budget, free);
    }
}

fn bytes(base: &AtomicU64, budget: &AtomicI64) -> u64 {
    base.load(Ordering::Relaxed)
        .wrapping_sub(budget.load(Ordering::Relaxed) as u64)
}

fn set_budget(base: &AtomicU64, budget: &AtomicI64, to: i64) {
    let bytes = bytes(base, budget);
    base.store(bytes.wrapping_add(to as u64), Ordering::Relaxed);
    budget.store(to, Ordering::Relaxed);
}

/// The registry of every slot-holding thread's counters, and the retired
/// totals of the threads that gave theirs back. One instance, [`REGISTRY`],
/// serves the process; the loom models build small ones of their own (`N`
/// slots) and run this same code.
pub(crate) struct Registry<const N: usize> {
    slots: [AtomicPtr<ThreadCounters>; N],
    /// One past the highest slot index ever taken: readers walk only up to
    /// here.
    high_water: AtomicUsize,
    in_use: AtomicUsize,
    /// Held by every reader while it walks the slots, and by a thread giving
    /// its slot back; never by the allocator.
    readers: Mutex<()>,
    /// The totals of threads that gave their slot back (written under
    /// `readers`).
    retired: Counters,
    #[cfg(feature = "histogram")]
    retired_classes: [AtomicU64; SIZE_CLASSES],
}

#[cfg(not(loom))]
static REGISTRY: Registry<MAX_SLOTS> = Registry::new();
#[cfg(loom)]
loom::lazy_static! {
    // Loom's primitives are not `const`; the loom models build registries of
    // their own and never reach this one.
    static ref REGISTRY: Registry<MAX_SLOTS> = Registry::new();
}

impl<const N: usize> Registry<N> {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Self {
            slots: [const { AtomicPtr::new(core::ptr::null_mut()) }; N],
            high_water: AtomicUsize::new(0),
            in_use: AtomicUsize::new(0),
            readers: Mutex::new(()),
            retired: Counters::new(),
            #[cfg(feature = "histogram")]
            retired_classes: [const { AtomicU64::new(0) }; SIZE_CLASSES],
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self {
            slots: core::array::from_fn(|_| AtomicPtr::new(core::ptr::null_mut())),
            high_water: AtomicUsize::new(0),
            in_use: AtomicUsize::new(0),
            readers: Mutex::new(()),
            retired: Counters::new(),
            #[cfg(feature = "histogram")]
            retired_classes: [const { AtomicU64::new(0) }; SIZE_CLASSES],
        }
    }

    /// The readers' lock, once the fork handlers that keep a forked child
    /// from inheriting it held are in place (see `fork.rs`).
    fn lock(&self) -> MutexGuard<'_, ()> {
        #[cfg(all(unix, not(loom)))]
        fork::install_handlers(|| REGISTRY.lock_now());
        self.lock_now()
    }

    /// The readers' lock, with no other step: for the fork handlers
    /// themselves.
    fn lock_now(&self) -> MutexGuard<'_, ()> {
        // Nothing panics while holding it; a poisoned lock guards no data.
        self.readers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `counters` in a free slot and returns its index, or `None` when
    /// all `N` are taken. Lock-free and allocation-free: the allocator calls
    /// it. The compare-exchange makes each slot go to one thread only; its
    /// `Release` publishes the block to readers.
    pub(crate) fn register(&self, counters: &ThreadCounters) -> Option<usize> {
        let pointer = counters as *const ThreadCounters as *mut ThreadCounters;
        for (index, slot) in self.slots.iter().enumerate() {
            if slot.load(Ordering::Relaxed).is_null()
                && slot
                    .compare_exchange(
                        core::ptr::null_mut(),
                        pointer,
                        Ordering::Release,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            {
                self.high_water.fetch_max(index + 1, Ordering::Release);
                self.in_use.fetch_add(1, Ordering::Relaxed);
                return Some(index);
            }
        }
        None
    }

    /// Adds the totals of the thread in slot `index` to the retired totals
    /// and empties the slot, under the readers' lock: no reader is walking
    /// the slots meanwhile, so none reads the block after its thread is gone,
    /// and none sees the thread's totals in both places or in neither.
    /// Called by the owner as its thread-locals are torn down, never by the
    /// allocator.
    pub(crate) fn retire(&self, index: usize, counters: &ThreadCounters) {
        let _readers = self.lock();
        let totals = counters.totals();
        for (total, add) in [
            (&self.retired.allocations, totals.allocations),
            (&self.retired.deallocations, totals.deallocations),
            (&self.retired.reallocations, totals.reallocations),
            (&self.retired.allocated_bytes, totals.allocated_bytes),
            (&self.retired.freed_bytes, totals.freed_bytes),
        ] {
            total.fetch_add(add, Ordering::Relaxed);
        }
        #[cfg(feature = "histogram")]
        for (total, class) in self.retired_classes.iter().zip(counters.classes.iter()) {
            total.fetch_add(class.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        if let Some(slot) = self.slots.get(index) {
            slot.store(core::ptr::null_mut(), Ordering::Relaxed);
        }
        self.in_use.fetch_sub(1, Ordering::Relaxed);
    }

    /// Calls `each` with every registered thread's counters. The caller
    /// holds the readers' lock, so no thread can leave meanwhile.
    fn for_each_registered(
        &self,
        _readers: &MutexGuard<'_, ()>,
        mut each: impl FnMut(&ThreadCounters),
    ) {
        let high_water = self.high_water.load(Ordering::Acquire).min(N);
        for slot in &self.slots[..high_water] {
            let pointer = slot.load(Ordering::Acquire);
            if !pointer.is_null() {
                // SAFETY: a non-null slot points to a live thread's
                // counters: a thread empties its slot under the readers'
                // lock before its thread-local storage goes, and we hold
                // that lock.
                each(unsafe { &*pointer });
            }
        }
    }

    /// Slots taken at some point (one past the highest index ever handed
    /// out).
    pub(crate) fn high_water(&self) -> usize {
        self.high_water.load(Ordering::Acquire)
    }

    /// Slots held by live threads right now.
    pub(crate) fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Relaxed)
    }

    /// The retired totals plus every registered thread's counters.
    pub(crate) fn sum(&self) -> Totals {
        let readers = self.lock();
        // Both under the lock: a thread moves its totals from its slot to
        // the retired totals in one step that no reader sees half of.
        let mut totals = self.retired.load();
        self.for_each_registered(&readers, |counters| totals.add(counters.totals()));
        totals
    }

    /// Allocations per size class: retired plus every registered thread.
    #[cfg(feature = "histogram")]
    pub(crate) fn classes(&self) -> [u64; SIZE_CLASSES] {
        let readers = self.lock();
        let mut counts: [u64; SIZE_CLASSES] =
            core::array::from_fn(|k| self.retired_classes[k].load(Ordering::Relaxed));
        self.for_each_registered(&readers, |counters| {
            for (count, class) in counts.iter_mut().zip(counters.classes.iter()) {
                *count = count.wrapping_add(class.load(Ordering::Relaxed));
            }
        });
        counts
    }
}

/// Puts `counters` in a free slot of the process's registry; see
/// [`Registry::register`].
pub(crate) fn register(counters: &ThreadCounters) -> Option<usize> {
    REGISTRY.register(counters)
}

/// Gives slot `index` back to the process's registry; see
/// [`Registry::retire`].
pub(crate) fn retire(index: usize, counters: &ThreadCounters) {
    REGISTRY.retire(index, counters)
}

/// Slots taken at some point (one past the highest index ever handed out).
pub(crate) fn high_water() -> usize {
    REGISTRY.high_water()
}

/// Slots held by live threads right now.
pub(crate) fn in_use() -> usize {
    REGISTRY.in_use()
}

/// The retired totals plus every registered thread's counters.
pub(crate) fn sum() -> Totals {
    REGISTRY.sum()
}

/// Allocations per size class: retired plus every registered thread.
#[cfg(feature = "histogram")]
pub(crate) fn classes() -> [u64; SIZE_CLASSES] {
    REGISTRY.classes()
}
