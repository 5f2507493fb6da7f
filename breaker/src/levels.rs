//! The published pressure level: how [`PressureLevel`]s move.
//!
//! The level and both flags are published in one atomic byte, so
//! [`pressure`](crate::MemoryBreaker::pressure) is one load, and a reading
//! moves them with one compare-and-swap (no lock): the next flags and level
//! come from [`decide`](crate::decide), the breaker's one transition
//! function, from the state as it is after the reading's state change.

use std::sync::atomic::Ordering::Relaxed;

use crate::decide;
use crate::lines::Lines;
use crate::pressure::PressureLevel;
use crate::primitive::AtomicU8;

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
}
