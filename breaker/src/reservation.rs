//! A reservation: bytes a job expects to need, counted by the breaker until dropped.

use std::fmt;
use std::sync::{Arc, Weak};

use crate::inner::Inner;
use crate::primitive::{AtomicU64, Ordering::Relaxed};
use crate::settling::Settle;
use crate::usage::Tripped;

/// Bytes reserved in a breaker (and its ancestors) until this guard is
/// dropped, on any path, unwinding included.
///
/// Reserve what a batch is about to allocate, before allocating it
/// (estimate, then break): the breaker refuses the batch instead of the
/// allocator failing halfway. Reserved bytes add to the source's reading,
/// so shrink or drop a reservation once its memory is allocated and counted
/// by the source, or accept the double count as margin.
///
/// ```
/// use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};
/// use heapguard_breaker::testing::ManualSource;
/// let breaker = MemoryBreaker::new(
///     BreakerConfig::new(Budget::Bytes(1000)).source(ManualSource::new(0)),
/// )
/// .unwrap();
/// let mut batch = breaker.try_reserve(500).unwrap();
/// assert!(batch.grow(400).is_err(), "900 bytes would pass the 800-byte trip line");
/// batch.grow(200).unwrap();
/// assert_eq!(breaker.reserved(), 700);
/// batch.shrink(300);
/// drop(batch);
/// assert_eq!(breaker.reserved(), 0);
/// ```
#[must_use = "a reservation is released as soon as it is dropped"]
pub struct Reservation {
    pub(crate) breaker: Arc<Inner>,
    pub(crate) bytes: u64,
}

impl Reservation {
    /// The bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The name of the breaker it was taken from.
    pub fn breaker(&self) -> &str {
        &self.breaker.lines.name
    }

    /// Reserves `more` bytes on top, or fails and leaves the reservation as it was.
    pub fn grow(&mut self, more: u64) -> Result<(), Tripped> {
        self.breaker.reserve(more)?;
        self.bytes += more;
        Ok(())
    }

    /// Gives back `less` bytes (all it holds if `less` is larger).
    pub fn shrink(&mut self, less: u64) {
        let less = less.min(self.bytes);
        if less > 0 {
            self.breaker.release(less);
            self.bytes -= less;
        }
    }

    /// Grows or shrinks to exactly `bytes`; a refused growth leaves it as it was.
    pub fn resize(&mut self, bytes: u64) -> Result<(), Tripped> {
        if bytes > self.bytes {
            self.grow(bytes - self.bytes)
        } else {
            self.shrink(self.bytes - bytes);
            Ok(())
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.breaker.release(self.bytes);
        }
    }
}

/// A reservation tied to a memory account: it settles as the account's live
/// bytes grow, so bytes the work has allocated (and the breaker's source
/// now counts) are not also counted as reserved. From
/// [`MemoryBreaker::try_reserve_in`](crate::MemoryBreaker::try_reserve_in).
///
/// **Settling rule**: once the account has grown by `g` bytes since the
/// reservation was made, [`settle`](Self::settle) shrinks it to
/// `estimate - g` (0 at least); the breaker applies the same rule to every
/// live account reservation taken in it or its descendants before a reading
/// would trip it, on its refresher's tick past a line, and before it
/// refuses a reservation for want of room, so no trip is decided on work
/// counted twice, beyond the lag below. It never grows back (an account
/// that frees and allocates again is holding memory the source already
/// counts).
/// **Error bound**: the account's live bytes lag by at most 2 x
/// [`FLUSH_THRESHOLD`](heapguard_alloc::FLUSH_THRESHOLD) per thread inside
/// it, which only leaves the reservation that much larger (a margin). Frees
/// are charged to the account current at the free: blocks of other
/// accounts freed inside this one lower `g` (the reservation stays larger,
/// by at most this account's `foreign_freed_bytes`); blocks of this account
/// freed outside it (a stream's items dropped by their consumer) leave `g`
/// too high, so the reservation can settle early by at most the bytes freed
/// that way.
///
/// ```
/// # #[global_allocator]
/// # static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> =
/// #     heapguard_alloc::CountingAlloc::new(std::alloc::System);
/// use heapguard_alloc::Account;
/// use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};
/// use heapguard_breaker::testing::ManualSource;
/// let breaker = MemoryBreaker::new(
///     BreakerConfig::new(Budget::Bytes(1 << 30)).source(ManualSource::new(0)),
/// )?;
/// let job = Account::new("job");
/// let mut reserved = breaker.try_reserve_in(&job, 1 << 20)?;
/// let rows = {
///     let _inside = job.enter();
///     vec![0u8; 768 << 10]
/// };
/// assert_eq!(reserved.settle(), 256 << 10, "768 KiB of the 1 MiB are real now");
/// assert_eq!(breaker.reserved(), 256 << 10);
/// # drop(rows);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a reservation is released as soon as it is dropped"]
pub struct AccountReservation {
    settled: Arc<Settled>,
}

