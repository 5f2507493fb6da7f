//! What a check answers: the usage when work may go ahead, [`Tripped`] when not.

use std::fmt;
use std::time::Duration;

use bytesize::ByteSize;

use std::sync::Arc;

use crate::event::AccountBytes;
use crate::jobs::Jobs;
use crate::lines::{percent, Lines};
use heapguard_reading::SourceError;

/// A breaker's reading when it accepted: what [`check`](crate::MemoryBreaker::check) returns.
///
/// Borrowed from the breaker (the name is not copied), so a check allocates
/// nothing.
#[derive(Clone, Copy)]
pub struct Usage<'a> {
    // Three words: the fast path returns it in registers-sized pieces.
    pub(crate) lines: &'a Lines,
    pub(crate) used: u64,
    pub(crate) reserved: u64,
}

impl<'a> Usage<'a> {
    /// The breaker's name.
    pub fn breaker(&self) -> &'a str {
        &self.lines.name
    }

    /// Bytes in use as the breaker's source read them (0 for a child
    /// breaker that counts only reservations).
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Bytes held by reservations.
    pub fn reserved(&self) -> u64 {
        self.reserved
    }

    /// `used + reserved`: what the thresholds are compared with.
    pub fn total(&self) -> u64 {
        self.used.saturating_add(self.reserved)
    }

    /// The budget, in bytes.
    pub fn limit(&self) -> u64 {
        self.lines.limit()
    }

    /// `total / limit`, in percent.
    pub fn percent(&self) -> f64 {
        percent(self.total(), self.limit())
    }
}

impl fmt::Debug for Usage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Usage")
            .field("breaker", &self.breaker())
            .field("used", &self.used)
            .field("reserved", &self.reserved)
            .field("limit", &self.limit())
            .finish()
    }
}

impl PartialEq for Usage<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.lines, other.lines)
            && self.used == other.used
            && self.reserved == other.reserved
    }
}

impl Eq for Usage<'_> {}

/// Why a breaker refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum TripCause {
    /// Usage reached the trip line, or has not yet fallen below the reset line.
    OverThreshold,
    /// Usage is below the reset line, but the breaker changed state too
    /// recently to change again (`min_state_duration`).
    MinStateDuration {
        /// Time until it may reset.
        remaining: Duration,
    },
    /// This reservation would take usage to the trip line.
    Reservation {
        /// The bytes asked for.
        requested: u64,
    },
    /// The child breaker this reservation belongs to was dropped.
    Released,
    /// The breaker's source could not be read; it refuses rather than guess.
    Source(SourceError),
}

/// A refusal: the breaker is over its line, or a reservation would take it there.
///
/// Carries the numbers a person needs to act: which breaker, used and
/// reserved bytes, the budget, and the lines. One pointer wide, so a
/// `Result<_, Tripped>` stays small on the fast path.
#[derive(Debug)]
pub struct Tripped {
    details: Box<Details>,
}

#[derive(Debug)]
pub(crate) struct Details {
    pub(crate) breaker: String,
    pub(crate) used: u64,
    pub(crate) reserved: u64,
    pub(crate) limit: u64,
    pub(crate) trip_percent: f64,
    pub(crate) reset_percent: f64,
    pub(crate) cause: TripCause,
    /// The refusing breaker's known accounts, read when asked.
    pub(crate) jobs: Arc<Jobs>,
}

impl From<Details> for Tripped {
    fn from(details: Details) -> Self {
        Self {
            details: Box::new(details),
        }
    }
}

impl Tripped {
    /// The name of the breaker that refused (a child's name when the child refused).
    pub fn breaker(&self) -> &str {
        &self.details.breaker
    }

    /// Bytes in use as the breaker's source read them.
    pub fn used(&self) -> u64 {
        self.details.used
    }

    /// Bytes held by reservations when it refused.
    pub fn reserved(&self) -> u64 {
        self.details.reserved
    }

    /// The budget, in bytes.
    pub fn limit(&self) -> u64 {
        self.details.limit
    }

    /// `(used + reserved) / limit`, in percent (without the refused reservation).
    pub fn percent(&self) -> f64 {
        percent(
            self.details.used.saturating_add(self.details.reserved),
            self.details.limit,
        )
    }

