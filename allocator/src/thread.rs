//! Per-thread state: which slot this thread writes, and its `measure` scope.
//!
//! The state is a `const`-initialised thread-local with no `Drop`, so the
//! allocator can read it at any time, even while or after the thread's other
//! thread-locals are destroyed: it is a plain TLS variable, never lazily
//! initialised and never torn down. The only thread-local with a destructor is
//! [`SlotLease`], a zero-sized value touched once per thread (with `try_with`,
//! off the fast path) to give the slot back at thread exit.
//!
//! ```text
//!  first counted call        lease destructor runs
//! Unregistered ──▶ Registering ──▶ Attached ─────────────────▶ Detached
//!                     │  (slot or, past MAX_SLOTS, fallback)       ▲
//!                     └──── thread already tearing down ───────────┘
//! ```
//! While `Registering` and once `Detached`, events go to the fallback
//! counters: nothing is lost, nothing panics.

use core::cell::Cell;
use core::sync::atomic::Ordering::Relaxed;

use crate::account::AccountCells;
use crate::counters::bump;
use crate::event::{Event, Kind};
use crate::global::{self, FLUSH_THRESHOLD};
use crate::scope::ScopeCells;
use crate::slots::{self, Slot};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Unregistered,
    Registering,
    Attached,
    Detached,
}

pub(crate) struct ThreadState {
    /// The slot this thread writes, if it holds one.
    slot: Cell<Option<&'static Slot>>,
    /// `slot` while nothing else needs to see each call; `None` sends every
    /// call to the slow path. The fast path reads only this: one load and
    /// one branch decide everything.
    fast_slot: Cell<Option<&'static Slot>>,
    phase: Cell<Phase>,
    pub(crate) scope: ScopeCells,
    pub(crate) account: AccountCells,
}

impl ThreadState {
    const fn new() -> Self {
        Self {
            slot: Cell::new(None),
            fast_slot: Cell::new(None),
            phase: Cell::new(Phase::Unregistered),
            scope: ScopeCells::new(),
            account: AccountCells::new(),
        }
    }

    /// Recomputes `fast_slot` after the slot, a scope or an account guard
    /// changed: calls take the fast path unless a `measure` scope is open or
    /// an entered account cannot read the slot (one that can is charged from
    /// the slot's totals and needs no per-call work).
    pub(crate) fn refresh_fast_path(&self) {
        let every_call = self.scope.is_open() || self.account.needs_every_call();
        self.fast_slot
            .set(if every_call { None } else { self.slot.get() });
    }

    /// The slot this thread writes, taking one first if it has none yet.
    pub(crate) fn attached_slot(&self) -> Option<&'static Slot> {
        if self.phase.get() == Phase::Unregistered {
            attach(self);
        }
        self.slot.get()
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
            // From here on every call takes the slow path, which sees the
            // slot go.
            thread.fast_slot.set(None);
            // A guard leaked on this thread must not take its charges along;
            // whatever it allocates from now on is charged call by call.
            thread.account.flush();
            thread.account.begin(None);
            thread.phase.set(Phase::Detached);
            if let Some(slot) = thread.slot.take() {
                let pending = slot.pending.load(Relaxed);
                slot.pending.store(0, Relaxed);
                global::publish(pending);
                slots::release(slot);
            }
            thread.refresh_fast_path();
        });
    }
}

