//! The registry of per-thread counter slots.
//!
//! A fixed array of cache-padded slots lives in a `static`, so handing one to a
//! thread never allocates. A thread claims a free slot on its first counted
//! allocation and gives it back when its thread-locals are torn down. A reused
//! slot keeps its totals: the sum over all slots stays exact across any amount
//! of thread churn, and the number of slots ever claimed is bounded by the most
//! threads alive at once (plus the fallback for more than [`MAX_SLOTS`]).

use core::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

use crate::counters::{Counters, Totals};
#[cfg(feature = "histogram")]
use crate::histogram::SIZE_CLASSES;

/// How many threads can hold a slot at once. Threads past this count are
/// still counted exactly, through the shared fallback counters (a
/// `fetch_add` each, so slower under contention).
pub const MAX_SLOTS: usize = 1024;

/// One thread's counters. Exactly one thread writes a claimed slot.
pub(crate) struct Slot {
    in_use: AtomicBool,
    pub(crate) counters: Counters,
    /// Net bytes not yet published to the global live counter.
    pub(crate) pending: AtomicI64,
    #[cfg(feature = "histogram")]
    pub(crate) classes: [core::sync::atomic::AtomicU64; SIZE_CLASSES],
}

impl Slot {
    const fn new() -> Self {
        Self {
            in_use: AtomicBool::new(false),
            counters: Counters::new(),
            pending: AtomicI64::new(0),
            #[cfg(feature = "histogram")]
            classes: [const { core::sync::atomic::AtomicU64::new(0) }; SIZE_CLASSES],
        }
    }
}

static SLOTS: [CachePadded<Slot>; MAX_SLOTS] = [const { CachePadded::new(Slot::new()) }; MAX_SLOTS];
/// One past the highest slot index ever claimed: readers sum only up to here.
static HIGH_WATER: AtomicUsize = AtomicUsize::new(0);
static IN_USE: AtomicUsize = AtomicUsize::new(0);

/// Claims a free slot, or `None` when all [`MAX_SLOTS`] are held.
///
/// Lock-free and allocation-free: a linear scan with one compare-exchange per
/// candidate. The `Acquire` pairs with the `Release` in [`release`], so the
/// new owner sees the totals the previous owner left.
pub(crate) fn claim() -> Option<&'static Slot> {
    for (index, slot) in SLOTS.iter().enumerate() {
        if !slot.in_use.load(Ordering::Relaxed)
            && slot
                .in_use
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            HIGH_WATER.fetch_max(index + 1, Ordering::Release);
            IN_USE.fetch_add(1, Ordering::Relaxed);
            return Some(slot);
        }
    }
    None
}

/// Gives a slot back. The caller has already published its pending delta.
pub(crate) fn release(slot: &'static Slot) {
    IN_USE.fetch_sub(1, Ordering::Relaxed);
    slot.in_use.store(false, Ordering::Release);
}

/// Slots claimed at some point (one past the highest index ever handed out).
pub(crate) fn high_water() -> usize {
    HIGH_WATER.load(Ordering::Acquire)
}

/// Slots held by live threads right now.
pub(crate) fn in_use() -> usize {
    IN_USE.load(Ordering::Relaxed)
}

/// Every slot ever claimed, for readers that sum.
pub(crate) fn claimed() -> &'static [CachePadded<Slot>] {
    &SLOTS[..high_water()]
}

/// The sum of every slot's counters.
pub(crate) fn sum() -> Totals {
    let mut totals = Totals::default();
    for slot in claimed() {
        totals.add(slot.counters.load());
    }
    totals
}
