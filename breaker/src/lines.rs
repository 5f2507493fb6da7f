//! A breaker's name, budget and every byte line: the one place the lines
//! are computed from the budget and the percentages (the breaker, its
//! pressure levels and [`ValidConfig`](crate::config::ValidConfig) all read them
//! from here). The budget and lines are atomics: a budget re-resolved while
//! the breaker runs (its cgroup limit changed) moves them.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The percentages of every line, defaults applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Percents {
    pub(crate) trip: f64,
    pub(crate) reset: f64,
    pub(crate) warn: f64,
    pub(crate) cancel: f64,
    /// How far below the warn and cancel lines their levels are left.
    pub(crate) hysteresis: f64,
}

/// Every line of a budget, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineBytes {
    pub(crate) limit: u64,
    pub(crate) trip: u64,
    pub(crate) reset: u64,
    pub(crate) warn: u64,
    pub(crate) warn_clear: u64,
    pub(crate) cancel: u64,
    pub(crate) cancel_clear: u64,
}

impl LineBytes {
    /// The lines of `limit` at `percents`.
    pub(crate) fn of(limit: u64, percents: &Percents) -> Self {
        Self {
            limit,
            trip: share_of(limit, percents.trip),
            reset: share_of(limit, percents.reset),
            warn: share_of(limit, percents.warn),
            warn_clear: share_of(limit, percents.warn - percents.hysteresis),
            cancel: share_of(limit, percents.cancel),
            cancel_clear: share_of(limit, percents.cancel - percents.hysteresis),
        }
    }
}

pub(crate) struct Lines {
    pub(crate) name: String,
    pub(crate) percents: Percents,
    limit: AtomicU64,
    trip: AtomicU64,
    reset: AtomicU64,
    warn: AtomicU64,
    warn_clear: AtomicU64,
    cancel: AtomicU64,
    cancel_clear: AtomicU64,
}

impl Lines {
    pub(crate) fn new(name: String, percents: Percents, limit: u64) -> Self {
        let lines = Self {
            name,
            percents,
            limit: AtomicU64::new(0),
            trip: AtomicU64::new(0),
            reset: AtomicU64::new(0),
            warn: AtomicU64::new(0),
            warn_clear: AtomicU64::new(0),
            cancel: AtomicU64::new(0),
            cancel_clear: AtomicU64::new(0),
        };
        lines.set_limit(limit);
        lines
    }

    #[inline]
    pub(crate) fn limit(&self) -> u64 {
        self.limit.load(Relaxed)
    }

    #[inline]
    pub(crate) fn trip_bytes(&self) -> u64 {
        self.trip.load(Relaxed)
    }

    #[inline]
    pub(crate) fn reset_bytes(&self) -> u64 {
        self.reset.load(Relaxed)
    }

    /// Usage at or above this raises the level to `Warn`.
    #[inline]
    pub(crate) fn warn_bytes(&self) -> u64 {
        self.warn.load(Relaxed)
    }

    /// Below this the warn flag falls.
    #[inline]
    pub(crate) fn warn_clear_bytes(&self) -> u64 {
        self.warn_clear.load(Relaxed)
    }

    /// Usage at or above this raises the level to `Cancel`.
    #[inline]
    pub(crate) fn cancel_bytes(&self) -> u64 {
        self.cancel.load(Relaxed)
    }

    /// Below this the cancel flag falls.
    #[inline]
    pub(crate) fn cancel_clear_bytes(&self) -> u64 {
        self.cancel_clear.load(Relaxed)
    }

    /// Moves the budget and every line. A check running meanwhile may see
    /// some old lines with the new budget for that one check.
    pub(crate) fn set_limit(&self, limit: u64) {
        let bytes = LineBytes::of(limit, &self.percents);
        self.limit.store(bytes.limit, Relaxed);
        self.trip.store(bytes.trip, Relaxed);
        self.reset.store(bytes.reset, Relaxed);
        self.warn.store(bytes.warn, Relaxed);
        self.warn_clear.store(bytes.warn_clear, Relaxed);
        self.cancel.store(bytes.cancel, Relaxed);
        self.cancel_clear.store(bytes.cancel_clear, Relaxed);
    }
}

/// `ceil(limit * percent / 100)`, exact for percentages with up to two
/// decimals (computed in hundredths of a percent, in 128 bits); at least 1.
fn share_of(limit: u64, percent: f64) -> u64 {
    let hundredths = (percent * 100.0).round() as u128;
    let bytes = (u128::from(limit) * hundredths).div_ceil(10_000);
    u64::try_from(bytes).unwrap_or(u64::MAX).max(1)
}

pub(crate) fn percent(bytes: u64, limit: u64) -> f64 {
    bytes as f64 * 100.0 / limit as f64
}

/// The default lines (warn 70%, trip 80%, reset 70%, cancel 95%,
/// hysteresis 5 points) over a budget of 1,000 bytes, for unit tests.
#[cfg(test)]
pub(crate) fn test_lines() -> Lines {
    let percents = Percents {
        trip: 80.0,
        reset: 70.0,
        warn: 70.0,
        cancel: 95.0,
        hysteresis: 5.0,
    };
    Lines::new("test".into(), percents, 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_follows_a_new_budget() {
        let lines = test_lines();
        assert_eq!(
            (lines.warn_bytes(), lines.trip_bytes(), lines.cancel_bytes()),
            (700, 800, 950)
        );
        lines.set_limit(2000);
        assert_eq!(
            (lines.warn_bytes(), lines.trip_bytes(), lines.cancel_bytes()),
            (1400, 1600, 1900)
        );
        assert_eq!(
            (
                lines.reset_bytes(),
                lines.warn_clear_bytes(),
                lines.cancel_clear_bytes()
            ),
            (1400, 1300, 1800)
        );
    }

    #[test]
    fn shares_round_up_and_are_never_zero() {
        assert_eq!(share_of(1000, 80.0), 800);
        assert_eq!(share_of(3, 33.33), 1);
        assert_eq!(share_of(1, 0.01), 1);
        assert_eq!(share_of(u64::MAX, 100.0), u64::MAX);
    }
}
