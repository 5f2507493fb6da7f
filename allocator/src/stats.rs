//! Process-wide readings.

use crate::global::{self, FLUSH_THRESHOLD};
use crate::slots;

/// Process-wide allocation totals since the process started.
///
/// Bytes are requested sizes (`Layout::size()`), not usable sizes.
/// Exact whenever no other thread is inside the allocator at the moment of
/// reading; while others allocate, each thread's counters are read at a
/// slightly different instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AllocStats {
    /// Bytes allocated and not yet freed: `allocated_bytes - freed_bytes`.
    pub live_bytes: u64,
    /// The highest live bytes seen since start or the last [`reset_peak`],
    /// at least `live_bytes`. The peak is tracked from the batched counter,
    /// so it can be off by at most [`live_bytes_error_bound`] in either
    /// direction (a short spike under-reported, or unpublished frees making
    /// it read high).
    pub peak_bytes: u64,
    /// Bytes allocated, including the new size of each `realloc`.
    pub allocated_bytes: u64,
    /// Bytes freed, including the old size of each `realloc`.
    pub freed_bytes: u64,
    /// Calls to `alloc` and `alloc_zeroed` that succeeded.
    pub allocations: u64,
    /// Calls to `dealloc`.
    pub deallocations: u64,
    /// Calls to `realloc` that succeeded.
    pub reallocations: u64,
}

/// Exact process-wide totals: the sum of every thread's counters.
///
/// Costs a lock (held against threads leaving, never taken by the
/// allocator) and a pass over the registry slots ever claimed: a few loads
/// per thread that was alive at once. For a cheap reading on a hot path use
/// [`live_bytes`].
///
/// # Fork
/// Usable in a child forked while other threads read (or exit): `fork()`
/// waits for the thread holding the registry's lock, if any, to finish its
/// pass, and the child starts with the lock free (`pthread_atfork`
/// handlers, installed by the first reader or exiting thread; jemalloc does
/// the same for its own locks). In the child the totals go on from the
/// parent's at the instant of the fork, its heap being a copy of the
/// parent's: the parent's other threads keep their slots there (counted in
/// [`slot_usage`]`().in_use`) with their counters frozen, and one of them
/// that was inside the allocator at that instant can leave its counters
/// there mid-update (off by at most that call's bytes plus twice
/// [`FLUSH_THRESHOLD`]). Differences between two readings in the child are
/// exact while the child has one thread. The
/// handlers make `fork()` itself wait for a reader: a fork from a signal
/// handler that interrupted this thread's own `stats()` would wait for
/// itself (fork is not async-signal-safe once a library installs fork
/// handlers). `vfork` and `posix_spawn` run no handlers and need none.
///
/// ```
/// # #[global_allocator]
/// # static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> =
/// #     heapguard_alloc::CountingAlloc::new(std::alloc::System);
/// let before = heapguard_alloc::stats();
/// let block = vec![1u8; 4096];
/// let after = heapguard_alloc::stats();
/// assert_eq!(after.live_bytes - before.live_bytes, 4096);
/// # drop(block);
/// ```
pub fn stats() -> AllocStats {
    let mut totals = global::fallback_totals();
    totals.add(slots::sum());
    let live_bytes = totals.live_bytes();
    AllocStats {
        live_bytes,
        peak_bytes: (global::peak().max(0) as u64).max(live_bytes),
        allocated_bytes: totals.allocated_bytes,
        freed_bytes: totals.freed_bytes,
        allocations: totals.allocations,
        deallocations: totals.deallocations,
        reallocations: totals.reallocations,
    }
}

/// Live heap bytes, the cheapest reading: one relaxed atomic load.
///
/// Threads publish their net allocations in batches, so this differs from the
/// exact [`stats`]`().live_bytes` by at most [`live_bytes_error_bound`]:
/// [`FLUSH_THRESHOLD`] bytes per thread holding a counter slot, in either
/// direction (a thread never holds more than that unpublished).
///
/// Takes no lock: usable anywhere, a forked child included (where it goes on
/// from the parent's value at the fork; see [`stats`]).
#[inline]
pub fn live_bytes() -> u64 {
    global::published_live().max(0) as u64
}

/// The largest possible difference between [`live_bytes`] and the exact live
/// bytes right now: [`FLUSH_THRESHOLD`] times the threads holding a slot.
pub fn live_bytes_error_bound() -> u64 {
    slots::in_use() as u64 * FLUSH_THRESHOLD
}

/// Restarts the peak from the current (exact) live bytes.
///
/// Reads [`stats`], so it takes the same lock and is as fork-safe.
pub fn reset_peak() {
    global::set_peak(stats().live_bytes as i64);
}

/// Threads holding a counter slot now, and slots ever claimed.
///
/// Slots are reused, so `claimed` is bounded by the most threads that were
/// alive (and had allocated) at once, however many threads came and went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlotUsage {
    /// Slots held by live threads.
    pub in_use: usize,
    /// Slots ever handed out: one past the highest index used.
    pub claimed: usize,
    /// The most slots there can be ([`MAX_SLOTS`](crate::MAX_SLOTS)).
    pub capacity: usize,
}

/// How many per-thread counter slots are in use and were ever claimed.
///
/// Two atomic loads, no lock. In a forked child the parent's other threads
/// still hold their slots (they are never given back there).
pub fn slot_usage() -> SlotUsage {
    SlotUsage {
        in_use: slots::in_use(),
        claimed: slots::high_water(),
        capacity: slots::MAX_SLOTS,
    }
}

/// Process-wide allocations per power-of-two size class.
///
/// Takes the same lock as [`stats`] and is fork-safe the same way.
#[cfg(feature = "histogram")]
pub fn size_classes() -> crate::SizeClasses {
    let fallback = global::fallback_classes();
    let mut counts = slots::classes();
    for (count, more) in counts.iter_mut().zip(fallback) {
        *count = count.wrapping_add(more);
    }
    crate::SizeClasses::from_counts(counts)
}
