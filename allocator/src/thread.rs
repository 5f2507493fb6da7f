//! Per-thread state: this thread's counters, its `measure` scope and its
//! account, and the fast and slow paths that feed them.
//!
//! The state is a `const`-initialised thread-local with no `Drop`, so the
//! allocator can read it at any time, even while or after the thread's other
//! thread-locals are destroyed: it is a plain TLS variable, never lazily
//! initialised and never torn down. The only thread-local with a destructor is
//! [`SlotLease`], a zero-sized value touched once per thread (with `try_with`,
//! off the fast path) to give the registry slot back at thread exit.
//!
//! # The fast path
//! Every call adds one to its call counter and subtracts its bytes from a
//! budget in this thread's [`ThreadCounters`]; one sign test of the new
//! budget decides whether anything else must happen. The slow path runs
//! when a budget runs out, and does every duty at once: it registers the
//! thread on its first call, publishes the net bytes to the process-wide
//! live counter when they pass [`FLUSH_THRESHOLD`] (raising the peak),
//! charges an entered account, and refills the budgets so that the
//! unpublished net bytes stay within `±FLUSH_THRESHOLD`: with `u` unpublished
//! at a refill, the thread may allocate `FLUSH_THRESHOLD - u` and free
//! `FLUSH_THRESHOLD + u` bytes before it comes back. While a `measure` scope
//! is open, or the thread has no registry slot, both budgets stay negative
//! and every call takes the slow path.
//!
//! ```text
//!  first counted call        lease destructor runs
//! Unregistered ──▶ Registering ──▶ Attached ─────────────────▶ Detached
//!                     │  (slot or, past MAX_SLOTS, fallback)       ▲
//!                     └──── thread already tearing down ───────────┘
//! ```
//! Without a slot (while `Registering`, past `MAX_SLOTS`, once `Detached`)
//! the slow path takes each event back out of the thread's counters, which
//! no reader sees, and counts it in the fallback counters: nothing is lost,
//! nothing panics.

use core::cell::Cell;
use core::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use crate::account::AccountCells;
use crate::event::{Event, Kind};
use crate::global::{self, FLUSH_THRESHOLD};
use crate::scope::ScopeCells;
use crate::slots::{self, ThreadCounters, EVERY_CALL};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Unregistered,
    Registering,
    Attached,
    Detached,
}

/// No registry slot.
const NO_SLOT: usize = usize::MAX;

pub(crate) struct ThreadState {
    /// This thread's counters, read by other threads through the registry.
    counters: ThreadCounters,
    /// The registry slot holding `counters`, or `NO_SLOT`.
    slot: Cell<usize>,
    phase: Cell<Phase>,
    /// The budgets as last refilled, and the net bytes unpublished then:
    /// unpublished now = `unpublished + (alloc_budget - budget now) -
    /// (free_budget - budget now)`.
    refill: Cell<Refill>,
    pub(crate) scope: ScopeCells,
    pub(crate) account: AccountCells,
    /// The bytes to this thread's next sample point, and its draw.
    #[cfg(feature = "sampling")]
    pub(crate) sample: crate::sampler::SampleCells,
}

#[derive(Clone, Copy)]
struct Refill {
    alloc_budget: i64,
    free_budget: i64,
    unpublished: i64,
}

impl ThreadState {
    const fn new() -> Self {
        Self {
            counters: ThreadCounters::new(),
            slot: Cell::new(NO_SLOT),
            phase: Cell::new(Phase::Unregistered),
            refill: Cell::new(Refill {
                alloc_budget: EVERY_CALL,
                free_budget: EVERY_CALL,
                unpublished: 0,
            }),
            scope: ScopeCells::new(),
            account: AccountCells::new(),
            #[cfg(feature = "sampling")]
            sample: crate::sampler::SampleCells::new(),
        }
    }

    /// This thread's counters, if readers can see them (it holds a slot).
    #[inline]
    pub(crate) fn registered_counters(&self) -> Option<&ThreadCounters> {
        (self.slot.get() != NO_SLOT).then_some(&self.counters)
    }

    /// This thread's counters, registering the thread first if it has not
    /// counted anything yet; `None` without a slot.
    pub(crate) fn attached_counters(&self) -> Option<&ThreadCounters> {
        if self.phase.get() == Phase::Unregistered {
            attach(self);
        }
        self.registered_counters()
    }

