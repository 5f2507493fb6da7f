use super::cache_fit::leak_beyond_cache;
use super::cycle::Cycles;
use super::mann_kendall::{mann_kendall, variance_term, MannKendall};
use super::normal::{t_quantile_at, upper_quantile};
use super::segment::{change_points, deceleration, is_step, ChangePoint, MIN_SEGMENT};
use super::theil_sen::theil_sen_with;
use super::{
    DetectorConfigError, LeakVerdict, LevelShiftVerdict, SaturationVerdict, SeriesPoint,
    TrendConfig,
};
use std::collections::VecDeque;

/// Tests a series of effective points (quiescent samples or minima) for a
/// leak, without warm-up or persistence: [`classify_growth`] when it finds
/// a leak.
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
///
/// // A step of 100 MiB, flat after it, is no leak.
/// let step: Vec<SeriesPoint> = (0..60u64)
///     .map(|m| SeriesPoint::quiescent(m as f64 * 60.0, 300 * MIB + (m >= 40) as u64 * 100 * MIB + (m * 7919 % 5) * MIB))
///     .collect();
/// assert_eq!(evaluate_trend(&step, &TrendConfig::default(), None), None);
/// ```
pub fn evaluate_trend(
    points: &[SeriesPoint],
    config: &TrendConfig,
    budget_bytes: Option<u64>,
) -> Option<LeakVerdict> {
    match classify_growth(points, config, budget_bytes)? {
        Growth::Leak(verdict) => Some(verdict),
        Growth::LevelShift(_) | Growth::Saturating(_) => None,
    }
}

/// What growth in a series is, when there is any.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Growth {
    /// Growth that goes on after the newest change point and does not slow
    /// down.
    Leak(LeakVerdict),
    /// A jump to a new level, flat after it.
    LevelShift(LevelShiftVerdict),
    /// Growth that slows down or stopped: a cache filling up.
    Saturating(SaturationVerdict),
}

/// What one evaluation of the kept points finds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Finding {
    /// Growth, of this kind.
    Growth(Growth),
    /// No scale grows.
    Calm,
    /// The points after the newest change point (a step, a jump, a
    /// slowdown) are too few to tell what follows it yet.
    TooSoon,
}

impl Finding {
    fn growth(self) -> Option<Growth> {
        match self {
            Finding::Growth(growth) => Some(growth),
            Finding::Calm | Finding::TooSoon => None,
        }
    }
}

/// Classifies the growth in `points` (effective points, oldest first), as
/// the [`TrendDetector`] does at each point but without warm-up or
/// persistence. `None` when no scale of the newest
/// [`window`](TrendConfig::window) points grows, or when the points after
/// the newest change point are too few to tell.
///
/// 1. **Growth**: the newest `window` points, and their newest half,
///    quarter and eighth (each of at least
///    [`min_points`](TrendConfig::min_points): the shortest scale a fast
///    leak shows on first), are tested with the
///    Mann-Kendall test (Mann 1945, Kendall 1975) at
///    [`confidence`](TrendConfig::confidence) and a Theil-Sen slope (Theil
///    1950, Sen 1968) of at least
///    [`min_slope_bytes_per_min`](TrendConfig::min_slope_bytes_per_min)
///    giving at least [`min_growth_bytes`](TrendConfig::min_growth_bytes)
///    over the scale's span.
/// 2. **Change points** among the newest [`history`](TrendConfig::history)
///    points: binary segmentation of a two-phase regression with Schwarz's
///    criterion (see [the algorithm](crate#leak-detection)). The scales are
///    cut at the newest change point and tested again: growth that does not
///    go on after it is a [`Growth::LevelShift`] (flat before) or a
///    [`Growth::Saturating`] curve (growth before, none after).
/// 3. **Deceleration**: when growth goes on after the newest change point,
///    the slopes of the older and newer halves of the curve (from the
///    newest jump up, or the oldest point) are compared; a newer slope
///    lower by the `confidence` quantile of the normal distribution in
///    standard errors is a [`Growth::Saturating`] curve, unless the curve
///    sped up since (a change point with no jump and a significantly
///    steeper newer line) and the points after the speed-up do not slow
///    down themselves; otherwise it is a [`Growth::Leak`], whose verdict
///    comes from the points after the change point alone.
pub fn classify_growth(
    points: &[SeriesPoint],
    config: &TrendConfig,
    budget_bytes: Option<u64>,
) -> Option<Growth> {
    let mut scratch = Vec::new();
    let window = &points[points.len().saturating_sub(config.window)..];
    let mut values = Vec::with_capacity(window.len());
    let growth = SCALE_DIVISORS.iter().find_map(|divisor| {
        let scale = &window[window.len() - scale_len(window.len(), *divisor, config)..];
        values.clear();
        values.extend(scale.iter().map(|p| p.bytes));
        let mk = mann_kendall(&values)?;
        judge_scale(scale, mk, config, budget_bytes, &mut scratch)
    })?;
    let history = &points[points.len().saturating_sub(config.kept_points())..];
    let z = upper_quantile(1.0 - config.confidence);
    classify(history, growth, config, budget_bytes, z, &mut scratch).growth()
}

/// A change point whose lines jump by at least this many standard errors
/// is a level shift, whatever the confidence setting: a leak that starts
/// between two samples leaves a small jump of a few standard errors.
const JUMP_Z: f64 = 4.0;

/// A step up holds the decision back until its newer level has this many
/// points: enough for a line through them to show whether they rise (a
/// leak seen across a job) or not (a step). More delays leaks seen across
/// jobs; fewer lets a few points just after a step read as a leak.
const FRESH_STEP_POINTS: usize = 5;

/// A curve saturates when its newer half grows at most this share of its
/// older half's slope (and significantly less): a cache slows down towards
/// zero, a leak on a cache that is nearly full towards the leak's slope.
const SLOWDOWN_RATIO: f64 = 0.8;

