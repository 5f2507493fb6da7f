//! The synchronisation primitives of the slot registry: std's in every
//! build, loom's under `cfg(loom)`, so that the loom models
//! (`tests/loom_slots.rs`) run the registry's own code under every
//! interleaving loom explores. Crossbeam's pattern: the code names these
//! types, never std's, and the build picks.
//!
//! What goes through here is the registry's shared state: the slot table,
//! its high-water mark and in-use count, and the readers' lock. A thread's
//! own counters ([`ThreadCounters`](crate::slots::ThreadCounters)) and the
//! process-wide published counters stay std atomics in every build: they
//! live in `const`-initialised thread-locals and statics that the allocator
//! touches, which loom's atomics (not `const`) cannot be, and each has a
//! single writer or a single read-modify-write, with no cross-variable
//! invariant of their own for a model to check.

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicPtr, AtomicUsize, Ordering},
    Mutex, MutexGuard,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{AtomicPtr, AtomicUsize, Ordering},
    Mutex, MutexGuard,
};
