//! The synchronisation primitives of the breaker's shared state: std's in
//! every build, loom's under `cfg(loom)`, so that the loom models
//! (`tests/loom_breaker.rs`) run the breaker's own code under every
//! interleaving loom explores. Crossbeam's pattern: the code names these
//! types, never std's, and the build picks.
//!
//! What goes through here: a [`CancelToken`](crate::CancelToken)'s flag,
//! callbacks and shared body, the jobs' registry, the published pressure
//! level, the breaker's state word, its ledger of reserved bytes, the
//! purge's claim, stamp and count, and the locks taken through
//! [`sync::lock`](crate::sync::lock). Nothing here sits
//! on the allocator's path, so unlike the allocator's thread counters all
//! of it can be loom's in a model.

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering},
    Arc, Mutex, MutexGuard,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering},
    Arc, Mutex, MutexGuard,
};
