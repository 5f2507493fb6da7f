//! What a breaker publishes when its state changes.

use std::time::SystemTime;

/// A state change of a breaker, sent to every [`subscribe`](crate::MemoryBreaker::subscribe)r.
///
/// Published once per change (not once per check), with the reading that
/// caused it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum BreakerEvent {
    /// The breaker started refusing new work.
    Tripped(BreakerSnapshot),
    /// The breaker accepts new work again (usage fell below the reset line).
    Reset(BreakerSnapshot),
}

impl BreakerEvent {
    /// The reading that caused the change.
    pub fn snapshot(&self) -> &BreakerSnapshot {
        match self {
            BreakerEvent::Tripped(snapshot) | BreakerEvent::Reset(snapshot) => snapshot,
        }
    }

    /// Whether this is a trip.
    pub fn is_trip(&self) -> bool {
        matches!(self, BreakerEvent::Tripped(_))
    }
}

/// A breaker's reading at one moment.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BreakerSnapshot {
    /// The breaker's name.
    pub breaker: String,
    /// Bytes in use as the breaker's source read them.
    pub used: u64,
    /// Bytes held by reservations.
    pub reserved: u64,
    /// The budget, in bytes.
    pub limit: u64,
    /// `(used + reserved) / limit`, in percent.
    pub percent: f64,
    /// Wall-clock time of the change.
    pub time: SystemTime,
}
