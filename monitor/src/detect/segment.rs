//! Change points and deceleration: what tells a leak (growth that goes on)
//! from a level shift (a jump, flat after it) and a saturating curve (growth
//! that slows down).
//!
//! - **Change points** by binary segmentation (Scott and Knott 1974,
//!   Vostrikova 1981) of a two-phase linear regression (Quandt 1958,
//!   Hinkley 1969): the split that minimises the residual sum of squares of
//!   two independent lines. A split counts when Schwarz's criterion
//!   (Schwarz 1978; for change points, Yao 1988) prefers two lines to one:
//!   `n ln(RSS_one / RSS_two) > 4 ln n` (two more coefficients, the break's
//!   place, and one for safety, with a floor of 13.8, the 0.999 quantile of
//!   chi-squared with 2 degrees of freedom). After a split, only the newer
//!   side is split again, so the result is the last regime: the points after
//!   the newest change point.
//! - **Deceleration**: the ordinary least-squares slopes of the older and
//!   newer halves of a regime, compared with the usual test for the
//!   difference of two regression slopes
//!   (`z = (b_old - b_new) / sqrt(se_old^2 + se_new^2)`, residual variance
//!   pooled over both halves; Paternoster et al. 1998). A cache filling towards a ceiling (`c (1 - e^(-t/tau))`)
//!   slows by `e^(-T/(2 tau))` between halves `T/2` apart; a leak does not
//!   slow down.
//!
//! Sums run in MiB and minutes from the segment's first point, so the sums
//! of squares stay far inside `f64` precision.

use super::SeriesPoint;

/// Bytes in a MiB, the unit the fits work in.
pub(super) const MIB: f64 = 1024.0 * 1024.0;

/// Smallest number of points on each side of a change point.
pub(crate) const MIN_SEGMENT: usize = 3;

/// Noise floor added to every residual sum of squares, MiB^2 per point
/// (64 KiB of noise): series with no noise at all (synthetic ramps) get no
/// spurious change points from rounding.
pub(super) const RSS_FLOOR_PER_POINT: f64 = 1.0 / 256.0;

/// A newer line whose slope is within this many standard errors of 0 is
/// flat (the 0.95 two-sided normal quantile).
const FLAT_Z: f64 = 1.96;

/// Most change points looked for in one segment (a bound on the work).
const MAX_SPLITS: usize = 8;

/// Prefix sums of a segment, for least-squares lines over any sub-range in
/// `O(1)`.
struct Sums {
    t: Vec<f64>,
    tt: Vec<f64>,
    y: Vec<f64>,
    ty: Vec<f64>,
    yy: Vec<f64>,
}

/// A least-squares line over a range of points.
#[derive(Debug, Clone, Copy)]
struct Line {
    n: f64,
    /// MiB per minute.
    slope: f64,
    /// The line's value at the range's mean time, MiB.
    mean_y: f64,
    /// Mean time of the range, minutes.
    mean_t: f64,
    /// Sum over the range of `(t - mean_t)^2`.
    sxx: f64,
    /// Residual sum of squares, MiB^2.
    rss: f64,
}

impl Line {
    fn at(&self, t: f64) -> f64 {
        self.mean_y + self.slope * (t - self.mean_t)
    }
}

impl Sums {
    fn new(points: &[SeriesPoint]) -> Self {
        let n = points.len();
        let (t0, y0) = points
            .first()
            .map_or((0.0, 0.0), |p| (p.t_secs, p.bytes as f64));
        let mut sums = Sums {
            t: Vec::with_capacity(n + 1),
            tt: Vec::with_capacity(n + 1),
            y: Vec::with_capacity(n + 1),
            ty: Vec::with_capacity(n + 1),
            yy: Vec::with_capacity(n + 1),
        };
        let (mut t_sum, mut tt_sum, mut y_sum, mut ty_sum, mut yy_sum) = (0.0, 0.0, 0.0, 0.0, 0.0);
        sums.push(0.0, 0.0, 0.0, 0.0, 0.0);
        for p in points {
            let t = (p.t_secs - t0) / 60.0;
            let y = (p.bytes as f64 - y0) / MIB;
            t_sum += t;
            tt_sum += t * t;
            y_sum += y;
            ty_sum += t * y;
            yy_sum += y * y;
            sums.push(t_sum, tt_sum, y_sum, ty_sum, yy_sum);
        }
        sums
    }

