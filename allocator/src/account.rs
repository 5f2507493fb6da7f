//! Memory accounts: allocations charged to a unit of work (a job, a request,
//! one user's processing) that follow it across threads and async tasks.
//!
//! While an [`AccountGuard`] lives on a thread, that thread's allocator calls
//! are charged to the account as well as to the process totals. Hand the
//! account to other threads with [`Account::bind`] or [`Account::spawn`], and
//! to async code with [`Account::scope`], which enters the account around
//! every poll on whichever thread polls.
//!
//! # Attribution rules
//! - Only the innermost entered account is charged directly; an account made
//!   with [`Account::child`] also charges its ancestors.
//! - A free is charged to the account current *at the free* (ClickHouse's
//!   rule): memory allocated under account A and freed under B lowers B.
//!   There is no per-allocation tag, so the counters cannot tell whose block
//!   was freed; what they do see is an account that freed more than it
//!   allocated. [`AccountUsage::foreign_freed_bytes`] reports that excess, a
//!   lower bound of how blurred the attribution is, and `live_bytes` reads 0
//!   rather than a negative number.
//!
//! # Cost and exactness
//! An entered account costs nothing per allocator call. A thread charges its
//! account the difference of its own counter slot (see the crate docs)
//! between two publishing points: when a guard is made or ends (so after
//! every poll of a scoped future), and whenever the slot publishes to the
//! process total. Once the work's guards have ended, [`Account::usage`] is
//! exact (counts, bytes and live bytes). While the work runs, an account's
//! live bytes lag by at most 2 x [`FLUSH_THRESHOLD`](crate::FLUSH_THRESHOLD)
//! per thread inside it, and its counts until the guard ends; the peak is
//! sampled at the publishing points and can miss a spike by as much.
//! A thread without a slot (past [`MAX_SLOTS`](crate::MAX_SLOTS) threads, or
//! during its teardown) charges call by call, publishing every
//! `FLUSH_THRESHOLD` bytes or [`ACCOUNT_FLUSH_CALLS`] calls.
//!
//! # Caveats
//! - A thread that exits with a guard still alive (leaked with
//!   `mem::forget`) publishes its batch at exit but keeps the account alive.

use core::cell::Cell;
use core::future::Future;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use core::task::{Context, Poll};
use std::sync::Arc;

use crate::counters::Totals;
use crate::event::Event;
use crate::global::FLUSH_THRESHOLD;
use crate::local_counters::LocalCounters;
use crate::slots::ThreadCounters;
use crate::thread::with_thread;

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
    core: Arc<AccountCore>,
}

pub(crate) struct AccountCore {
    name: String,
    parent: Option<Account>,
    allocations: AtomicU64,
    deallocations: AtomicU64,
    reallocations: AtomicU64,
    allocated_bytes: AtomicU64,
    freed_bytes: AtomicU64,
    /// Net bytes: allocated minus freed, signed (never clamped, so the order
    /// in which threads publish cannot change the final figure).
    net: AtomicI64,
    peak: AtomicI64,
}

/// What an account was charged, summed over every thread that entered it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountUsage {
    /// Calls to `alloc` and `alloc_zeroed`.
    pub allocations: u64,
    /// Calls to `dealloc`.
    pub deallocations: u64,
    /// Calls to `realloc`.
    pub reallocations: u64,
    /// Bytes allocated, including the new size of each `realloc`.
    pub allocated_bytes: u64,
    /// Bytes freed, including the old size of each `realloc`.
    pub freed_bytes: u64,
    /// Bytes the account holds: `allocated_bytes - freed_bytes`, or 0 when
    /// it freed more than it allocated (see `foreign_freed_bytes`).
    pub live_bytes: u64,
    /// The highest `live_bytes` the account was seen to hold, sampled
    /// whenever a thread inside it charges it (a guard made or ended, every
    /// `FLUSH_THRESHOLD` or so bytes allocated or freed, a call to
    /// [`Account::usage`]), not at every allocator call. So it can miss a
    /// short spike: on one thread it lies between the true peak minus
    /// 2 x [`FLUSH_THRESHOLD`](crate::FLUSH_THRESHOLD) and the true peak (a
    /// 4 KB block allocated and freed between two samples is not seen); with
    /// several threads inside, within 2 x `FLUSH_THRESHOLD` per thread of it
    /// in either direction.
    pub peak_bytes: u64,
    /// `freed_bytes - allocated_bytes` when positive: at least this much of
    /// what the account freed was allocated outside it.
    pub foreign_freed_bytes: u64,
}

