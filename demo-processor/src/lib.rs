//! The suggestion-generation job of the original service, at 1,300 to
//! 100,000 contacts per user, in two modes, under heapguard's breaker and
//! monitor.
//!
//! - [`Mode::Naive`]: the crash-prone original. Load every contact of a batch
//!   in full, build every (contact, slot) candidate, sort, truncate to 50.
//! - [`Mode::Streaming`]: the Node service's phase 2. Contacts stream through a
//!   bounded channel in chunks, projected to the fields scoring needs, into a
//!   bounded top-K; company lookups go through a byte-bounded LRU cache.
//!
//! Both modes return identical suggestions for the same seed. The library
//! sets no global allocator, so benchmarks can link it under any; the byte
//! figures of a report need `heapguard_alloc::CountingAlloc` installed.
//!
//! ```
//! use demo_processor::{run_job, JobConfig, Mode, Status};
//!
//! let config = JobConfig::new(200, 3)?.with_mode(Mode::Streaming).with_seed(7);
//! let outcome = run_job(&config)?;
//! assert_eq!(outcome.report.status, Status::Complete);
//! assert_eq!(outcome.report.users_done, 3);
//! assert!(outcome.suggestions.iter().all(|user| user.suggestions.len() == 50));
//!
//! let naive = run_job(&config.clone().with_mode(Mode::Naive))?;
//! assert_eq!(naive.suggestions, outcome.suggestions);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod atomic;
mod budget_arg;
pub mod calendar;
pub mod chart;
pub mod cli;
pub mod company;
mod config;
pub mod contact;
pub mod estimate;
mod exit;
pub mod generate;
mod guards;
mod job;
mod leak;
mod messages;
mod naive;
mod report;
pub mod rss;
pub mod scoring;
pub mod serve;
mod stop;
mod streaming;
pub mod tags;
mod timeline;
pub mod topk;

pub use config::{
    ConfigError, JobConfig, Mode, DEFAULT_BATCH_SIZE, DEFAULT_TOTAL_CONTACTS,
    MAX_CONTACTS_PER_USER, MAX_USERS,
};
pub use job::{run_job, run_job_with, JobError, JobHooks, OnUser, Progress};
pub use leak::UnboundedRecordCache;
pub use report::{
    digest, CancelledUser, JobOutcome, JobReport, LeakRecord, PurgeRecord, Status, TopSite,
    TripRecord, UserResult, UserSuggestions,
};
pub use timeline::{TimelinePoint, MAX_TIMELINE_POINTS};

/// The workspace README's code examples, compiled and run as doctests so the
/// quick starts cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// This package's README's code examples, compiled and run as doctests for
/// the same reason.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct DemoReadmeDoctests;
