//! The breaker's one transition function: from a reading (`used +
//! reserved` bytes), the state, the flags and the time since the last state
//! change, what the state and the pressure level become. `check()`,
//! reservations, [`refresh`](crate::MemoryBreaker::refresh) and the
//! refresher thread all decide here (through `Inner::step`); they differ
//! only in what they do with the verdict (a check counts a refusal, the
//! refresher acts at the cancel line).
//!
//! ```text
//!   Accepting -> Refusing  at total >= trip, once min_state_duration has
//!                          passed since the last change (at once at total >= limit)
//!   Refusing -> Accepting  at total < reset, once min_state_duration has passed
//!   warn flag    rises at total >= warn,   falls at total < warn - hysteresis
//!   cancel flag  rises at total >= cancel, falls at total < cancel - hysteresis
//!   level        Cancel if the cancel flag, else Refuse if refusing,
//!                else Warn if the warn flag, else Normal
//! ```
//!
//! A purge (then a fresh reading) comes before a decision that would trip
//! or keep refusing: [`wants_purge`].

use std::time::Duration;

use crate::lines::Lines;
use crate::pressure::PressureLevel;
use crate::state::BreakerState;

pub(crate) const WARN_FLAG: u8 = 1;
pub(crate) const CANCEL_FLAG: u8 = 2;

/// What a reading does to the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateChange {
    /// The state stays.
    Stay,
    /// The state changes to the other one.
    Change,
    /// The bytes would change it, but the last change was under
    /// `min_state_duration` ago: this much longer.
    Held { remaining: Duration },
}

/// Whether a purge and a fresh reading should come first: the reading would
/// trip the breaker, or keep it refusing.
#[inline]
pub(crate) fn wants_purge(state: BreakerState, total: u64, lines: &Lines) -> bool {
    match state {
        BreakerState::Accepting => total >= lines.trip_bytes(),
        BreakerState::Refusing => total >= lines.reset_bytes(),
    }
}

/// Whether the bytes alone ask for a state change (no clock needed to say no).
#[inline]
pub(crate) fn bytes_change_state(state: BreakerState, total: u64, lines: &Lines) -> bool {
    match state {
        BreakerState::Accepting => total >= lines.trip_bytes(),
        BreakerState::Refusing => total < lines.reset_bytes(),
    }
}

/// The state change a reading of `total` makes, `since_change` after the
/// last change (`None`: never changed).
pub(crate) fn next_state(
    state: BreakerState,
    total: u64,
    lines: &Lines,
    since_change: Option<Duration>,
    min_state_duration: Duration,
) -> StateChange {
    if !bytes_change_state(state, total, lines) {
        return StateChange::Stay;
    }
    // A reading at the whole budget trips at once, whatever the timing.
    if state == BreakerState::Accepting && total >= lines.limit() {
        return StateChange::Change;
    }
    match since_change {
        Some(elapsed) if elapsed < min_state_duration => StateChange::Held {
            remaining: min_state_duration - elapsed,
        },
        _ => StateChange::Change,
    }
}

/// The warn and cancel flags after a reading of `total` bytes.
#[inline]
pub(crate) fn next_flags(flags: u8, total: u64, lines: &Lines) -> u8 {
    let mut next = flags;
    if total >= lines.warn_bytes() {
        next |= WARN_FLAG;
    } else if total < lines.warn_clear_bytes() {
        next &= !WARN_FLAG;
    }
    if total >= lines.cancel_bytes() {
        next |= CANCEL_FLAG;
    } else if total < lines.cancel_clear_bytes() {
        next &= !CANCEL_FLAG;
    }
    next
}

/// The level the flags and the state make.
#[inline]
pub(crate) fn level(flags: u8, refusing: bool) -> PressureLevel {
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::lines::test_lines as lines;

    #[test]
    fn the_state_changes_at_its_lines_after_the_minimum_time() {
        let (lines, min) = (lines(), Duration::from_secs(1));
        let accepting = BreakerState::Accepting;
        let refusing = BreakerState::Refusing;
        let long = Some(Duration::from_secs(5));
        assert_eq!(
            next_state(accepting, 799, &lines, long, min),
            StateChange::Stay
        );
        assert_eq!(
            next_state(accepting, 800, &lines, None, min),
            StateChange::Change
        );
        assert_eq!(
            next_state(
                accepting,
                800,
                &lines,
                Some(Duration::from_millis(400)),
                min
            ),
            StateChange::Held {
                remaining: Duration::from_millis(600)
            }
        );
        assert_eq!(
            next_state(accepting, 1000, &lines, Some(Duration::ZERO), min),
            StateChange::Change,
            "the whole budget trips at once"
        );
        assert_eq!(
            next_state(refusing, 700, &lines, long, min),
            StateChange::Stay
        );
        assert_eq!(
            next_state(refusing, 699, &lines, long, min),
            StateChange::Change
        );
        assert!(wants_purge(refusing, 700, &lines));
        assert!(!wants_purge(accepting, 799, &lines));
    }
}