impl core::fmt::Debug for Account {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Account")
            .field("name", &self.core.name)
            .field("usage", &self.usage())
            .finish()
    }
}

impl Account {
    /// A new account with no parent.
    pub fn new(name: impl Into<String>) -> Self {
        Self::with_parent(name.into(), None)
    }

    /// A new account whose charges also go to `self` (and its ancestors).
    pub fn child(&self, name: impl Into<String>) -> Self {
        Self::with_parent(name.into(), Some(self.clone()))
    }

    fn with_parent(name: String, parent: Option<Account>) -> Self {
        Self {
            core: Arc::new(AccountCore {
                name,
                parent,
                allocations: AtomicU64::new(0),
                deallocations: AtomicU64::new(0),
                reallocations: AtomicU64::new(0),
                allocated_bytes: AtomicU64::new(0),
                freed_bytes: AtomicU64::new(0),
                net: AtomicI64::new(0),
                peak: AtomicI64::new(0),
            }),
        }
    }

    /// The innermost account entered on this thread, if any: how a library
    /// hands the caller's account on to the threads it starts.
    pub fn current() -> Option<Account> {
        with_thread(|thread| {
            let current = thread.account.current.get();
            if current.is_null() {
                return None;
            }
            // SAFETY: a non-null `current` came from `Arc::into_raw` and its
            // strong reference is owned by the thread-local, so the core is
            // alive; adding one strong count before `from_raw` makes the new
            // `Arc` own a reference of its own.
            let core = unsafe {
                Arc::increment_strong_count(current);
                Arc::from_raw(current)
            };
            Some(Account { core })
        })
        .flatten()
    }

    /// The account's name.
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// The parent account, if this one was made with [`Account::child`].
    pub fn parent(&self) -> Option<&Account> {
        self.core.parent.as_ref()
    }

    /// Charges this thread's allocations to the account until the guard drops.
    ///
    /// Guards nest: dropping one restores the account that was current when
    /// it was made. Drop them in reverse order of creation (scopes do that);
    /// otherwise attribution is unspecified, though always memory-safe.
    pub fn enter(&self) -> AccountGuard {
        let own = Arc::into_raw(Arc::clone(&self.core));
        let previous = switch_current(own).unwrap_or_else(|| {
            // SAFETY: `own` was made just above and was not stored anywhere.
            drop(unsafe { Arc::from_raw(own) });
            core::ptr::null()
        });
        AccountGuard {
            previous,
            _not_send: PhantomData,
        }
    }

    /// Live bytes charged so far: one relaxed load. While the work runs it
    /// lags by at most 2 x `FLUSH_THRESHOLD` per thread inside the account
    /// (see the module docs).
    pub fn live_bytes(&self) -> u64 {
        self.core.net.load(Relaxed).max(0) as u64
    }

    /// Everything charged so far, including this thread's unpublished batch
    /// when this account or one of its children is entered here.
    pub fn usage(&self) -> AccountUsage {
        let _ = with_thread(|thread| {
            if thread.account.charges(&self.core) {
                thread.account.flush(thread.registered_counters());
            }
        });
        let core = &self.core;
        let allocated_bytes = core.allocated_bytes.load(Relaxed);
        let freed_bytes = core.freed_bytes.load(Relaxed);
        AccountUsage {
            allocations: core.allocations.load(Relaxed),
            deallocations: core.deallocations.load(Relaxed),
            reallocations: core.reallocations.load(Relaxed),
            allocated_bytes,
            freed_bytes,
            live_bytes: core.net.load(Relaxed).max(0) as u64,
            peak_bytes: core.peak.load(Relaxed).max(0) as u64,
            foreign_freed_bytes: freed_bytes.saturating_sub(allocated_bytes),
        }
    }

