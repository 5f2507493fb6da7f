//! Periodic structure: a cache emptied and refilled on a schedule, a batch
//! that repeats, a daily pattern. Each drop of the kept memory (an
//! effective point [`min_growth_bytes`](super::TrendConfig::min_growth_bytes)
//! below the newest [`min_points`](super::TrendConfig::min_points) points,
//! confirmed by the point after it) ends a cycle, summarised in a few numbers; growth is then tested in what
//! persists across cycles, the level each cycle reaches before its drop,
//! not in the fill that every cycle repeats.
//!
//! **The cross-cycle test.** The levels of the completed cycles (the median
//! of each cycle's newest [`LEVEL_POINTS`] points before its drop), and the
//! running level of the current cycle once it is above the last completed
//! one: the newest three must rise twice in a row, each rise above the
//! larger of a third of the minimum growth and three times how much older
//! levels wander around their trend (half the median change of the rate
//! between successive levels, times the median time between them), each
//! significant against the points' noise at the detector's confidence, by
//! at least the minimum growth in all and at the minimum slope. A leak of
//! `r` per minute on cycles of period `P` lifts each level by `r P`; a step
//! lifts one level once; a cycle without a leak leaves them where they were.

use super::normal::upper_tail;
use super::{LeakVerdict, SeriesPoint, TrendConfig};
use std::collections::VecDeque;

/// Completed cycles kept: a bounded summary each, whatever their length.
pub(crate) const MAX_CYCLES: usize = 16;

/// A cycle's level is the median of this many of its newest points.
pub(crate) const LEVEL_POINTS: usize = 5;

/// What is kept of one completed cycle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CycleSummary {
    /// Time of its first point, seconds.
    pub(crate) start_secs: f64,
    /// Time of the drop that ended it, seconds.
    pub(crate) end_secs: f64,
    /// The median of its newest [`LEVEL_POINTS`] points, bytes.
    pub(crate) level_bytes: u64,
    /// Its lowest point, bytes.
    pub(crate) floor_bytes: u64,
    /// Its effective points.
    pub(crate) points: usize,
}

/// The cycles seen since the last declared restart.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cycles {
    /// Drops inferred since the last declared restart.
    pub(crate) drops: usize,
    completed: VecDeque<CycleSummary>,
    current_start: Option<f64>,
    current_floor: u64,
    current_points: usize,
}

impl Cycles {
    /// Forgets every cycle (a declared restart).
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }

    /// Whether drops recur: from the second drop on, the series cycles.
    pub(crate) fn is_cycling(&self) -> bool {
        self.drops >= 2
    }

    /// The completed cycles, oldest first.
    #[cfg(test)]
    pub(crate) fn completed(&self) -> impl Iterator<Item = &CycleSummary> {
        self.completed.iter()
    }

    /// Counts `point` in the current cycle.
    pub(crate) fn add(&mut self, point: &SeriesPoint) {
        if self.current_start.is_none() {
            self.current_start = Some(point.t_secs);
            self.current_floor = point.bytes;
            self.current_points = 0;
        }
        self.current_floor = self.current_floor.min(point.bytes);
        self.current_points += 1;
    }

    /// Ends the current cycle at a drop to `drop`; `newest` are the
    /// cycle's newest points (at least its last [`LEVEL_POINTS`] when it
    /// has them).
    pub(crate) fn end_cycle(&mut self, drop: &SeriesPoint, newest: &[SeriesPoint]) {
        self.drops += 1;
        if let (Some(start_secs), Some(level_bytes)) = (self.current_start, level_of(newest)) {
            if self.completed.len() == MAX_CYCLES {
                self.completed.pop_front();
            }
            self.completed.push_back(CycleSummary {
                start_secs,
                end_secs: drop.t_secs,
                level_bytes,
                floor_bytes: self.current_floor,
                points: self.current_points,
            });
        }
        self.current_start = None;
    }

    /// The cross-cycle test (see the [module docs](self)) at `now`, given
    /// the current cycle's points (newest last).
    pub(crate) fn leak(
        &self,
        current: &[SeriesPoint],
        config: &TrendConfig,
        budget_bytes: Option<u64>,
    ) -> Option<LeakVerdict> {
        let now = current.last()?;
        let levels: Vec<(f64, f64)> = self
            .completed
            .iter()
            .map(|cycle| (cycle.end_secs, cycle.level_bytes as f64))
            .collect();
        let wander = median_rise(&levels[..levels.len().saturating_sub(2)]);
        let threshold = (config.min_growth_bytes / 3.0).max(3.0 * wander);
        let completed = &levels[levels.len().saturating_sub(3)..];
        // The current cycle counts once its running level is above the last
        // completed one; the completed cycles alone are tested too, so a
        // running level only just above does not hide their rises.
        let running = (current.len() >= 3)
            .then(|| level_of(current))
            .flatten()
            .map(|level| (now.t_secs, level as f64))
            .filter(|&(_, level)| {
                completed
                    .last()
                    .is_some_and(|last| level > last.1 + threshold)
            });
        let with_running: Option<Vec<(f64, f64)>> = running.map(|running| {
            let mut tested = completed[completed.len().saturating_sub(2)..].to_vec();
            tested.push(running);
            tested
        });
        let verdict = with_running
            .iter()
            .map(Vec::as_slice)
            .chain([completed])
            .find_map(|tested| rises_twice(tested, threshold, current, now, config, budget_bytes));
        verdict
    }
}