    fn push(&mut self, t: f64, tt: f64, y: f64, ty: f64, yy: f64) {
        self.t.push(t);
        self.tt.push(tt);
        self.y.push(y);
        self.ty.push(ty);
        self.yy.push(yy);
    }

    /// The least-squares line over points `from..to`.
    fn line(&self, from: usize, to: usize) -> Line {
        let n = (to - from) as f64;
        let st = self.t[to] - self.t[from];
        let stt = self.tt[to] - self.tt[from];
        let sy = self.y[to] - self.y[from];
        let sty = self.ty[to] - self.ty[from];
        let syy = self.yy[to] - self.yy[from];
        let sxx = (stt - st * st / n).max(0.0);
        let sxy = sty - st * sy / n;
        let syy = (syy - sy * sy / n).max(0.0);
        let (slope, rss) = if sxx > 0.0 {
            (sxy / sxx, (syy - sxy * sxy / sxx).max(0.0))
        } else {
            (0.0, syy)
        };
        Line {
            n,
            slope,
            mean_y: sy / n,
            mean_t: st / n,
            sxx,
            rss,
        }
    }

    /// Minutes from the segment's first point to point `i`.
    fn t_of(&self, i: usize) -> f64 {
        self.t[i + 1] - self.t[i]
    }
}

/// The newest change point of a series, if any.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ChangePoint {
    /// Index of the first point after the change.
    pub(crate) index: usize,
    /// Points of the older line (from the previous change point).
    pub(crate) points_before: usize,
    /// The jump of the two fitted lines at the change, bytes: the newer
    /// line's value minus the older one's, at whichever of the last point
    /// before and the first point after the change they are closer; 0 when
    /// they cross in between. The size of a level shift, never a slope
    /// times a span.
    pub(crate) jump_bytes: f64,
    /// `jump_bytes` in standard errors of the two lines' values there.
    pub(crate) jump_z: f64,
    /// `slope_before - slope_after` in standard errors of the difference.
    pub(crate) slowdown_z: f64,
    /// `slope_after` in standard errors.
    pub(crate) slope_after_z: f64,
    /// The older line's slope, bytes per minute.
    pub(crate) slope_before: f64,
    /// The newer line's slope, bytes per minute.
    pub(crate) slope_after: f64,
}

/// Binary segmentation of `points` towards their last regime: the change
/// points found, oldest first (each after splitting the points after the
/// previous one; at most 8); empty when one line fits them all.
pub(crate) fn change_points(points: &[SeriesPoint]) -> Vec<ChangePoint> {
    let n = points.len();
    let mut found = Vec::new();
    if n < 2 * MIN_SEGMENT {
        return found;
    }
    let sums = Sums::new(points);
    let mut from = 0;
    for _ in 0..MAX_SPLITS {
        let Some(change) = best_split(&sums, from, n) else {
            break;
        };
        found.push(change);
        from = change.index;
    }
    found
}

