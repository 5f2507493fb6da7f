//! The trend detector's state after each reading, as numbers: what the
//! `metrics` feature exports as gauges and `heapguard-replay --gauges`
//! prints, under the same names (this file owns them).

use crate::detect::TrendDetector;
use serde::Serialize;

/// Gauge names, with what each holds.
pub mod names {
    /// 1 while the trend detector suspects a leak, else 0.
    pub const LEAK_SUSPECTED: &str = "heapguard_leak_suspected";
    /// The suspected leak's slope, bytes per second (0 without one).
    pub const LEAK_SLOPE: &str = "heapguard_leak_slope_bytes_per_second";
    /// The suspected leak's confidence, 0 to 1 (0 without one).
    pub const LEAK_CONFIDENCE: &str = "heapguard_leak_confidence";
    /// Seconds until the suspected leak's fitted line reaches the budget
    /// (+Inf without a leak or a budget).
    pub const LEAK_SECONDS_TO_BUDGET: &str = "heapguard_leak_seconds_to_budget";
    /// 1 during the detector's warm-up (after the start or a restart),
    /// else 0.
    pub const WARMING_UP: &str = "heapguard_detector_warming_up";
    /// 1 once recurring drops are recognised as a cycle, else 0.
    pub const CYCLING: &str = "heapguard_detector_cycling";
    /// The size of the newest level shift reported, bytes (0 before any).
    pub const LEVEL_SHIFT_BYTES: &str = "heapguard_level_shift_bytes";
    /// When the newest level shift reported happened (its first point
    /// after the jump), Unix seconds for a running monitor, the series'
    /// own clock in a replay (0 before any).
    pub const LEVEL_SHIFT_TIMESTAMP: &str = "heapguard_level_shift_timestamp_seconds";
}

/// The trend detector's state after a reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DetectorGauges {
    /// Time of the reading, seconds (the series' clock).
    pub t_secs: f64,
    /// Whether a leak is suspected.
    pub leak_suspected: bool,
    /// The suspected leak's slope, bytes per second (0 without one).
    pub leak_slope_bytes_per_second: f64,
    /// The suspected leak's confidence (0 without one).
    pub leak_confidence: f64,
    /// Seconds until the suspected leak reaches the budget; `None` without
    /// a leak or a budget.
    pub leak_seconds_to_budget: Option<f64>,
    /// Whether the detector is warming up.
    pub warming_up: bool,
    /// Whether recurring drops are recognised as a cycle.
    pub cycling: bool,
    /// The newest level shift reported: its size, bytes, and its time,
    /// seconds (the series' clock); `None` before any.
    pub level_shift: Option<(f64, f64)>,
}

impl DetectorGauges {
    /// The state of `detector` after the reading at `t_secs`.
    pub fn of(detector: &TrendDetector, t_secs: f64) -> Self {
        let verdict = detector.verdict();
        Self {
            t_secs,
            leak_suspected: detector.is_suspected(),
            leak_slope_bytes_per_second: verdict.map_or(0.0, |v| v.slope_bytes_per_min / 60.0),
            leak_confidence: verdict.map_or(0.0, |v| v.confidence),
            leak_seconds_to_budget: verdict.and_then(|v| v.time_to_budget_secs),
            warming_up: detector.is_warming_up(),
            cycling: detector.is_cycling(),
            level_shift: detector
                .last_level_shift()
                .map(|shift| (shift.shift_bytes, shift.at_secs)),
        }
    }

    /// Each gauge's name and value, with times moved by `origin_secs`
    /// (the Unix time of the series' 0 for a running monitor; 0 in a
    /// replay).
    pub fn values(&self, origin_secs: f64) -> [(&'static str, f64); 8] {
        let flag = |on: bool| if on { 1.0 } else { 0.0 };
        let (shift_bytes, shift_at) = self
            .level_shift
            .map_or((0.0, 0.0), |(bytes, at)| (bytes, origin_secs + at));
        [
            (names::LEAK_SUSPECTED, flag(self.leak_suspected)),
            (names::LEAK_SLOPE, self.leak_slope_bytes_per_second),
            (names::LEAK_CONFIDENCE, self.leak_confidence),
            (
                names::LEAK_SECONDS_TO_BUDGET,
                self.leak_seconds_to_budget.unwrap_or(f64::INFINITY),
            ),
            (names::WARMING_UP, flag(self.warming_up)),
            (names::CYCLING, flag(self.cycling)),
            (names::LEVEL_SHIFT_BYTES, shift_bytes),
            (names::LEVEL_SHIFT_TIMESTAMP, shift_at),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::{names, DetectorGauges};

    #[test]
    fn values_name_every_gauge_once_with_its_value() {
        let gauges = DetectorGauges {
            t_secs: 120.0,
            leak_suspected: true,
            leak_slope_bytes_per_second: 1000.0,
            leak_confidence: 0.995,
            leak_seconds_to_budget: None,
            warming_up: false,
            cycling: true,
            level_shift: Some((5e7, 60.0)),
        };
        let values = gauges.values(1_700_000_000.0);
        assert_eq!(
            values,
            [
                (names::LEAK_SUSPECTED, 1.0),
                (names::LEAK_SLOPE, 1000.0),
                (names::LEAK_CONFIDENCE, 0.995),
                (names::LEAK_SECONDS_TO_BUDGET, f64::INFINITY),
                (names::WARMING_UP, 0.0),
                (names::CYCLING, 1.0),
                (names::LEVEL_SHIFT_BYTES, 5e7),
                (names::LEVEL_SHIFT_TIMESTAMP, 1_700_000_060.0),
            ]
        );
        let mut names: Vec<&str> = values.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), values.len());
    }
}