/// Counts one successful allocator call made by this thread.
///
/// `publish_net` is false when the `limit` feature already added the bytes to
/// the global live counter as a reservation.
#[inline(always)]
pub(crate) fn record(event: Event, publish_net: bool) {
    // Only the address comes out of `try_with`: a closure this small is
    // always inlined, whatever the features add to the body below.
    let Ok(state) = THREAD.try_with(|thread| thread as *const ThreadState) else {
        // Unreachable for a const thread-local without `Drop`; never panic.
        global::record_fallback(event, publish_net);
        return;
    };
    // SAFETY: `THREAD` is const-initialised and has no destructor, so its
    // storage stays valid, and is never torn down, until this thread ends;
    // the reference is used only inside this call, on this thread, and all
    // mutation goes through `Cell`s.
    let thread = unsafe { &*state };
    match thread.fast_slot.get() {
        Some(slot) => record_in_slot(thread, slot, event, publish_net),
        // One cold call for everything else (no slot yet, or a scope or an
        // account to feed); the event goes to it as scalars, in registers.
        None => {
            let (kind, first, second) = event.into_parts();
            record_slow(thread, kind, first, second, publish_net);
        }
    }
}

#[inline(always)]
fn record_in_slot(thread: &ThreadState, slot: &Slot, event: Event, publish_net: bool) {
    let counters = &slot.counters;
    match event {
        Event::Alloc(size) => {
            bump(&counters.allocations, 1);
            bump(&counters.allocated_bytes, size);
        }
        Event::Dealloc(size) => {
            bump(&counters.deallocations, 1);
            bump(&counters.freed_bytes, size);
        }
        Event::Realloc { old, new } => {
            bump(&counters.reallocations, 1);
            bump(&counters.allocated_bytes, new);
            bump(&counters.freed_bytes, old);
        }
    }
    #[cfg(feature = "histogram")]
    if let Some(size) = event.classified_size() {
        bump(
            &slot.classes[crate::histogram::size_class(size as usize)],
            1,
        );
    }
    if publish_net {
        let pending = slot.pending.load(Relaxed).wrapping_add(event.net());
        if pending.unsigned_abs() > FLUSH_THRESHOLD {
            publish_pending(thread, slot, pending);
        } else {
            slot.pending.store(pending, Relaxed);
        }
    }
}

/// Publishes a slot's batch: out of line, so the fast path stays small
/// enough to be inlined into every allocator method.
#[cold]
#[inline(never)]
fn publish_pending(thread: &ThreadState, slot: &Slot, pending: i64) {
    slot.pending.store(0, Relaxed);
    global::publish(pending);
    // An entered account reads this slot: publish its charges at the same
    // rhythm, which bounds how far it lags.
    if thread.account.is_entered() {
        thread.account.flush();
    }
}

#[cold]
#[inline(never)]
fn record_slow(thread: &ThreadState, kind: Kind, first: u64, second: u64, publish_net: bool) {
    let event = Event::from_parts(kind, first, second);
    if thread.phase.get() == Phase::Unregistered {
        attach(thread);
    }
    match thread.slot.get() {
        Some(slot) => record_in_slot(thread, slot, event, publish_net),
        None => global::record_fallback(event, publish_net),
    }
    // Feed an open `measure` scope, and an entered account that cannot read
    // a slot (one that can is charged from the slot's totals, never per call).
    if thread.scope.is_open() {
        thread.scope.record(event);
    }
    if thread.account.needs_every_call() {
        thread.account.record(event);
    }
}

/// Takes a slot for this thread, registering the lease that gives it back.
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
    // Past MAX_SLOTS threads `claim` fails; the thread stays on the fallback.
    thread.slot.set(slots::claim());
    thread.phase.set(Phase::Attached);
    thread.refresh_fast_path();
}

/// Whether registering a thread-local destructor avoids the Rust allocator:
/// glibc's `__cxa_thread_atexit_impl` and Apple's `_tlv_atexit` allocate with
/// the C allocator (measured on Rust 1.95 with glibc; see DESIGN.md).
const LEASE_REGISTRATION_IS_ALLOCATION_FREE: bool = cfg!(any(
    all(target_os = "linux", target_env = "gnu"),
    target_vendor = "apple"
));

/// Runs `f` with this thread's state, or returns `None` if it is unreachable.
pub(crate) fn with_thread<R>(f: impl FnOnce(&ThreadState) -> R) -> Option<R> {
    THREAD.try_with(f).ok()
}
