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
//! them all before a reading would trip it and before it refuses a
//! reservation for want of room: the same place it purges first. Nothing is
//! settled on any other path, so a check that decides nothing new takes no
//! lock.

use std::sync::{Arc, Weak};

use crate::inner::Inner;
use crate::primitive::{AtomicU64, AtomicUsize, Mutex, Ordering::Relaxed};
use crate::sync::lock;

/// The shared part of an account reservation: its owner settles and drops
/// it; the registries of its breaker and the breaker's ancestors settle it.
pub(crate) struct Settled {
    breaker: Arc<Inner>,
    account: heapguard_alloc::Account,
    estimate: u64,
    /// The account's live bytes when the reservation was made.
    base: u64,
    /// The bytes still reserved. Changed only by compare-and-swap (a
    /// settle) and a swap to 0 (the release), so whoever changes it gives
    /// back exactly the bytes it took off, and each byte is given back once.
    bytes: AtomicU64,
}

impl Settled {
    /// Registers `estimate` bytes already reserved in `breaker` (and its
    /// ancestors) against `account`.
    pub(crate) fn register(
        breaker: Arc<Inner>,
        account: heapguard_alloc::Account,
        estimate: u64,
    ) -> Arc<Settled> {
        let settled = Arc::new(Settled {
            base: account.live_bytes(),
            breaker,
            account,
            estimate,
            bytes: AtomicU64::new(estimate),
        });
        for inner in settled.breaker.chain() {
            inner.settling.add(&settled);
        }
        settled
    }

    /// Shrinks the reservation to `estimate - grown` (0 at least), where
    /// `grown` is what the account gained since the reservation was made;
    /// returns the bytes still reserved. One atomic load of the account
    /// and one of the bytes when there is nothing to give back.
    pub(crate) fn settle(&self) -> u64 {
        let grown = self.account.live_bytes().saturating_sub(self.base);
        let target = self.estimate.saturating_sub(grown);
        let mut bytes = self.bytes.load(Relaxed);
        while target < bytes {
            match self
                .bytes
                .compare_exchange_weak(bytes, target, Relaxed, Relaxed)
            {
                Ok(_) => {
                    self.breaker.release(bytes - target);
                    return target;
                }
                Err(now) => bytes = now,
            }
        }
        bytes
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes.load(Relaxed)
    }

    pub(crate) fn estimate(&self) -> u64 {
        self.estimate
    }

    pub(crate) fn account(&self) -> &heapguard_alloc::Account {
        &self.account
    }

    pub(crate) fn breaker_name(&self) -> &str {
        &self.breaker.lines.name
    }

    /// Gives back everything still reserved and leaves the registries: the
    /// owner's drop. A registry that still holds it settles nothing more.
    pub(crate) fn release(&self) {
        let bytes = self.bytes.swap(0, Relaxed);
        if bytes > 0 {
            self.breaker.release(bytes);
        }
        for inner in self.breaker.chain() {
            inner.settling.live.fetch_sub(1, Relaxed);
        }
    }
}

/// The account reservations taken in one breaker or its descendants.
pub(crate) struct Registry {
    /// How many are live (registered and not released).
    live: AtomicUsize,
    /// Weak, so a released reservation's memory goes with its owner;
    /// entries of released ones are dropped as the list grows.
    entries: Mutex<Vec<Weak<Settled>>>,
}

impl Registry {
    pub(crate) fn new() -> Self {
        Self {
            live: AtomicUsize::new(0),
            entries: Mutex::new(Vec::new()),
        }
    }

    fn add(&self, settled: &Arc<Settled>) {
        let live = self.live.fetch_add(1, Relaxed) + 1;
        let mut entries = lock(&self.entries);
        // Keeps the list within twice the live ones (and 16), so a
        // breaker taking one reservation per request does not grow it
        // without end.
        if entries.len() >= (2 * live).max(16) {
            entries.retain(|entry| entry.strong_count() > 0);
        }
        entries.push(Arc::downgrade(settled));
    }

    /// Settles every live account reservation; true when there was one.
    pub(crate) fn settle_all(&self) -> bool {
        if self.live.load(Relaxed) == 0 {
            return false;
        }
        let live: Vec<Arc<Settled>> = {
            let mut entries = lock(&self.entries);
            entries.retain(|entry| entry.strong_count() > 0);
            entries.iter().filter_map(Weak::upgrade).collect()
        };
        for settled in &live {
            settled.settle();
        }
        true
    }
}
