use super::memory_source::MemorySource;
use crate::error::SourceError;

/// Reads the counting allocator: live requested bytes, one relaxed atomic load.
///
/// The default source of a breaker. Its slack is
/// [`heapguard_alloc::live_bytes_error_bound`]: 64 KiB per thread that
/// allocates, in either direction.
#[derive(Debug, Clone, Copy)]
pub struct CountingAllocSource {
    _private: (),
}

impl CountingAllocSource {
    /// A source over `heapguard_alloc`'s counters; fails with
    /// [`SourceError::CountingAllocNotInstalled`] when `CountingAlloc` is not
    /// the global allocator, rather than reading zeros forever.
    pub fn new() -> Result<Self, SourceError> {
        if heapguard_alloc::is_active() {
            Ok(Self { _private: () })
        } else {
            Err(SourceError::CountingAllocNotInstalled)
        }
    }
}

impl MemorySource for CountingAllocSource {
    #[inline]
    fn used_bytes(&self) -> Result<u64, SourceError> {
        Ok(heapguard_alloc::live_bytes())
    }

    fn slack_bytes(&self) -> u64 {
        heapguard_alloc::live_bytes_error_bound()
    }

    fn name(&self) -> &'static str {
        "counting-alloc"
    }
}