/// The normal quantile whose upper tail (2.3e-4) a leak's newer slope must
/// clear above what the slowest cache's would be ([`keeps_its_slope`]),
/// whatever the confidence setting: the test runs at every point on up to
/// 17 overlapping sets of points, so one test's error rate must be far
/// below the detector's. Tuned on clean caches (time constant 45 min to
/// 5 h): 3 let 2 of 1,500 ten-hour runs alarm, 3.5 none.
const KEEPS_SLOPE_Z: f64 = 3.5;

/// A suspected leak stays suspected while it grows at this share of
/// [`min_slope_bytes_per_min`](TrendConfig::min_slope_bytes_per_min) or
/// more: without the margin, a leak near the minimum slope is reported and
/// cleared by turns as its estimate crosses the line (0.5 MB/min, just
/// under the default's 0.5 MiB/min: 7 to 11 alarms in 15 hours).
const HOLD_SLOPE_SHARE: f64 = 0.5;

/// The longest a suspected leak holds while the points after a change are
/// too few to tell what follows it, seconds: long enough for a job of 20
/// minutes and the quiescent points after it; without marks (one point per
/// block of 30 samples), three points. Tuned on `detector_latency`: at an
/// hour one 2 MB/min leak without marks (of 60) was cleared while it went
/// on; at two hours a cache that starts after the warm-up stays alarmed
/// longer without marks (median 240 min against 210).
const HOLD_SECS: f64 = 5400.0;

/// The share of the minimum growth by which the point after a drop must
/// still be below the points before the drop to confirm it: a single low
/// reading (a spike) is forgotten, while a cache emptied on a schedule,
/// refilling fast (40 to 130 MiB with a time constant of 20 minutes) and
/// seen again only after a job, is still a third of a drop below.
const DROP_CONFIRMED: f64 = 1.0 / 3.0;

/// The scales tested: the newest `window / d` points for each `d`, at
/// least `min_points` ([`scale_len`]).
const SCALE_DIVISORS: [usize; 4] = [1, 2, 4, 8];

/// The points of the scale `window / divisor` of a window of `window_len`
/// points: at least `min_points` (the fewest a test runs on, the shortest
/// scale a fast leak shows on first), at most the window.
fn scale_len(window_len: usize, divisor: usize, config: &TrendConfig) -> usize {
    (window_len / divisor).max(config.min_points.min(window_len))
}

/// Step 2 and 3 of [`classify_growth`], given growth on the unsplit scales.
fn classify(
    history: &[SeriesPoint],
    growth: LeakVerdict,
    config: &TrendConfig,
    budget_bytes: Option<u64>,
    z_critical: f64,
    scratch: &mut Vec<f64>,
) -> Finding {
    let changes = change_points(history);
    // Points after a recent change point (or with none found yet) that do
    // not rise clearly may be a step: too few to tell yet. So are growing
    // points that two flat levels fit better than a line, with fewer than
    // `2 * min_points` on the newer level: a few points just after a step
    // make a steep line with the ones before it, and the step may be too
    // recent to be a change point yet.
    let recent = changes
        .last()
        .is_none_or(|newest| history.len() - newest.index < 2 * config.min_points);
    let rising = changes.last().is_none_or(|newest| {
        newest.slope_after >= config.min_slope_bytes_per_min && newest.slope_after_z >= z_critical
    });
    let tested = &history[history.len().saturating_sub(growth.points)..];
    // A step is a jump of a third of the minimum growth at least: a leak
    // that starts leaves a smaller one between its first points and the
    // flat ones before.
    let fresh_step = is_step(tested, config.min_slope_bytes_per_min, z_critical).filter(|step| {
        tested.len() - step.index < 2 * config.min_points
            && step.jump_bytes >= config.min_growth_bytes / 3.0
    });
    if let Some(step) = fresh_step {
        // A step up, flat on both sides: too few points after it to tell,
        // then a level shift (its change point may be found later, or
        // never: a Theil-Sen slope across a step soon stops growing). A
        // leak after a step makes the newer level rise: no step then.
        let after = &tested[step.index..];
        if after.len() < FRESH_STEP_POINTS {
            return Finding::TooSoon;
        }
        return Finding::Growth(level_shift(
            after,
            step.jump_bytes,
            after[after.len() - 1].t_secs,
        ));
    }
    if recent && !rising {
        return Finding::TooSoon;
    }
    split_and_judge(
        history,
        &changes,
        growth,
        config,
        budget_bytes,
        z_critical,
        scratch,
    )
}

