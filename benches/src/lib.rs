//! Benchmarks of heapguard against bare allocators and peer crates.
//!
//! The library holds what the criterion benches (`benches/`), the thread
//! sweep (`src/bin/sweep.rs`) and the end-to-end binaries (`src/bin/e2e_*`)
//! share: the compared allocators as statics ([`contenders`]), allocator-
//! generic workloads ([`Workload`]), several threads hammering one allocator
//! ([`per_thread_time`]) and a recorder that turns real code into a
//! replayable trace ([`trace`]). `benches/run.sh` runs everything and writes
//! `benches/RESULTS.md`.
//!
//! ```
//! use heapguard_benches::contenders::{COUNTING_JEMALLOC, JEMALLOC};
//! use heapguard_benches::{per_thread_time, BlockSize, Clock, Workload};
//! use std::num::NonZeroUsize;
//!
//! let work = Workload::Pairs(BlockSize::new(64)?);
//! let one = NonZeroUsize::MIN;
//! let bare = per_thread_time(one, &JEMALLOC, &work, 10_000, Clock::ThreadCpu);
//! // COUNTING_JEMALLOC is called directly, not installed as this program's
//! // global allocator, so the form of `measure` that does not require one.
//! let (counted, usage) = heapguard_alloc::measure_or_zeros(|| {
//!     per_thread_time(one, &COUNTING_JEMALLOC, &work, 10_000, Clock::ThreadCpu)
//! });
//! // One thread runs on the caller, so `measure` saw every call, exactly.
//! assert_eq!((usage.allocations, usage.deallocations), (10_000, 10_000));
//! assert_eq!(usage.allocated_bytes, 10_000 * 64);
//! assert_eq!(usage.net_bytes, 0);
//! // Times are what benches report, never what tests assert.
//! println!("ratio {:.2}", counted.as_secs_f64() / bare.as_secs_f64());
//! # Ok::<(), heapguard_benches::BlockSizeError>(())
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod block;
pub mod churn;
mod clock;
pub mod contenders;
#[cfg(feature = "demo")]
pub mod e2e;
pub mod json;
pub mod mixed;
pub mod service;
pub mod thread_cells;
mod threads;
pub mod trace;
mod workload;

pub use block::{BlockSize, BlockSizeError, BLOCK_ALIGN};
pub use clock::{Clock, Stopwatch};
pub use threads::{per_thread_time, run_on_threads};
pub use workload::{Workload, GROWTH_FROM, GROWTH_TO};
