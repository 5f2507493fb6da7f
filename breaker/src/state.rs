//! The two states of a breaker.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::primitive::AtomicU64;

/// Whether a breaker takes new work.
///
/// ```text
///              usage >= trip line (and min_state_duration in Accepting,
///              or usage >= 100% of the budget)
///   Accepting ---------------------------------------------> Refusing
///       ^                                                        |
///       +--------------------------------------------------------+
///              usage < reset line and min_state_duration in Refusing
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Checks pass and reservations are granted while they fit under the trip line.
    Accepting,
    /// Checks and reservations fail with [`Tripped`](crate::Tripped).
    Refusing,
}

/// The state (bit 0) and the clock time of its last change (the rest:
/// nanoseconds + 1, 0 for never) in one atomic word, so a change is one
/// compare-and-swap: two readings can never both change the state from
/// one word, and the minimum time in a state is measured from the change
/// the swap saw.
#[derive(Debug, Default)]
pub(crate) struct StateCell {
    word: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StateWord(u64);

impl StateWord {
    #[inline]
    pub(crate) fn state(self) -> BreakerState {
        if self.0 & 1 == 0 {
            BreakerState::Accepting
        } else {
            BreakerState::Refusing
        }
    }

    /// Time since the last change, `None` if it never changed.
    pub(crate) fn since_change(self, now: Duration) -> Option<Duration> {
        let stamp = self.0 >> 1;
        (stamp != 0).then(|| now.saturating_sub(Duration::from_nanos(stamp - 1)))
    }

    /// The other state, changed at `now`.
    fn flipped(self, now: Duration) -> Self {
        let nanos = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        let stamp = nanos.min((u64::MAX >> 1) - 1) + 1;
        StateWord((stamp << 1) | ((self.0 & 1) ^ 1))
    }
}

impl StateCell {
    #[inline]
    pub(crate) fn load(&self) -> StateWord {
        StateWord(self.word.load(Relaxed))
    }

    #[inline]
    pub(crate) fn state(&self) -> BreakerState {
        self.load().state()
    }

    /// Changes to the other state at `now` if the word is still `seen`.
    pub(crate) fn flip(&self, seen: StateWord, now: Duration) -> bool {
        self.word
            .compare_exchange(seen.0, seen.flipped(now).0, Relaxed, Relaxed)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flip_changes_the_state_once_and_stamps_it() {
        let cell = StateCell::default();
        let seen = cell.load();
        assert_eq!(seen.state(), BreakerState::Accepting);
        assert_eq!(seen.since_change(Duration::from_secs(3)), None);
        assert!(cell.flip(seen, Duration::from_secs(2)));
        assert!(!cell.flip(seen, Duration::from_secs(2)), "already moved");
        let now = cell.load();
        assert_eq!(now.state(), BreakerState::Refusing);
        assert_eq!(
            now.since_change(Duration::from_secs(3)),
            Some(Duration::from_secs(1))
        );
        assert!(cell.flip(now, Duration::from_secs(4)));
        assert_eq!(cell.state(), BreakerState::Accepting);
    }
}
