//! A breaker's name, budget and lines: what a [`Usage`](crate::Usage) and a
//! refusal report, held apart from the rest of the breaker so both can read
//! them. The budget and lines are atomics: a budget re-resolved while the
//! breaker runs (its cgroup limit changed) moves them.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub(crate) struct Lines {
    pub(crate) name: String,
    pub(crate) trip_percent: f64,
    pub(crate) reset_percent: f64,
    limit: AtomicU64,
    trip_bytes: AtomicU64,
    reset_bytes: AtomicU64,
}

impl Lines {
    pub(crate) fn new(name: String, trip_percent: f64, reset_percent: f64, limit: u64) -> Self {
        let lines = Self {
            name,
            trip_percent,
            reset_percent,
            limit: AtomicU64::new(0),
            trip_bytes: AtomicU64::new(0),
            reset_bytes: AtomicU64::new(0),
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
        self.trip_bytes.load(Relaxed)
    }

    #[inline]
    pub(crate) fn reset_bytes(&self) -> u64 {
        self.reset_bytes.load(Relaxed)
    }

    /// Moves the budget and both lines. A check running meanwhile may see
    /// the old trip line with the new budget for that one check.
    pub(crate) fn set_limit(&self, limit: u64) {
        self.limit.store(limit, Relaxed);
        self.trip_bytes
            .store(share_of(limit, self.trip_percent), Relaxed);
        self.reset_bytes
            .store(share_of(limit, self.reset_percent), Relaxed);
    }
}

/// `ceil(limit * percent / 100)`, exact for percentages with up to two
/// decimals (computed in hundredths of a percent, in 128 bits); at least 1.
pub(crate) fn share_of(limit: u64, percent: f64) -> u64 {
    let hundredths = (percent * 100.0).round() as u128;
    let bytes = (u128::from(limit) * hundredths).div_ceil(10_000);
    u64::try_from(bytes).unwrap_or(u64::MAX).max(1)
}

pub(crate) fn percent(bytes: u64, limit: u64) -> f64 {
    bytes as f64 * 100.0 / limit as f64
}
