use serde::{Deserialize, Serialize};

/// One reading of a series: when, how many bytes, and whether the service
/// said it was between jobs (quiescent) at that moment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Seconds since the start of the series (or any fixed origin).
    pub t_secs: f64,
    /// Live bytes (or any memory reading) at `t_secs`.
    pub bytes: u64,
    /// `true` when taken between jobs; the trend detector then uses only
    /// quiescent points.
    pub quiescent: bool,
}

impl SeriesPoint {
    /// A reading taken at an arbitrary moment (not known to be quiescent).
    pub fn new(t_secs: f64, bytes: u64) -> Self {
        Self {
            t_secs,
            bytes,
            quiescent: false,
        }
    }

    /// A reading taken between jobs.
    pub fn quiescent(t_secs: f64, bytes: u64) -> Self {
        Self {
            t_secs,
            bytes,
            quiescent: true,
        }
    }
}
