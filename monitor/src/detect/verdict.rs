use serde::Serialize;
use std::time::Duration;

/// Why the trend detector suspects a leak.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LeakVerdict {
    /// Time of the newest point tested, seconds.
    pub t_secs: f64,
    /// Theil-Sen slope, bytes per minute.
    pub slope_bytes_per_min: f64,
    /// Mann-Kendall confidence that the series increases (0 to 1).
    pub confidence: f64,
    /// The fitted line's value at `t_secs`, bytes.
    pub level_bytes: u64,
    /// Points tested (all after the newest change point).
    pub points: usize,
    /// Time covered by the tested points, seconds.
    pub span_secs: f64,
    /// Seconds until the fitted line reaches the budget (0 when already
    /// there); `None` without a budget.
    pub time_to_budget_secs: Option<f64>,
}

impl LeakVerdict {
    /// [`time_to_budget_secs`](Self::time_to_budget_secs) as a duration:
    /// `None` without a budget or when the figure is not a number; zero for
    /// a negative figure; [`Duration::MAX`] for one too large for a
    /// `Duration`. Never panics.
    pub fn time_to_budget(&self) -> Option<Duration> {
        let secs = self.time_to_budget_secs?;
        if secs.is_nan() {
            return None;
        }
        Some(Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX))
    }
}

/// A level shift: memory stepped to a new level at a change point and grew
/// no further after it (a service loading a larger data set once).
/// Informational: it explains growth that is not a leak.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LevelShiftVerdict {
    /// Time of the newest point tested, seconds.
    pub t_secs: f64,
    /// Time of the first point after the shift, seconds.
    pub at_secs: f64,
    /// The size of the shift, bytes: the jump between the lines fitted
    /// before and after the change point, at the change point (not a slope
    /// times a span, which overstates a step).
    pub shift_bytes: f64,
    /// The median of the points after the shift, bytes.
    pub level_bytes: u64,
    /// Points after the shift.
    pub points_after: usize,
}

/// Growth that slows down: a cache or pool filling towards its ceiling.
/// Informational: it explains growth that is not a leak.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SaturationVerdict {
    /// Time of the newest point tested, seconds.
    pub t_secs: f64,
    /// Least-squares slope of the older half of the points since the newest
    /// change point, bytes per minute.
    pub slope_older_bytes_per_min: f64,
    /// Least-squares slope of the newer half, bytes per minute (0 or below
    /// when growth has stopped).
    pub slope_newer_bytes_per_min: f64,
    /// How far the newer slope is below the older one, in standard errors
    /// of their difference (0 when growth stopped at a change point).
    pub deceleration_z: f64,
    /// Points since the newest change point.
    pub points: usize,
}
