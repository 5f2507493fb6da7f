use super::memory_source::MemorySource;
use crate::error::SourceError;

/// Reads jemalloc's `stats.allocated`: bytes in allocations handed to the
/// program, counted at jemalloc's size classes (feature `jemalloc`).
///
/// Each reading advances jemalloc's statistics epoch (a `mallctl` call, a
/// few hundred nanoseconds): slower than [`CountingAllocSource`](super::CountingAllocSource),
/// but needs no counting allocator, only jemalloc as the global allocator.
#[derive(Debug, Clone, Copy)]
pub struct JemallocAllocatedSource {
    _private: (),
}

impl JemallocAllocatedSource {
    /// A source over jemalloc's statistics; fails if they cannot be read now.
    pub fn new() -> Result<Self, SourceError> {
        let source = Self { _private: () };
        source.used_bytes()?;
        Ok(source)
    }
}

impl MemorySource for JemallocAllocatedSource {
    fn used_bytes(&self) -> Result<u64, SourceError> {
        Ok(heapguard_alloc::jemalloc::stats()?.allocated)
    }

    fn name(&self) -> &'static str {
        "jemalloc-allocated"
    }
}
