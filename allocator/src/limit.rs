//! A hard limit on live bytes, for tests of out-of-memory paths (feature `limit`).
//!
//! While a limit is set, an allocation or growing `realloc` first reserves
//! its bytes in the global live counter with a compare-exchange that refuses
//! to pass the limit, then calls the inner allocator (and gives the
//! reservation back if that fails). A refused request returns null, so
//! `Vec::try_reserve` fails cleanly and the process lives (an infallible
//! allocation still aborts, as with any allocator that runs out).
//!
//! # Slack
//! Reservations are exact among themselves, [`set_limit`] publishes the
//! calling thread's own unpublished bytes, and while a limit is set every
//! free and shrinking `realloc` is published at once. What the global counter does not
//! yet know is every other thread's unpublished delta, at most
//! [`FLUSH_THRESHOLD`](crate::tuning::FLUSH_THRESHOLD) bytes per thread holding a
//! slot: allocations made before the limit was set may be unpublished, so
//! live bytes can exceed the limit by at most
//! `threads x FLUSH_THRESHOLD` (see [`limit_slack`]). Unpublished frees make
//! the limit stricter by the same bound, never looser.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use crate::event::Event;
use crate::global;
use crate::thread::{record, record_reserved};

/// The limit, `UNSET` for none: one atomic, so a racing reader can never
/// see "set" with a stale value.
static LIMIT: AtomicU64 = AtomicU64::new(UNSET);
const UNSET: u64 = u64::MAX;

/// Sets (`Some(bytes)`) or clears (`None`) the limit on live bytes.
///
/// ```
/// # #[global_allocator]
/// # static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> =
/// #     heapguard_alloc::CountingAlloc::new(std::alloc::System);
/// heapguard_alloc::set_limit(Some(heapguard_alloc::stats().live_bytes + (1 << 20)));
/// let mut v: Vec<u8> = Vec::new();
/// assert!(v.try_reserve(1 << 30).is_err());
/// assert!(v.try_reserve_exact(1 << 19).is_ok());
/// heapguard_alloc::set_limit(None);
/// ```
///
/// Setting a limit first publishes the calling thread's unpublished bytes,
/// so while no other thread holds unpublished bytes the limit is exact: with
/// `stats().live_bytes + n` set, a request of exactly `n` more bytes
/// succeeds and one of `n + 1` is refused. Other threads' unpublished bytes
/// are the [slack](limit_slack).
///
/// A limit below the current live bytes is accepted: from then on every
/// allocation and every growing `realloc` is refused (returns null), while
/// frees and shrinking `realloc`s go on, until live bytes fall far enough
/// below the limit for the request to fit. A test can set one to check that
/// its code frees and degrades cleanly when it cannot grow.
///
/// A limit of `u64::MAX` bytes is the same as none.
pub fn set_limit(limit: Option<u64>) {
    crate::thread::publish_now();
    LIMIT.store(limit.unwrap_or(UNSET), Relaxed);
}

/// The limit in force, if any.
pub fn limit() -> Option<u64> {
    let limit = LIMIT.load(Relaxed);
    (limit != UNSET).then_some(limit)
}

/// How far live bytes can pass the limit: one
/// [`FLUSH_THRESHOLD`](crate::tuning::FLUSH_THRESHOLD) per thread holding a counter slot.
pub fn limit_slack() -> u64 {
    crate::live_bytes_error_bound()
}

#[inline(always)]
pub(crate) fn is_set() -> bool {
    LIMIT.load(Relaxed) != UNSET
}

/// Adds `bytes` to the global live counter unless that passes the limit;
/// returns the live bytes it reserved up to. The peak is raised only once
/// the allocation succeeded (a refused or failed one is counted nowhere).
fn reserve(bytes: u64) -> Option<i64> {
    let live: &AtomicI64 = global::live_counter();
    let limit = LIMIT.load(Relaxed);
    let mut current = live.load(Relaxed);
    loop {
        let wanted = current.saturating_add(bytes.min(i64::MAX as u64) as i64);
        if wanted.max(0) as u64 > limit {
            return None;
        }
        match live.compare_exchange_weak(current, wanted, Relaxed, Relaxed) {
            Ok(_) => return Some(wanted),
            Err(seen) => current = seen,
        }
    }
}

fn unreserve(bytes: u64) {
    global::live_counter().fetch_sub(bytes as i64, Relaxed);
}

/// `alloc` or `alloc_zeroed` under the limit.
///
/// # Safety
/// As `GlobalAlloc::alloc`.
pub(crate) unsafe fn alloc_within<A: GlobalAlloc>(
    inner: &A,
    layout: Layout,
    zeroed: bool,
) -> *mut u8 {
    let size = layout.size() as u64;
    let Some(reserved_to) = reserve(size) else {
        return core::ptr::null_mut();
    };
    // SAFETY: the caller upholds `alloc`'s contract for `layout`.
    let ptr = unsafe {
        if zeroed {
            inner.alloc_zeroed(layout)
        } else {
            inner.alloc(layout)
        }
    };
    if ptr.is_null() {
        unreserve(size);
    } else {
        global::raise_peak(reserved_to);
        record_reserved(Event::Alloc(size));
    }
    ptr
}

/// `realloc` under the limit: only growth reserves.
///
/// # Safety
/// As `GlobalAlloc::realloc`.
pub(crate) unsafe fn realloc_within<A: GlobalAlloc>(
    inner: &A,
    ptr: *mut u8,
    layout: Layout,
    new_size: usize,
) -> *mut u8 {
    let (old, new) = (layout.size() as u64, new_size as u64);
    let growth = new.saturating_sub(old);
    let reserved_to = if growth > 0 {
        match reserve(growth) {
            Some(reserved_to) => Some(reserved_to),
            None => return core::ptr::null_mut(),
        }
    } else {
        None
    };
    // SAFETY: the caller upholds `realloc`'s contract.
    let new_ptr = unsafe { inner.realloc(ptr, layout, new_size) };
    if new_ptr.is_null() {
        unreserve(growth);
    } else {
        if let Some(reserved_to) = reserved_to {
            global::raise_peak(reserved_to);
        }
        // Growth was published by the reservation; a shrink goes through the
        // usual batching.
        let event = Event::Realloc { old, new };
        if growth == 0 {
            // A shrink publishes at once, like a free: the room it makes is
            // there for the next reservation.
            record(event);
            crate::thread::publish_now();
        } else {
            record_reserved(event);
        }
    }
    new_ptr
}

/// `dealloc` under the limit: the free is published at once, so the room it
/// makes is there for the next reservation (batched, it could wait).
///
/// # Safety
/// As `GlobalAlloc::dealloc`.
pub(crate) unsafe fn dealloc_within<A: GlobalAlloc>(inner: &A, ptr: *mut u8, layout: Layout) {
    record(Event::Dealloc(layout.size() as u64));
    crate::thread::publish_now();
    // SAFETY: the caller upholds `dealloc`'s contract.
    unsafe { inner.dealloc(ptr, layout) }
}
