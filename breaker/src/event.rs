//! What a breaker publishes when its state changes.

use std::time::SystemTime;

use crate::pressure::PressureLevel;

/// Events a subscriber has not read yet, per subscriber; past this, newer
/// events are dropped for that subscriber (the breaker never waits).
pub const SUBSCRIBER_CAPACITY: usize = 1024;

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
    /// A cancel's verdict: the victim deregistered and its account holds at
    /// most half of what it held at the cancel, within the grace period.
    CancelFreed {
        /// The job's name, as registered.
        job: String,
        /// What its account freed since the cancel.
        freed_bytes: u64,
        /// What its account still holds.
        remaining_bytes: u64,
        /// How far the breaker's reading (used + reserved) fell since the cancel.
        reading_freed_bytes: u64,
        /// The breaker's reading now.
        snapshot: BreakerSnapshot,
    },
    /// A cancel's verdict: by the end of the grace period the victim's
    /// account still holds more than half of what it held at the cancel
    /// (memory in tasks it spawned and detached, or a job that ignores its
    /// token). Those bytes are not counted as reclaimable: a next cancel is
    /// made only if its candidate alone can bring the reading under the line.
    CancelFreedTooLittle {
        /// The job's name, as registered.
        job: String,
        /// What its account freed since the cancel.
        freed_bytes: u64,
        /// What its account still holds (its own and its child accounts').
        remaining_bytes: u64,
        /// How far the breaker's reading fell since the cancel.
        reading_freed_bytes: u64,
        /// Whether the job deregistered (its registration was dropped).
        deregistered: bool,
        /// The breaker's reading now.
        snapshot: BreakerSnapshot,
    },
    /// Past the cancel line after a cancel, the largest job left was not
    /// cancelled: it holds too little to bring the reading under the line.
    /// Published once per candidate.
    CancelWithheld {
        /// The candidate's name.
        job: String,
        /// What its account holds.
        live_bytes: u64,
        /// What a cancel would have to free to bring the reading under the line.
        needed_bytes: u64,
        /// The breaker's reading now.
        snapshot: BreakerSnapshot,
    },
    /// Past the cancel line, admitted requests that had not started yet
    /// (queued behind running work) were cancelled, largest first, until
    /// what they held could bring the reading under the line; no job is
    /// cancelled for the grace period after. Each is answered 503 with
    /// `Retry-After` by the tower layer.
    WaitingShed {
        /// How many requests were cancelled.
        requests: usize,
        /// What they held: their reservations and their accounts' live bytes.
        bytes: u64,
        /// The breaker's reading then.
        snapshot: BreakerSnapshot,
    },
    /// Observe-only (enforcement off): past the cancel line, the job the
    /// breaker would have cancelled; nothing was cancelled. Once per job.
    WouldCancel {
        /// The job's name, as registered.
        job: String,
        /// The live bytes of its account.
        live_bytes: u64,
        /// The breaker's reading then.
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
            | BreakerEvent::CancelFreed { snapshot, .. }
            | BreakerEvent::CancelFreedTooLittle { snapshot, .. }
            | BreakerEvent::CancelWithheld { snapshot, .. }
            | BreakerEvent::WouldCancel { snapshot, .. }
            | BreakerEvent::WaitingShed { snapshot, .. }
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
    /// The accounts holding the most live bytes (registered jobs and
    /// [watched accounts](crate::MemoryBreaker::watch_account)), most first,
    /// at most three: who holds the memory.
    pub top_accounts: Vec<AccountBytes>,
}

/// An account and the live bytes it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountBytes {
    /// The account's name.
    pub name: String,
    /// Its live bytes when read.
    pub live_bytes: u64,
}

impl std::fmt::Display for AccountBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.name, bytesize::ByteSize(self.live_bytes))
    }
}
