//! A memory circuit breaker: refuse new work before the memory budget is
//! gone, so a job ends with partial results instead of an out-of-memory kill.
//!
//! ```
//! use heapguard_breaker::testing::ManualSource;
//! use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker, Tripped};
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
//! let users: Vec<u32> = (1..=10).collect();
//! let (mut done, mut stopped): (Vec<u32>, Option<Tripped>) = (vec![], None);
//! breaker.check()?; // before the job: refuse to start at all
//! for &user in &users {
//!     // before each unit: stop cleanly, keep what is done
//!     if let Err(tripped) = breaker.check() {
//!         stopped = Some(tripped);
//!         break;
//!     }
//!     memory.set(u64::from(user) * 200 << 20); // each user leaves 200 MiB behind
//!     done.push(user);
//! }
//! // 4 users: 800 MiB, 78% of 1 GiB, user 5 may start; 5 users: 1000 MiB, 98%: stop.
//! assert_eq!(done, [1, 2, 3, 4, 5]);
//! let tripped = stopped.expect("tripped at 80%");
//! assert_eq!(tripped.breaker(), "suggestions");
//! assert!(tripped.to_string().contains("refusing new work"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it does
//! - [`MemoryBreaker::check`] fails with [`Tripped`] once usage plus
//!   reservations reaches the trip line (80% of the [`Budget`]) and passes
//!   again below the reset line (70%), after at least `min_state_duration`
//!   (1 s) in a state; a reading at 100% trips at once. Before refusing (at most once per
//!   `purge_interval`, 1 s) it purges (`malloc_trim`, and jemalloc with feature `jemalloc`) and reads
//!   again. Lines and timings: [`BreakerConfig`].
//! - [`MemoryBreaker::try_reserve`] holds bytes about to be allocated until
//!   the [`Reservation`] drops; exact under concurrency.
//! - [`MemoryBreaker::child`] gives a job its own budget under a parent.
//! - [`MemoryBreaker::pressure`] grades usage in [`PressureLevel`]s
//!   (`Normal`, `Warn` from 70%, `Refuse`, `Cancel` from 95%); past the
//!   cancel line the breaker cancels the registered job
//!   ([`MemoryBreaker::register_job`], [`CancelToken`]) holding the most.
//! - Every change is logged with `tracing` and sent to subscribers as a
//!   [`BreakerEvent`] ([`event`]); [`MemoryBreaker::ledger`] says where the
//!   bytes are.
//! - `enforce(false)` observes only: levels and events as usual, nothing
//!   refused or cancelled.
//!
//! It never refuses inside the allocator (a null from a global allocator
//! aborts a Rust process): it checks at operation boundaries, and work
//! already started runs to its next check. A source that cannot be read
//! makes it refuse, with the reason ([`TripCause::Source`]).
//!
//! # Modules
//! - [`reading`]: what a breaker reads: the [`MemorySource`]s (the counting
//!   allocator by default, RSS, a cgroup's working set, an account), the
//!   [`Budget`] and how it resolves on a host's cgroup files, PSI.
//! - [`config`]: the configuration's hooks and validated lines.
//! - [`event`]: the events and snapshots subscribers receive.
//! - [`testing`]: a settable source and a manual clock for tests.
//! - `service` (feature `tower`; `http` for HTTP responses): a tower layer
//!   that sheds requests that do not fit.
//! - `spawn` (feature `tokio`): spawn tasks inside the current memory account.
//! - `metrics` (feature `metrics`): the breaker's state through the
//!   `metrics` facade.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod breaker;
mod cancel;
mod clock;
pub mod config;
mod decide;
pub mod event;
mod inner;
mod jobs;
mod ledger;
mod levels;
mod lines;
#[cfg(feature = "metrics")]
pub mod metrics;
mod pressure;
mod primitive;
mod purge;
mod refresh;
mod reservation;
#[cfg(feature = "tower")]
pub mod service;
mod settling;
#[cfg(feature = "tokio")]
pub mod spawn;
mod state;
mod sync;
pub mod testing;
mod usage;

/// What a breaker reads: the memory sources, the budget and how it
/// resolves on a host's cgroup files, PSI (the `heapguard-reading` crate,
/// which `heapguard-monitor` reads too).
pub use heapguard_reading as reading;

pub use breaker::{MemoryBreaker, MemoryLedger};
pub use cancel::CancelToken;
pub use config::{BreakerConfig, ConfigError};
pub use event::BreakerEvent;
pub use jobs::{JobRegistration, WatchedAccount};
pub use pressure::PressureLevel;
pub use reading::{Budget, BudgetError, MemorySource, SourceError};
pub use refresh::RefreshAction;
pub use reservation::{AccountReservation, Reservation};
pub use state::BreakerState;
pub use usage::{TripCause, Tripped, Usage};

// The paths these items had before issue 25 moved them into modules, kept
// for one release. (rustc does not warn on a deprecated re-export yet,
// rust-lang/rust#30827; the notes say where each went.)
#[deprecated(note = "moved to `heapguard_breaker::config`")]
#[doc(hidden)]
pub use config::{Clock, PurgeHook, SystemClock, ValidConfig};
#[deprecated(note = "moved to `heapguard_breaker::event`")]
#[doc(hidden)]
pub use event::{AccountBytes, BreakerSnapshot, SUBSCRIBER_CAPACITY};
#[cfg(feature = "jemalloc")]
#[deprecated(note = "moved to `heapguard_breaker::reading`")]
#[doc(hidden)]
pub use reading::JemallocAllocatedSource;
#[deprecated(note = "moved to `heapguard_breaker::reading`")]
#[doc(hidden)]
pub use reading::{
    AccountSource, Candidate, Cgroup, CgroupLimits, CgroupSource, CgroupVersion,
    CountingAllocSource, Finding, Host, Limit, LimitKind, Origin, Pressure, Resolution, RssSource,
    Stall, LIMITS_PERIOD, REFRESH_PERIOD, STAT_PERIOD,
};
#[deprecated(note = "moved to `heapguard_breaker::testing`")]
#[doc(hidden)]
pub use testing::{ManualClock, ManualSource};
