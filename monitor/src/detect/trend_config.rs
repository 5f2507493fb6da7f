use thiserror::Error;

const MIB: f64 = 1024.0 * 1024.0;

/// Settings of the default leak detector, [`TrendDetector`](super::TrendDetector).
///
/// The defaults were tuned on the synthetic traces of
/// `tests/detector_traces.rs` (300 MiB base, one sample a minute): see the
/// table in the crate docs.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendConfig {
    /// Effective points (quiescent samples or block minima) tested for
    /// growth. Default 60; at most [`MAX_POINTS`](Self::MAX_POINTS).
    pub window: usize,
    /// Effective points searched for change points and deceleration, the
    /// newest ones (`window` when shorter). Longer histories tell a slowly
    /// filling cache from a leak sooner, at `O(history)` per evaluation that
    /// sees growth. Default 180; at most [`MAX_POINTS`](Self::MAX_POINTS).
    pub history: usize,
    /// Fewest points a test runs on. The detector also tests the newest half,
    /// quarter and eighth of the window, each on this many points at least
    /// (the eighth of the default window, 7 points, on the newest 8), so a
    /// fast leak is seen before it fills the whole window. Default 8.
    pub min_points: usize,
    /// Smallest Theil-Sen slope reported as a leak, bytes per minute.
    /// Default 0.5 MiB/min.
    pub min_slope_bytes_per_min: f64,
    /// Smallest growth (slope times the tested span) reported as a leak,
    /// bytes: a short window needs a steeper slope than a long one. A third
    /// of it is the smallest jump that counts as a level shift, and a point
    /// this far below every point of the window is a restart. Default
    /// 24 MiB.
    pub min_growth_bytes: f64,
    /// Mann-Kendall confidence that the series increases. Default 0.99.
    pub confidence: f64,
    /// The longest warm-up, seconds: after the first reading (and after a
    /// restart) nothing is reported until growth has stopped, or this long
    /// at the most. Default 3 h.
    pub warm_up_secs: f64,
    /// The longest time constant, seconds, of a cache filling towards its
    /// ceiling (`c (1 - e^(-t/tau))`) that is told from a leak: growth is
    /// reported as a leak (during the warm-up or after it) only once it
    /// slows down significantly less than such a cache's would, since a
    /// cache's slope falls by `e^(-d/tau)` over `d` seconds and a leak's
    /// not at all, or once a cache of any time constant plus a line fits it
    /// significantly better than any such cache alone (a leak that starts
    /// with a fast cache). Longer keeps slower caches quiet, at the price of later
    /// reports of leaks that start on a cache or soon after a step. Used
    /// only with a warm-up (`warm_up_secs` above 0): without one no cache
    /// is expected to fill, and growth that passes the trend tests is a
    /// leak. Default 6 h.
    pub cache_time_constant_secs: f64,
    /// Consecutive positive evaluations before a leak is reported, and
    /// consecutive negative ones before it is cleared. Default 3.
    pub persistence: usize,
    /// Until the first quiescent reading arrives, the minimum of each block
    /// of this many readings is one effective point. Choose it longer than
    /// a job plus the gap after it. Default 30.
    pub minima_block: usize,
}

impl Default for TrendConfig {
    fn default() -> Self {
        Self {
            window: 60,
            history: 180,
            min_points: 8,
            min_slope_bytes_per_min: 0.5 * MIB,
            min_growth_bytes: 24.0 * MIB,
            confidence: 0.99,
            warm_up_secs: 3.0 * 3600.0,
            cache_time_constant_secs: 6.0 * 3600.0,
            persistence: 3,
            minima_block: 30,
        }
    }
}

/// A detector setting out of range.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum DetectorConfigError {
    /// A number of points is above its limit (for the trend detector,
    /// [`TrendConfig::MAX_POINTS`]).
    #[error("{name} of {value} points is above the limit of {limit}")]
    TooManyPoints {
        /// The setting.
        name: &'static str,
        /// The value asked for.
        value: usize,
        /// The limit.
        limit: usize,
    },
    /// The window is too short for a trend test.
    #[error("window of {window} points is too short: a trend test needs at least 3")]
    WindowTooShort {
        /// The window asked for.
        window: usize,
    },
    /// `min_points` is below 3 or above the window.
    #[error("min_points {min_points} must be between 3 and the window ({window})")]
    MinPointsOutOfRange {
        /// The value asked for.
        min_points: usize,
        /// The window.
        window: usize,
    },
    /// A threshold is negative, zero where it must be positive, or not finite.
    #[error("{name} must be a positive finite number, got {value}")]
    NotPositive {
        /// The setting.
        name: &'static str,
        /// The value asked for.
        value: f64,
    },
    /// The confidence is not strictly between 0 and 1.
    #[error("confidence must be strictly between 0 and 1, got {confidence}")]
    ConfidenceOutOfRange {
        /// The value asked for.
        confidence: f64,
    },
    /// A count that must be at least 1 is 0.
    #[error("{name} must be at least 1")]
    Zero {
        /// The setting.
        name: &'static str,
    },
    /// The growth rule's factor is not above 1.
    #[error("growth factor must be a finite number above 1, got {factor}")]
    GrowthFactor {
        /// The value asked for.
        factor: f64,
    },
}

