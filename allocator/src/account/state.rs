//! What an account is made of, apart from what a user calls: the account's
//! shared totals ([`AccountCore`]) and each thread's account state
//! ([`AccountCells`], part of the thread's allocator state), with the
//! charging between them. The thread state holds these; [`super`]'s public
//! API switches them.

use core::cell::Cell;
use core::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::counters::Totals;
use crate::event::Event;
use crate::global::FLUSH_THRESHOLD;
use crate::local_counters::LocalCounters;
use crate::slots::ThreadCounters;

/// A thread without a counter slot publishes its account charges after this
/// many allocator calls, even if their bytes stay under the flush threshold.
pub const ACCOUNT_FLUSH_CALLS: u32 = 4096;

/// A named memory account. Cheap to clone (an `Arc`), `Send + Sync`.
///
/// ```
/// # #[global_allocator]
/// # static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> =
/// #     heapguard_alloc::CountingAlloc::new(std::alloc::System);
/// use heapguard_alloc::Account;
///
/// let job = Account::new("user-42");
/// let worker = job.spawn(|| vec![0u8; 10_000]);
/// let data = {
///     let _inside = job.enter();
///     vec![0u8; 5_000]
/// };
/// let from_worker = worker.join().unwrap();
/// let usage = job.usage();
/// assert_eq!(usage.allocated_bytes, 15_000);
/// assert_eq!(usage.live_bytes, 15_000);
/// # drop((data, from_worker));
/// ```
#[derive(Clone)]
pub struct Account {
    pub(crate) core: Arc<AccountCore>,
}

pub(crate) struct AccountCore {
    pub(crate) name: String,
    pub(crate) parent: Option<Account>,
    pub(crate) allocations: AtomicU64,
    pub(crate) deallocations: AtomicU64,
    pub(crate) reallocations: AtomicU64,
    pub(crate) allocated_bytes: AtomicU64,
    pub(crate) freed_bytes: AtomicU64,
    /// Net bytes: allocated minus freed, signed (never clamped, so the order
    /// in which threads publish cannot change the final figure).
    pub(crate) net: AtomicI64,
    pub(crate) peak: AtomicI64,
}

/// The account entered on a thread, as its thread-local holds it.
#[derive(Clone, Copy)]
pub(crate) struct Entered {
    /// The account's core, or null for none.
    pub(crate) core: *const AccountCore,
    /// Whether the thread-local owns a strong reference to `core` (entered
    /// with [`Account::enter`]), or borrows it from a [`Scoped`] future
    /// being polled or dropped on this thread right now, whose `Account`
    /// keeps the core alive until it restores the previous account. Never
    /// true for null.
    pub(crate) owned: bool,
}

impl Entered {
    pub(crate) const NONE: Entered = Entered {
        core: core::ptr::null(),
        owned: false,
    };

    /// `core`, a strong reference from `Arc::into_raw`, or null.
    pub(crate) fn owned(core: *const AccountCore) -> Self {
        Entered {
            core,
            owned: !core.is_null(),
        }
    }

    /// Gives back the strong reference the thread-local held, if it held one.
    ///
    /// # Safety
    /// `self` was taken out of a thread's `current` (so it is released at
    /// most once), and nothing else holds on to that reference.
    #[inline(always)]
    pub(crate) unsafe fn release(self) {
        if self.owned {
            // SAFETY: as the caller promises.
            unsafe { self.release_owned() }
        }
    }

    /// [`Entered::release`] for an owned core, out of line: a scoped poll
    /// only ever takes back the core it lent.
    ///
    /// # Safety
    /// As [`Entered::release`].
    #[inline(never)]
    unsafe fn release_owned(self) {
        // SAFETY: an owned core came from `Arc::into_raw` and its strong
        // reference belonged to the thread-local, from which the caller took
        // it.
        drop(unsafe { Arc::from_raw(self.core) });
    }
}

