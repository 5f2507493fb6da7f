//! The one trait every source implements, in a file of its own so the
//! sources import it without importing from their parent.

use crate::error::SourceError;

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