    /// Net bytes counted here and not yet published.
    fn unpublished(&self) -> i64 {
        let refill = self.refill.get();
        let allocated = refill
            .alloc_budget
            .wrapping_sub(self.counters.alloc_budget.load(Relaxed));
        let freed = refill
            .free_budget
            .wrapping_sub(self.counters.free_budget.load(Relaxed));
        refill
            .unpublished
            .wrapping_add(allocated)
            .wrapping_sub(freed)
    }

    /// The slow path's duties for a thread holding a slot: publish the net
    /// bytes if they passed the threshold (or `publish_all`), charge an
    /// entered account, and refill the budgets (or keep every call coming
    /// here while a scope is open). Called after every change to the scope
    /// or the account too, so the budgets always match them.
    pub(crate) fn settle(&self, publish_all: bool) {
        let Some(counters) = self.registered_counters() else {
            return;
        };
        let mut unpublished = self.unpublished();
        // The bytes allocated since the last refill move this thread towards
        // its next sample point; the alloc budget then reaches no further.
        #[cfg(feature = "sampling")]
        let to_sample = {
            let refill = self.refill.get();
            let allocated = refill
                .alloc_budget
                .wrapping_sub(counters.alloc_budget.load(Relaxed));
            self.sample.advance(allocated)
        };
        if publish_all || unpublished.unsigned_abs() > FLUSH_THRESHOLD {
            global::publish(unpublished);
            unpublished = 0;
        }
        // An entered account reads these counters: charge it at the same
        // rhythm, which bounds how far it lags.
        if self.account.is_entered() {
            self.account.flush(Some(counters));
        }
        let (alloc_budget, free_budget) = if self.scope.is_open() {
            (EVERY_CALL, EVERY_CALL)
        } else {
            // |unpublished| <= FLUSH_THRESHOLD here, so both are in
            // 0..=2 * FLUSH_THRESHOLD.
            let threshold = FLUSH_THRESHOLD as i64;
            let alloc_budget = threshold - unpublished;
            // A call that reaches the next sample point leaves the fast path.
            #[cfg(feature = "sampling")]
            let alloc_budget = alloc_budget.min(to_sample);
            (alloc_budget, threshold + unpublished)
        };
        counters.set_budgets(alloc_budget, free_budget);
        // The account reads the budgets: it counts from the new ones.
        self.account.remark(counters);
        self.refill.set(Refill {
            alloc_budget,
            free_budget,
            unpublished,
        });
    }
}

thread_local! {
    static THREAD: ThreadState = const { ThreadState::new() };
    static LEASE: SlotLease = const { SlotLease };
}

/// Gives this thread's slot back when the thread's thread-locals are
/// destroyed. Its `drop` allocates nothing.
struct SlotLease;

impl Drop for SlotLease {
    fn drop(&mut self) {
        let _ = THREAD.try_with(|thread| {
            // Publish everything and charge the account its last batch while
            // the counters are still registered.
            thread.settle(true);
            // A guard leaked on this thread must not take its charges along;
            // whatever it allocates from now on is charged call by call.
            thread.account.begin(None);
            thread.phase.set(Phase::Detached);
            let slot = thread.slot.replace(NO_SLOT);
            if slot != NO_SLOT {
                slots::retire(slot, &thread.counters);
            }
            // From here on every call takes the slow path, which sends it to
            // the fallback counters.
            thread.counters.set_budgets(EVERY_CALL, EVERY_CALL);
        });
    }
}

/// Adds one to a counter that only this thread writes: a load and a store,
/// never a read-modify-write (`inc` in memory on x86).
#[inline(always)]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
}

/// Takes `bytes` from a budget only this thread writes; true when the
/// budget ran out and the slow path must run.
#[inline(always)]
fn spend(budget: &AtomicI64, bytes: u64) -> bool {
    let left = budget.load(Relaxed).wrapping_sub(bytes as i64);
    budget.store(left, Relaxed);
    left < 0
}