impl TrendConfig {
    /// The most points `window` and `history` may hold: the work per
    /// evaluation grows with `window^2`.
    pub const MAX_POINTS: usize = 4096;

    /// The points kept: the longer of `history` and `window`.
    pub(crate) fn kept_points(&self) -> usize {
        self.history.max(self.window)
    }

    /// Checks every setting; the detector refuses a config that fails.
    pub fn validate(&self) -> Result<(), DetectorConfigError> {
        for (name, value) in [("window", self.window), ("history", self.history)] {
            if value > Self::MAX_POINTS {
                return Err(DetectorConfigError::TooManyPoints {
                    name,
                    value,
                    limit: Self::MAX_POINTS,
                });
            }
        }

        if self.window < 3 {
            return Err(DetectorConfigError::WindowTooShort {
                window: self.window,
            });
        }
        if self.min_points < 3 || self.min_points > self.window {
            return Err(DetectorConfigError::MinPointsOutOfRange {
                min_points: self.min_points,
                window: self.window,
            });
        }
        for (name, value) in [
            ("min_slope_bytes_per_min", self.min_slope_bytes_per_min),
            ("min_growth_bytes", self.min_growth_bytes),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(DetectorConfigError::NotPositive { name, value });
            }
        }
        if !(self.warm_up_secs.is_finite() && self.warm_up_secs >= 0.0) {
            return Err(DetectorConfigError::NotPositive {
                name: "warm_up_secs",
                value: self.warm_up_secs,
            });
        }
        let tau = self.cache_time_constant_secs;
        if !(tau.is_finite() && tau > 0.0) {
            return Err(DetectorConfigError::NotPositive {
                name: "cache_time_constant_secs",
                value: tau,
            });
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(DetectorConfigError::ConfidenceOutOfRange {
                confidence: self.confidence,
            });
        }
        if self.persistence == 0 {
            return Err(DetectorConfigError::Zero {
                name: "persistence",
            });
        }
        if self.minima_block == 0 {
            return Err(DetectorConfigError::Zero {
                name: "minima_block",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{DetectorConfigError, TrendConfig};

    #[test]
    fn defaults_are_valid() {
        assert_eq!(TrendConfig::default().validate(), Ok(()));
    }

    #[test]
    fn bad_settings_are_refused_with_their_values() {
        let bad = |edit: fn(&mut TrendConfig)| {
            let mut config = TrendConfig::default();
            edit(&mut config);
            config.validate().unwrap_err()
        };
        assert_eq!(
            bad(|c| c.window = 1 << 40),
            DetectorConfigError::TooManyPoints {
                name: "window",
                value: 1 << 40,
                limit: TrendConfig::MAX_POINTS
            }
        );
        assert_eq!(
            bad(|c| c.window = 2),
            DetectorConfigError::WindowTooShort { window: 2 }
        );
        assert_eq!(
            bad(|c| c.min_points = 61),
            DetectorConfigError::MinPointsOutOfRange {
                min_points: 61,
                window: 60
            }
        );
        assert!(matches!(
            bad(|c| c.min_slope_bytes_per_min = -1.0),
            DetectorConfigError::NotPositive {
                name: "min_slope_bytes_per_min",
                ..
            }
        ));
        assert!(matches!(
            bad(|c| c.warm_up_secs = f64::NAN),
            DetectorConfigError::NotPositive {
                name: "warm_up_secs",
                ..
            }
        ));
        assert!(matches!(
            bad(|c| c.cache_time_constant_secs = 0.0),
            DetectorConfigError::NotPositive {
                name: "cache_time_constant_secs",
                ..
            }
        ));
        assert_eq!(
            bad(|c| c.confidence = 1.0),
            DetectorConfigError::ConfidenceOutOfRange { confidence: 1.0 }
        );
        assert_eq!(
            bad(|c| c.persistence = 0),
            DetectorConfigError::Zero {
                name: "persistence"
            }
        );
        assert_eq!(
            bad(|c| c.minima_block = 0),
            DetectorConfigError::Zero {
                name: "minima_block"
            }
        );
    }
}
