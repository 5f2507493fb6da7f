//! Pressure levels: how close usage is to the budget, graded as Envoy's
//! overload manager grades its actions: warn, refuse new work, cancel work
//! in flight.
//!
//! The refuse level is the breaker's own state ([`BreakerState`](crate::BreakerState),
//! with its reset line and minimum time in a state). The warn and cancel
//! lines are flags with hysteresis of their own: a flag is raised when usage
//! reaches its line and lowered only once usage falls below the line minus
//! [`level_hysteresis_percent`](crate::BreakerConfig::level_hysteresis_percent),
//! so usage hovering at a line changes the level once, not once per reading.
//!
//! The level is published in one atomic byte, so
//! [`pressure`](crate::MemoryBreaker::pressure) is one load; it is changed
//! only under the breaker's transition lock, recomputed there from the state
//! and both flags, so it never contradicts the state.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};

use crate::lines::share_of;

/// How close a breaker's usage is to its budget, lowest first.
///
/// ```text
///   Normal --(>= warn)--> Warn --(>= trip: refusing)--> Refuse --(>= cancel)--> Cancel
///   each level is left only below its own lower line:
///   warn - hysteresis, the reset line, cancel - hysteresis
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PressureLevel {
    /// Below the warn line: nothing to do.
    Normal,
    /// At or past the warn line (default 70%): shed optional work, log.
    Warn,
    /// The breaker refuses new work (default from 80% until below 70%).
    Refuse,
    /// At or past the cancel line (default 95%): the breaker cancels the
    /// registered job holding the most memory.
    Cancel,
}

impl PressureLevel {
    /// The level's name in logs and reports: `normal`, `warn`, `refuse`, `cancel`.
    pub fn as_str(self) -> &'static str {
        match self {
            PressureLevel::Normal => "normal",
            PressureLevel::Warn => "warn",
            PressureLevel::Refuse => "refuse",
            PressureLevel::Cancel => "cancel",
        }
    }

    fn from_u8(value: u8) -> Self {
        match value {
            0 => PressureLevel::Normal,
            1 => PressureLevel::Warn,
            2 => PressureLevel::Refuse,
            _ => PressureLevel::Cancel,
        }
    }
}

impl fmt::Display for PressureLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const WARN_FLAG: u8 = 1;
const CANCEL_FLAG: u8 = 2;

/// The percentages of the warn and cancel lines, defaults applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LevelPercents {
    pub(crate) warn: f64,
    pub(crate) cancel: f64,
    pub(crate) hysteresis: f64,
}

/// The byte lines of the warn and cancel flags: atomics, so a budget
/// re-resolved while the breaker runs moves them with the trip line.
#[derive(Debug)]
pub(crate) struct Lines {
    percents: LevelPercents,
    warn: AtomicU64,
    warn_clear: AtomicU64,
    cancel: AtomicU64,
    cancel_clear: AtomicU64,
}

impl Lines {
    pub(crate) fn new(percents: LevelPercents, limit: u64) -> Self {
        let lines = Self {
            percents,
            warn: AtomicU64::new(0),
            warn_clear: AtomicU64::new(0),
            cancel: AtomicU64::new(0),
            cancel_clear: AtomicU64::new(0),
        };
        lines.set_limit(limit);
        lines
    }

    /// Moves the lines to a new budget.
    pub(crate) fn set_limit(&self, limit: u64) {
        let p = self.percents;
        self.warn.store(share_of(limit, p.warn), Relaxed);
        self.warn_clear
            .store(share_of(limit, p.warn - p.hysteresis), Relaxed);
        self.cancel.store(share_of(limit, p.cancel), Relaxed);
        self.cancel_clear
            .store(share_of(limit, p.cancel - p.hysteresis), Relaxed);
    }

    /// Usage at or above this raises the level to `Warn`.
    #[inline]
    pub(crate) fn warn(&self) -> u64 {
        self.warn.load(Relaxed)
    }

    /// Usage at or above this raises the level to `Cancel`.
    pub(crate) fn cancel(&self) -> u64 {
        self.cancel.load(Relaxed)
    }
}

/// The published level and the two hysteresis flags behind it.
#[derive(Debug)]
pub(crate) struct Levels {
    pub(crate) lines: Lines,
    flags: AtomicU8,
    published: AtomicU8,
}

impl Levels {
    pub(crate) fn new(lines: Lines) -> Self {
        Self {
            lines,
            flags: AtomicU8::new(0),
            published: AtomicU8::new(PressureLevel::Normal as u8),
        }
    }

