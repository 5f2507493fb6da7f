//! What a breaker publishes when its state changes.

use std::time::SystemTime;

use crate::pressure::PressureLevel;

/// A state change of a breaker, a change of its pressure level, or a job
/// it cancelled; sent to every [`subscribe`](crate::MemoryBreaker::subscribe)r.
///
/// Published once per change (not once per check), with the reading that
/// caused it. One thread's events arrive in the order it made them; two
/// threads changing levels at once may interleave theirs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum BreakerEvent {
    /// The breaker started refusing new work.
    Tripped(BreakerSnapshot),
    /// The breaker accepts new work again (usage fell below the reset line).
    Reset(BreakerSnapshot),
    /// The pressure level changed (published after the `Tripped` or `Reset`
    /// that moved it, if any).
    Level {
        /// The level before.
        from: PressureLevel,
        /// The level now.
        to: PressureLevel,
        /// The reading that moved it.
        snapshot: BreakerSnapshot,
    },
    /// Past the cancel line, the breaker cancelled the registered job whose
    /// memory account held the most live bytes.
    JobCancelled {
        /// The job's name, as registered.
        job: String,
        /// The live bytes of the job's account when it was cancelled.
        live_bytes: u64,
        /// The breaker's reading then.
        snapshot: BreakerSnapshot,
    },
    /// A callback the breaker ran panicked; the panic was caught and the
    /// breaker (and its refresher thread) went on.
    CallbackPanicked {
        /// Which callback: `"on_refresh"`, `"purge_hook"` or `"on_cancel"`
        /// (a cancelled job's [`CancelToken::on_cancel`](crate::CancelToken::on_cancel)).
        callback: &'static str,
        /// The panic's message.
        message: String,
        /// The breaker's reading then (0 used when it could not be read).
        snapshot: BreakerSnapshot,
    },
    /// The source could not be read: the breaker refuses new work until it
    /// can (fail closed), and neither purges, moves its state or level,
    /// nor cancels meanwhile. Published once per run of failed readings.
    ReadFailed {
        /// Why the reading failed.
        error: String,
        /// The breaker's reading then (`used` 0: unknown).
        snapshot: BreakerSnapshot,
    },
    /// The source is read again after a [`ReadFailed`](Self::ReadFailed).
    ReadRecovered {
        /// The first good reading.
        snapshot: BreakerSnapshot,
    },
}

impl BreakerEvent {
    /// The reading that caused the change.
    pub fn snapshot(&self) -> &BreakerSnapshot {
        match self {
            BreakerEvent::Tripped(snapshot)
            | BreakerEvent::Reset(snapshot)
            | BreakerEvent::Level { snapshot, .. }
            | BreakerEvent::JobCancelled { snapshot, .. }
            | BreakerEvent::CallbackPanicked { snapshot, .. }
            | BreakerEvent::ReadFailed { snapshot, .. }
            | BreakerEvent::ReadRecovered { snapshot } => snapshot,
        }
    }

    /// Whether this is a reset (accepting again).
    pub fn is_reset(&self) -> bool {
        matches!(self, BreakerEvent::Reset(_))
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
