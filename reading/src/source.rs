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
//! | [`CgroupSource`] | the cgroup's working set (`memory.current - inactive_file`, v1 `usage_in_bytes - total_inactive_file`) of the level the kernel charges | 0 | a cgroup with the memory controller |

mod account;
mod cgroup;
mod counting;
#[cfg(feature = "jemalloc")]
mod jemalloc;
mod manual;
mod rss;

pub use account::AccountSource;
pub use cgroup::CgroupSource;
pub use counting::CountingAllocSource;
#[cfg(feature = "jemalloc")]
pub use jemalloc::JemallocAllocatedSource;
pub use manual::ManualSource;
pub use rss::RssSource;

use super::error::SourceError;

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