/// The best two-line split of `from..to`, when Schwarz's criterion accepts it.
fn best_split(sums: &Sums, from: usize, to: usize) -> Option<ChangePoint> {
    let len = to - from;
    if len < 2 * MIN_SEGMENT {
        return None;
    }
    let floor = RSS_FLOOR_PER_POINT * len as f64;
    let one = sums.line(from, to).rss + floor;
    let (mut best, mut best_rss) = (None, f64::INFINITY);
    for split in from + MIN_SEGMENT..=to - MIN_SEGMENT {
        let (older, newer) = (sums.line(from, split), sums.line(split, to));
        let rss = older.rss + newer.rss + floor;
        if rss < best_rss {
            best_rss = rss;
            best = Some((split, older, newer));
        }
    }
    let (split, older, newer) = best?;
    let n = len as f64;
    let statistic = n * (one / best_rss).ln();
    if statistic <= (4.0 * n.ln()).max(13.8) {
        return None;
    }
    // The two lines are compared over the gap between the last point
    // before the change and the first after it: lines that cross there
    // (growth that merely speeds up or slows down between two samples) have
    // no jump; otherwise the jump is the smaller of the two differences.
    let variance = best_rss / (n - 4.0).max(1.0);
    let spread = |line: &Line, t: f64| {
        let lever = if line.sxx > 0.0 {
            (t - line.mean_t).powi(2) / line.sxx
        } else {
            0.0
        };
        1.0 / line.n + lever
    };
    let gap = [sums.t_of(split - 1), sums.t_of(split)];
    let [before, after] = gap.map(|t| newer.at(t) - older.at(t));
    let (jump, jump_z) = if before * after <= 0.0 {
        (0.0, 0.0)
    } else {
        let t = if before.abs() < after.abs() {
            gap[0]
        } else {
            gap[1]
        };
        let jump = newer.at(t) - older.at(t);
        let se = (variance * (spread(&older, t) + spread(&newer, t))).sqrt();
        (jump, if se > 0.0 { jump / se } else { 0.0 })
    };
    // After a level shift the newer points are flat: with a slope that is
    // not significant, the jump is their mean against the older line at the
    // first of them, far better determined than a line's extrapolation.
    let newer_slope_se = (variance / newer.sxx.max(f64::MIN_POSITIVE)).sqrt();
    let slope_after_z = if newer_slope_se > 0.0 && newer_slope_se.is_finite() {
        newer.slope / newer_slope_se
    } else {
        0.0
    };
    let (jump, jump_z) = if slope_after_z.abs() < FLAT_Z {
        let t = gap[1];
        let jump = newer.mean_y - older.at(t);
        let se = (variance * (1.0 / newer.n + spread(&older, t))).sqrt();
        (jump, if se > 0.0 { jump / se } else { 0.0 })
    } else {
        (jump, jump_z)
    };
    let slope_se = (variance / older.sxx.max(f64::MIN_POSITIVE)
        + variance / newer.sxx.max(f64::MIN_POSITIVE))
    .sqrt();
    Some(ChangePoint {
        index: split,
        points_before: split - from,
        jump_bytes: jump * MIB,
        jump_z,
        slowdown_z: if slope_se > 0.0 && slope_se.is_finite() {
            (older.slope - newer.slope) / slope_se
        } else {
            0.0
        },
        slope_after_z,
        slope_before: older.slope * MIB,
        slope_after: newer.slope * MIB,
    })
}

