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
//! (feature `jemalloc`), [`AccountSource`], or [`ManualSource`] for tests.
//!
//! The allocator's live bytes under-read what the kernel charges: stacks,
//! mmaps, page cache and other processes in the cgroup count there too. So
//! **when the budget comes from a cgroup limit, a root breaker decides on
//! the worst of its source and the cgroup's working set** (usage minus
//! inactive file pages), by default
//! ([`BreakerConfig::cgroup_working_set`] turns it on or off). Where the
//! binding limit sits on an ancestor, the kernel counts the siblings there
//! too: each level's working set is compared with that level's own limit,
//! and the worst ratio binds (expressed in bytes of the smallest limit).
//!
//! Cgroup files are never read on [`check`](MemoryBreaker::check): one
//! refresher thread per process and cgroup reads `memory.current` every
//! [`REFRESH_PERIOD`] (25 ms), `memory.stat` every [`STAT_PERIOD`] (250 ms)
//! and the limit files every [`LIMITS_PERIOD`] (1 s), and publishes atomics
//! that checks load. **Staleness bound**: the working set a check sees is
//! at most 25 ms behind `memory.current` and 250 ms behind the inactive
//! file pages, and the budget at most 1 s behind the limit files, plus any
//! time the refresher waits for a CPU. A file that cannot be read makes the
//! breaker refuse with the reason (fail closed). The thread ends within one
//! [`REFRESH_PERIOD`] of the last breaker reading it being dropped.
//! [`MemoryBreaker::on_refresh`] runs an action on that thread after each
//! refresh (a watcher acting at a line).
//!
//! Memory pressure stall information (PSI: [`Cgroup::pressure`],
//! [`Host::memory_pressure`]) is reported beside the byte readings: how much
//! of the time tasks waited on memory, never compared with a budget.
//!
//! # Budget
//! The [`Budget`] is bytes, the cgroup limit, physical memory, or the
//! smallest known (`auto`); human sizes parse (`"512MiB"`, `"1.5GiB"`,
//! `"2GB"`, `"80%"`), and sizes of 16 EiB or more are refused.
//!
//! The cgroup limit is the one the kernel applies, read through a [`Host`]
//! (every file under one root, so any machine replays from a copy of its
//! files): the memory controller's mount from `/proc/self/mountinfo` (v1
//! `memory`, or `cgroup2`; on a hybrid host the v1 controller when it is
//! mounted), the process's path from `/proc/self/cgroup` mapped through the
//! mount's root (a path outside it is unknown, never the mount root), and
//! the minimum over the cgroup and every ancestor visible under the mount:
//! v2 `memory.max`; v1 `hierarchical_memory_limit` and `limit_in_bytes`,
//! ancestors only while their `memory.use_hierarchy` is 1. `max` and values
//! at or above 2^62 (the page-aligned `i64::MAX` of any page size,
//! `u64::MAX`) mean no limit; a directory without the controller's files is
//! walked past.
//!
//! v2 `memory.high` is where the kernel throttles and reclaims hard, so a
//! service should shed work before it: `auto` takes the smallest of
//! `memory.high`, the hard limit and physical memory; `cgroup` stays the
//! hard limit. The v1 soft limit only orders reclaim: it is reported in the
//! [`Resolution`], never used.
//!
//! Nothing falls back silently: [`Budget::resolution_on`] and
//! [`MemoryBreaker::resolution`] say where the bytes came from and why each
//! other file was skipped, and a fallback to physical memory because a
//! cgroup file could not be read is logged as a `tracing` warning naming the
//! file and the reason, as is a fixed budget above the effective limit.
//! A budget read from the host is re-resolved every [`LIMITS_PERIOD`] (a
//! limit changed in place applies while the process runs), and a change is
//! logged.
//!
//! # Lines
//! The breaker trips when `used + reserved` reaches 80% of the budget and
//! resets below 70% ([`BreakerConfig`]), and stays in a state at least
//! `min_state_duration` (1 s) so usage hovering at a line cannot make it
//! flap; a reading at 100% of the budget trips at once regardless.
//!
//! # Purge
//! Before refusing (at most once per `purge_interval`), the default purge
//! hook gives freed memory back to the operating system and the source is
//! read again: `malloc_trim(0)` on glibc, and jemalloc's purge when the
//! `jemalloc` feature is on (the installed allocator cannot be inferred from
//! the features a build has, so both run where they apply).
//!
//! # Pressure levels
//! [`MemoryBreaker::pressure`] grades usage in four [`PressureLevel`]s, as
//! Envoy's overload manager grades its actions: `Normal`, `Warn` from 70%,
//! `Refuse` while the breaker refuses new work, `Cancel` from 95%. The warn
//! and cancel lines have hysteresis (5 points) as the refuse line has, so
//! usage hovering at a line changes the level once; each change is an
//! event. Reading the level is one atomic load.
//!
//! # Jobs in flight
//! Refusing new work is not enough when one admitted job can pass 100%. A
//! job registers its memory account and a [`CancelToken`] with
//! [`MemoryBreaker::register_job`]; past the cancel line the breaker cancels
//! the job holding the most live bytes, waits for it to deregister (or a
//! grace period), reads again, and cancels the next only if still needed.
//! Cancels are made by the breaker's refresher thread (or
//! [`MemoryBreaker::refresh`]), never by `check()`.
//!
//! # One transition function
//! `check()`, reservations, [`MemoryBreaker::refresh`] and the refresher
//! thread decide through one function: the same reading moves the state
//! and the level the same way whoever reads it. The state and the level
//! move by compare-and-swap on atomics, so a check takes no lock at any
//! level. The refresher takes that step every [`REFRESH_PERIOD`] on its own
//! (unless [`BreakerConfig::watch_cancel_line`] is off), so the state stays
//! fresh while no request checks. A reading that fails refuses new work and
//! publishes [`BreakerEvent::ReadFailed`], but neither purges, moves the
//! state or level, nor cancels; [`MemoryBreaker::reading_age`] says how old
//! the last good reading is. Reading ([`MemoryBreaker::usage`],
//! [`MemoryBreaker::pressure`], [`MemoryBreaker::state`]) changes nothing.
//!
//! # Who holds it
//! Every [`BreakerSnapshot`] (so every trip, level and cancel event) names
//! the known accounts holding the most live bytes ([`AccountBytes`], at
//! most three): registered jobs and accounts added with
//! [`MemoryBreaker::watch_account`]. A refusal's
//! [`Tripped::top_accounts`] reads them when asked, and its message lists
//! them. [`MemoryBreaker::ledger`] reads where the bytes are: reserved, in
//! known accounts, and unattributed (allocated outside any of them).
//!
//! # Spawned work (feature `tokio`)
//! A plain `tokio::spawn` or `spawn_blocking` from inside an account is
//! charged to no account: the new task is polled outside it. The `spawn`
//! module's functions spawn inside the current account, so a job's tasks
//! stay in its account; what escapes shows as
//! [`MemoryLedger::unattributed_bytes`].
//!
//! # Observe-only mode
//! [`BreakerConfig::enforce`]`(false)`: the breaker computes its levels,
//! events and counters as usual but refuses nothing
//! ([`MemoryBreaker::would_refuse`] counts what it would have refused) and
//! cancels nothing ([`BreakerEvent::WouldCancel`]); the tower layer over it
//! sheds nothing. Watch what it would do before turning it on.
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
//! [`subscribe`](MemoryBreaker::subscribe)r as a [`BreakerEvent`]. A
//! callback the breaker runs (an [`on_refresh`](MemoryBreaker::on_refresh)
//! action, a purge hook, a cancelled job's [`CancelToken::on_cancel`]) that
//! panics is caught, logged with the breaker's name and published as
//! [`BreakerEvent::CallbackPanicked`]; the refresher goes on.
//!
//! # In a service (feature `tower`)
//! [`service::MemoryShedLayer`] sheds requests in a tower stack (axum,
//! tonic): each request reserves an estimate of its memory, and one that
//! does not fit is refused at once (HTTP 503 with `Retry-After`, or 413 for
//! one that never could; gRPC `RESOURCE_EXHAUSTED`). With feature `http`
//! the reservation lasts until the response body has ended or been
//! dropped, the body is polled in the request's account, and requests
//! admitted but not started yet are shed first past the cancel line (see
//! the [`service`] module). Register each request's job with
//! [`MemoryBreaker::register_job`] so the cancel line can stop it.
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
mod cancel;
mod caught;
mod clock;
mod config;
mod decide;
mod event;
mod inner;
mod jobs;
mod ledger;
mod lines;
#[cfg(feature = "metrics")]
pub mod metrics;
mod pressure;
mod primitive;
mod purge;
mod reading;
mod refresh;
mod reservation;
#[cfg(feature = "tower")]
pub mod service;
#[cfg(feature = "tokio")]
pub mod spawn;
mod state;
mod sync;
mod usage;

pub use breaker::{MemoryBreaker, MemoryLedger, SUBSCRIBER_CAPACITY};
pub use cancel::CancelToken;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{BreakerConfig, ConfigError, PurgeHook, ValidConfig};
pub use event::{AccountBytes, BreakerEvent, BreakerSnapshot};
pub use jobs::{JobRegistration, WatchedAccount};
pub use pressure::PressureLevel;
#[cfg(feature = "jemalloc")]
pub use reading::JemallocAllocatedSource;
pub use reading::{
    AccountSource, Budget, BudgetError, Candidate, Cgroup, CgroupLimits, CgroupSource,
    CgroupVersion, CountingAllocSource, Finding, Host, Limit, LimitKind, ManualSource,
    MemorySource, Origin, Pressure, Resolution, RssSource, SourceError, Stall, LIMITS_PERIOD,
    REFRESH_PERIOD, STAT_PERIOD,
};
pub use refresh::RefreshAction;
pub use reservation::{AccountReservation, Reservation};
pub use state::BreakerState;
pub use usage::{TripCause, Tripped, Usage};
