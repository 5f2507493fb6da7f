use super::mann_kendall::{mann_kendall, variance_term, MannKendall};
use super::theil_sen::theil_sen_with;
use super::{DetectorConfigError, LeakVerdict, SeriesPoint, TrendConfig};
use std::collections::VecDeque;

/// Tests one window of effective points (already quiescent samples or
/// minima) for a leak, without warm-up grace or persistence.
///
/// Takes the newest [`window`](TrendConfig::window) points and tests them,
/// then their newest half, quarter and eighth (each when it holds at least
/// [`min_points`](TrendConfig::min_points)). A scale is a leak when the
/// Mann-Kendall confidence reaches [`confidence`](TrendConfig::confidence),
/// the Theil-Sen slope reaches
/// [`min_slope_bytes_per_min`](TrendConfig::min_slope_bytes_per_min) and the
/// slope over the tested span reaches
/// [`min_growth_bytes`](TrendConfig::min_growth_bytes). The verdict of the
/// longest such scale is returned.
///
/// ```
/// use heapguard_monitor::detect::{evaluate_trend, SeriesPoint, TrendConfig};
/// const MIB: u64 = 1 << 20;
/// // An hour of quiescent samples leaking 2 MiB a minute, with some noise.
/// let points: Vec<SeriesPoint> = (0..60u64)
///     .map(|m| SeriesPoint::quiescent(m as f64 * 60.0, 300 * MIB + m * 2 * MIB + (m * 7919 % 5) * MIB))
///     .collect();
/// let verdict = evaluate_trend(&points, &TrendConfig::default(), Some(1024 * MIB)).unwrap();
/// assert!((verdict.slope_bytes_per_min / MIB as f64 - 2.0).abs() < 0.2);
/// assert!(verdict.confidence > 0.999);
/// assert!(verdict.time_to_budget_secs.unwrap() > 0.0);
/// ```
pub fn evaluate_trend(
    points: &[SeriesPoint],
    config: &TrendConfig,
    budget_bytes: Option<u64>,
) -> Option<LeakVerdict> {
    evaluate_with(points, config, budget_bytes, &mut Vec::new())
}

/// The scales tested: the newest `window / d` points for each `d`.
const SCALE_DIVISORS: [usize; 4] = [1, 2, 4, 8];

fn evaluate_with(
    points: &[SeriesPoint],
    config: &TrendConfig,
    budget_bytes: Option<u64>,
    scratch: &mut Vec<f64>,
) -> Option<LeakVerdict> {
    let window = &points[points.len().saturating_sub(config.window)..];
    let mut values = Vec::with_capacity(window.len());
    SCALE_DIVISORS.iter().find_map(|divisor| {
        let scale = &window[window.len() - window.len() / divisor..];
        values.clear();
        values.extend(scale.iter().map(|p| p.bytes));
        let mk = mann_kendall(&values)?;
        judge_scale(scale, mk, config, budget_bytes, scratch)
    })
}

/// The verdict on one scale whose Mann-Kendall statistic is `mk`.
fn judge_scale(
    scale: &[SeriesPoint],
    mk: MannKendall,
    config: &TrendConfig,
    budget_bytes: Option<u64>,
    scratch: &mut Vec<f64>,
) -> Option<LeakVerdict> {
    let n = scale.len();
    let confidence = mk.confidence_increasing();
    if n < config.min_points || confidence < config.confidence {
        return None;
    }
    let fit = theil_sen_with(scale, scratch)?;
    let span_secs = scale[n - 1].t_secs - scale[0].t_secs;
    let slope = fit.slope_per_min();
    if slope < config.min_slope_bytes_per_min
        || fit.slope_per_sec * span_secs < config.min_growth_bytes
    {
        return None;
    }
    let level = fit.level_at_end.max(0.0);
    let time_to_budget_secs =
        budget_bytes.map(|budget| ((budget as f64 - level) / fit.slope_per_sec).max(0.0));
    Some(LeakVerdict {
        t_secs: scale[n - 1].t_secs,
        slope_bytes_per_min: slope,
        confidence,
        level_bytes: level as u64,
        points: n,
        span_secs,
        time_to_budget_secs,
    })
}

/// The Mann-Kendall parts of one scale of a sliding window, kept up to date
/// in `O(size)` per point.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct ScaleState {
    size: usize,
    s: i64,
    ties: i64,
}

