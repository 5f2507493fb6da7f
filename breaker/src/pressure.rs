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
//! The level and both flags are published in one atomic byte, so
//! [`pressure`](crate::MemoryBreaker::pressure) is one load, and a reading
//! moves them with one compare-and-swap (no lock): the next flags and level
//! come from [`decide`](crate::decide), the breaker's one transition
//! function, from the state as it is after the reading's state change.

use std::fmt;
use std::sync::atomic::Ordering::Relaxed;

use crate::decide;
use crate::lines::Lines;
use crate::primitive::AtomicU8;

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

    pub(crate) fn from_u8(value: u8) -> Self {
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

/// The published level (bits 2-3) and the warn and cancel flags (bits 0-1)
/// in one atomic byte.
#[derive(Debug, Default)]
pub(crate) struct Levels {
    word: AtomicU8,
}

const FLAGS: u8 = 0b11;

impl Levels {
    /// The published level: one relaxed load.
    #[inline]
    pub(crate) fn current(&self) -> PressureLevel {
        PressureLevel::from_u8(self.word.load(Relaxed) >> 2)
    }

    /// Whether the published level is `Normal` (the check fast path's test).
    #[inline]
    pub(crate) fn is_normal(&self) -> bool {
        self.word.load(Relaxed) >> 2 == PressureLevel::Normal as u8
    }

    /// Applies a reading of `total` bytes with the breaker `refusing` or
    /// not; returns `(from, to)` if the published level changed. Lock-free:
    /// a compare-and-swap, retried if another reading moved it meanwhile;
    /// nothing is written when nothing changes.
    #[inline]
    pub(crate) fn update(
        &self,
        total: u64,
        refusing: bool,
        lines: &Lines,
    ) -> Option<(PressureLevel, PressureLevel)> {
        let mut word = self.word.load(Relaxed);
        loop {
            let flags = decide::next_flags(word & FLAGS, total, lines);
            let to = decide::level(flags, refusing);
            let next = flags | (to as u8) << 2;
            if next == word {
                return None;
            }
            match self
                .word
                .compare_exchange_weak(word, next, Relaxed, Relaxed)
            {
                Ok(_) => {
                    let from = PressureLevel::from_u8(word >> 2);
                    return (from != to).then_some((from, to));
                }
                Err(current) => word = current,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::lines::test_lines as lines;

    #[test]
    fn each_flag_rises_at_its_line_and_falls_below_its_clear_line() {
        let (levels, lines) = (Levels::default(), lines());
        assert_eq!(levels.update(699, false, &lines), None);
        assert_eq!(
            levels.update(700, false, &lines),
            Some((PressureLevel::Normal, PressureLevel::Warn))
        );
        // Hovering between the clear line and the line changes nothing.
        for total in [699, 650, 700, 651] {
            assert_eq!(levels.update(total, false, &lines), None);
        }
        assert_eq!(
            levels.update(649, false, &lines),
            Some((PressureLevel::Warn, PressureLevel::Normal))
        );
        assert_eq!(
            levels.update(950, true, &lines),
            Some((PressureLevel::Normal, PressureLevel::Cancel))
        );
        for total in [949, 900, 950] {
            assert_eq!(levels.update(total, true, &lines), None);
        }
        assert_eq!(
            levels.update(899, true, &lines),
            Some((PressureLevel::Cancel, PressureLevel::Refuse))
        );
        assert_eq!(
            levels.update(10, false, &lines),
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
