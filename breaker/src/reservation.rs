//! A reservation: bytes a job expects to need, counted by the breaker until dropped.

use std::fmt;
use std::sync::Arc;

use crate::inner::Inner;
use crate::usage::Tripped;

/// Bytes reserved in a breaker (and its ancestors) until this guard is
/// dropped, on any path, unwinding included.
///
/// Reserve what a batch is about to allocate, before allocating it
/// (estimate, then break): the breaker refuses the batch instead of the
/// allocator failing halfway. Reserved bytes add to the source's reading,
/// so shrink or drop a reservation once its memory is allocated and counted
/// by the source, or accept the double count as margin.
///
/// ```
/// use heapguard_breaker::{BreakerConfig, Budget, ManualSource, MemoryBreaker};
/// let breaker = MemoryBreaker::new(
///     BreakerConfig::new(Budget::Bytes(1000)).source(ManualSource::new(0)),
/// )
/// .unwrap();
/// let mut batch = breaker.try_reserve(500).unwrap();
/// assert!(batch.grow(400).is_err(), "900 bytes would pass the 800-byte trip line");
/// batch.grow(200).unwrap();
/// assert_eq!(breaker.reserved(), 700);
/// batch.shrink(300);
/// drop(batch);
/// assert_eq!(breaker.reserved(), 0);
/// ```
#[must_use = "a reservation is released as soon as it is dropped"]
pub struct Reservation {
    pub(crate) breaker: Arc<Inner>,
    pub(crate) bytes: u64,
}

impl Reservation {
    /// The bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The name of the breaker it was taken from.
    pub fn breaker(&self) -> &str {
        &self.breaker.lines.name
    }

    /// Reserves `more` bytes on top, or fails and leaves the reservation as it was.
    pub fn grow(&mut self, more: u64) -> Result<(), Tripped> {
        self.breaker.reserve(more)?;
        self.bytes += more;
        Ok(())
    }

    /// Gives back `less` bytes (all it holds if `less` is larger).
    pub fn shrink(&mut self, less: u64) {
        let less = less.min(self.bytes);
        if less > 0 {
            self.breaker.release(less);
            self.bytes -= less;
        }
    }

    /// Grows or shrinks to exactly `bytes`; a refused growth leaves it as it was.
    pub fn resize(&mut self, bytes: u64) -> Result<(), Tripped> {
        if bytes > self.bytes {
            self.grow(bytes - self.bytes)
        } else {
            self.shrink(self.bytes - bytes);
            Ok(())
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.breaker.release(self.bytes);
        }
    }
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("breaker", &self.breaker.lines.name)
            .field("bytes", &self.bytes)
            .finish()
    }
}
