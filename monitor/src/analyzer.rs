use crate::detect::{GrowthRule, SeriesPoint, TrendChange, TrendDetector};
use crate::event::{LeakEvidence, MemoryEvent, RecoveredFrom};
use crate::gauges::DetectorGauges;
use crate::{MonitorConfig, MonitorError};
use std::collections::VecDeque;

/// Turns a series of readings into [`MemoryEvent`]s: the high-usage alert,
/// the trend detector and (when enabled) the Node service's growth rule. The sampler
/// thread runs one; `heapguard-replay` runs one over a CSV file. Pure: no
/// thread, no clock.
///
/// ```
/// use heapguard_monitor::detect::SeriesPoint;
/// use heapguard_monitor::{Analyzer, MemoryEvent, MonitorConfig};
/// let config = MonitorConfig { budget_bytes: Some(1000), ..MonitorConfig::default() };
/// let mut analyzer = Analyzer::new(&config).unwrap();
/// assert!(analyzer.observe(SeriesPoint::new(0.0, 500)).is_empty());
/// let events = analyzer.observe(SeriesPoint::new(60.0, 750));
/// assert!(matches!(events[..], [MemoryEvent::HighUsage { used_bytes: 750, .. }]));
/// let events = analyzer.observe(SeriesPoint::new(120.0, 600));
/// assert_eq!(events[0].kind(), "recovered");
/// ```
#[derive(Debug, Clone)]
pub struct Analyzer {
    budget_bytes: Option<u64>,
    high_usage_percent: f64,
    recover_percent: f64,
    high: bool,
    trend: Option<TrendDetector>,
    growth: Option<GrowthState>,
}

#[derive(Debug, Clone)]
struct GrowthState {
    rule: GrowthRule,
    recent: VecDeque<SeriesPoint>,
    firing: bool,
}

impl Analyzer {
    /// An analyzer with `config`'s budget, alert lines and detectors.
    pub fn new(config: &MonitorConfig) -> Result<Self, MonitorError> {
        config.validate()?;
        let trend = config
            .trend
            .clone()
            .map(|trend| TrendDetector::new(trend, config.budget_bytes))
            .transpose()?;
        Ok(Self {
            budget_bytes: config.budget_bytes,
            high_usage_percent: config.high_usage_percent,
            recover_percent: config.recover_percent,
            high: false,
            trend,
            growth: config.growth_rule.map(|rule| GrowthState {
                rule,
                recent: VecDeque::new(),
                firing: false,
            }),
        })
    }

    /// The trend detector, when enabled.
    pub fn trend(&self) -> Option<&TrendDetector> {
        self.trend.as_ref()
    }

    /// The trend detector's state after the newest reading (its time
    /// `t_secs`), when the detector is enabled: what the `metrics` feature
    /// exports and `heapguard-replay --gauges` prints.
    pub fn gauges(&self, t_secs: f64) -> Option<DetectorGauges> {
        self.trend
            .as_ref()
            .map(|trend| DetectorGauges::of(trend, t_secs))
    }

    /// Declares that the process behind the series restarted at `t_secs`
    /// (a start-time change, or a marker in a recorded series): the trend
    /// detector forgets what it saw and warms up again (see
    /// [`TrendDetector::declare_restart`]). Returns the
    /// [`MemoryEvent::Recovered`] of a suspected leak it ends, if any.
    pub fn declare_restart(&mut self, t_secs: f64) -> Vec<MemoryEvent> {
        let cleared = self
            .trend
            .as_mut()
            .and_then(|trend| trend.declare_restart(t_secs));
        cleared
            .map(|_| MemoryEvent::Recovered {
                t_secs,
                from: RecoveredFrom::Leak,
            })
            .into_iter()
            .collect()
    }

    /// Feeds one reading; returns the events it raises, in order.
    pub fn observe(&mut self, point: SeriesPoint) -> Vec<MemoryEvent> {
        let mut events = Vec::new();
        self.check_usage(point, &mut events);
        if let Some(trend) = &mut self.trend {
            match trend.observe(point) {
                Some(TrendChange::Suspected(verdict)) => events.push(MemoryEvent::LeakSuspected {
                    t_secs: point.t_secs,
                    evidence: LeakEvidence::Trend(verdict),
                }),
                Some(TrendChange::Cleared { .. }) => events.push(MemoryEvent::Recovered {
                    t_secs: point.t_secs,
                    from: RecoveredFrom::Leak,
                }),
                Some(TrendChange::LevelShift(shift)) => events.push(MemoryEvent::LevelShift {
                    t_secs: point.t_secs,
                    shift,
                }),
                Some(TrendChange::Saturating(curve)) => events.push(MemoryEvent::Saturating {
                    t_secs: point.t_secs,
                    curve,
                }),
                None => {}
            }
        }
        if let Some(growth) = &mut self.growth {
            growth.recent.push_back(point);
            if growth.recent.len() > growth.rule.window() {
                growth.recent.pop_front();
            }
            let verdict = growth.rule.evaluate(growth.recent.make_contiguous());
            if let (Some(verdict), false) = (verdict, growth.firing) {
                events.push(MemoryEvent::LeakSuspected {
                    t_secs: point.t_secs,
                    evidence: LeakEvidence::Growth(verdict),
                });
            }
            growth.firing = verdict.is_some();
        }
        events
    }

    fn check_usage(&mut self, point: SeriesPoint, events: &mut Vec<MemoryEvent>) {
        let Some(budget) = self.budget_bytes else {
            return;
        };
        let percent = point.bytes as f64 * 100.0 / budget as f64;
        if !self.high && percent > self.high_usage_percent {
            self.high = true;
            events.push(MemoryEvent::HighUsage {
                t_secs: point.t_secs,
                used_bytes: point.bytes,
                budget_bytes: budget,
                percent,
            });
        } else if self.high && percent < self.recover_percent {
            self.high = false;
            events.push(MemoryEvent::Recovered {
                t_secs: point.t_secs,
                from: RecoveredFrom::HighUsage,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Analyzer;
    use crate::detect::{GrowthRule, SeriesPoint};
    use crate::{MemoryEvent, MonitorConfig};

    #[test]
    fn growth_rule_fires_once_per_episode_when_enabled() {
        let config = MonitorConfig {
            growth_rule: Some(GrowthRule::new(1.5, 3).unwrap()),
            trend: None,
            ..MonitorConfig::default()
        };
        let mut analyzer = Analyzer::new(&config).unwrap();
        let kinds: Vec<usize> = [100, 120, 150, 200, 150, 100, 100, 160]
            .iter()
            .enumerate()
            .map(|(i, &b)| analyzer.observe(SeriesPoint::new(i as f64, b)).len())
            .collect();
        // Fires at 150 (150/100), stays quiet at 200 (still firing), clears,
        // fires again at 160 (160/100).
        assert_eq!(kinds, vec![0, 0, 1, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn high_usage_has_hysteresis() {
        let config = MonitorConfig {
            budget_bytes: Some(100),
            ..MonitorConfig::default()
        };
        let mut analyzer = Analyzer::new(&config).unwrap();
        let mut seen = Vec::new();
        for (i, bytes) in [50, 71, 90, 68, 71, 64, 72].into_iter().enumerate() {
            for event in analyzer.observe(SeriesPoint::new(i as f64, bytes)) {
                seen.push((i, event.kind()));
                if let MemoryEvent::HighUsage { percent, .. } = event {
                    assert_eq!(percent, bytes as f64);
                }
            }
        }
        assert_eq!(
            seen,
            vec![(1, "high_usage"), (5, "recovered"), (6, "high_usage")]
        );
    }
}
