//! Exact live heap bytes for a Rust process, at a cost low enough to leave on
//! in production.
//!
//! [`CountingAlloc`] wraps any [`GlobalAlloc`](core::alloc::GlobalAlloc)
//! (jemalloc with the `jemalloc` feature, or `System`) and counts every
//! successful allocator call in lock-free per-thread counters. Read them with
//! [`stats`] (exact totals), [`live_bytes`] (one atomic load, for hot paths)
//! or [`measure`] (what this thread allocated inside a closure: what tests
//! assert on).
//!
//! ```
//! use heapguard_alloc::{measure, stats, CountingAlloc};
//! use std::alloc::System;
//!
//! #[global_allocator]
//! static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);
//!
//! let (names, usage) = measure(|| vec![String::from("ada"), String::from("grace")]);
//! assert_eq!(usage.allocations, 3); // the Vec's buffer and two strings
//! assert_eq!(usage.net_bytes, (2 * std::mem::size_of::<String>() + 3 + 5) as i64);
//! assert!(stats().live_bytes >= usage.net_bytes as u64);
//! assert!(heapguard_alloc::is_active());
//! # drop(names);
//! ```
//!
//! # What is counted
//! Requested bytes (`Layout::size()`), never usable sizes. A `realloc` is one
//! reallocation whose bytes count as freeing the old size and allocating the
//! new one; its net effect on live bytes is `new - old`. A call counts only
//! after the inner allocator succeeded: a null is counted nowhere, and a
//! failed `realloc` leaves the old block counted.
//!
//! # How it counts, and how exact each reading is
//! Each thread counts in a block of its own thread-local storage, with a
//! relaxed load and store per counter (a single writer: no atomic
//! read-modify-write, no lock): one call counter and one byte budget per
//! call, and a single sign test that sends the call to a slow path when the
//! budget runs out, about every [`FLUSH_THRESHOLD`] bytes. Readers reach the
//! blocks through a registry and sum them; a thread leaving adds its totals
//! to the retired totals under the readers' lock, so the sum stays exact
//! across any thread churn (the allocator itself never takes that lock).
//! Allocations made after a thread's thread-locals are torn down (by other
//! destructors) go to shared fallback counters.
//!
//! | reading | cost | exactness |
//! | --- | --- | --- |
//! | [`stats`] | one pass over the slots | exact when no other thread is allocating at that moment |
//! | [`live_bytes`] | one relaxed load | within [`live_bytes_error_bound`] = threads x [`FLUSH_THRESHOLD`] |
//! | `stats().peak_bytes` | as `stats` | within [`live_bytes_error_bound`], either direction |
//! | [`measure`] | thread-local | exact, this thread only |
//! | [`Account::usage`] | a few atomic loads; nothing per allocator call | exact once the account's guards ended; while running, live bytes within 2 x [`FLUSH_THRESHOLD`] per thread |
//!
//! A thread's own net bytes can be negative (it frees what another thread
//! allocated); only the sum over threads means anything process-wide.
//!
//! # Accounts
//! An [`Account`] charges the allocations of a unit of work (a job, a
//! request) that follows it across threads ([`Account::bind`],
//! [`Account::spawn`]) and async tasks ([`Account::scope`]); a breaker can
//! give each account its own limit.
//!
//! # Features
//! - `jemalloc`: re-exports [`Jemalloc`] and adds the [`jemalloc`] module
//!   (jemalloc's own stats, purge).
//! - `histogram`: allocation counts per power-of-two size class
//!   ([`size_classes`], `Usage::size_classes`).
//! - `limit`: [`set_limit`] makes allocations past a byte limit fail cleanly.
//! - `sampling`: sampled heap profiles from `CountingAlloc` itself, over
//!   any inner allocator: allocation sites of the live heap, their
//!   differences and pprof output ([`profile`], [`profile::sampling`]). No
//!   cost on a call with no sample due beyond one range check per `dealloc`
//!   and `realloc` (see the README's instruction counts); off until started.
//! - `profiling`: jemalloc's own heap profiler as the source of the same
//!   profiles; implies `jemalloc` and `sampling`.
//!
//! # Caveats
//! - One accounting domain per process: every `CountingAlloc` value counts
//!   into the same totals.
//! - [`measure`] sees only the calling thread.
//! - `fork()` waits for a reader inside [`stats`] to finish, and the child
//!   can read at once (its totals go on from the parent's); see [`stats`].
//! - Up to [`MAX_SLOTS`] threads hold a registry slot at once; more threads
//!   are still counted exactly, through the slower shared fallback counters.
//! - Per-thread counting is used on Linux with glibc and on Apple targets,
//!   where registering a thread-local destructor (which gives the registry
//!   slot back) does not call the Rust allocator. Elsewhere every thread
//!   counts through the shared fallback counters: exact, but a `fetch_add`
//!   per call.
//! - The optimiser may remove an allocation whose block is never used
//!   (`drop(Box::new(1))`, `Vec::with_capacity(n)` dropped unread): Rust
//!   allows allocator calls to be elided. A test that counts such
//!   allocations wraps the value in [`std::hint::black_box`] (see
//!   [`measure`]); code that uses its allocations needs nothing.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod account;
mod active;
mod counters;
mod counting_alloc;
mod event;
mod global;
#[cfg(feature = "histogram")]
mod histogram;
#[cfg(feature = "jemalloc")]
pub mod jemalloc;
#[cfg(feature = "limit")]
mod limit;
mod local_counters;
mod measure;
mod primitive;
#[cfg(feature = "sampling")]
pub mod profile;
#[cfg(feature = "sampling")]
mod sampler;
mod scope;
mod slots;
mod stats;
mod thread;
pub mod tuning;

pub use account::{Account, AccountGuard, AccountUsage, Scoped};
pub use active::is_active;
pub use counting_alloc::CountingAlloc;
#[cfg(feature = "histogram")]
pub use histogram::{size_class, SizeClasses, SIZE_CLASSES};
#[cfg(feature = "limit")]
pub use limit::{limit, limit_slack, set_limit};
pub use measure::measure;
#[doc(hidden)]
pub use scope::measure_or_zeros;
pub use scope::Usage;
#[cfg(loom)]
#[doc(hidden)]
pub use slots::model as loom_model;
#[cfg(feature = "histogram")]
pub use stats::size_classes;
pub use stats::{live_bytes, live_bytes_error_bound, reset_peak, stats, AllocStats};
// The sizes of the counting, at their old root paths for one release.
// (rustc does not warn on a deprecated re-export yet, rust-lang/rust#30827.)
#[cfg(feature = "jemalloc")]
pub use tikv_jemallocator::Jemalloc;
#[deprecated(note = "moved to `heapguard_alloc::tuning`")]
#[doc(hidden)]
pub use tuning::{slot_usage, SlotUsage, ACCOUNT_FLUSH_CALLS, FLUSH_THRESHOLD, MAX_SLOTS};