/// Where this thread's counters stood when its account was last charged:
/// the call counts and the two byte budgets (see `ThreadCounters`). The
/// bytes since then are what the budgets went down by, as long as they were
/// not refilled: the thread marks again after every refill
/// ([`AccountCells::remark`]). Reading two budgets instead of the byte totals
/// saves the loads of their bases.
#[derive(Clone, Copy)]
pub(crate) struct Mark {
    pub(crate) allocations: u64,
    pub(crate) deallocations: u64,
    pub(crate) reallocations: u64,
    pub(crate) alloc_budget: i64,
    pub(crate) free_budget: i64,
}

impl Mark {
    const ZERO: Mark = Mark {
        allocations: 0,
        deallocations: 0,
        reallocations: 0,
        alloc_budget: 0,
        free_budget: 0,
    };

    /// Where `counters` (this thread's own) stand now.
    #[inline(always)]
    pub(crate) fn of(counters: &ThreadCounters) -> Mark {
        Mark {
            allocations: counters.allocations.load(Relaxed),
            deallocations: counters.deallocations.load(Relaxed),
            reallocations: counters.reallocations.load(Relaxed),
            alloc_budget: counters.alloc_budget.load(Relaxed),
            free_budget: counters.free_budget.load(Relaxed),
        }
    }

    /// Whether `counters` counted no call since this mark. The counts only
    /// grow, and on a thread holding a slot no byte is counted without a
    /// call (a refill moves the budgets without counting, and is followed
    /// by a new mark), so equal counts mean nothing to charge.
    #[inline(always)]
    pub(crate) fn unchanged(&self, counters: &ThreadCounters) -> bool {
        (self.allocations ^ counters.allocations.load(Relaxed))
            | (self.deallocations ^ counters.deallocations.load(Relaxed))
            | (self.reallocations ^ counters.reallocations.load(Relaxed))
            == 0
    }

    /// What was counted between `self` and `now`, with no refill between.
    fn until(&self, now: &Mark) -> Totals {
        Totals {
            allocations: now.allocations.wrapping_sub(self.allocations),
            deallocations: now.deallocations.wrapping_sub(self.deallocations),
            reallocations: now.reallocations.wrapping_sub(self.reallocations),
            allocated_bytes: self.alloc_budget.wrapping_sub(now.alloc_budget) as u64,
            freed_bytes: self.free_budget.wrapping_sub(now.free_budget) as u64,
        }
    }
}

/// This thread's current account and its unpublished charges.
///
/// Two ways to collect charges. Normally the thread's counters are
/// registered and the account is charged their totals since the last flush
/// (`base`):
/// nothing at all happens per allocator call. A thread without a slot
/// (past `MAX_SLOTS` threads, during teardown, on targets without slots)
/// counts every call into `batch` instead.
pub(crate) struct AccountCells {
    /// The innermost entered account, or none.
    pub(crate) current: Cell<Entered>,
    /// Whether the account is charged from this thread's registered
    /// counters (else call by call).
    pub(crate) reads_counters: Cell<bool>,
    /// Where the counters stood at the last charge.
    pub(crate) base: Cell<Mark>,
    /// Per-call charges when there is no slot; `peak` is the highest `net`
    /// reached in the batch.
    pub(crate) batch: LocalCounters,
    pub(crate) calls: Cell<u32>,
}

impl AccountCells {
    pub(crate) const fn new() -> Self {
        Self {
            current: Cell::new(Entered::NONE),
            reads_counters: Cell::new(false),
            base: Cell::new(Mark::ZERO),
            batch: LocalCounters::new(),
            calls: Cell::new(0),
        }
    }

    /// Starts collecting charges from this thread's registered `counters`
    /// (or call by call without them).
    pub(crate) fn begin(&self, counters: Option<&ThreadCounters>) {
        self.reads_counters.set(counters.is_some());
        if let Some(counters) = counters {
            self.base.set(Mark::of(counters));
        }
    }

    /// Marks the counters again after their budgets were refilled
    /// (`counters` are this thread's registered counters), so that the
    /// entered account's next charge counts from the new budgets.
    #[inline]
    pub(crate) fn remark(&self, counters: &ThreadCounters) {
        if self.is_entered() && self.reads_counters.get() {
            self.base.set(Mark::of(counters));
        }
    }

