//! Everything that reads memory: the host's files, the cgroup model,
//! budgets, and the sources a breaker reads, with one error type for
//! readings ([`SourceError`]).
//!
//! Dependencies run one way: `files` and `mountinfo` read text; `host`
//! reads the machine through them; `cgroup` finds the process's cgroup on a
//! host; `limits` reads the limits of a cgroup; `budget` turns them into
//! bytes ([`Resolution`]); `source` holds the [`MemorySource`]s; `refresher`
//! reads cgroup files off the hot path; `reader` is what a breaker's check
//! calls.

mod budget;
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
pub(crate) mod source;

pub use budget::Budget;
pub use cgroup::{Cgroup, CgroupVersion};
pub use error::{BudgetError, SourceError};
pub use host::Host;
pub use limits::{Candidate, CgroupLimits, Finding, Limit, LimitKind};
pub use psi::{Pressure, Stall};
pub(crate) use reader::{Configured, Reader};
pub(crate) use refresher::{Action, Refresher, Tick};
pub use refresher::{LIMITS_PERIOD, REFRESH_PERIOD, STAT_PERIOD};
pub use resolution::{Origin, Resolution};
#[cfg(feature = "jemalloc")]
pub use source::JemallocAllocatedSource;
pub use source::{AccountSource, CgroupSource, CountingAllocSource, MemorySource, RssSource};
