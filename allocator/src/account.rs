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
//! process total. Entering and leaving an account reads and writes a few
//! words of this thread's own state; a poll that allocated nothing charges
//! nothing (no atomic read-modify-write at all), one that did pays an atomic
//! add per counter that moved, for the account and each ancestor.
//! [`Account::scope`] lends the account to the thread for each poll without
//! touching its reference count; [`Account::enter`] takes one, since its
//! guard may outlive the `Account` it came from. Once the work's guards
//! have ended, [`Account::usage`] is exact (counts, bytes and live bytes). While the work runs, an account's
//! live bytes lag by at most 2 x [`FLUSH_THRESHOLD`](crate::tuning::FLUSH_THRESHOLD)
//! per thread inside it, and its counts until the guard ends; the peak is
//! sampled at the publishing points and can miss a spike by as much.
//! A thread without a slot (past [`MAX_SLOTS`](crate::tuning::MAX_SLOTS) threads, or
//! during its teardown) charges call by call, publishing every
//! `FLUSH_THRESHOLD` bytes or [`ACCOUNT_FLUSH_CALLS`] calls.
//!
//! # Caveats
//! - A thread that exits with a guard still alive (leaked with
//!   `mem::forget`) publishes its batch at exit but keeps the account alive.

use core::future::Future;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use core::task::{Context, Poll};
use std::sync::Arc;

use crate::thread::{with_thread, ThreadState};

mod state;

pub(crate) use state::AccountCells;
pub use state::{Account, ACCOUNT_FLUSH_CALLS};
use state::{AccountCore, Entered, Mark};

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
    /// 2 x [`FLUSH_THRESHOLD`](crate::tuning::FLUSH_THRESHOLD) and the true peak (a
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
            let current = thread.account.current.get().core;
            if current.is_null() {
                return None;
            }
            // SAFETY: a non-null `current` came from `Arc::into_raw` (owned
            // by the thread-local) or from a `Scoped` future being polled on
            // this thread (which keeps its `Account` alive until it restores
            // the previous one), so the core is alive; adding one strong
            // count before `from_raw` makes the new `Arc` own a reference of
            // its own.
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
        let previous = match switch_current(Entered::owned(own)) {
            Some(previous) if previous.owned => previous.core,
            Some(borrowed) => {
                // Entered inside a poll of a `Scoped` future, which only
                // lends its account to the thread: take a strong reference,
                // so that this guard can restore it even if it outlives
                // that poll.
                if !borrowed.core.is_null() {
                    // SAFETY: a borrowed core is alive while it is current
                    // (see `Entered`), and it is current until just above.
                    unsafe { Arc::increment_strong_count(borrowed.core) };
                }
                borrowed.core
            }
            None => {
                // SAFETY: `own` was made just above and was not stored anywhere.
                drop(unsafe { Arc::from_raw(own) });
                core::ptr::null()
            }
        };
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

/// Makes `to` this thread's current account, after charging the outgoing one
/// what it was charged since it was last charged, and returns the outgoing
/// one; `None` if this thread's state is unreachable.
///
/// This is all a poll of a [`Scoped`] future pays twice: with a registry
/// slot (every thread but those past `MAX_SLOTS` or in teardown), it reads
/// this thread's counters once, charges the outgoing account only if they
/// moved, and notes them as the incoming account's starting point. No
/// read-modify-write when nothing was allocated, nothing published, no
/// budget refilled: the allocator's budgets do not depend on the account.
#[inline(always)]
fn switch_current(to: Entered) -> Option<Entered> {
    with_thread(|thread| switch_on(thread, to))
}

#[inline(always)]
fn switch_on(thread: &ThreadState, to: Entered) -> Entered {
    let cells = &thread.account;
    let outgoing = cells.current.get();
    match thread.registered_counters() {
        Some(counters) if outgoing.core.is_null() || cells.reads_counters.get() => {
            // Three loads tell whether the outgoing account has anything
            // to be charged: no byte moves without a call counted.
            if !outgoing.core.is_null() && !cells.base.get().unchanged(counters) {
                cells.charge_counters(counters);
            }
            cells.current.set(to);
            if !to.core.is_null() {
                cells.base.set(Mark::of(counters));
                cells.reads_counters.set(true);
            }
        }
        _ => switch_slowly(thread, to),
    }
    outgoing
}