/// Step 2 and 3 of [`classify_growth`] once no step holds the decision back:
/// the scales split at the newest jump or slowdown, the deceleration test.
fn split_and_judge(
    history: &[SeriesPoint],
    changes: &[ChangePoint],
    growth: LeakVerdict,
    config: &TrendConfig,
    budget_bytes: Option<u64>,
    z_critical: f64,
    scratch: &mut Vec<f64>,
) -> Finding {
    // A jump is significant, large enough to matter (a third of the minimum
    // growth) and after a level known from `min_points` points: noise and
    // the bends of a curve leave smaller or less certain ones.
    let is_jump = |change: &ChangePoint| is_jump(change, config);
    // A jump or a significant slowdown splits the scales: growth must go on
    // after the newest one. Growth that speeds up with no jump (a leak
    // starting) is tested on the unsplit scales.
    let split = changes
        .iter()
        .rev()
        .find(|change| is_jump(change) || change.slowdown_z >= z_critical)
        .copied();
    let split_at = split.map_or(0, |change| change.index);
    let curve_from = curve_start(changes, config);
    let window_start = history.len().saturating_sub(config.window);
    let leak = if split_at <= window_start {
        Some(growth)
    } else {
        let window_len = history.len() - window_start;
        let mut values = Vec::new();
        SCALE_DIVISORS.iter().find_map(|divisor| {
            let start = (history.len() - scale_len(window_len, *divisor, config)).max(split_at);
            let scale = &history[start..];
            values.clear();
            values.extend(scale.iter().map(|p| p.bytes));
            let mk = mann_kendall(&values)?;
            judge_scale(scale, mk, config, budget_bytes, scratch)
        })
    };
    let regime = &history[split_at..];
    let curve = &history[curve_from..];
    let Some(newest) = history.last() else {
        return Finding::Calm;
    };
    let Some(leak) = leak else {
        let Some(change) = split else {
            return Finding::Calm;
        };
        let still_growing = mann_kendall(&regime.iter().map(|p| p.bytes).collect::<Vec<_>>())
            .is_some_and(|mk| grows(regime, mk, config, scratch));
        if regime.len() < config.min_points || still_growing {
            return Finding::TooSoon; // too few points after the change to tell, or not yet
        }
        return Finding::Growth(stopped_after(change, regime, newest.t_secs, config));
    };
    // Saturating when the curve slows down, from the newest jump up (or
    // the oldest point) and, after a speed-up, from the speed-up too: a
    // curve that sped up saturates only once its newest part does.
    let saturating = |from: usize| {
        let curve = &history[from..];
        deceleration(curve)
            .filter(|_| curve.len() >= 2 * config.min_points)
            .filter(|slowing| {
                slowing.z >= z_critical
                    && slowing.slope_older > 0.0
                    && slowing.slope_newer <= SLOWDOWN_RATIO * slowing.slope_older
            })
    };
    let sped_up = speed_up_start(changes, config, z_critical, history.len())
        .filter(|&from| from > curve_from);
    let slowing =
        saturating(curve_from).filter(|_| sped_up.is_none_or(|from| saturating(from).is_some()));
    match slowing {
        Some(slowing) => Finding::Growth(Growth::Saturating(SaturationVerdict {
            t_secs: newest.t_secs,
            slope_older_bytes_per_min: slowing.slope_older,
            slope_newer_bytes_per_min: slowing.slope_newer,
            deceleration_z: slowing.z,
            points: curve.len(),
            from_secs: curve[0].t_secs,
        })),
        None => {
            // The slope and level are those of the points after the newest
            // change point when they make the case on their own: a scale
            // reaching back before a leak started understates it.
            let since = changes.last().map_or(0, |change| change.index);
            let newest_regime = &history[since.max(history.len().saturating_sub(config.window))..];
            let own = mann_kendall(&newest_regime.iter().map(|p| p.bytes).collect::<Vec<_>>())
                .and_then(|mk| judge_scale(newest_regime, mk, config, budget_bytes, scratch))
                .or_else(|| refit(newest_regime, leak, budget_bytes, scratch));
            Finding::Growth(Growth::Leak(own.unwrap_or(leak)))
        }
    }
}

/// Whether a change point is a jump: significant, large enough to matter
/// (a third of the minimum growth) and after a level known from
/// `min_points` points. Noise and the bends of a curve leave smaller or
/// less certain ones.
fn is_jump(change: &ChangePoint, config: &TrendConfig) -> bool {
    change.jump_z.abs() >= JUMP_Z
        && change.jump_bytes.abs() >= config.min_growth_bytes / 3.0
        && change.points_before >= config.min_points
}

/// Where the current curve starts: after the newest jump up, or at the
/// oldest point. Only a jump up starts a new curve: two lines fitted to a
/// curve that slows down meet with the newer one below the older, and a
/// curve that slows down shows it across its slowdowns.
fn curve_start(changes: &[ChangePoint], config: &TrendConfig) -> usize {
    changes
        .iter()
        .rev()
        .find(|change| is_jump(change, config) && change.jump_bytes > 0.0)
        .map_or(0, |change| change.index)
}

/// Where growth that sped up starts: the newest change point with no jump
/// whose newer slope is higher than the older one by `z_critical`
/// standard errors, when at least `2 * min_points` points follow it (a
/// deceleration test of their own). A cache filling towards its ceiling
/// only slows down, so growth that speeds up without a jump has something
/// new in it (a leak starting on the cache, or another cache starting to
/// fill), and is saturating only once its newest part slows down too. A
/// speed-up at a jump down is a cache emptied and refilling: no new
/// growth on the same curve.
fn speed_up_start(
    changes: &[ChangePoint],
    config: &TrendConfig,
    z_critical: f64,
    n: usize,
) -> Option<usize> {
    changes
        .iter()
        .rev()
        .find(|change| change.slowdown_z <= -z_critical && !is_jump(change, config))
        .map(|change| change.index)
        .filter(|&index| n - index >= 2 * config.min_points)
}