/// Whether `points` are a step: two flat levels (split at the best place)
/// fit them better than one line, by Schwarz's criterion (`n
/// ln(RSS_line / RSS_step) > 2 ln n`, the step's place being the one more
/// parameter), and the points of neither level rise (a slope of at least
/// `min_slope` bytes per minute and `z_critical` standard errors of the
/// residuals of a line through each). A
/// few points that straddle a step in two clusters make a steep line, but
/// they are a step; growth that goes on after a jump is not one. Returns
/// the step, or `None` when `points` are no step (and
/// for fewer than `2 * MIN_SEGMENT` points); each level holds at least
/// `MIN_SEGMENT` points, so that the newer one's slope can be tested.
pub(crate) fn is_step(points: &[SeriesPoint], min_slope: f64, z_critical: f64) -> Option<Step> {
    let n = points.len();
    if n < 2 * MIN_SEGMENT {
        return None;
    }
    let sums = Sums::new(points);
    let floor = RSS_FLOOR_PER_POINT * n as f64;
    let line = sums.line(0, n).rss + floor;
    let flat = |from: usize, to: usize| {
        let k = (to - from) as f64;
        let sy = sums.y[to] - sums.y[from];
        let syy = sums.yy[to] - sums.yy[from];
        (syy - sy * sy / k).max(0.0)
    };
    let (split, step) = (MIN_SEGMENT..=n - MIN_SEGMENT)
        .map(|split| (split, flat(0, split) + flat(split, n) + floor))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    let count = n as f64;
    if count * (line / step).ln() <= 2.0 * count.ln() {
        return None;
    }
    // Whether either level rises, against the residuals of a line through
    // each: a leak's points rise within each cluster, a step's do not.
    let (before, after) = (sums.line(0, split), sums.line(split, n));
    let variance = (before.rss + after.rss + floor) / (count - 4.0).max(1.0);
    let rises = |line: &Line| {
        let se = (variance / line.sxx.max(f64::MIN_POSITIVE)).sqrt();
        line.slope * MIB >= min_slope && se > 0.0 && se.is_finite() && line.slope / se >= z_critical
    };
    if rises(&before) || rises(&after) {
        return None;
    }
    // The jump between the levels' medians: a point on the wrong side of
    // the split moves a mean, hardly a median.
    let median = |part: &[SeriesPoint]| {
        let mut bytes: Vec<u64> = part.iter().map(|p| p.bytes).collect();
        let middle = bytes.len() / 2;
        *bytes.select_nth_unstable(middle).1 as f64
    };
    Some(Step {
        index: split,
        jump_bytes: median(&points[split..]) - median(&points[..split]),
    })
}

/// Two flat levels found by [`is_step`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Step {
    /// Index of the first point of the newer level.
    pub(crate) index: usize,
    /// The newer level's median minus the older one's, bytes.
    pub(crate) jump_bytes: f64,
}

/// The deceleration test on a regime (points with no change point among
/// them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Deceleration {
    /// Least-squares slope of the older half, bytes per minute.
    pub(crate) slope_older: f64,
    /// Least-squares slope of the newer half, bytes per minute.
    pub(crate) slope_newer: f64,
    /// `(slope_older - slope_newer)` in standard errors.
    pub(crate) z: f64,
    /// Standard error of `slope_older`, bytes per minute (residual variance
    /// pooled over both halves).
    pub(crate) se_older: f64,
    /// Standard error of `slope_newer`, bytes per minute.
    pub(crate) se_newer: f64,
    /// Minutes from the older half's mean time to the newer half's.
    pub(crate) gap_min: f64,
}

