use crate::detect::{GrowthRule, TrendConfig};
use crate::MonitorError;
use std::time::Duration;

/// Settings of a [`MemoryMonitor`](crate::MemoryMonitor). The defaults
/// match the Node service's `MemoryMonitor`: a sample a minute, 60 samples kept, a
/// high-usage alert at 70% of the budget.
///
/// ```
/// use heapguard_monitor::MonitorConfig;
/// use std::time::Duration;
/// let config = MonitorConfig {
///     interval: Duration::from_secs(10),
///     budget_bytes: Some(2 << 30),
///     ..MonitorConfig::default()
/// };
/// assert!(config.validate().is_ok());
/// let bad = MonitorConfig { high_usage_percent: 120.0, ..MonitorConfig::default() };
/// assert!(bad.validate().unwrap_err().to_string().contains("120"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorConfig {
    /// Time between samples of the sampler thread. Default 60 s.
    pub interval: Duration,
    /// Samples kept for [`MemoryMonitor::samples`](crate::MemoryMonitor::samples).
    /// Default 60; at most [`MAX_WINDOW`](Self::MAX_WINDOW). Memory grows
    /// with the samples taken, never allocated ahead.
    pub window: usize,
    /// The budget that percentages and the projected time to exhaustion
    /// refer to; `None` disables the high-usage alert. Resolve a
    /// [`heapguard_reading::Budget`] to get one. Default `None`.
    pub budget_bytes: Option<u64>,
    /// Live bytes above this share of the budget raise
    /// [`MemoryEvent::HighUsage`](crate::MemoryEvent::HighUsage). Default 70.
    pub high_usage_percent: f64,
    /// Below this share, after a high-usage alert,
    /// [`MemoryEvent::Recovered`](crate::MemoryEvent::Recovered) is raised
    /// (hysteresis). Default 65.
    pub recover_percent: f64,
    /// The default leak detector's settings; `None` turns it off.
    pub trend: Option<TrendConfig>,
    /// The Node service's growth rule; off (`None`) by default.
    pub growth_rule: Option<GrowthRule>,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            window: 60,
            budget_bytes: None,
            high_usage_percent: 70.0,
            recover_percent: 65.0,
            trend: Some(TrendConfig::default()),
            growth_rule: None,
        }
    }
}

impl MonitorConfig {
    /// The most samples `window` may keep (about 100 MiB of samples).
    pub const MAX_WINDOW: usize = 1 << 20;

    /// Checks every setting; [`MemoryMonitor::start`](crate::MemoryMonitor::start)
    /// refuses a config that fails.
    pub fn validate(&self) -> Result<(), MonitorError> {
        if self.interval.is_zero() {
            return Err(MonitorError::ZeroInterval);
        }
        if self.window == 0 {
            return Err(MonitorError::ZeroWindow);
        }
        if self.window > Self::MAX_WINDOW {
            return Err(MonitorError::WindowTooLarge {
                window: self.window,
                limit: Self::MAX_WINDOW,
            });
        }
        if self.budget_bytes == Some(0) {
            return Err(MonitorError::ZeroBudget);
        }
        for (name, value) in [
            ("high_usage_percent", self.high_usage_percent),
            ("recover_percent", self.recover_percent),
        ] {
            if !(value > 0.0 && value <= 100.0) {
                return Err(MonitorError::Percent { name, value });
            }
        }
        if self.recover_percent > self.high_usage_percent {
            return Err(MonitorError::RecoverAboveHigh {
                recover: self.recover_percent,
                high: self.high_usage_percent,
            });
        }
        if let Some(trend) = &self.trend {
            trend.validate()?;
        }
        Ok(())
    }
}
