//! A memory circuit breaker: refuse new work before the memory budget is
//! gone, so a job ends with partial results instead of an out-of-memory kill.
//!
//! The Rust counterpart of the original service's `MemoryCircuitBreaker`
//! (check before the job, before each unit, return partial results on a
//! trip), grown with what Elasticsearch's breakers and DataFusion's memory
//! pool teach: reservations made before allocating, child breakers per job,
//! hysteresis, and a purge before refusing.
//!
//! ```
//! use heapguard_breaker::{BreakerConfig, Budget, ManualSource, MemoryBreaker, Tripped};
//!
//! // In a service: install `heapguard_alloc::CountingAlloc` as the global
//! // allocator and leave out `.source(..)`; here a settable reading stands in.
//! let memory = ManualSource::new(0);
//! let breaker = MemoryBreaker::new(
//!     BreakerConfig::new("1GiB".parse::<Budget>()?)
//!         .name("suggestions")
//!         .source(memory.clone()),
//! )?;
//!
//! struct Report { done: Vec<u32>, skipped: Vec<u32>, stopped: Option<Tripped> }
//!
//! let users: Vec<u32> = (1..=10).collect();
//! let mut report = Report { done: vec![], skipped: vec![], stopped: None };
//! breaker.check()?; // before the job: refuse to start at all
//! for (index, &user) in users.iter().enumerate() {
//!     // before each unit: stop cleanly, keep what is done
//!     if let Err(tripped) = breaker.check() {
//!         report.skipped.extend_from_slice(&users[index..]);
//!         report.stopped = Some(tripped);
//!         break;
//!     }
//!     memory.set(u64::from(user) * 200 << 20); // each user leaves 200 MiB behind
//!     report.done.push(user);
//! }
//! // 4 users: 800 MiB, 78% of 1 GiB, user 5 may start; 5 users: 1000 MiB, 98%: stop.
//! assert_eq!(report.done, [1, 2, 3, 4, 5]);
//! assert_eq!(report.skipped, [6, 7, 8, 9, 10]);
//! let tripped = report.stopped.expect("tripped at 80%");
//! assert_eq!(tripped.breaker(), "suggestions");
//! assert!(tripped.to_string().contains("refusing new work"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Readings
//! A breaker reads one [`MemorySource`]: [`CountingAllocSource`] (the
//! default: live bytes from `heapguard_alloc`, one atomic load; building a
//! breaker fails with a clear error if the counting allocator is not
//! installed), [`RssSource`], [`CgroupSource`], `JemallocAllocatedSource`
//! (feature `jemalloc`), or [`ManualSource`] for tests.
//!
//! # Budget and lines
//! The [`Budget`] is bytes, the cgroup limit, physical memory, or the
//! smallest known (`auto`); human sizes parse (`"512MiB"`, `"2GB"`, `"80%"`).
//! The breaker trips when `used + reserved` reaches 80% of it and resets
//! below 70% ([`BreakerConfig`]), and stays in a state at least
//! `min_state_duration` (1 s) so usage hovering at a line cannot make it
//! flap; a reading at 100% of the budget trips at once regardless.
//!
//! # Reservations
//! [`MemoryBreaker::try_reserve`] holds bytes a job is about to allocate
//! until the [`Reservation`] is dropped. Reservations are exact under
//! concurrency (a compare-and-swap against the room left); a refused one
//! changes nothing.
//!
//! # Children
//! [`MemoryBreaker::child`] makes a breaker with its own budget under a
//! parent: per job, per request. A child's refusal names the child; dropping
//! the child returns its reservations to the parent.
//!
//! # Events
//! Each state change is logged once with `tracing` and sent to every
//! [`subscribe`](MemoryBreaker::subscribe)r as a [`BreakerEvent`].
//!
//! # In a service (feature `tower`)
//! [`service::MemoryShedLayer`] sheds requests in a tower stack (axum,
//! tonic): each request reserves an estimate of its memory, and one that
//! does not fit is refused at once (HTTP 503 with `Retry-After`, or 413 for
//! one that never could; gRPC `RESOURCE_EXHAUSTED`).
//!
//! # Caveats
//! - It never refuses inside the allocator (a null from a global allocator
//!   aborts a Rust process): it is a check at operation boundaries, and work
//!   already started runs to its next check.
//! - Reserved bytes add to the source's reading: a reservation is for memory
//!   about to be allocated; shrink or drop it once allocated.
//! - A source that cannot be read makes the breaker refuse (fail closed),
//!   with the reason in [`TripCause::Source`].
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod breaker;
mod budget;
mod cgroup;
mod clock;
mod config;
mod event;
mod host;
mod inner;
mod ledger;
mod reservation;
#[cfg(feature = "tower")]
pub mod service;
mod source;
mod state;
mod usage;

pub use breaker::{MemoryBreaker, SUBSCRIBER_CAPACITY};
pub use budget::{Budget, BudgetError};
pub use cgroup::{Cgroup, CgroupVersion};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{BreakerConfig, ConfigError, PurgeHook, ValidConfig};
pub use event::{BreakerEvent, BreakerSnapshot};
pub use host::Host;
pub use reservation::Reservation;
#[cfg(feature = "jemalloc")]
pub use source::JemallocAllocatedSource;
pub use source::{
    AccountSource, CgroupSource, CountingAllocSource, ManualSource, MemorySource, RssSource,
    SourceError,
};
pub use state::BreakerState;
pub use usage::{TripCause, Tripped, Usage};
