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
    /// Points tested.
    pub points: usize,
    /// Time covered by the tested points, seconds.
    pub span_secs: f64,
    /// Seconds until the fitted line reaches the budget (0 when already
    /// there); `None` without a budget.
    pub time_to_budget_secs: Option<f64>,
}

impl LeakVerdict {
    /// [`time_to_budget_secs`](Self::time_to_budget_secs) as a duration.
    pub fn time_to_budget(&self) -> Option<Duration> {
        self.time_to_budget_secs.map(Duration::from_secs_f64)
    }
}