/// Whether the growth in `history` keeps its slope rather than slowing down
/// like a cache filling towards its ceiling: what a leak must show before
/// it is reported (once reported, it stays until the usual tests find no
/// leak `persistence` times in a row).
///
/// A cache `c (1 - e^(-t/tau))` slows down by the factor `r = e^(-d/tau)`
/// over any `d` minutes, wherever its points start: over an hour, one of
/// 5 hours looks nearly straight, yet slows by 18%. So on a set of points,
/// the least-squares slopes of its older and newer halves, `b_old` and
/// `b_new`, `d` minutes apart (their mean times), must satisfy
/// `b_new - r b_old >= t se`, with `r` for the slowest cache,
/// [`cache_time_constant_secs`](TrendConfig::cache_time_constant_secs),
/// `se` the standard error of `b_new - r b_old` (residual variance pooled
/// over both halves) and `t` Student's quantile, for the `n - 4` residual
/// degrees of freedom of `n` points, at the normal's upper tail at 3.5
/// (4.2 for 24 points, 3.6 for 200). A cache of that time constant or less passes
/// only by noise; a leak keeps its slope (passing once `b_old (1 - r)` is
/// `t` standard errors); a leak on a cache slows down less and less as the
/// cache fills; growth that starts after a flat stretch passes on points
/// that include the flat ones.
///
/// The sets tested, each of `min_points` points at least: from the oldest
/// kept point; from each change point (so that a step or a bend before the
/// growth does not hide it); and centred on each change point, as many
/// points before it as after (growth that starts there fills the newer
/// half, flat points the older one: the quickest to show a leak that
/// starts). Any one passing is enough: each set is a stretch of the same
/// cache, so each has the cache's slowdown.
///
/// Halves see only a set's average slowdown, so a leak that starts with a
/// fast cache (the cache's early bend in the older half) passes late. So
/// the kept points (`2 * min_points` at least) also pass when a cache of
/// any time constant plus a line of the minimum slope or more fits them
/// better than any cache up to `cache_time_constant_secs` alone, by the
/// same quantile ([`leak_beyond_cache`]): the line follows the straight
/// tail the slow cache cannot, the fast cache the bend the line cannot.
fn keeps_its_slope(history: &[SeriesPoint], config: &TrendConfig) -> bool {
    let n = history.len();
    let changes = change_points(history);
    let after = changes.iter().map(|change| change.index);
    let around = after.clone().map(|index| index.saturating_sub(n - index));
    let halves = std::iter::once(0)
        .chain(after)
        .chain(around)
        .filter(|&from| n - from >= config.min_points)
        .any(|from| halves_keep_slope(&history[from..], config));
    halves
        || (n >= 2 * config.min_points
            && leak_beyond_cache(history, config.cache_time_constant_secs / 60.0).is_some_and(
                |fit| {
                    fit.slope >= config.min_slope_bytes_per_min
                        && fit.z >= t_quantile_at(KEEPS_SLOPE_Z, n as f64 - 4.0)
                },
            ))
}

/// The test of [`keeps_its_slope`] on one set of points.
fn halves_keep_slope(points: &[SeriesPoint], config: &TrendConfig) -> bool {
    if points.len() < 2 * MIN_SEGMENT {
        return false;
    }
    let Some(halves) = deceleration(points) else {
        return false;
    };
    let r = (-halves.gap_min * 60.0 / config.cache_time_constant_secs).exp();
    let se = halves.se_newer.hypot(r * halves.se_older);
    let dof = points.len() as f64 - 4.0;
    halves.slope_newer - r * halves.slope_older >= t_quantile_at(KEEPS_SLOPE_Z, dof) * se
}

/// `verdict` with the slope, level and span of a Theil-Sen line through
/// `points` (too few for a test of their own, at least 3), when it rises
/// faster than the verdict's.
fn refit(
    points: &[SeriesPoint],
    verdict: LeakVerdict,
    budget_bytes: Option<u64>,
    scratch: &mut Vec<f64>,
) -> Option<LeakVerdict> {
    if points.len() < 3 {
        return None;
    }
    let fit = theil_sen_with(points, scratch)?;
    if fit.slope_per_min() <= verdict.slope_bytes_per_min {
        return None;
    }
    let level = fit.level_at_end.max(0.0);
    let last = points.last()?;
    Some(LeakVerdict {
        t_secs: last.t_secs,
        slope_bytes_per_min: fit.slope_per_min(),
        level_bytes: level as u64,
        points: points.len(),
        span_secs: last.t_secs - points[0].t_secs,
        time_to_budget_secs: budget_bytes
            .map(|budget| ((budget as f64 - level) / fit.slope_per_sec).max(0.0)),
        ..verdict
    })
}

/// Growth that stopped at `change`: a level shift when the series was flat
/// before it, else a saturating curve.
fn stopped_after(
    change: ChangePoint,
    regime: &[SeriesPoint],
    t_secs: f64,
    config: &TrendConfig,
) -> Growth {
    if change.slope_before < config.min_slope_bytes_per_min && change.jump_bytes > 0.0 {
        level_shift(regime, change.jump_bytes, t_secs)
    } else {
        Growth::Saturating(SaturationVerdict {
            t_secs,
            slope_older_bytes_per_min: change.slope_before,
            slope_newer_bytes_per_min: change.slope_after,
            deceleration_z: 0.0,
            points: regime.len(),
            from_secs: regime[0].t_secs,
        })
    }
}