/// [`switch_current`] for a thread that has no slot yet (it takes one
/// here), will never have one, or charges its account call by call.
#[cold]
#[inline(never)]
fn switch_slowly(thread: &ThreadState, to: Entered) {
    let counters = thread.attached_counters();
    let cells = &thread.account;
    cells.flush(counters);
    cells.current.set(to);
    cells.begin(counters);
    thread.settle(false);
}

/// Runs `f` with no account entered on this thread, so what it allocates is
/// charged to none (the allocator's own probe in
/// [`is_active`](crate::is_active)), then restores the account that was
/// entered, also when `f` panics.
pub(crate) fn outside_accounts<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Entered>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(previous) = self.0 {
                if let Some(outgoing) = switch_current(previous) {
                    // SAFETY: taken out of `current` just now. It is the
                    // null put in below, unless `f` leaked a guard.
                    unsafe { outgoing.release() }
                }
            }
        }
    }
    let _restore = Restore(switch_current(Entered::NONE));
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
        let previous = Entered::owned(self.previous);
        match switch_current(previous) {
            // SAFETY: taken out of `current` just now: its strong reference,
            // if it held one (our own, or that of a guard leaked inside our
            // scope), is released exactly once. It is released after
            // `current` changed, so the free it may cause is charged to
            // `previous`.
            Some(outgoing) => unsafe { outgoing.release() },
            // Unreachable for a const thread-local; never leak `previous`.
            // SAFETY: `previous` is a strong reference owned by this guard,
            // stored nowhere else.
            None => unsafe { previous.release() },
        }
    }
}

/// An account lent to this thread for one poll (or the drop) of a
/// [`Scoped`] future: [`Account::enter`] without its reference count, for a
/// borrow that cannot outlive the `Account` it borrows. The thread-local
/// holds the core as borrowed; a guard made meanwhile takes a strong
/// reference of its own to restore it (see [`Account::enter`]).
struct Lent<'a> {
    /// The previously current account, as the thread-local held it.
    previous: Entered,
    _account: PhantomData<&'a Account>,
    _not_send: PhantomData<*const ()>,
}

impl<'a> Lent<'a> {
    #[inline(always)]
    fn enter(account: &'a Account) -> Self {
        let lent = Entered {
            core: Arc::as_ptr(&account.core),
            owned: false,
        };
        Lent {
            previous: switch_current(lent).unwrap_or(Entered::NONE),
            _account: PhantomData,
            _not_send: PhantomData,
        }
    }
}

impl Lent<'_> {
    /// Restores the previous account: what dropping does, inlined into the
    /// poll (a drop would go through out-of-line drop glue).
    #[inline(always)]
    fn end(self) {
        let mut lent = ManuallyDrop::new(self);
        lent.restore();
    }

    #[inline(always)]
    fn restore(&mut self) {
        if let Some(outgoing) = switch_current(self.previous) {
            // SAFETY: taken out of `current` just now. It is our own
            // borrowed core (nothing to release) unless a guard made inside
            // the poll is still alive (leaked, or kept for later): then the
            // strong reference the thread-local held for it is released
            // here, once; that guard owns a reference to what it restores.
            unsafe { outgoing.release() }
        }
    }
}

impl Drop for Lent<'_> {
    /// Only when the poll unwinds; see [`Lent::end`].
    fn drop(&mut self) {
        self.restore();
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
        let inside = Lent::enter(&this.account);
        // SAFETY: see above; `this.future` stays where it is.
        let poll = unsafe { Pin::new_unchecked(&mut *this.future) }.poll(cx);
        inside.end();
        poll
    }
}

impl<F> Drop for Scoped<F> {
    fn drop(&mut self) {
        let _inside = Lent::enter(&self.account);
        // SAFETY: `future` is dropped exactly once, here, in place (it may be
        // pinned), and never touched again.
        unsafe { ManuallyDrop::drop(&mut self.future) }
    }
}