/// The test on three levels (time, bytes), oldest first.
fn rises_twice(
    tested: &[(f64, f64)],
    threshold: f64,
    current: &[SeriesPoint],
    now: &SeriesPoint,
    config: &TrendConfig,
    budget_bytes: Option<u64>,
) -> Option<LeakVerdict> {
    let [a, b, c] = *tested else {
        return None;
    };
    let rises = [b.1 - a.1, c.1 - b.1];
    let smaller = rises[0].min(rises[1]);
    let growth = c.1 - a.1;
    let span_secs = c.0 - a.0;
    if smaller <= threshold || growth < config.min_growth_bytes || span_secs <= 0.0 {
        return None;
    }
    let slope = growth / span_secs * 60.0;
    if slope < config.min_slope_bytes_per_min {
        return None;
    }
    // Each rise against the noise of a difference of two levels; the noise
    // of one point is the scale of the current cycle's successive
    // differences (their median, as a standard deviation), at least 1 byte.
    let sigma = point_noise(current).max(1.0);
    let confidence = 1.0 - upper_tail(smaller / (sigma * std::f64::consts::SQRT_2));
    if confidence < config.confidence {
        return None;
    }
    let level = c.1.max(0.0);
    Some(LeakVerdict {
        t_secs: now.t_secs,
        slope_bytes_per_min: slope,
        confidence,
        level_bytes: level as u64,
        points: 3,
        span_secs,
        time_to_budget_secs: budget_bytes
            .map(|budget| ((budget as f64 - level) / (slope / 60.0)).max(0.0)),
    })
}

/// The median of the newest [`LEVEL_POINTS`] of `points`.
fn level_of(points: &[SeriesPoint]) -> Option<u64> {
    let mut newest: Vec<u64> = points[points.len().saturating_sub(LEVEL_POINTS)..]
        .iter()
        .map(|p| p.bytes)
        .collect();
    if newest.is_empty() {
        return None;
    }
    let middle = newest.len() / 2;
    Some(*newest.select_nth_unstable(middle).1)
}