impl ScaleState {
    /// `points` ends with the new point; the scale held the `size` points
    /// before it.
    fn add_newest(&mut self, points: &[SeriesPoint]) {
        let (new, before) = match points.split_last() {
            Some((new, before)) => (new.bytes, &before[before.len() - self.size..]),
            None => return,
        };
        let (mut signs, mut equal) = (0i64, 0i64);
        for x in before {
            signs += (new > x.bytes) as i64 - (new < x.bytes) as i64;
            equal += (new == x.bytes) as i64;
        }
        self.s += signs;
        self.ties += variance_term(equal + 1) - variance_term(equal);
        self.size += 1;
    }

    /// Drops the oldest of the scale's points, the newest `size` of `points`.
    fn remove_oldest(&mut self, points: &[SeriesPoint]) {
        let members = &points[points.len() - self.size..];
        let Some((old, rest)) = members.split_first() else {
            return;
        };
        let (mut signs, mut equal) = (0i64, 0i64);
        for x in rest {
            signs += (x.bytes > old.bytes) as i64 - (x.bytes < old.bytes) as i64;
            equal += (x.bytes == old.bytes) as i64;
        }
        self.s -= signs;
        self.ties -= variance_term(equal + 1) - variance_term(equal);
        self.size -= 1;
    }
}

/// A change of the trend detector's opinion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrendChange {
    /// A leak is now suspected.
    Suspected(LeakVerdict),
    /// The suspicion ended: `persistence` evaluations in a row found no leak.
    Cleared {
        /// Time of the reading that cleared it, seconds.
        t_secs: f64,
    },
}

/// The default leak detector, fed one reading at a time as if sampled live.
///
/// Readings before [`warm_up_secs`](TrendConfig::warm_up_secs) (counted
/// from the first reading) are ignored. From the first quiescent reading on,
/// only quiescent readings count; until then, the minimum of each block of
/// [`minima_block`](TrendConfig::minima_block) readings is one point. Each
/// new point runs [`evaluate_trend`] on the newest
/// [`window`](TrendConfig::window) points; `persistence` positive results in
/// a row report [`TrendChange::Suspected`], as many negative ones then report
/// [`TrendChange::Cleared`]. Each evaluation costs `O(window^2)` comparisons
/// on a bounded window: the Mann-Kendall sums of every scale are kept up to
/// date in `O(window)` per point, and the Theil-Sen fit runs only on a scale
/// whose trend is significant.
///
/// ```
/// use heapguard_monitor::detect::{SeriesPoint, TrendChange, TrendConfig, TrendDetector};
/// const MIB: u64 = 1 << 20;
/// let config = TrendConfig { warm_up_secs: 0.0, ..TrendConfig::default() };
/// let mut detector = TrendDetector::new(config, None).unwrap();
/// let mut first = None;
/// for minute in 0..180u64 {
///     let leak = minute.saturating_sub(60) * 5 * MIB; // 5 MiB/min from minute 60
///     let point = SeriesPoint::quiescent(minute as f64 * 60.0, 300 * MIB + leak);
///     if let Some(TrendChange::Suspected(verdict)) = detector.observe(point) {
///         first.get_or_insert(verdict.t_secs / 60.0);
///     }
/// }
/// let minute = first.unwrap();
/// assert!((60.0..90.0).contains(&minute));
/// ```
#[derive(Debug, Clone)]
pub struct TrendDetector {
    config: TrendConfig,
    budget_bytes: Option<u64>,
    first_t: Option<f64>,
    points: VecDeque<SeriesPoint>,
    quiescent_mode: bool,
    block_min: Option<SeriesPoint>,
    block_len: usize,
    positive_streak: usize,
    negative_streak: usize,
    suspected: bool,
    scales: [ScaleState; SCALE_DIVISORS.len()],
    scratch: Vec<f64>,
}