/// Counts `event` into `counters`; true when a budget ran out.
#[inline(always)]
fn apply(counters: &ThreadCounters, event: Event) -> bool {
    #[cfg(feature = "histogram")]
    if let Some(size) = event.classified_size() {
        bump(&counters.classes[crate::histogram::size_class(size as usize)]);
    }
    match event {
        Event::Alloc(size) => {
            bump(&counters.allocations);
            spend(&counters.alloc_budget, size)
        }
        Event::Dealloc(size) => {
            bump(&counters.deallocations);
            spend(&counters.free_budget, size)
        }
        Event::Realloc { old, new } => {
            bump(&counters.reallocations);
            // Both budgets move; `|` so neither test is skipped.
            spend(&counters.alloc_budget, new) | spend(&counters.free_budget, old)
        }
    }
}

/// Takes `event` back out of `counters` (it belongs to the fallback).
fn unapply(counters: &ThreadCounters, event: Event) {
    let undo = |counter: &AtomicU64| counter.store(counter.load(Relaxed).wrapping_sub(1), Relaxed);
    let give_back = |budget: &AtomicI64, bytes: u64| {
        budget.store(budget.load(Relaxed).wrapping_add(bytes as i64), Relaxed)
    };
    #[cfg(feature = "histogram")]
    if let Some(size) = event.classified_size() {
        undo(&counters.classes[crate::histogram::size_class(size as usize)]);
    }
    match event {
        Event::Alloc(size) => {
            undo(&counters.allocations);
            give_back(&counters.alloc_budget, size);
        }
        Event::Dealloc(size) => {
            undo(&counters.deallocations);
            give_back(&counters.free_budget, size);
        }
        Event::Realloc { old, new } => {
            undo(&counters.reallocations);
            give_back(&counters.alloc_budget, new);
            give_back(&counters.free_budget, old);
        }
    }
}

/// The address of this thread's state. For a `const` thread-local without
/// `Drop`, `try_with` is a plain TLS address computation that cannot fail.
#[inline(always)]
fn this_thread() -> Option<*const ThreadState> {
    // Only the address comes out of `try_with`: a closure this small is
    // always inlined, whatever the features add to the callers.
    THREAD.try_with(|thread| thread as *const ThreadState).ok()
}

/// Counts one successful allocator call made by this thread.
#[cfg(any(not(feature = "sampling"), feature = "limit"))]
#[inline(always)]
pub(crate) fn record(event: Event) {
    if count(event) {
        record_rest(event);
    }
}

/// The fast path: counts `event` into this thread's counters and returns
/// true when the slow path must run ([`record_rest`], with the same event).
#[inline(always)]
pub(crate) fn count(event: Event) -> bool {
    let Some(state) = this_thread() else {
        // Unreachable for a const thread-local without `Drop`; never panic.
        global::record_fallback(event, true);
        return false;
    };
    // SAFETY: `THREAD` is const-initialised and has no destructor, so its
    // storage stays valid, and is never torn down, until this thread ends;
    // the reference is used only inside this call, on this thread, and all
    // mutation goes through `Cell`s and atomics.
    let thread = unsafe { &*state };
    apply(&thread.counters, event)
}

/// The slow path for an event [`count`] already counted: one cold call for
/// everything else, the event passed as scalars, in registers.
#[inline(always)]
pub(crate) fn record_rest(event: Event) {
    if let Some(state) = this_thread() {
        // SAFETY: as in `count`.
        let thread = unsafe { &*state };
        let (kind, first, second) = event.into_parts();
        record_slow(thread, kind, first, second, true);
    }
}

/// [`record_rest`] for an allocation or reallocation that returned `ptr`,
/// a block of `inner` of `size` bytes: takes the sample if one is due, and
/// returns the block to hand out.
///
/// # Safety
/// As [`sampler::sample`](crate::sampler::sample).
#[cfg(feature = "sampling")]
#[inline(always)]
pub(crate) unsafe fn record_rest_then_sample<A: core::alloc::GlobalAlloc>(
    event: Event,
    inner: &A,
    ptr: *mut u8,
    size: usize,
    call: crate::sampler::Call,
) -> *mut u8 {
    if let Some(state) = this_thread() {
        // SAFETY: as in `count`.
        let thread = unsafe { &*state };
        let (kind, first, second) = event.into_parts();
        if record_slow(thread, kind, first, second, true) {
            // SAFETY: as the caller says.
            return unsafe { crate::sampler::sample(&thread.sample, inner, ptr, size, call) };
        }
    }
    ptr
}

