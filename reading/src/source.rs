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
mod memory_source;
mod rss;

pub use account::AccountSource;
pub use cgroup::CgroupSource;
pub use counting::CountingAllocSource;
#[cfg(feature = "jemalloc")]
pub use jemalloc::JemallocAllocatedSource;
pub use manual::ManualSource;
pub use memory_source::MemorySource;
pub use rss::RssSource;