/// How much levels wander around their trend: half the median change of
/// the rate between successive levels, times the median time between them
/// (a steady leak's levels rise at one rate, even across a missed drop
/// that made a cycle last two periods, and a leak that starts changes the
/// rate once; 0 for fewer than three levels).
fn median_rise(levels: &[(f64, f64)]) -> f64 {
    let rates: Vec<(f64, f64)> = levels
        .windows(2)
        .filter(|w| w[1].0 > w[0].0)
        .map(|w| (w[1].0 - w[0].0, (w[1].1 - w[0].1) / (w[1].0 - w[0].0)))
        .collect();
    let mut changes: Vec<f64> = rates.windows(2).map(|w| (w[1].1 - w[0].1).abs()).collect();
    let mut spans: Vec<f64> = rates.iter().map(|(span, _)| *span).collect();
    match (median(&mut changes), median(&mut spans)) {
        (Some(change), Some(span)) => change * span / 2.0,
        _ => 0.0,
    }
}

/// The median (upper middle) of `values`, `None` when empty.
fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let middle = values.len() / 2;
    Some(*values.select_nth_unstable_by(middle, f64::total_cmp).1)
}

/// A robust standard deviation of one point: the median absolute
/// successive difference, times 1.4826 (normal consistency) over sqrt 2.
fn point_noise(points: &[SeriesPoint]) -> f64 {
    let mut differences: Vec<f64> = points
        .windows(2)
        .map(|w| (w[1].bytes as f64 - w[0].bytes as f64).abs())
        .collect();
    if differences.is_empty() {
        return 0.0;
    }
    let middle = differences.len() / 2;
    let median = *differences.select_nth_unstable_by(middle, f64::total_cmp).1;
    median * 1.4826 / std::f64::consts::SQRT_2
}

#[cfg(test)]
mod tests {
    use super::{Cycles, SeriesPoint, MAX_CYCLES};
    use crate::detect::TrendConfig;

    const MIB: u64 = 1 << 20;

    /// Cycles of 120 one-minute points from `low` MiB, the last ones at
    /// `high(k)` MiB for cycle `k`, with a jitter of up to 2 MiB.
    fn run(cycles: usize, high: impl Fn(usize) -> u64) -> (Cycles, Vec<SeriesPoint>) {
        let mut tracker = Cycles::default();
        let mut current = Vec::new();
        for k in 0..cycles {
            for m in 0..120u64 {
                let t = (k as u64 * 120 + m) as f64 * 60.0;
                let jitter = (m * 7_919 % 5) * MIB / 2;
                let bytes = if m < 20 { 40 * MIB } else { high(k) * MIB } + jitter;
                let point = SeriesPoint::quiescent(t, bytes);
                if m == 0 && k > 0 {
                    tracker.end_cycle(&point, &current);
                    current.clear();
                }
                tracker.add(&point);
                current.push(point);
            }
        }
        (tracker, current)
    }

    #[test]
    fn levels_that_rise_twice_are_a_leak_and_flat_ones_are_not() {
        let config = TrendConfig::default();
        let (flat, current) = run(6, |_| 130);
        assert_eq!(flat.leak(&current, &config, None), None);
        // 120 MiB a cycle: 1 MiB a minute.
        let (rising, current) = run(6, |k| 130 + 120 * k as u64);
        let verdict = rising.leak(&current, &config, Some(2048 * MIB)).unwrap();
        // From the end of the fourth cycle (minute 480) to now (719), the
        // level rose 240 MiB.
        assert_eq!(verdict.span_secs, 239.0 * 60.0);
        assert!((verdict.slope_bytes_per_min / MIB as f64 - 240.0 / 239.0).abs() < 1e-9);
        assert!(verdict.confidence > 0.999);
        // One step: one rise, no leak.
        let (step, current) = run(6, |k| if k >= 4 { 230 } else { 130 });
        assert_eq!(step.leak(&current, &config, None), None);
    }

    #[test]
    fn summaries_are_bounded() {
        let (tracker, _) = run(MAX_CYCLES + 5, |_| 130);
        assert_eq!(tracker.completed().count(), MAX_CYCLES);
        assert_eq!(tracker.drops, MAX_CYCLES + 4);
        let first = tracker.completed().next().unwrap();
        assert_eq!(first.points, 120);
        assert_eq!(first.end_secs - first.start_secs, 120.0 * 60.0);
    }
}
