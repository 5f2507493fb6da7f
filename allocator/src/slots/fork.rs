//! Fork safety of the readers' lock.
//!
//! `fork()` copies the process with only the calling thread. Were another
//! thread holding the readers' lock at that instant (a reader inside
//! `stats()`, a thread giving its slot back), the child would inherit the
//! lock held by a thread that does not exist there, and its first reader
//! would wait forever. So, as jemalloc does for its own locks, `fork()` takes
//! the lock first: a `pthread_atfork` prepare handler locks it (waiting for
//! the holder to finish, which takes a pass over the slots) and the parent
//! and child handlers release it, so the child starts with the lock free.
//!
//! The handlers are installed once, by the first thread that takes the lock,
//! before it takes it: until they are in place nobody holds the lock, so a
//! fork before then has nothing to inherit. Installing never runs inside the
//! allocator (`pthread_atfork` may call `malloc`, which goes straight to the
//! C allocator, never through the Rust one).

use core::cell::{Cell, UnsafeCell};
use core::ffi::c_int;
use std::sync::atomic::{
    AtomicU32,
    Ordering::{Acquire, Release},
};
use std::sync::{MutexGuard, OnceLock};

extern "C" {
    /// POSIX `pthread_atfork`, from the C library that `std` links on every
    /// Unix (declared here so a default build needs no `libc` crate).
    fn pthread_atfork(
        prepare: Option<unsafe extern "C" fn()>,
        parent: Option<unsafe extern "C" fn()>,
        child: Option<unsafe extern "C" fn()>,
    ) -> c_int;
}

/// Takes the readers' lock: given by the registry's first
/// [`install_handlers`], so this file needs nothing of the registry's.
static LOCK_READERS: OnceLock<fn() -> MutexGuard<'static, ()>> = OnceLock::new();

/// Nobody has begun installing the handlers.
const NOT_INSTALLED: u32 = 0;
/// The handlers are installed.
const INSTALLED: u32 = u32::MAX;
/// `NOT_INSTALLED`, `INSTALLED`, or the id of the process whose thread is
/// installing them (never 0 or `u32::MAX`).
static STATE: AtomicU32 = AtomicU32::new(NOT_INSTALLED);

/// Installs the fork handlers, which take the readers' lock with
/// `lock_readers`, unless they are already in place; returns once they are.
/// Called before every acquisition of the readers' lock except the handlers'
/// own; after the first, one load.
#[inline]
pub(super) fn install_handlers(lock_readers: fn() -> MutexGuard<'static, ()>) {
    if STATE.load(Acquire) != INSTALLED {
        install_slow(lock_readers);
    }
}

#[cold]
fn install_slow(lock_readers: fn() -> MutexGuard<'static, ()>) {
    // Before the handlers exist: the prepare handler finds it set. Every
    // caller passes the same function, so a second `set` changes nothing.
    let _ = LOCK_READERS.set(lock_readers);
    let me = std::process::id();
    loop {
        let state = STATE.load(Acquire);
        if state == INSTALLED {
            return;
        }
        if state == me {
            // Another thread of this process is installing them; it holds
            // no lock meanwhile, and nobody takes the readers' lock until it
            // is done.
            std::thread::yield_now();
            continue;
        }
        // Nobody began, or the process that began is this one's parent:
        // `fork` copied the state mid-installation, and the installing
        // thread does not exist here (nor did anyone hold the lock). Either
        // way this thread installs them. Should the parent have finished
        // `pthread_atfork` before forking, the child has the handlers twice;
        // `NESTING` makes the second pair do nothing.
        if STATE.compare_exchange(state, me, Acquire, Acquire).is_ok() {
            // SAFETY: three functions that take no arguments, never unwind
            // and live as long as the process.
            let failed = unsafe { pthread_atfork(Some(prepare), Some(parent), Some(child)) };
            // It fails only for lack of memory; the next reader tries again
            // (forks meanwhile are as unprotected as before).
            STATE.store(
                if failed == 0 {
                    INSTALLED
                } else {
                    NOT_INSTALLED
                },
                Release,
            );
            return;
        }
    }
}

thread_local! {
    /// How many of this thread's prepare handlers ran for the fork under way
    /// (more than one only if the handlers were installed twice; see
    /// `install_slow`). Only the first takes the lock, only the last
    /// release gives it back. `const`, no `Drop`: never torn down.
    static NESTING: Cell<u32> = const { Cell::new(0) };
}

/// The guard of the lock the prepare handler took, until the parent or
/// child handler drops it.
struct HeldAcrossFork(UnsafeCell<Option<MutexGuard<'static, ()>>>);

// SAFETY: only the thread holding the readers' lock touches the value: the
// prepare handler stores the guard after taking the lock, and the parent or
// child handler, on the same thread (in the child, its copy), takes it back
// out before releasing it. Forks on other threads wait in their own prepare
// handler for the lock.
unsafe impl Sync for HeldAcrossFork {}

static HELD: HeldAcrossFork = HeldAcrossFork(UnsafeCell::new(None));

/// Before `fork`: takes the readers' lock.
extern "C" fn prepare() {
    let depth = NESTING.try_with(|n| n.replace(n.get() + 1)).unwrap_or(0);
    if let (0, Some(lock_readers)) = (depth, LOCK_READERS.get()) {
        let guard = lock_readers();
        // SAFETY: see `HeldAcrossFork`; this thread now holds the lock.
        unsafe { *HELD.0.get() = Some(guard) };
    }
}

/// After `fork`, in the parent and in the child: releases the lock the
/// prepare handler took. In the child this thread is the only one, and the
/// lock is released by the thread (the copy of the one) that took it.
fn release() {
    let depth = NESTING
        .try_with(|n| {
            let depth = n.get();
            n.set(depth.saturating_sub(1));
            depth
        })
        .unwrap_or(1);
    if depth == 1 {
        // SAFETY: see `HeldAcrossFork`; this thread holds the lock, taken by
        // its prepare handler.
        drop(unsafe { (*HELD.0.get()).take() });
    }
}

extern "C" fn parent() {
    release();
}

extern "C" fn child() {
    release();
}