    /// The trip line, in percent of the budget.
    pub fn trip_percent(&self) -> f64 {
        self.details.trip_percent
    }

    /// Why it refused.
    pub fn cause(&self) -> &TripCause {
        &self.details.cause
    }

    /// Who holds the memory: the refusing breaker's known accounts
    /// (registered jobs, [watched accounts](crate::MemoryBreaker::watch_account))
    /// holding the most live bytes, most first, at most three. Read when
    /// called, not at the refusal (so a refused check takes no lock); the
    /// error's `Display` lists them.
    pub fn top_accounts(&self) -> Vec<AccountBytes> {
        self.details.jobs.top_accounts()
    }
}

impl fmt::Display for Tripped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_cause(f)?;
        let top = self.top_accounts();
        if !top.is_empty() && !matches!(self.details.cause, TripCause::Released) {
            let names: Vec<String> = top.iter().map(ToString::to_string).collect();
            write!(f, "; largest accounts: {}", names.join(", "))?;
        }
        Ok(())
    }
}

impl Tripped {
    fn fmt_cause(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, used, reserved, limit) = (
            &self.details.breaker,
            ByteSize(self.details.used),
            ByteSize(self.details.reserved),
            ByteSize(self.details.limit),
        );
        let share = self.percent();
        let lines = format_args!(
            "trips at {}%, resets below {}%",
            self.details.trip_percent, self.details.reset_percent
        );
        match &self.details.cause {
            TripCause::OverThreshold => write!(
                f,
                "memory breaker `{name}` is refusing new work: {used} used + {reserved} reserved \
                 = {share:.1}% of its {limit} budget ({lines}); finish or shed running work, \
                 free memory, or raise the budget"
            ),
            TripCause::MinStateDuration { remaining } => write!(
                f,
                "memory breaker `{name}` is refusing new work for {} more: usage fell \
                 to {share:.1}% of its {limit} budget ({lines}), but it tripped too recently \
                 to reset yet",
                Readable(*remaining),
            ),
            TripCause::Reservation { requested } => write!(
                f,
                "memory breaker `{name}` refused a reservation of {}: {used} used + {reserved} \
                 reserved + the request would reach {:.1}% of its {limit} budget ({lines}); \
                 reserve less (a smaller batch) or wait for other work to finish",
                ByteSize(*requested),
                percent(
                    self.details.used
                        .saturating_add(self.details.reserved)
                        .saturating_add(*requested),
                    self.details.limit
                ),
            ),
            TripCause::Released => write!(
                f,
                "memory breaker `{name}` was released (dropped); its reservations can no longer grow"
            ),
            TripCause::Source(error) => write!(
                f,
                "memory breaker `{name}` is refusing new work because it cannot read memory usage: {error}"
            ),
        }
    }
}

impl std::error::Error for Tripped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.details.cause {
            TripCause::Source(error) => Some(error),
            _ => None,
        }
    }
}

/// A duration as a person reads it in a message: whole milliseconds below
/// 10 s (`971 ms`, never Rust's `970.727391ms`; `less than 1 ms` for what
/// rounds to none), tenths of a second from there (`12.5 s`).
struct Readable(Duration);

impl fmt::Display for Readable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = (self.0.as_secs_f64() * 1000.0).round();
        if millis < 1.0 {
            f.write_str("less than 1 ms")
        } else if millis < 10_000.0 {
            write!(f, "{millis:.0} ms")
        } else {
            write!(f, "{:.1} s", self.0.as_secs_f64())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Readable;
    use std::time::Duration;

    #[test]
    fn durations_read_in_whole_milliseconds_then_tenths_of_a_second() {
        for (nanos, shown) in [
            (0, "less than 1 ms"),
            (499_999, "less than 1 ms"),
            (500_000, "1 ms"),
            (970_727_391, "971 ms"),
            (9_999_499_999, "9999 ms"),
            (9_999_500_000, "10.0 s"),
            (12_540_000_000, "12.5 s"),
        ] {
            assert_eq!(Readable(Duration::from_nanos(nanos)).to_string(), shown);
        }
    }
}
