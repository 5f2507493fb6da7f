//! Where readings come from: one small trait, [`MemorySource`], and its
//! implementations.
//!
//! | source | reads | slack | needs |
//! | --- | --- | --- | --- |
//! | [`CountingAllocSource`] | `heapguard_alloc::live_bytes()` (requested bytes) | [`heapguard_alloc::live_bytes_error_bound`] | `CountingAlloc` installed as `#[global_allocator]` |
//! | [`RssSource`] | `/proc/self/statm` resident pages x page size | 0 | Linux `/proc` |
//! | `JemallocAllocatedSource` | jemalloc's `stats.allocated` | 0 | feature `jemalloc`, jemalloc as the allocator |
//! | [`ManualSource`] | whatever the test [`set`](ManualSource::set) | 0 | nothing |
//! | [`AccountSource`] | one `heapguard_alloc::Account`'s live bytes (a per-job limit) | [`heapguard_alloc::live_bytes_error_bound`] | `CountingAlloc` installed |
//! | [`CgroupSource`] | the cgroup's working set (`memory.current - inactive_file`) | 0 | a cgroup with the memory controller |

mod account;
mod cgroup;
mod counting;
#[cfg(feature = "jemalloc")]
mod jemalloc;
mod manual;
mod reader;
mod rss;

pub use account::AccountSource;
pub use cgroup::CgroupSource;
pub use counting::CountingAllocSource;
#[cfg(feature = "jemalloc")]
pub use jemalloc::JemallocAllocatedSource;
pub use manual::ManualSource;
pub(crate) use reader::Reader;
pub use rss::RssSource;

use std::path::PathBuf;

/// A reading of the memory a process (or a part of it) holds.
///
/// `used_bytes` is on the breaker's hot path: an implementation should be a
/// load or two, never a lock held across other threads, and must never
/// allocate through a global allocator that calls back into the breaker
/// (none does: the breaker is never called from inside the allocator).
pub trait MemorySource: Send + Sync + 'static {
    /// Bytes in use now, as this source counts them.
    fn used_bytes(&self) -> Result<u64, SourceError>;
    /// How far a reading can be from the truth (0 if exact).
    fn slack_bytes(&self) -> u64 {
        0
    }
    /// A short name for logs: "counting-alloc", "rss", "jemalloc-allocated", "manual".
    fn name(&self) -> &'static str;
}

/// Why a [`MemorySource`] cannot be built or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// `CountingAllocSource` was asked for while the counting allocator is not
    /// the global allocator: its counters would read zero forever.
    #[error(
        "the counting allocator is not installed, so heapguard_alloc's counters read zero; \
         add `#[global_allocator] static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> \
         = heapguard_alloc::CountingAlloc::new(std::alloc::System);` to the binary, \
         or use another source (RssSource, JemallocAllocatedSource)"
    )]
    CountingAllocNotInstalled,
    /// A file the source reads could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A file the source reads did not hold what was expected.
    #[error("cannot parse {path}: expected {expected}, found {found:?}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was expected there.
        expected: &'static str,
        /// What was found (truncated to 64 characters).
        found: String,
    },
    /// jemalloc's control interface failed.
    #[cfg(feature = "jemalloc")]
    #[error("jemalloc statistics are unavailable (is jemalloc the global allocator?): {0}")]
    Jemalloc(#[from] heapguard_alloc::jemalloc::JemallocError),
}

impl SourceError {
    pub(crate) fn parse(path: impl Into<PathBuf>, expected: &'static str, found: &str) -> Self {
        SourceError::Parse {
            path: path.into(),
            expected,
            found: found.chars().take(64).collect(),
        }
    }
}
