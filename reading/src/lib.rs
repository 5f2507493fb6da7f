//! Memory readings for heapguard: how much memory a process holds (the
//! [`MemorySource`]s), how much it may hold (the [`Budget`], resolved on a
//! [`Host`]'s cgroup files), and the pressure stall information ([`Pressure`])
//! beside them. `heapguard-breaker` decides on these readings and
//! `heapguard-monitor` samples them; neither is needed to read them.
//!
//! ```
//! use heapguard_reading::{Budget, Host, ManualSource, MemorySource, Origin};
//!
//! let memory = ManualSource::new(300 << 20);
//! assert_eq!(memory.used_bytes()?, 300 << 20);
//!
//! // Every file is read under the host's root: a copy of a machine's files
//! // resolves as that machine would. "512MiB" needs no file at all.
//! let budget: Budget = "512MiB".parse()?;
//! let resolution = budget.resolution_on(&Host::with_root("/nonexistent"))?;
//! assert_eq!(resolution.bytes(), 512 << 20);
//! assert_eq!(resolution.origin(), &Origin::Fixed);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Sources
//! [`CountingAllocSource`] (live bytes from `heapguard_alloc`, one atomic
//! load; fails to build if the counting allocator is not installed),
//! [`RssSource`], [`CgroupSource`] (the cgroup's working set: usage minus
//! inactive file pages), `JemallocAllocatedSource` (feature `jemalloc`),
//! [`AccountSource`] (one memory account), [`ManualSource`] (set by a test).
//!
//! # Budgets
//! A [`Budget`] is bytes, the cgroup limit, physical memory, the smallest
//! known (`auto`), or a percentage of `auto`; human sizes parse
//! (`"512MiB"`, `"1.5GiB"`, `"2GB"`, `"80%"`). The cgroup limit is the one
//! the kernel applies: the memory controller's mount from
//! `/proc/self/mountinfo` (v1 `memory` or `cgroup2`), the process's path
//! from `/proc/self/cgroup` mapped through the mount's root, and the
//! minimum over the cgroup and every ancestor under the mount (v2
//! `memory.max`, and `memory.high` for `auto`; v1
//! `hierarchical_memory_limit` and `limit_in_bytes`). `max` and values at
//! or above 2^62 mean no limit. [`Budget::resolution_on`] says where the
//! bytes came from and why each other file was skipped ([`Resolution`]);
//! nothing falls back silently.
//!
//! # Off the hot path
//! Cgroup files are read by one refresher thread per process and cgroup:
//! `memory.current` every [`REFRESH_PERIOD`], `memory.stat` every
//! [`STAT_PERIOD`], the limit files every [`LIMITS_PERIOD`]; a reading loads
//! what it published.
//!
//! Dependencies between the files run one way: `files` and `mountinfo` read
//! text; `host` reads the machine through them; `cgroup` finds the
//! process's cgroup on a host; `limits` reads the limits of a cgroup;
//! `budget` turns them into bytes (`resolution`); `source` holds the
//! sources; `refresher` reads cgroup files off the hot path; `reader` is
//! what a breaker's check calls.
#![warn(missing_docs)]

mod budget;
#[doc(hidden)]
pub mod caught;
mod cgroup;
mod error;
mod files;
mod host;
mod limits;
mod mountinfo;
mod psi;
mod reader;
mod refresher;
mod resolution;
mod size;
mod source;

pub use budget::Budget;
pub use cgroup::{Cgroup, CgroupVersion};
pub use error::{BudgetError, SourceError};
pub use host::Host;
pub use limits::{Candidate, CgroupLimits, Finding, Limit, LimitKind};
pub use psi::{Pressure, Stall};
pub use refresher::{LIMITS_PERIOD, REFRESH_PERIOD, STAT_PERIOD};
pub use resolution::{Origin, Resolution};
#[cfg(feature = "jemalloc")]
pub use source::JemallocAllocatedSource;
pub use source::{
    AccountSource, CgroupSource, CountingAllocSource, ManualSource, MemorySource, RssSource,
};

// What heapguard-breaker builds on: its readers and the refresher thread.
// Not for other users; hidden, and may change in any release.
#[doc(hidden)]
pub use reader::{Configured, Reader};
#[doc(hidden)]
pub use refresher::{Action, Refresher, Tick};