/// Counts an allocator call whose net bytes the `limit` feature already
/// added to the live counter as a reservation.
#[cfg(feature = "limit")]
pub(crate) fn record_reserved(event: Event) {
    match this_thread() {
        Some(state) => {
            // SAFETY: as in `record`.
            let thread = unsafe { &*state };
            let (kind, first, second) = event.into_parts();
            record_slow(thread, kind, first, second, false);
        }
        None => global::record_fallback(event, false),
    }
}

/// Everything but the fast path. `counted` says whether the fast path
/// already applied the event to this thread's counters; when it did not, the
/// event's net bytes are already published (a `limit` reservation). Returns
/// whether a sample is due for the running call (always false without the
/// `sampling` feature).
#[cold]
#[inline(never)]
fn record_slow(thread: &ThreadState, kind: Kind, first: u64, second: u64, counted: bool) -> bool {
    let event = Event::from_parts(kind, first, second);
    if thread.phase.get() == Phase::Unregistered {
        attach(thread);
    }
    match thread.registered_counters() {
        Some(counters) => {
            if !counted {
                apply(counters, event);
                // Already in the live counter: not part of the unpublished
                // net bytes.
                let mut refill = thread.refill.get();
                refill.unpublished = refill.unpublished.wrapping_sub(event.net());
                thread.refill.set(refill);
            }
            thread.settle(false);
        }
        None => {
            if counted {
                unapply(&thread.counters, event);
            }
            global::record_fallback(event, counted);
            // No budget here: every call comes to this path.
            #[cfg(feature = "sampling")]
            thread.sample.advance(event.allocated() as i64);
        }
    }
    // Feed an open `measure` scope, and an entered account that cannot read
    // registered counters (one that can is charged from them, never per call).
    if thread.scope.is_open() {
        thread.scope.record(event);
    }
    if thread.account.needs_every_call() {
        thread.account.record(event);
    }
    #[cfg(feature = "sampling")]
    return thread.sample.take_due();
    #[cfg(not(feature = "sampling"))]
    false
}

/// Publishes this thread's unpublished net bytes now (for `set_limit`).
#[cfg(feature = "limit")]
pub(crate) fn publish_now() {
    let _ = THREAD.try_with(|thread| thread.settle(true));
}

/// Takes a registry slot for this thread, registering the lease that gives
/// it back.
fn attach(thread: &ThreadState) {
    // Where std registers thread-local destructors in a list of its own
    // (Windows, musl, ...), registering the lease would allocate from inside
    // the allocator, re-entering that list: use the fallback counters there.
    if !LEASE_REGISTRATION_IS_ALLOCATION_FREE {
        thread.phase.set(Phase::Detached);
        return;
    }
    // Should registering ever call the allocator (it does not on the targets
    // above), that call sees `Registering` and goes to the fallback.
    thread.phase.set(Phase::Registering);
    // The lease first: a thread already tearing down must never take a slot
    // it could not give back.
    if LEASE.try_with(|_| ()).is_err() {
        thread.phase.set(Phase::Detached);
        return;
    }
    // Past MAX_SLOTS threads `register` fails; the thread stays on the
    // fallback.
    if let Some(slot) = slots::register(&thread.counters) {
        thread.slot.set(slot);
    }
    thread.phase.set(Phase::Attached);
}

/// Whether registering a thread-local destructor avoids the Rust allocator:
/// glibc's `__cxa_thread_atexit_impl` and Apple's `_tlv_atexit` allocate with
/// the C allocator (measured on Rust 1.95 with glibc; see DESIGN.md).
const LEASE_REGISTRATION_IS_ALLOCATION_FREE: bool = cfg!(any(
    all(target_os = "linux", target_env = "gnu"),
    target_vendor = "apple"
));

/// Runs `f` with this thread's state, or returns `None` if it is unreachable.
#[inline(always)]
pub(crate) fn with_thread<R>(f: impl FnOnce(&ThreadState) -> R) -> Option<R> {
    THREAD.try_with(f).ok()
}
