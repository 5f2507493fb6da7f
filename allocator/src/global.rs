//! Process-wide counters: the batched live-bytes total, the peak, and the
//! fallback counters for allocations that no slot can take.

use core::sync::atomic::{AtomicI64, Ordering::Relaxed};

use crate::counters::{Counters, Totals};
use crate::event::Event;

/// A thread publishes its net allocated bytes to the global live counter once
/// their magnitude passes this many bytes.
///
/// It bounds the error of [`live_bytes`](crate::live_bytes) and of the peak:
/// each thread holding a slot can have at most this many bytes unpublished,
/// in either direction. 64 KiB keeps small alloc/free pairs, which oscillate
/// around zero, entirely off the shared cache line, while large allocations
/// mostly publish at once (only the part that fits under the threshold, net
/// of the thread's other unpublished bytes, can wait). It also sets how
/// often a thread's counting leaves its fast path: about once per this many
/// bytes allocated or freed.
pub const FLUSH_THRESHOLD: u64 = 64 * 1024;

/// Live bytes as published by threads: exact minus the unpublished deltas.
static LIVE: AtomicI64 = AtomicI64::new(0);
/// The highest value `LIVE` reached since start or the last `reset_peak`.
static PEAK: AtomicI64 = AtomicI64::new(0);
/// Counters of allocations made with no slot: during thread-local teardown,
/// while a thread is registering, or past `MAX_SLOTS` threads.
static FALLBACK: Counters = Counters::new();

#[cfg(feature = "histogram")]
static FALLBACK_CLASSES: [core::sync::atomic::AtomicU64; crate::histogram::SIZE_CLASSES] =
    [const { core::sync::atomic::AtomicU64::new(0) }; crate::histogram::SIZE_CLASSES];

/// Adds `delta` to the published live bytes and raises the peak if needed.
#[inline]
pub(crate) fn publish(delta: i64) {
    let live = LIVE.fetch_add(delta, Relaxed).wrapping_add(delta);
    raise_peak(live);
}

#[inline]
pub(crate) fn raise_peak(live: i64) {
    // A load first: the read-modify-write runs only when the peak moves.
    if live > PEAK.load(Relaxed) {
        PEAK.fetch_max(live, Relaxed);
    }
}

/// The published live bytes (may be transiently negative).
#[inline(always)]
pub(crate) fn published_live() -> i64 {
    LIVE.load(Relaxed)
}

/// The global live counter itself, for the `limit` feature's reservations.
#[cfg(feature = "limit")]
pub(crate) fn live_counter() -> &'static AtomicI64 {
    &LIVE
}

pub(crate) fn peak() -> i64 {
    PEAK.load(Relaxed)
}

pub(crate) fn set_peak(value: i64) {
    PEAK.store(value, Relaxed);
}

/// Counts an event that no slot can take, with read-modify-writes.
#[cold]
pub(crate) fn record_fallback(event: Event, publish_net: bool) {
    let (counts, bytes_in, bytes_out) = match event {
        Event::Alloc(size) => (&FALLBACK.allocations, size, 0),
        Event::Dealloc(size) => (&FALLBACK.deallocations, 0, size),
        Event::Realloc { old, new } => (&FALLBACK.reallocations, new, old),
    };
    counts.fetch_add(1, Relaxed);
    FALLBACK.allocated_bytes.fetch_add(bytes_in, Relaxed);
    FALLBACK.freed_bytes.fetch_add(bytes_out, Relaxed);
    #[cfg(feature = "histogram")]
    if let Some(size) = event.classified_size() {
        FALLBACK_CLASSES[crate::histogram::size_class(size as usize)].fetch_add(1, Relaxed);
    }
    if publish_net {
        publish(event.net());
    }
}

pub(crate) fn fallback_totals() -> Totals {
    FALLBACK.load()
}

#[cfg(feature = "histogram")]
pub(crate) fn fallback_classes() -> [u64; crate::histogram::SIZE_CLASSES] {
    core::array::from_fn(|k| FALLBACK_CLASSES[k].load(Relaxed))
}
