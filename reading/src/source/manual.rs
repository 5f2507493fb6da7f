use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use super::memory_source::MemorySource;
use crate::error::SourceError;

/// A source that reads whatever was last [`set`](ManualSource::set): for
/// tests, simulations and benches. Clones share the same value.
///
/// ```
/// use heapguard_reading::MemorySource;
/// use heapguard_reading::ManualSource;
/// let source = ManualSource::new(100);
/// let handle = source.clone();
/// handle.set(4096);
/// assert_eq!(source.used_bytes().unwrap(), 4096);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualSource {
    bytes: Arc<AtomicU64>,
}

impl ManualSource {
    /// A source reading `bytes` until set otherwise.
    pub fn new(bytes: u64) -> Self {
        Self {
            bytes: Arc::new(AtomicU64::new(bytes)),
        }
    }

    /// Sets the reading every clone returns from now on.
    pub fn set(&self, bytes: u64) {
        self.bytes.store(bytes, Relaxed);
    }

    /// The current reading.
    #[inline]
    pub fn get(&self) -> u64 {
        self.bytes.load(Relaxed)
    }
}

impl MemorySource for ManualSource {
    #[inline]
    fn used_bytes(&self) -> Result<u64, SourceError> {
        Ok(self.bytes.load(Relaxed))
    }

    fn name(&self) -> &'static str {
        "manual"
    }
}