impl AccountReservation {
    pub(crate) fn new(mut reservation: Reservation, account: heapguard_alloc::Account) -> Self {
        // The bytes move to the shared part, which gives them back from now on.
        let estimate = std::mem::take(&mut reservation.bytes);
        let breaker = Arc::clone(&reservation.breaker);
        Self {
            settled: Settled::register(breaker, account, estimate),
        }
    }

    /// Shrinks the reservation by what the account has grown since it was
    /// made (see the settling rule); returns the bytes still reserved. One
    /// atomic load of the account and one of the reservation when there is
    /// nothing to give back. The breaker settles it too, before a reading
    /// would trip it and before it refuses a reservation for want of room.
    pub fn settle(&mut self) -> u64 {
        self.settled.settle_now()
    }

    /// The bytes still reserved.
    pub fn bytes(&self) -> u64 {
        self.settled.bytes()
    }

    /// The bytes first reserved.
    pub fn estimate(&self) -> u64 {
        self.settled.estimate()
    }

    /// The account it settles against.
    pub fn account(&self) -> &heapguard_alloc::Account {
        self.settled.account()
    }
}

impl Drop for AccountReservation {
    fn drop(&mut self) {
        self.settled.release();
    }
}

impl fmt::Debug for AccountReservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountReservation")
            .field("breaker", &self.settled.breaker_name())
            .field("account", &self.account().name())
            .field("estimate", &self.estimate())
            .field("bytes", &self.bytes())
            .finish()
    }
}

/// The shared part of an account reservation: its owner settles and drops
/// it; the registries of its breaker and the breaker's ancestors settle it.
struct Settled {
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
    fn register(
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
            let weak: Weak<Settled> = Arc::downgrade(&settled);
            inner.settling.add(weak);
        }
        settled
    }

    /// Shrinks the reservation to `estimate - grown` (0 at least), where
    /// `grown` is what the account gained since the reservation was made;
    /// returns the bytes still reserved. One atomic load of the account
    /// and one of the bytes when there is nothing to give back.
    fn settle_now(&self) -> u64 {
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

    fn bytes(&self) -> u64 {
        self.bytes.load(Relaxed)
    }

    fn estimate(&self) -> u64 {
        self.estimate
    }

    fn account(&self) -> &heapguard_alloc::Account {
        &self.account
    }

    fn breaker_name(&self) -> &str {
        &self.breaker.lines.name
    }

    /// Gives back everything still reserved and leaves the registries: the
    /// owner's drop. A registry that still holds it settles nothing more.
    fn release(&self) {
        let bytes = self.bytes.swap(0, Relaxed);
        if bytes > 0 {
            self.breaker.release(bytes);
        }
        for inner in self.breaker.chain() {
            inner.settling.remove();
        }
    }
}

impl Settle for Settled {
    fn settle(&self) {
        self.settle_now();
    }
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("breaker", &self.breaker.lines.name)
            .field("bytes", &self.bytes)
            .finish()
    }
}