    /// Wraps `work` so that it runs inside this account on whatever thread
    /// calls it: the way to hand an account to a thread pool.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> =
    /// #     heapguard_alloc::CountingAlloc::new(std::alloc::System);
    /// let account = heapguard_alloc::Account::new("batch-7");
    /// // Any executor that runs closures: a rayon pool, a scoped thread...
    /// let rows = std::thread::scope(|s| s.spawn(account.bind(|| vec![0u64; 128])).join().unwrap());
    /// assert_eq!(account.usage().allocated_bytes, 1024);
    /// # drop(rows);
    /// ```
    pub fn bind<R>(&self, work: impl FnOnce() -> R) -> impl FnOnce() -> R {
        let account = self.clone();
        move || {
            let _inside = account.enter();
            work()
        }
    }

    /// Spawns a thread that runs `work` inside this account.
    pub fn spawn<R, F>(&self, work: F) -> std::thread::JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        std::thread::spawn(self.bind(work))
    }

    /// Wraps a future so that every poll runs inside this account, on
    /// whichever thread polls it.
    pub fn scope<F: Future>(&self, future: F) -> Scoped<F> {
        Scoped {
            account: self.clone(),
            future: ManuallyDrop::new(future),
        }
    }
}

/// Makes `to` (a strong reference, or null) this thread's current account,
/// after publishing what the outgoing one was charged, and returns the
/// outgoing one's reference; `None` if this thread's state is unreachable.
fn switch_current(to: *const AccountCore) -> Option<*const AccountCore> {
    with_thread(|thread| {
        let counters = thread.attached_counters();
        let cells = &thread.account;
        cells.flush(counters);
        let outgoing = cells.current.replace(to);
        cells.begin(counters);
        thread.settle(false);
        outgoing
    })
}

/// Runs `f` with no account entered on this thread, so what it allocates is
/// charged to none (the allocator's own probe in
/// [`is_active`](crate::is_active)), then restores the account that was
/// entered, also when `f` panics.
pub(crate) fn outside_accounts<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<*const AccountCore>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(previous) = self.0 {
                // What comes out is the null put in below: nothing to release.
                let _ = switch_current(previous);
            }
        }
    }
    let _restore = Restore(switch_current(core::ptr::null()));
    f()
}

/// Keeps an account entered on this thread; dropping it restores the
/// previous one. Not `Send`: it belongs to the thread that entered.
#[must_use = "the account is entered only while the guard lives"]
pub struct AccountGuard {
    /// The previously current account, as a strong reference owned by this
    /// guard (null for none).
    previous: *const AccountCore,
    _not_send: PhantomData<*const ()>,
}

impl Drop for AccountGuard {
    fn drop(&mut self) {
        let previous = self.previous;
        match switch_current(previous) {
            // SAFETY: every non-null pointer stored in `current` came from
            // `Arc::into_raw` and its strong reference was owned by the
            // thread-local; we took it out of `current` above, so releasing
            // it here happens exactly once. It is released after `current`
            // changed, so the free it may cause is charged to `previous`.
            Some(current) if !current.is_null() => drop(unsafe { Arc::from_raw(current) }),
            Some(_) => {}
            // Unreachable for a const thread-local; never leak `previous`.
            None if !previous.is_null() => {
                // SAFETY: `previous` is a strong reference owned by this guard.
                drop(unsafe { Arc::from_raw(previous) })
            }
            None => {}
        }
    }
}