/// Compares the slopes of the older and newer halves of `points`; `None`
/// for fewer than `2 * MIN_SEGMENT` points.
pub(crate) fn deceleration(points: &[SeriesPoint]) -> Option<Deceleration> {
    let n = points.len();
    if n < 2 * MIN_SEGMENT {
        return None;
    }
    let sums = Sums::new(points);
    let (older, newer) = (sums.line(0, n / 2), sums.line(n / 2, n));
    let dof = (older.n + newer.n - 4.0).max(1.0);
    let variance = (older.rss + newer.rss + RSS_FLOOR_PER_POINT * n as f64) / dof;
    let se_older = (variance / older.sxx.max(f64::MIN_POSITIVE)).sqrt();
    let se_newer = (variance / newer.sxx.max(f64::MIN_POSITIVE)).sqrt();
    let se = se_older.hypot(se_newer);
    let z = if se > 0.0 && se.is_finite() {
        (older.slope - newer.slope) / se
    } else {
        0.0
    };
    Some(Deceleration {
        slope_older: older.slope * MIB,
        slope_newer: newer.slope * MIB,
        z,
        se_older: se_older * MIB,
        se_newer: se_newer * MIB,
        gap_min: (sums.t[n] - sums.t[n / 2]) / (n - n / 2) as f64 - sums.t[n / 2] / (n / 2) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::{change_points, deceleration, ChangePoint, SeriesPoint, MIB};

    fn last_change_point(points: &[SeriesPoint]) -> Option<ChangePoint> {
        change_points(points).last().copied()
    }

    /// A deterministic jitter of up to +-2 MiB.
    fn jitter(i: u64) -> f64 {
        ((i * 7_919 % 41) as f64 - 20.0) / 10.0 * MIB
    }

    fn series(f: impl Fn(f64) -> f64) -> Vec<SeriesPoint> {
        (0..120u64)
            .map(|m| {
                let bytes = 300.0 * MIB + f(m as f64) + jitter(m);
                SeriesPoint::quiescent(m as f64 * 60.0, bytes as u64)
            })
            .collect()
    }

    #[test]
    fn a_step_is_a_change_point_with_its_own_size() {
        let points = series(|m| if m >= 70.0 { 50.0 * MIB } else { 0.0 });
        let change = last_change_point(&points).unwrap();
        assert_eq!(change.index, 70);
        assert!((change.jump_bytes / MIB - 50.0).abs() < 2.0, "{change:?}");
        assert!(change.slope_after.abs() < 0.1 * MIB);
    }

    #[test]
    fn a_line_has_no_change_point_and_no_deceleration() {
        let points = series(|m| m * MIB);
        assert_eq!(last_change_point(&points), None);
        let slowing = deceleration(&points).unwrap();
        assert!(slowing.z.abs() < 2.0, "{slowing:?}");
        let exact: Vec<SeriesPoint> = (0..60u64)
            .map(|m| SeriesPoint::quiescent(m as f64 * 60.0, (300 + m) << 20))
            .collect();
        assert_eq!(last_change_point(&exact), None);
    }

    #[test]
    fn a_leak_after_flat_minutes_starts_a_regime() {
        let points = series(|m| (m - 80.0).max(0.0) * 2.0 * MIB);
        let change = last_change_point(&points).unwrap();
        assert!((78..=82).contains(&change.index), "{change:?}");
        assert!((change.slope_after / MIB - 2.0).abs() < 0.2);
    }

    #[test]
    fn two_clusters_are_a_step_and_a_ramp_is_a_line() {
        use super::is_step;
        // Noise of up to 1.5 MiB with no trend.
        const NOISE: [f64; 14] = [
            1.2, -0.8, 0.3, -1.5, 0.9, -0.2, 1.1, -1.0, 0.4, -0.6, 1.5, -1.3, 0.1, -0.4,
        ];
        let point = |i: usize, m: u64, mib: f64| {
            SeriesPoint::quiescent(m as f64 * 60.0, ((mib + NOISE[i]) * MIB) as u64)
        };
        // Minutes 0-6 at 300 MiB, 14-20 at 336 MiB (a job in between).
        let clusters: Vec<SeriesPoint> = (0..7u64)
            .chain(14..21)
            .enumerate()
            .map(|(i, m)| point(i, m, if m >= 10 { 336.0 } else { 300.0 }))
            .collect();
        let step = is_step(&clusters, 0.5 * MIB, 2.33).unwrap();
        assert_eq!(step.index, 7);
        assert!((step.jump_bytes / MIB - 36.0).abs() < 2.0, "{step:?}");
        // 1.5 MiB/min for 14 minutes, with the same noise.
        let ramp: Vec<SeriesPoint> = (0..14u64)
            .map(|m| point(m as usize, m, 300.0 + m as f64 * 1.5))
            .collect();
        assert_eq!(is_step(&ramp, 0.5 * MIB, 2.33), None);
        // The same clusters rising 1.5 MiB/min within each: a leak seen
        // across a job, no step.
        let rising: Vec<SeriesPoint> = (0..7u64)
            .chain(14..21)
            .enumerate()
            .map(|(i, m)| point(i, m, 300.0 + m as f64 * 1.5))
            .collect();
        assert_eq!(is_step(&rising, 0.5 * MIB, 2.33), None);
    }

    #[test]
    fn a_filling_cache_decelerates() {
        let points = series(|m| 200.0 * MIB * (1.0 - (-m / 60.0).exp()));
        let slowing = deceleration(&points).unwrap();
        assert!(slowing.z > 10.0, "{slowing:?}");
        assert!(slowing.slope_older > 2.0 * slowing.slope_newer);
    }
}
