//! Account reservations that the breaker settles itself before it trips or
//! refuses a reservation.
//!
//! An [`AccountReservation`](crate::AccountReservation) shrinks as its
//! account grows, but only when its owner calls `settle`: between two
//! calls, what the work allocated is counted twice, once in the source's
//! reading and once as still reserved. A decision taken on that double
//! count trips the breaker, and a tripped breaker refuses until the total
//! falls under its reset line, which the reservation still in place keeps
//! it from doing. Decompressing a section of debug information (tens of MB
//! in one allocation) inside an observer's run tripped a breaker that way
//! and held it refusing for the rest of the run. So each breaker keeps the
//! live account reservations taken in it or its descendants, and settles
//! them all: before a reading would trip it (only then: not while
//! `min_state_duration` holds the state), on the refresher's tick while a
//! reading is past the trip line or, refusing, past the reset line (so the
//! cancel line and the recovery are not decided on work counted twice), and
//! before it refuses a reservation for want of room (at most once a
//! millisecond, however many are refused; the claim is made under the
//! registry's lock, so a reservation short of room meanwhile waits for the
//! settle in flight and tries once more on what it left). A check
//! that decides nothing new takes no lock.

use std::sync::Weak;

use crate::primitive::{AtomicUsize, Mutex, Ordering::Relaxed};
use crate::sync::lock;

/// A reservation a registry can settle: an account reservation's shared part.
pub(crate) trait Settle: Send + Sync {
    /// Shrinks the reservation by what its work allocated since it was
    /// made. It runs under the registry's lock, so it must not reserve in
    /// or settle a breaker.
    fn settle(&self);
}

/// The account reservations taken in one breaker or its descendants.
pub(crate) struct Registry {
    /// How many are live (registered and not released).
    live: AtomicUsize,
    /// Weak, so a released reservation's memory goes with its owner;
    /// entries of released ones are dropped as the list grows.
    entries: Mutex<Vec<Weak<dyn Settle>>>,
}

impl Registry {
    pub(crate) fn new() -> Self {
        Self {
            live: AtomicUsize::new(0),
            entries: Mutex::new(Vec::new()),
        }
    }

    /// Adds a live reservation.
    pub(crate) fn add(&self, settled: Weak<dyn Settle>) {
        let live = self.live.fetch_add(1, Relaxed) + 1;
        let mut entries = lock(&self.entries);
        // Keeps the list within twice the live ones (and 16), so a
        // breaker taking one reservation per request does not grow it
        // without end.
        if entries.len() >= (2 * live).max(16) {
            entries.retain(|entry| entry.strong_count() > 0);
        }
        entries.push(settled);
    }

    /// One of the live reservations was released.
    pub(crate) fn remove(&self) {
        self.live.fetch_sub(1, Relaxed);
    }

    /// Before a reservation is refused for want of room: settles every
    /// live account reservation if `claim` (called under the lock) says a
    /// settle is due, else only waits for a settle in flight to end. True
    /// when there are live reservations, so that one may have given room
    /// back since the caller read the ledger.
    pub(crate) fn settle_for_room(&self, claim: impl FnOnce() -> bool) -> bool {
        if self.live.load(Relaxed) == 0 {
            return false;
        }
        let mut entries = lock(&self.entries);
        if claim() {
            settle_each(&mut entries);
        }
        true
    }

    /// Settles every live account reservation, under the lock and without
    /// allocating (a settle only moves atomics); true when there was one.
    pub(crate) fn settle_all(&self) -> bool {
        if self.live.load(Relaxed) == 0 {
            return false;
        }
        settle_each(&mut lock(&self.entries));
        true
    }
}

/// Settles each live entry and drops the released ones.
fn settle_each(entries: &mut Vec<Weak<dyn Settle>>) {
    entries.retain(|entry| match entry.upgrade() {
        Some(settled) => {
            settled.settle();
            true
        }
        None => false,
    });
}