/// A future running inside an account: see [`Account::scope`].
///
/// Every poll runs inside the account, and so does dropping the future, so
/// a task cancelled half-way frees its state under the account that
/// allocated it.
pub struct Scoped<F> {
    account: Account,
    future: ManuallyDrop<F>,
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of
        // `Scoped` (our `Drop` drops it in place, which pinning allows), and
        // `Scoped` is `Unpin` only when `F` is. `account` is not pinned and is
        // only read.
        let this = unsafe { self.get_unchecked_mut() };
        let _inside = this.account.enter();
        // SAFETY: see above; `this.future` stays where it is.
        unsafe { Pin::new_unchecked(&mut *this.future) }.poll(cx)
    }
}

impl<F> Drop for Scoped<F> {
    fn drop(&mut self) {
        let _inside = self.account.enter();
        // SAFETY: `future` is dropped exactly once, here, in place (it may be
        // pinned), and never touched again.
        unsafe { ManuallyDrop::drop(&mut self.future) }
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
    /// The innermost entered account (a strong reference owned by this
    /// thread-local), or null.
    current: Cell<*const AccountCore>,
    /// Whether the account is charged from this thread's registered
    /// counters (else call by call).
    reads_counters: Cell<bool>,
    /// The counters' totals at the last flush.
    base: Cell<Totals>,
    /// Per-call charges when there is no slot; `peak` is the highest `net`
    /// reached in the batch.
    batch: LocalCounters,
    calls: Cell<u32>,
}

impl AccountCells {
    pub(crate) const fn new() -> Self {
        Self {
            current: Cell::new(core::ptr::null()),
            reads_counters: Cell::new(false),
            base: Cell::new(Totals::ZERO),
            batch: LocalCounters::new(),
            calls: Cell::new(0),
        }
    }

    /// Starts collecting charges from this thread's registered `counters`
    /// (or call by call without them).
    pub(crate) fn begin(&self, counters: Option<&ThreadCounters>) {
        self.reads_counters.set(counters.is_some());
        if let Some(counters) = counters {
            self.base.set(counters.totals());
        }
    }

    /// Whether the allocator must report every call (no slot to read).
    #[inline]
    pub(crate) fn needs_every_call(&self) -> bool {
        self.is_entered() && !self.reads_counters.get()
    }

    #[inline(always)]
    pub(crate) fn is_entered(&self) -> bool {
        !self.current.get().is_null()
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
        let current = self.current.get();
        // SAFETY: a non-null `current` is a strong reference owned by this
        // thread-local (see `Account::enter`), so the core outlives this
        // borrow of the cells: it is released only by replacing `current`,
        // which nothing does while the iterator is in use.
        let first = (!current.is_null()).then(|| unsafe { &*current });
        core::iter::successors(first, |core| {
            core.parent.as_ref().map(|parent| &*parent.core)
        })
    }

    /// Whether this thread's batch is charged to `core`.
    fn charges(&self, core: &AccountCore) -> bool {
        self.charged().any(|charged| core::ptr::eq(charged, core))
    }

    /// Publishes the batch to the current account and its ancestors;
    /// `counters` are this thread's registered counters, if any.
    /// Allocation-free, lock-free: safe to call from the allocator.
    #[inline(never)]
    pub(crate) fn flush(&self, counters: Option<&ThreadCounters>) {
        if let (true, Some(counters)) = (self.reads_counters.get(), counters) {
            let now = counters.totals();
            let since = now.since(self.base.get());
            self.base.set(now);
            if since != Totals::ZERO {
                let net = since.net();
                for core in self.charged() {
                    core.charge(since, net, net);
                }
            }
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
        self.allocations.fetch_add(totals.allocations, Relaxed);
        self.deallocations.fetch_add(totals.deallocations, Relaxed);
        self.reallocations.fetch_add(totals.reallocations, Relaxed);
        self.allocated_bytes
            .fetch_add(totals.allocated_bytes, Relaxed);
        self.freed_bytes.fetch_add(totals.freed_bytes, Relaxed);
        let before = self.net.fetch_add(net, Relaxed);
        let peak = before.wrapping_add(batch_peak);
        if peak > self.peak.load(Relaxed) {
            self.peak.fetch_max(peak, Relaxed);
        }
    }
}