    /// Whether the allocator must report every call (no slot to read).
    #[inline]
    pub(crate) fn needs_every_call(&self) -> bool {
        self.is_entered() && !self.reads_counters.get()
    }

    #[inline(always)]
    pub(crate) fn is_entered(&self) -> bool {
        !self.current.get().core.is_null()
    }

    /// Adds one event to the batch; publishes it when it grows too large.
    #[inline]
    pub(crate) fn record(&self, event: Event) {
        self.batch.record(event);
        let calls = self.calls.get() + 1;
        self.calls.set(calls);
        if self.batch.net.get().unsigned_abs() > FLUSH_THRESHOLD || calls >= ACCOUNT_FLUSH_CALLS {
            // Called only without registered counters.
            self.flush(None);
        }
    }

    /// The current account and its ancestors, innermost first.
    fn charged(&self) -> impl Iterator<Item = &AccountCore> {
        let current = self.current.get().core;
        // SAFETY: a non-null `current` is alive while it is current (see
        // `Entered`), and nothing replaces `current` while the iterator is
        // in use.
        let first = (!current.is_null()).then(|| unsafe { &*current });
        core::iter::successors(first, |core| {
            core.parent.as_ref().map(|parent| &*parent.core)
        })
    }

    /// Whether this thread's batch is charged to `core`.
    pub(crate) fn charges(&self, core: &AccountCore) -> bool {
        self.charged().any(|charged| core::ptr::eq(charged, core))
    }

    /// Charges the current account (entered, reading `counters`, this
    /// thread's registered counters) and its ancestors what the counters
    /// counted since the last charge, and marks them.
    #[cold]
    #[inline(never)]
    pub(crate) fn charge_counters(&self, counters: &ThreadCounters) {
        let now = Mark::of(counters);
        let since = self.base.replace(now).until(&now);
        if since != Totals::ZERO {
            self.charge_all(since);
        }
    }

    #[cold]
    #[inline(never)]
    fn charge_all(&self, since: Totals) {
        let net = since.net();
        for core in self.charged() {
            core.charge(since, net, net);
        }
    }

    /// Publishes the batch to the current account and its ancestors;
    /// `counters` are this thread's registered counters, if any.
    /// Allocation-free, lock-free: safe to call from the allocator.
    #[inline(never)]
    pub(crate) fn flush(&self, counters: Option<&ThreadCounters>) {
        if let (true, Some(counters)) = (self.reads_counters.get(), counters) {
            self.charge_counters(counters);
        }
        if self.calls.get() != 0 {
            let (totals, net, peak) = (
                self.batch.totals(),
                self.batch.net.get(),
                self.batch.peak.get(),
            );
            for core in self.charged() {
                core.charge(totals, net, peak);
            }
            self.batch.reset();
            self.calls.set(0);
        }
    }
}

impl AccountCore {
    /// Adds a batch: its totals, its net bytes and the highest net bytes
    /// reached inside it (as far as the batch knows).
    fn charge(&self, totals: Totals, net: i64, batch_peak: i64) {
        // Only what moved: a poll that allocated and freed the same bytes
        // costs four read-modify-writes, not seven.
        for (counter, by) in [
            (&self.allocations, totals.allocations),
            (&self.deallocations, totals.deallocations),
            (&self.reallocations, totals.reallocations),
            (&self.allocated_bytes, totals.allocated_bytes),
            (&self.freed_bytes, totals.freed_bytes),
        ] {
            if by != 0 {
                counter.fetch_add(by, Relaxed);
            }
        }
        let before = if net != 0 {
            self.net.fetch_add(net, Relaxed)
        } else if batch_peak > 0 {
            self.net.load(Relaxed)
        } else {
            // Net bytes unchanged and never above their start: the peak,
            // which is at least every net value a charge left, cannot move.
            return;
        };
        let peak = before.wrapping_add(batch_peak);
        if peak > self.peak.load(Relaxed) {
            self.peak.fetch_max(peak, Relaxed);
        }
    }
}
