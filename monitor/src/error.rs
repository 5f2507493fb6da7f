use crate::detect::DetectorConfigError;
use heapguard_reading::SourceError;
use thiserror::Error;

/// Why a monitor cannot start or take a sample.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// The sampling interval is zero.
    #[error("the sampling interval must be longer than zero")]
    ZeroInterval,
    /// The sample window is zero.
    #[error("the sample window must hold at least 1 sample")]
    ZeroWindow,
    /// The budget is zero bytes.
    #[error("the budget must be more than 0 bytes")]
    ZeroBudget,
    /// A percentage is outside (0, 100].
    #[error("{name} must be in (0, 100], got {value}")]
    Percent {
        /// The setting.
        name: &'static str,
        /// The value asked for.
        value: f64,
    },
    /// The recovery line is above the alert line.
    #[error("recover_percent {recover} must not be above high_usage_percent {high}")]
    RecoverAboveHigh {
        /// The recovery line asked for.
        recover: f64,
        /// The alert line.
        high: f64,
    },
    /// A leak detector setting is out of range.
    #[error("leak detector: {0}")]
    Detector(#[from] DetectorConfigError),
    /// The memory source could not be read.
    #[error("memory source: {0}")]
    Source(#[from] SourceError),
    /// The memory source panicked while being read.
    #[error("memory source panicked: {0}")]
    SourcePanicked(String),
    /// A window is larger than the limit.
    #[error("a window of {window} samples is above the limit of {limit}")]
    WindowTooLarge {
        /// The window asked for.
        window: usize,
        /// The limit.
        limit: usize,
    },
    /// The sampler thread could not be started.
    #[error("cannot start the sampler thread: {0}")]
    Spawn(#[source] std::io::Error),
}
