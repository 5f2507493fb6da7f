use super::{DetectorConfigError, SeriesPoint};
use serde::Serialize;

/// The Node service's leak rule: over a full window, the last reading divided by the
/// first is at least `factor` (seed: 1.5 over 60 samples).
///
/// Kept for compatibility and off by default: it fires on every sawtooth
/// batch day and every cache warm-up, and misses slow leaks for hours (see
/// the table in the crate docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GrowthRule {
    factor: f64,
    window: usize,
}

/// What the growth rule saw when it fired.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GrowthVerdict {
    /// Time of the last reading, seconds.
    pub t_secs: f64,
    /// The first reading of the window, bytes.
    pub first_bytes: u64,
    /// The last reading of the window, bytes.
    pub last_bytes: u64,
    /// `last_bytes / first_bytes`.
    pub ratio: f64,
}

impl Default for GrowthRule {
    /// The Node service's settings: factor 1.5, window 60.
    fn default() -> Self {
        Self {
            factor: 1.5,
            window: 60,
        }
    }
}

impl GrowthRule {
    /// The most readings a window may hold.
    pub const MAX_WINDOW: usize = 1 << 20;

    /// A rule with its own factor (> 1) and window (2 to
    /// [`MAX_WINDOW`](Self::MAX_WINDOW)).
    pub fn new(factor: f64, window: usize) -> Result<Self, DetectorConfigError> {
        if !(factor.is_finite() && factor > 1.0) {
            return Err(DetectorConfigError::GrowthFactor { factor });
        }
        if window < 2 {
            return Err(DetectorConfigError::WindowTooShort { window });
        }
        if window > Self::MAX_WINDOW {
            return Err(DetectorConfigError::TooManyPoints {
                name: "growth rule window",
                value: window,
                limit: Self::MAX_WINDOW,
            });
        }
        Ok(Self { factor, window })
    }

    /// Readings the rule needs before it can fire.
    pub fn window(&self) -> usize {
        self.window
    }

    /// The growth factor.
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// Tests the newest `window` points; `None` when there are fewer or the
    /// growth is below the factor.
    ///
    /// ```
    /// use heapguard_monitor::detect::{GrowthRule, SeriesPoint};
    /// let rule = GrowthRule::default();
    /// let ramp: Vec<SeriesPoint> =
    ///     (0..60).map(|m| SeriesPoint::new(m as f64 * 60.0, 100 + m)).collect();
    /// let verdict = rule.evaluate(&ramp).unwrap();
    /// assert_eq!((verdict.first_bytes, verdict.last_bytes), (100, 159));
    /// ```
    pub fn evaluate(&self, points: &[SeriesPoint]) -> Option<GrowthVerdict> {
        if points.len() < self.window {
            return None;
        }
        let window = &points[points.len() - self.window..];
        let (first, last) = (window[0], window[self.window - 1]);
        let ratio = last.bytes as f64 / first.bytes.max(1) as f64;
        (ratio >= self.factor).then_some(GrowthVerdict {
            t_secs: last.t_secs,
            first_bytes: first.bytes,
            last_bytes: last.bytes,
            ratio,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{GrowthRule, SeriesPoint};
    use crate::detect::DetectorConfigError;

    #[test]
    fn needs_a_full_window_and_the_factor() {
        let rule = GrowthRule::new(1.5, 3).unwrap();
        let p = |t: f64, b: u64| SeriesPoint::new(t, b);
        assert_eq!(rule.evaluate(&[p(0.0, 100), p(1.0, 200)]), None);
        assert_eq!(
            rule.evaluate(&[p(0.0, 100), p(1.0, 120), p(2.0, 149)]),
            None
        );
        let verdict = rule
            .evaluate(&[p(0.0, 1), p(1.0, 100), p(2.0, 120), p(3.0, 150)])
            .unwrap();
        assert_eq!(verdict.first_bytes, 100);
        assert_eq!(verdict.ratio, 1.5);
    }

    #[test]
    fn bad_settings_are_refused() {
        assert_eq!(
            GrowthRule::new(1.0, 60),
            Err(DetectorConfigError::GrowthFactor { factor: 1.0 })
        );
        assert_eq!(
            GrowthRule::new(1.5, 1),
            Err(DetectorConfigError::WindowTooShort { window: 1 })
        );
    }
}