    /// The published level: one relaxed load.
    #[inline]
    pub(crate) fn current(&self) -> PressureLevel {
        PressureLevel::from_u8(self.published.load(Relaxed))
    }

    /// Whether the published level is `Normal` (the check fast path's test).
    #[inline]
    pub(crate) fn is_normal(&self) -> bool {
        self.published.load(Relaxed) == PressureLevel::Normal as u8
    }

    /// The flags after a reading of `total` bytes.
    fn next_flags(&self, flags: u8, total: u64) -> u8 {
        let mut next = flags;
        let lines = &self.lines;
        if total >= lines.warn.load(Relaxed) {
            next |= WARN_FLAG;
        } else if total < lines.warn_clear.load(Relaxed) {
            next &= !WARN_FLAG;
        }
        if total >= lines.cancel.load(Relaxed) {
            next |= CANCEL_FLAG;
        } else if total < lines.cancel_clear.load(Relaxed) {
            next &= !CANCEL_FLAG;
        }
        next
    }

    fn level(flags: u8, refusing: bool) -> PressureLevel {
        if flags & CANCEL_FLAG != 0 {
            PressureLevel::Cancel
        } else if refusing {
            PressureLevel::Refuse
        } else if flags & WARN_FLAG != 0 {
            PressureLevel::Warn
        } else {
            PressureLevel::Normal
        }
    }

    /// Whether a reading of `total` would change the published level.
    /// Lock-free; a `true` is confirmed by [`update`](Self::update) under
    /// the transition lock.
    #[inline]
    pub(crate) fn would_change(&self, total: u64, refusing: bool) -> bool {
        let flags = self.next_flags(self.flags.load(Relaxed), total);
        Self::level(flags, refusing) as u8 != self.published.load(Relaxed)
    }

    /// Applies a reading of `total`; returns `(from, to)` if the level
    /// changed. Call only under the breaker's transition lock.
    pub(crate) fn update(
        &self,
        total: u64,
        refusing: bool,
    ) -> Option<(PressureLevel, PressureLevel)> {
        let flags = self.next_flags(self.flags.load(Relaxed), total);
        self.flags.store(flags, Relaxed);
        let to = Self::level(flags, refusing);
        let from = PressureLevel::from_u8(self.published.swap(to as u8, Relaxed));
        (from != to).then_some((from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels() -> Levels {
        let percents = LevelPercents {
            warn: 70.0,
            cancel: 95.0,
            hysteresis: 5.0,
        };
        Levels::new(Lines::new(percents, 1000))
    }

    #[test]
    fn each_flag_rises_at_its_line_and_falls_below_its_clear_line() {
        let levels = levels();
        assert_eq!(levels.update(699, false), None);
        assert_eq!(
            levels.update(700, false),
            Some((PressureLevel::Normal, PressureLevel::Warn))
        );
        // Hovering between the clear line and the line changes nothing.
        for total in [699, 650, 700, 651] {
            assert!(!levels.would_change(total, false));
            assert_eq!(levels.update(total, false), None);
        }
        assert_eq!(
            levels.update(649, false),
            Some((PressureLevel::Warn, PressureLevel::Normal))
        );
        assert_eq!(
            levels.update(950, true),
            Some((PressureLevel::Normal, PressureLevel::Cancel))
        );
        for total in [949, 900, 950] {
            assert_eq!(levels.update(total, true), None);
        }
        assert_eq!(
            levels.update(899, true),
            Some((PressureLevel::Cancel, PressureLevel::Refuse))
        );
        assert_eq!(
            levels.update(10, false),
            Some((PressureLevel::Refuse, PressureLevel::Normal))
        );
        assert_eq!(levels.current(), PressureLevel::Normal);
    }

    #[test]
    fn levels_order_by_severity() {
        assert!(PressureLevel::Normal < PressureLevel::Warn);
        assert!(PressureLevel::Warn < PressureLevel::Refuse);
        assert!(PressureLevel::Refuse < PressureLevel::Cancel);
        assert_eq!(PressureLevel::Cancel.to_string(), "cancel");
    }
}

#[cfg(test)]
mod moving_budget {
    use super::*;

    #[test]
    fn lines_follow_a_new_budget() {
        let percents = LevelPercents {
            warn: 70.0,
            cancel: 95.0,
            hysteresis: 5.0,
        };
        let lines = Lines::new(percents, 1000);
        assert_eq!((lines.warn(), lines.cancel()), (700, 950));
        lines.set_limit(2000);
        assert_eq!((lines.warn(), lines.cancel()), (1400, 1900));
    }
}
