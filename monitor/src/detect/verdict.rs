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

#[cfg(test)]
mod tests {
    use super::LeakVerdict;
    use proptest::prelude::*;
    use std::time::Duration;

    fn verdict(time_to_budget_secs: Option<f64>) -> LeakVerdict {
        LeakVerdict {
            t_secs: 0.0,
            slope_bytes_per_min: 1.0,
            confidence: 0.99,
            level_bytes: 0,
            points: 8,
            span_secs: 60.0,
            time_to_budget_secs,
        }
    }

    #[test]
    fn special_values_have_a_duration_or_none() {
        let to = |secs: f64| verdict(Some(secs)).time_to_budget();
        assert_eq!(verdict(None).time_to_budget(), None);
        assert_eq!(to(f64::NAN), None);
        assert_eq!(to(-1.0), Some(Duration::ZERO));
        assert_eq!(to(f64::NEG_INFINITY), Some(Duration::ZERO));
        assert_eq!(to(f64::INFINITY), Some(Duration::MAX));
        assert_eq!(to(1e300), Some(Duration::MAX));
        assert_eq!(to(90.5), Some(Duration::from_millis(90_500)));
    }

    proptest! {
        #[test]
        fn time_to_budget_never_panics(bits in any::<u64>()) {
            let secs = f64::from_bits(bits);
            let duration = verdict(Some(secs)).time_to_budget();
            prop_assert_eq!(duration.is_none(), secs.is_nan());
        }
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
    /// Time of the first point of the curve tested (after the change point
    /// where growth stopped, or where the curve began), seconds.
    pub from_secs: f64,
}