impl TrendDetector {
    /// A detector with `config` (validated) and an optional budget for the
    /// projected time to reach it.
    pub fn new(
        config: TrendConfig,
        budget_bytes: Option<u64>,
    ) -> Result<Self, DetectorConfigError> {
        config.validate()?;
        Ok(Self {
            points: VecDeque::with_capacity(config.window + 1),
            config,
            budget_bytes,
            first_t: None,
            quiescent_mode: false,
            block_min: None,
            block_len: 0,
            positive_streak: 0,
            negative_streak: 0,
            suspected: false,
            scales: Default::default(),
            scratch: Vec::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &TrendConfig {
        &self.config
    }

    /// Whether a leak is currently suspected.
    pub fn is_suspected(&self) -> bool {
        self.suspected
    }

    /// The effective points currently in the window, oldest first.
    pub fn points(&self) -> impl Iterator<Item = &SeriesPoint> {
        self.points.iter()
    }

    /// Feeds one reading; returns a change of opinion, if any.
    pub fn observe(&mut self, point: SeriesPoint) -> Option<TrendChange> {
        let first_t = *self.first_t.get_or_insert(point.t_secs);
        if point.t_secs - first_t < self.config.warm_up_secs {
            return None;
        }
        let effective = self.effective_point(point)?;
        self.push(effective);
        let verdict = self.evaluate();
        match verdict {
            Some(verdict) => {
                self.negative_streak = 0;
                self.positive_streak += 1;
                if !self.suspected && self.positive_streak >= self.config.persistence {
                    self.suspected = true;
                    return Some(TrendChange::Suspected(verdict));
                }
            }
            None => {
                self.positive_streak = 0;
                self.negative_streak += 1;
                if self.suspected && self.negative_streak >= self.config.persistence {
                    self.suspected = false;
                    return Some(TrendChange::Cleared {
                        t_secs: effective.t_secs,
                    });
                }
            }
        }
        None
    }

    /// Adds a point to the window and to every scale's statistic.
    fn push(&mut self, point: SeriesPoint) {
        self.points.push_back(point);
        let kept = self.points.len().min(self.config.window);
        let points = self.points.make_contiguous();
        for (scale, divisor) in self.scales.iter_mut().zip(SCALE_DIVISORS) {
            scale.add_newest(points);
            while scale.size > kept / divisor {
                scale.remove_oldest(points);
            }
        }
        if self.points.len() > self.config.window {
            self.points.pop_front();
        }
    }

    /// [`evaluate_trend`] on the window, from the kept statistics.
    fn evaluate(&mut self) -> Option<LeakVerdict> {
        let points = self.points.make_contiguous();
        self.scales.iter().find_map(|scale| {
            if scale.size < 3 {
                return None;
            }
            let mk = MannKendall::from_parts(scale.size, scale.s, scale.ties);
            let members = &points[points.len() - scale.size..];
            judge_scale(
                members,
                mk,
                &self.config,
                self.budget_bytes,
                &mut self.scratch,
            )
        })
    }

    fn effective_point(&mut self, point: SeriesPoint) -> Option<SeriesPoint> {
        if point.quiescent && !self.quiescent_mode {
            self.quiescent_mode = true;
            self.points.clear();
            self.scales = Default::default();
            self.block_min = None;
            self.block_len = 0;
        }
        if self.quiescent_mode {
            return point.quiescent.then_some(point);
        }
        let min = match self.block_min {
            Some(min) if min.bytes <= point.bytes => min,
            _ => point,
        };
        self.block_len += 1;
        if self.block_len < self.config.minima_block {
            self.block_min = Some(min);
            return None;
        }
        self.block_min = None;
        self.block_len = 0;
        Some(min)
    }
}

#[cfg(test)]
fn tie_term_of(values: &[u64]) -> i64 {
    let mk = mann_kendall(values).map(|mk| mk.variance);
    let n = values.len() as i64;
    mk.map_or(0, |variance| {
        variance_term(n) - (variance * 18.0).round() as i64
    })
}

#[cfg(test)]
mod tests {
    use super::{evaluate_trend, SeriesPoint, TrendChange, TrendConfig, TrendDetector};

    const MIB: u64 = 1 << 20;

    fn no_grace() -> TrendConfig {
        TrendConfig {
            warm_up_secs: 0.0,
            ..TrendConfig::default()
        }
    }

    #[test]
    fn flat_series_is_no_leak() {
        let points: Vec<SeriesPoint> = (0..60)
            .map(|m| SeriesPoint::quiescent(m as f64 * 60.0, 300 * MIB + (m * 37 % 11) * MIB))
            .collect();
        assert_eq!(evaluate_trend(&points, &no_grace(), None), None);
    }

    #[test]
    fn slow_but_significant_growth_below_min_slope_is_no_leak() {
        // 0.25 MiB/min: certain trend, but below the 0.5 MiB/min minimum.
        let points: Vec<SeriesPoint> = (0..60)
            .map(|m| SeriesPoint::quiescent(m as f64 * 60.0, 300 * MIB + m * MIB / 4))
            .collect();
        assert_eq!(evaluate_trend(&points, &no_grace(), None), None);
    }

    #[test]
    fn projected_time_to_budget() {
        // 1 MiB/min from 300 MiB, budget 400 MiB: the line is at 359 MiB at
        // minute 59, so 41 minutes remain.
        let points: Vec<SeriesPoint> = (0..60)
            .map(|m| SeriesPoint::quiescent(m as f64 * 60.0, 300 * MIB + m * MIB))
            .collect();
        let verdict = evaluate_trend(&points, &no_grace(), Some(400 * MIB)).unwrap();
        assert_eq!(verdict.slope_bytes_per_min, MIB as f64);
        assert_eq!(verdict.level_bytes, 359 * MIB);
        assert_eq!(verdict.points, 60);
        assert_eq!(verdict.time_to_budget_secs, Some(41.0 * 60.0));
        let over = evaluate_trend(&points, &no_grace(), Some(100 * MIB)).unwrap();
        assert_eq!(over.time_to_budget_secs, Some(0.0));
    }

    #[test]
    fn warm_up_grace_persistence_and_clearing() {
        let config = TrendConfig {
            warm_up_secs: 3600.0,
            ..TrendConfig::default()
        };
        let mut detector = TrendDetector::new(config, None).unwrap();
        let mut changes = Vec::new();
        // Steep growth for 2 h, flat for 2 h.
        for m in 0..240u64 {
            let bytes = 300 * MIB + m.min(120) * 3 * MIB;
            if let Some(change) = detector.observe(SeriesPoint::quiescent(m as f64 * 60.0, bytes)) {
                changes.push((m, change));
            }
        }
        assert_eq!(changes.len(), 2, "{changes:?}");
        // Nothing during the first hour; from minute 60 on, the growth
        // reaches 32 MiB once 12 points span 11 minutes (33 MiB), then 3
        // positive evaluations in a row.
        assert_eq!(changes[0].0, 60 + 11 + 2);
        assert!(matches!(changes[0].1, TrendChange::Suspected(_)));
        assert!(matches!(changes[1].1, TrendChange::Cleared { .. }));
        assert!(!detector.is_suspected());
    }

    #[test]
    fn kept_statistics_match_the_pure_evaluation() {
        use crate::detect::mann_kendall;
        let config = TrendConfig {
            warm_up_secs: 0.0,
            window: 20,
            min_points: 3,
            ..TrendConfig::default()
        };
        let mut detector = TrendDetector::new(config.clone(), Some(500 * MIB)).unwrap();
        let mut all = Vec::new();
        let mut state = 12_345u64;
        for m in 0..200u64 {
            // Few distinct values, so ties are common; a trend in the middle.
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let bytes = (state >> 60) * MIB
                + if (80..140).contains(&m) {
                    m * 4 * MIB
                } else {
                    0
                };
            let point = SeriesPoint::quiescent(m as f64 * 60.0, bytes);
            all.push(point);
            detector.observe(point);
            let window: Vec<u64> = detector.points().map(|p| p.bytes).collect();
            assert_eq!(window.len(), all.len().min(20));
            for (scale, divisor) in detector.scales.iter().zip(super::SCALE_DIVISORS) {
                let members = &window[window.len() - window.len() / divisor..];
                assert_eq!(scale.size, members.len());
                if let Some(mk) = mann_kendall(members) {
                    assert_eq!((scale.s, scale.ties), (mk.s, super::tie_term_of(members)));
                }
            }
            let pure = evaluate_trend(&all, &config, Some(500 * MIB));
            assert_eq!(detector.evaluate(), pure, "minute {m}");
        }
    }

    #[test]
    fn minima_of_blocks_until_the_first_quiescent_point() {
        let config = TrendConfig {
            warm_up_secs: 0.0,
            minima_block: 10,
            ..TrendConfig::default()
        };
        let mut detector = TrendDetector::new(config, None).unwrap();
        for m in 0..25u64 {
            // Spikes everywhere except one low point per block.
            let bytes = if m % 10 == 3 {
                100 * MIB + m
            } else {
                900 * MIB
            };
            assert_eq!(
                detector.observe(SeriesPoint::new(m as f64 * 60.0, bytes)),
                None
            );
        }
        let minima: Vec<u64> = detector.points().map(|p| p.bytes).collect();
        assert_eq!(minima, vec![100 * MIB + 3, 100 * MIB + 13]);
        detector.observe(SeriesPoint::quiescent(1_500.0 * 60.0, 50 * MIB));
        let points: Vec<u64> = detector.points().map(|p| p.bytes).collect();
        assert_eq!(points, vec![50 * MIB]);
        detector.observe(SeriesPoint::new(1_501.0 * 60.0, 10 * MIB));
        assert_eq!(detector.points().count(), 1);
    }
}
