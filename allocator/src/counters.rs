//! The counter block of the fallback and retired totals, and its snapshot.

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Cumulative counters with many writers, updated with `fetch_add`: the
/// fallback totals and the totals of threads that have exited.
pub(crate) struct Counters {
    pub(crate) allocations: AtomicU64,
    pub(crate) deallocations: AtomicU64,
    pub(crate) reallocations: AtomicU64,
    pub(crate) allocated_bytes: AtomicU64,
    pub(crate) freed_bytes: AtomicU64,
}

/// A plain snapshot of [`Counters`], summed with wrapping arithmetic: a slot
/// whose threads freed more than they allocated is fine, only the sum means
/// anything process-wide.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) allocations: u64,
    pub(crate) deallocations: u64,
    pub(crate) reallocations: u64,
    pub(crate) allocated_bytes: u64,
    pub(crate) freed_bytes: u64,
}

impl Counters {
    pub(crate) const fn new() -> Self {
        Self {
            allocations: AtomicU64::new(0),
            deallocations: AtomicU64::new(0),
            reallocations: AtomicU64::new(0),
            allocated_bytes: AtomicU64::new(0),
            freed_bytes: AtomicU64::new(0),
        }
    }

    /// Reads every counter with relaxed loads.
    pub(crate) fn load(&self) -> Totals {
        Totals {
            allocations: self.allocations.load(Relaxed),
            deallocations: self.deallocations.load(Relaxed),
            reallocations: self.reallocations.load(Relaxed),
            allocated_bytes: self.allocated_bytes.load(Relaxed),
            freed_bytes: self.freed_bytes.load(Relaxed),
        }
    }
}

impl Totals {
    pub(crate) const ZERO: Totals = Totals {
        allocations: 0,
        deallocations: 0,
        reallocations: 0,
        allocated_bytes: 0,
        freed_bytes: 0,
    };

    /// What happened between `earlier` and `self` (wrapping).
    pub(crate) fn since(&self, earlier: Totals) -> Totals {
        Totals {
            allocations: self.allocations.wrapping_sub(earlier.allocations),
            deallocations: self.deallocations.wrapping_sub(earlier.deallocations),
            reallocations: self.reallocations.wrapping_sub(earlier.reallocations),
            allocated_bytes: self.allocated_bytes.wrapping_sub(earlier.allocated_bytes),
            freed_bytes: self.freed_bytes.wrapping_sub(earlier.freed_bytes),
        }
    }

    /// Allocated minus freed bytes, signed.
    pub(crate) fn net(&self) -> i64 {
        self.allocated_bytes.wrapping_sub(self.freed_bytes) as i64
    }

    /// Adds `other` with wrapping arithmetic.
    pub(crate) fn add(&mut self, other: Totals) {
        self.allocations = self.allocations.wrapping_add(other.allocations);
        self.deallocations = self.deallocations.wrapping_add(other.deallocations);
        self.reallocations = self.reallocations.wrapping_add(other.reallocations);
        self.allocated_bytes = self.allocated_bytes.wrapping_add(other.allocated_bytes);
        self.freed_bytes = self.freed_bytes.wrapping_add(other.freed_bytes);
    }

    /// Live bytes: allocated minus freed, clamped at zero (a torn read while
    /// other threads allocate can make the difference briefly negative).
    pub(crate) fn live_bytes(&self) -> u64 {
        let net = self.allocated_bytes.wrapping_sub(self.freed_bytes) as i64;
        net.max(0) as u64
    }
}
