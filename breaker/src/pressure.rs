//! Pressure levels: how close usage is to the budget, graded as Envoy's
//! overload manager grades its actions: warn, refuse new work, cancel work
//! in flight.
//!
//! The refuse level is the breaker's own state ([`BreakerState`](crate::BreakerState),
//! with its reset line and minimum time in a state). The warn and cancel
//! lines are flags with hysteresis of their own: a flag is raised when usage
//! reaches its line and lowered only once usage falls below the line minus
//! [`level_hysteresis_percent`](crate::BreakerConfig::level_hysteresis_percent),
//! so usage hovering at a line changes the level once, not once per reading.

use std::fmt;

/// How close a breaker's usage is to its budget, lowest first.
///
/// ```text
///   Normal --(>= warn)--> Warn --(>= trip: refusing)--> Refuse --(>= cancel)--> Cancel
///   each level is left only below its own lower line:
///   warn - hysteresis, the reset line, cancel - hysteresis
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PressureLevel {
    /// Below the warn line: nothing to do.
    Normal,
    /// At or past the warn line (default 70%): shed optional work, log.
    Warn,
    /// The breaker refuses new work (default from 80% until below 70%).
    Refuse,
    /// At or past the cancel line (default 95%): the breaker cancels the
    /// registered job holding the most memory.
    Cancel,
}

impl PressureLevel {
    /// The level's name in logs and reports: `normal`, `warn`, `refuse`, `cancel`.
    pub fn as_str(self) -> &'static str {
        match self {
            PressureLevel::Normal => "normal",
            PressureLevel::Warn => "warn",
            PressureLevel::Refuse => "refuse",
            PressureLevel::Cancel => "cancel",
        }
    }

    pub(crate) fn from_u8(value: u8) -> Self {
        match value {
            0 => PressureLevel::Normal,
            1 => PressureLevel::Warn,
            2 => PressureLevel::Refuse,
            _ => PressureLevel::Cancel,
        }
    }
}

impl fmt::Display for PressureLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_order_by_severity() {
        assert!(PressureLevel::Normal < PressureLevel::Warn);
        assert!(PressureLevel::Warn < PressureLevel::Refuse);
        assert!(PressureLevel::Refuse < PressureLevel::Cancel);
        assert_eq!(PressureLevel::Cancel.to_string(), "cancel");
    }
}