/// A level shift of `shift_bytes` to the points of `after` (not empty).
fn level_shift(after: &[SeriesPoint], shift_bytes: f64, t_secs: f64) -> Growth {
    let mut bytes: Vec<u64> = after.iter().map(|p| p.bytes).collect();
    let middle = bytes.len() / 2;
    let (_, median, _) = bytes.select_nth_unstable(middle);
    Growth::LevelShift(LevelShiftVerdict {
        t_secs,
        at_secs: after[0].t_secs,
        shift_bytes,
        level_bytes: *median,
        points_after: after.len(),
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

/// Whether a scale grows at all (significant trend, slope at least the
/// minimum), whatever the growth over its span: what keeps the warm-up on.
fn grows(
    scale: &[SeriesPoint],
    mk: MannKendall,
    config: &TrendConfig,
    scratch: &mut Vec<f64>,
) -> bool {
    scale.len() >= config.min_points
        && mk.confidence_increasing() >= config.confidence
        && theil_sen_with(scale, scratch)
            .is_some_and(|fit| fit.slope_per_min() >= config.min_slope_bytes_per_min)
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
    /// The suspicion ended: `persistence` evaluations in a row found no
    /// leak, or a restart (declared, or the first drop) forgot it.
    Cleared {
        /// Time of the reading that cleared it, seconds.
        t_secs: f64,
    },
    /// Growth seen `persistence` times in a row is a level shift (reported
    /// once per episode of growth).
    LevelShift(LevelShiftVerdict),
    /// Growth seen `persistence` times in a row is a saturating curve
    /// (reported once per episode of growth).
    Saturating(SaturationVerdict),
}

/// The default leak detector, fed one reading at a time as if sampled live.
///
/// From the first quiescent reading on, only quiescent readings count;
/// until then, the minimum of each block of
/// [`minima_block`](TrendConfig::minima_block) readings is one effective
/// point. The newest [`history`](TrendConfig::history) effective points are
/// kept.
///
/// **Warm-up.** From the first reading, and again after a declared restart
/// ([`declare_restart`](Self::declare_restart)) or the first drop (an
/// effective point [`min_growth_bytes`](TrendConfig::min_growth_bytes)
/// below the newest [`min_points`](TrendConfig::min_points) points, and
/// the point after it still a third of that below them: a single low
/// reading is a spike, forgotten),
/// caches may fill: only a leak whose growth keeps its slope rather than
/// slowing down like a cache with a time constant up to
/// [`cache_time_constant_secs`](TrendConfig::cache_time_constant_secs) is
/// reported, and its report ends the warm-up. Otherwise the warm-up lasts
/// until growth has stopped: `persistence` evaluations in a row in which no
/// scale of at least `2 * min_points` points grows (Mann-Kendall and the
/// minimum slope), after a third of
/// [`warm_up_secs`](TrendConfig::warm_up_secs) at least, or `warm_up_secs`
/// at the most.
///
/// **Cycles.** From the second drop since the last declared restart, drops
/// recur: each starts a new cycle, not a warm-up, and growth is also tested
/// across cycles, on the level each cycle reaches (see [the
/// algorithm](crate#leak-detection)). The newest 16 cycles are kept, a few
/// numbers each.
///
/// **After the warm-up**, each new point runs [`classify_growth`];
/// `persistence` leaks in a row (each also keeping its slope, as in the
/// warm-up, until one is reported) report [`TrendChange::Suspected`], as many
/// evaluations without one then report [`TrendChange::Cleared`]. A suspected
/// leak is held at half the minimum slope, and holds (for at most
/// `2 * min_points` evaluations in a row within 90 minutes) while the
/// points after a change point or a step are too few to tell what follows
/// it, so that a leak going on is not cleared by a few readings that lie
/// flat or a job that hid its growth; the cross-cycle test keeps the full
/// minimum slope. Growth seen
/// `persistence` times in a row that is a level shift or a saturating curve
/// is reported once, as [`TrendChange::LevelShift`] or
/// [`TrendChange::Saturating`], until growth has been absent `persistence`
/// times in a row; a change that began before the newest such report is
/// not reported again.
///
/// Work per point is bounded by the settings: the Mann-Kendall sums of
/// every scale are kept up to date in `O(window)`; the Theil-Sen fit
/// (`O(window^2)`) runs only on a scale whose trend is significant, and the
/// change points (`O(history)` per change point, at most 8) only when a
/// scale grows; the fit of a cache and a line (`O(history)` for each of
/// about 220 time constants) only when growth that is a leak has yet to
/// show it keeps its slope.
///
/// ```
/// use heapguard_monitor::detect::{SeriesPoint, TrendChange, TrendConfig, TrendDetector};
/// const MIB: u64 = 1 << 20;
/// let mut detector = TrendDetector::new(TrendConfig::default(), None).unwrap();
/// let mut first = None;
/// for minute in 0..180u64 {
///     let leak = minute.saturating_sub(60) * 5 * MIB; // 5 MiB/min from minute 60
///     let jitter = (minute * 7919 % 5) * MIB;
///     let point = SeriesPoint::quiescent(minute as f64 * 60.0, 300 * MIB + leak + jitter);
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
    z_critical: f64,
    points: VecDeque<SeriesPoint>,
    quiescent_mode: bool,
    block_min: Option<SeriesPoint>,
    block_len: usize,
    warm_up_from: Option<f64>,
    warming: bool,
    stopped_streak: usize,
    positive_streak: usize,
    negative_streak: usize,
    suspected: bool,
    growth_streak: usize,
    calm_streak: usize,
    /// Evaluations in a row in which a suspected leak was undecided: the
    /// points after a change were too few to tell what follows it.
    held_for: usize,
    /// When the newest run of such evaluations began, seconds.
    held_since: f64,
    explained: bool,
    /// The time of the newest informational report (level shift or
    /// saturation): a change that began before it was reported already.
    reported_at: Option<f64>,
    /// Whether the warm-up under way follows a declared restart (the
    /// start, or [`declare_restart`](Self::declare_restart)) rather than an
    /// inferred drop.
    warm_up_declared: bool,
    /// After a recurring drop: the fill that starts each cycle is not
    /// tested on its own until it stops growing (the cross-cycle test runs
    /// all along).
    settling: bool,
    settle_from: f64,
    cycles: Cycles,
    /// A drop not confirmed yet by the point after it.
    held_drop: Option<SeriesPoint>,
    verdict: Option<LeakVerdict>,
    last_shift: Option<LevelShiftVerdict>,
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
            z_critical: upper_quantile(1.0 - config.confidence),
            points: VecDeque::new(),
            config,
            budget_bytes,
            quiescent_mode: false,
            block_min: None,
            block_len: 0,
            warm_up_from: None,
            warming: true,
            stopped_streak: 0,
            positive_streak: 0,
            negative_streak: 0,
            suspected: false,
            growth_streak: 0,
            calm_streak: 0,
            held_for: 0,
            held_since: 0.0,
            explained: false,
            reported_at: None,
            warm_up_declared: true,
            settling: false,
            settle_from: 0.0,
            cycles: Cycles::default(),
            held_drop: None,
            verdict: None,
            last_shift: None,
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

    /// Whether the detector is in its warm-up (after the start or a
    /// restart): it reports only growth that keeps its slope, which ends
    /// the warm-up.
    pub fn is_warming_up(&self) -> bool {
        self.warming
    }

    /// The effective points currently in the window, oldest first.
    pub fn points(&self) -> impl Iterator<Item = &SeriesPoint> {
        let skip = self.points.len().saturating_sub(self.config.window);
        self.points.iter().skip(skip)
    }

    /// Whether recurring drops have been recognised as a cycle (from the
    /// second drop inferred since the last declared restart): growth is
    /// then also tested across cycles.
    pub fn is_cycling(&self) -> bool {
        self.cycles.is_cycling()
    }

    /// The newest leak verdict while a leak is suspected (updated at each
    /// evaluation that still finds it); `None` otherwise.
    pub fn verdict(&self) -> Option<&LeakVerdict> {
        self.verdict.as_ref().filter(|_| self.suspected)
    }

    /// The newest level shift reported, if any.
    pub fn last_level_shift(&self) -> Option<&LevelShiftVerdict> {
        self.last_shift.as_ref()
    }

    /// Declares a restart at `t_secs` (the process behind the series started
    /// again, as a start-time change or a marker in a recorded series
    /// says): every point and cycle before it is forgotten and a clean
    /// warm-up starts, as at the detector's creation. Returns
    /// [`TrendChange::Cleared`] when a leak was suspected.
    pub fn declare_restart(&mut self, t_secs: f64) -> Option<TrendChange> {
        self.cycles.clear();
        self.held_drop = None;
        self.block_min = None;
        self.block_len = 0;
        self.reset_from(t_secs, true)
    }

    /// Feeds one reading; returns a change of opinion, if any.
    pub fn observe(&mut self, point: SeriesPoint) -> Option<TrendChange> {
        let warm_up_from = *self.warm_up_from.get_or_insert(point.t_secs);
        let effective = self.effective_point(point)?;
        // A drop counts once the next point confirms it: still below the
        // points before the drop, by a third of a drop's size at least (a
        // cache emptied on a schedule refills meanwhile). A single low
        // reading is a spike: forgotten.
        let cleared = match self.held_drop.take() {
            Some(held) if self.is_below(effective, DROP_CONFIRMED) => self.begin_after_drop(held),
            Some(_spike) => None,
            None if self.is_below(effective, 1.0) => {
                self.held_drop = Some(effective);
                return None;
            }
            None => None,
        };
        let change = self.evaluate_point(effective, warm_up_from);
        // After a restart's reset the warm-up's first point reports nothing.
        cleared.or(change)
    }

    /// A confirmed drop at `held`: the first may be a restart (a new
    /// warm-up; a suspected leak is cleared), later ones recur (a new
    /// cycle).
    fn begin_after_drop(&mut self, held: SeriesPoint) -> Option<TrendChange> {
        let newest = self.points.make_contiguous();
        self.cycles.end_cycle(&held, newest);
        let cleared = if !self.cycles.is_cycling() {
            self.reset_from(held.t_secs, false)
        } else {
            // A recurring drop: a new cycle, not a restart. The warm-up an
            // inferred drop started ends; a declared one goes on.
            self.points.clear();
            self.scales = Default::default();
            self.stopped_streak = 0;
            self.settling = true;
            self.settle_from = held.t_secs;
            if !self.warm_up_declared {
                self.warming = false;
            }
            None
        };
        self.cycles.add(&held);
        self.push(held);
        cleared
    }

    /// Adds a point that is no unconfirmed drop and evaluates the growth.
    fn evaluate_point(&mut self, effective: SeriesPoint, warm_up_from: f64) -> Option<TrendChange> {
        self.cycles.add(&effective);
        self.push(effective);
        let stopped = (self.warming || self.settling) && self.growth_stopped();
        if self.warming {
            let warm_for = effective.t_secs - self.warm_up_from.unwrap_or(warm_up_from);
            self.warming = warm_for < self.config.warm_up_secs
                && !(stopped && warm_for >= self.config.warm_up_secs / 3.0);
            if self.warming {
                // Growth that no longer slows down like a filling cache is
                // a leak, warm-up or not: reported, it ends the warm-up.
                let leak = self.linear_growth();
                let change = self.update_leak(leak, effective.t_secs);
                if self.suspected {
                    self.warming = false;
                }
                return change;
            }
        }
        if self.settling
            && (stopped || effective.t_secs - self.settle_from >= self.config.warm_up_secs)
        {
            self.settling = false;
        }
        let finding = if self.settling {
            Finding::Calm
        } else {
            self.classify()
        };
        let growth = finding.growth();
        let leak = match growth {
            Some(Growth::Leak(verdict)) if self.suspected || self.keeps_its_slope() => {
                Some(verdict)
            }
            _ => None,
        };
        let leak = leak.or_else(|| {
            if !self.cycles.is_cycling() {
                return None;
            }
            let current = self.points.make_contiguous();
            self.cycles.leak(current, &self.config, self.budget_bytes)
        });
        // A suspected leak holds while the points after a change are too
        // few to tell what follows it: a leak seen across a small drop, a
        // few readings that happen to lie flat, or a job that hid its
        // growth (a step with fewer than `2 * min_points` points after it)
        // is not over. At most `2 * min_points` evaluations in a row (after
        // which any change point has enough points after it to be judged)
        // within `HOLD_SECS` of the first.
        let too_soon = match finding {
            Finding::TooSoon => true,
            Finding::Growth(Growth::LevelShift(shift)) => {
                shift.points_after < 2 * self.config.min_points
            }
            Finding::Growth(_) | Finding::Calm => false,
        };
        // The limit holds for the whole run of such evaluations: once it is
        // reached they count as no leak until one is not too soon.
        let undecided = self.suspected && leak.is_none() && too_soon;
        if !undecided {
            self.held_for = 0;
        } else if self.held_for == 0 {
            self.held_since = effective.t_secs;
        }
        let hold = undecided
            && self.held_for < 2 * self.config.min_points
            && effective.t_secs - self.held_since <= HOLD_SECS;
        if undecided {
            self.held_for = self.held_for.saturating_add(1);
        }
        // While a cycle's fill is not tested on its own, only the
        // cross-cycle test speaks: its silence clears nothing.
        if !hold && (leak.is_some() || !self.settling) {
            if let Some(change) = self.update_leak(leak, effective.t_secs) {
                return Some(change);
            }
        }
        self.update_episode(growth, effective.t_secs)
    }

    /// Persistence and clearing of the leak opinion.
    fn update_leak(&mut self, leak: Option<LeakVerdict>, t_secs: f64) -> Option<TrendChange> {
        if leak.is_some() && self.suspected {
            self.verdict = leak;
        }
        match leak {
            Some(verdict) => {
                self.negative_streak = 0;
                self.positive_streak += 1;
                if !self.suspected && self.positive_streak >= self.config.persistence {
                    self.suspected = true;
                    self.explained = true;
                    self.verdict = Some(verdict);
                    return Some(TrendChange::Suspected(verdict));
                }
            }
            None => {
                self.positive_streak = 0;
                self.negative_streak += 1;
                if self.suspected && self.negative_streak >= self.config.persistence {
                    self.suspected = false;
                    // What the growth turned out to be (a curve that
                    // stopped, a step) is reported once it persists.
                    self.explained = false;
                    return Some(TrendChange::Cleared { t_secs });
                }
            }
        }
        None
    }

    /// Reports a level shift or saturation once per episode of growth, and
    /// a change once: one that began before the newest report was seen by
    /// it already.
    fn update_episode(&mut self, growth: Option<Growth>, t_secs: f64) -> Option<TrendChange> {
        if growth.is_none() {
            self.growth_streak = 0;
            self.calm_streak += 1;
            if self.calm_streak >= self.config.persistence && !self.suspected {
                self.explained = false;
            }
            return None;
        }
        self.calm_streak = 0;
        self.growth_streak += 1;
        if self.explained || self.suspected || self.growth_streak < self.config.persistence {
            return None;
        }
        let (change, began) = match growth? {
            Growth::LevelShift(shift) => (TrendChange::LevelShift(shift), shift.at_secs),
            Growth::Saturating(curve) => (TrendChange::Saturating(curve), curve.from_secs),
            Growth::Leak(_) => return None,
        };
        self.explained = true;
        if self.reported_at.is_some_and(|reported| began <= reported) {
            return None;
        }
        self.reported_at = Some(t_secs);
        if let TrendChange::LevelShift(shift) = change {
            self.last_shift = Some(shift);
        }
        Some(change)
    }

    /// Whether `point` falls below the newest `min_points` points by
    /// `share` of the minimum growth: with 1, a drop (a restart, or the end
    /// of a cycle), confirmed by the next point with [`DROP_CONFIRMED`].
    fn is_below(&self, point: SeriesPoint, share: f64) -> bool {
        let newest = self.points.len().saturating_sub(self.config.min_points);
        let lowest = self.points.range(newest..).map(|p| p.bytes).min();
        lowest.is_some_and(|lowest| {
            (point.bytes as f64) + share * self.config.min_growth_bytes < lowest as f64
        })
    }

    /// Forgets the points and warms up again from `t_secs` (the kept
    /// cycles stay unless the caller clears them).
    fn reset_from(&mut self, t_secs: f64, declared: bool) -> Option<TrendChange> {
        self.points.clear();
        self.scales = Default::default();
        self.warm_up_from = Some(t_secs);
        self.warming = true;
        self.warm_up_declared = declared;
        self.settling = false;
        self.stopped_streak = 0;
        self.positive_streak = 0;
        self.negative_streak = 0;
        self.growth_streak = 0;
        self.calm_streak = 0;
        self.held_for = 0;
        self.explained = false;
        if std::mem::take(&mut self.suspected) {
            return Some(TrendChange::Cleared { t_secs });
        }
        None
    }

    /// The warm-up's evidence: `persistence` evaluations in a row in which
    /// no scale of at least `2 * min_points` points grows.
    fn growth_stopped(&mut self) -> bool {
        let window = self.points.len().min(self.config.window);
        if window < 2 * self.config.min_points {
            return false;
        }
        let points = self.points.make_contiguous();
        let config = &self.config;
        let scratch = &mut self.scratch;
        let growing = self.scales.iter().any(|scale| {
            scale.size >= 2 * config.min_points && {
                let mk = MannKendall::from_parts(scale.size, scale.s, scale.ties);
                grows(&points[points.len() - scale.size..], mk, config, scratch)
            }
        });
        self.stopped_streak = if growing { 0 } else { self.stopped_streak + 1 };
        self.stopped_streak >= self.config.persistence
    }

    /// Adds a point to the history and to every scale's statistic.
    fn push(&mut self, point: SeriesPoint) {
        self.points.push_back(point);
        let kept = self.points.len().min(self.config.window);
        let points = self.points.make_contiguous();
        for (scale, divisor) in self.scales.iter_mut().zip(SCALE_DIVISORS) {
            scale.add_newest(points);
            while scale.size > scale_len(kept, divisor, &self.config) {
                scale.remove_oldest(points);
            }
        }
        if self.points.len() > self.config.kept_points() {
            self.points.pop_front();
        }
    }

    /// The leak verdict of [`classify_growth`] on the kept points.
    #[cfg(test)]
    fn evaluate(&mut self) -> Option<LeakVerdict> {
        match self.classify() {
            Finding::Growth(Growth::Leak(verdict)) => Some(verdict),
            _ => None,
        }
    }

    /// During the warm-up: the leak [`classify_growth`] finds, when the
    /// points after the newest change point no longer slow down like a
    /// filling cache ([`keeps_its_slope`]).
    fn linear_growth(&mut self) -> Option<LeakVerdict> {
        let Finding::Growth(Growth::Leak(verdict)) = self.classify() else {
            return None;
        };
        self.keeps_its_slope().then_some(verdict)
    }

    /// [`keeps_its_slope`] on the kept points; always true without a
    /// warm-up (`warm_up_secs` 0): no cache is expected to fill then.
    fn keeps_its_slope(&mut self) -> bool {
        if self.config.warm_up_secs == 0.0 {
            return true;
        }
        let points = self.points.make_contiguous();
        let history = &points[points.len().saturating_sub(self.config.kept_points())..];
        keeps_its_slope(history, &self.config)
    }

    /// [`classify_growth`] on the kept points, from the kept statistics.
    /// Once a leak is suspected, at [`HOLD_SLOPE_SHARE`] of the minimum
    /// slope.
    fn classify(&mut self) -> Finding {
        let config = TrendConfig {
            min_slope_bytes_per_min: self.config.min_slope_bytes_per_min
                * if self.suspected {
                    HOLD_SLOPE_SHARE
                } else {
                    1.0
                },
            ..self.config.clone()
        };
        let points = self.points.make_contiguous();
        let window = &points[points.len().saturating_sub(config.window)..];
        let growth = self.scales.iter().find_map(|scale| {
            if scale.size < 3 {
                return None;
            }
            let mk = MannKendall::from_parts(scale.size, scale.s, scale.ties);
            let members = &window[window.len() - scale.size..];
            judge_scale(members, mk, &config, self.budget_bytes, &mut self.scratch)
        });
        let Some(growth) = growth else {
            return Finding::Calm;
        };
        let history = &points[points.len().saturating_sub(self.config.kept_points())..];
        classify(
            history,
            growth,
            &config,
            self.budget_bytes,
            self.z_critical,
            &mut self.scratch,
        )
    }

    fn effective_point(&mut self, point: SeriesPoint) -> Option<SeriesPoint> {
        if point.quiescent && !self.quiescent_mode {
            self.quiescent_mode = true;
            self.held_drop = None;
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
    fn linear_growth_ends_the_warm_up_persistence_clearing_and_saturation() {
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
        assert_eq!(changes.len(), 3, "{changes:?}");
        // Growth that keeps its slope from the start is a leak during the
        // warm-up: reported once the slope test has points enough and three
        // evaluations in a row agree, long before the warm-up's hour.
        assert!(changes[0].0 < 20, "{changes:?}");
        assert!(matches!(changes[0].1, TrendChange::Suspected(_)));
        assert!(!detector.is_warming_up());
        // Flat from minute 120: the leak clears, and the growth is reported
        // as having stopped at the bend.
        assert!(matches!(changes[1].1, TrendChange::Cleared { .. }));
        let TrendChange::Saturating(curve) = changes[2].1 else {
            panic!("{changes:?}");
        };
        assert_eq!(curve.slope_older_bytes_per_min, 3.0 * MIB as f64);
        assert_eq!(curve.slope_newer_bytes_per_min, 0.0);
        assert!(!detector.is_suspected());
    }

    #[test]
    fn growth_that_stops_ends_the_warm_up_early_and_a_restart_rearms_it() {
        let mut detector = TrendDetector::new(TrendConfig::default(), None).unwrap();
        let jitter = |m: u64| (m * 7_919 % 7) * MIB / 2;
        // A cache of 60 MiB filling in the first 30 minutes, then flat.
        let mut ended = None;
        for m in 0..180u64 {
            let bytes = 300 * MIB + m.min(30) * 2 * MIB + jitter(m);
            assert_eq!(
                detector.observe(SeriesPoint::quiescent(m as f64 * 60.0, bytes)),
                None
            );
            if ended.is_none() && !detector.is_warming_up() {
                ended = Some(m);
            }
        }
        // The warm-up lasts a third of its bound at least (60 min), and
        // ends once no scale of 16 points or more grows, 3 times in a row.
        let ended = ended.unwrap();
        assert!(
            (60..=70).contains(&ended),
            "warm-up ended at minute {ended}"
        );
        // A restart: back to the base, and the cache fills again.
        for m in 180..300u64 {
            let bytes = 300 * MIB + (m - 180).min(30) * 2 * MIB + jitter(m);
            assert_eq!(
                detector.observe(SeriesPoint::quiescent(m as f64 * 60.0, bytes)),
                None
            );
            // The drop at minute 180 counts once minute 181 confirms it.
            if m == 181 {
                assert!(detector.is_warming_up());
            }
        }
        assert!(!detector.is_warming_up());
    }

    #[test]
    fn a_declared_restart_forgets_the_leak_and_warms_up_again() {
        let mut detector = TrendDetector::new(no_grace(), None).unwrap();
        let mut suspected = false;
        for m in 0..60u64 {
            let point = SeriesPoint::quiescent(m as f64 * 60.0, 300 * MIB + m * 2 * MIB);
            suspected |= matches!(detector.observe(point), Some(TrendChange::Suspected(_)));
        }
        assert!(suspected && detector.is_suspected());
        assert!(detector.verdict().is_some());
        assert_eq!(
            detector.declare_restart(3_600.0),
            Some(TrendChange::Cleared { t_secs: 3_600.0 })
        );
        assert!(!detector.is_suspected() && detector.verdict().is_none());
        assert_eq!(detector.points().count(), 0);
        // A warm-up of 0 s ends at the next point.
        assert!(detector.is_warming_up());
        assert_eq!(detector.declare_restart(3_660.0), None);
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
            let held = detector.held_drop;
            detector.observe(point);
            if detector.held_drop.is_some() {
                // A drop waits for the next point: not among the points yet.
            } else if let Some(drop) = held.filter(|_| detector.points().count() == 2) {
                all = vec![drop, point]; // a restart: the detector starts afresh
            } else {
                all.push(point);
            }
            let window: Vec<u64> = detector.points().map(|p| p.bytes).collect();
            assert_eq!(window.len(), all.len().min(20));
            for (scale, divisor) in detector.scales.iter().zip(super::SCALE_DIVISORS) {
                let members =
                    &window[window.len() - super::scale_len(window.len(), divisor, &config)..];
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
