//! The information limit of the cache test on one run: how soon the
//! likelihood-ratio test of "a cache plus a leak" against "a cache alone, of
//! time constant up to `cache_time_constant_secs`" can tell them apart on
//! the run's own quiescent samples, at the detector's quantile, whatever the
//! noise happens to be.
//!
//! With normal noise of standard deviation `sigma`, the test's statistic
//! `F = (RSS_cache - RSS_both) / (RSS_both / (n - 4))` is (approximately,
//! the time constant being fitted) a noncentral F whose noncentrality is
//! `lambda = D / sigma^2`, `D` being the same difference of residual sums of
//! squares taken on the noise-free curve: each model's best fit to the
//! truth. So `sqrt(lambda)` is the test's `z = sqrt(F)` in a typical run;
//! before `sqrt(lambda)` reaches the quantile, fewer than about half the
//! runs can pass. The limit is the first sample at which it has reached the
//! quantile for `persistence` samples in a row, as the detector's alarm
//! needs.
//!
//! Written apart from the detector's own fit (normal equations solved by
//! elimination, not its centred sums), so that the two check each other.

use crate::common::traces::{Trace, MIB, NOISE_SD};
use heapguard_monitor::detect::TrendConfig;

/// The shortest time constant fitted and the grid's ratio, minutes: as the
/// detector's test fits.
const TAU_MIN: f64 = 5.0;
const TAU_RATIO: f64 = 1.02;

/// The normal's upper tail the detector's cache test asks for, in
/// standard deviations.
const TAIL_Z: f64 = 3.5;

/// Student's quantile for `dof` degrees of freedom at the normal's `z`
/// (the Cornish-Fisher expansion to the third order in `1 / dof`; within
/// 0.01 from 12 degrees of freedom).
fn student_quantile(z: f64, dof: f64) -> f64 {
    let terms = [
        z,
        (z.powi(3) + z) / 4.0,
        (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0,
        (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0,
    ];
    terms
        .iter()
        .enumerate()
        .map(|(k, term)| term / dof.powi(k as i32))
        .sum()
}

/// Least squares of `y` on `columns`: the residual sum of squares and the
/// coefficients, `None` when the columns are dependent.
fn least_squares(columns: &[&[f64]], y: &[f64]) -> Option<(f64, Vec<f64>)> {
    let k = columns.len();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    // The augmented normal equations, reduced by Gauss-Jordan elimination.
    let mut m: Vec<Vec<f64>> = (0..k)
        .map(|i| {
            let mut row: Vec<f64> = (0..k).map(|j| dot(columns[i], columns[j])).collect();
            row.push(dot(columns[i], y));
            row
        })
        .collect();
    for col in 0..k {
        let pivot = (col..k).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[pivot][col].abs() < 1e-9 * m[pivot].iter().map(|v| v.abs()).fold(1.0, f64::max) {
            return None;
        }
        m.swap(col, pivot);
        let lead = m[col][col];
        m[col].iter_mut().for_each(|v| *v /= lead);
        for row in 0..k {
            if row != col {
                let factor = m[row][col];
                let pivot_row = m[col].clone();
                m[row]
                    .iter_mut()
                    .zip(&pivot_row)
                    .for_each(|(v, p)| *v -= factor * p);
            }
        }
    }
    let coefficients: Vec<f64> = m.iter().map(|row| row[k]).collect();
    let rss = (0..y.len())
        .map(|p| {
            let fitted: f64 = columns
                .iter()
                .zip(&coefficients)
                .map(|(c, b)| c[p] * b)
                .sum();
            (y[p] - fitted).powi(2)
        })
        .sum();
    Some((rss, coefficients))
}

/// `D / sigma^2` for the points `(minute, bytes)`: the cache models are
/// `a + c (1 - e^(-t/tau))`, `c >= 0`, `tau` on the detector's grid (the
/// null up to `tau_max` minutes, or flat); the alternative adds a line, or
/// is a line alone.
fn noncentrality(points: &[(f64, f64)], tau_max: f64) -> f64 {
    let t0 = points[0].0;
    let t: Vec<f64> = points.iter().map(|p| p.0 - t0).collect();
    let y: Vec<f64> = points.iter().map(|p| p.1 / MIB).collect();
    let ones = vec![1.0; points.len()];
    let flat = least_squares(&[&ones], &y).map_or(f64::INFINITY, |fit| fit.0);
    let line = least_squares(&[&ones, &t], &y).map_or(f64::INFINITY, |fit| fit.0);
    let (mut cache, mut both) = (flat, line);
    let mut tau = TAU_MIN;
    while tau <= tau_max * TAU_RATIO {
        let fill: Vec<f64> = t.iter().map(|m| 1.0 - (-m / tau).exp()).collect();
        if tau <= tau_max {
            if let Some((rss, c)) = least_squares(&[&ones, &fill], &y) {
                if c[1] >= 0.0 {
                    cache = cache.min(rss);
                }
            }
        }
        if let Some((rss, c)) = least_squares(&[&ones, &fill, &t], &y) {
            if c[1] >= 0.0 {
                both = both.min(rss);
            }
        }
        tau *= TAU_RATIO;
    }
    let sigma = NOISE_SD / MIB;
    (cache - both).max(0.0) / (sigma * sigma)
}

/// Minutes from the leak's start to the first quiescent sample at which
/// `sqrt(lambda)` on the detector's kept points (the newest
/// `max(history, window)`, at least `2 * min_points`) has reached the
/// quantile at `persistence` samples in a row; `None` if not within
/// `minutes` samples.
pub fn information_limit(
    trace: &Trace,
    seed: u64,
    minutes: usize,
    config: &TrendConfig,
) -> Option<f64> {
    let quiescent: Vec<(f64, f64)> = trace
        .points(seed, minutes)
        .into_iter()
        .filter(|point| point.quiescent)
        .map(|point| {
            let minute = point.t_secs / 60.0;
            (minute, trace.kept(minute))
        })
        .collect();
    let kept = config.history.max(config.window);
    let tau_max = config.cache_time_constant_secs / 60.0;
    let mut in_a_row = 0;
    for end in 2 * config.min_points..=quiescent.len() {
        let points = &quiescent[end.saturating_sub(kept)..end];
        let minute = points[points.len() - 1].0;
        if minute < trace.leak_from {
            continue;
        }
        let quantile = student_quantile(TAIL_Z, points.len() as f64 - 4.0);
        if noncentrality(points, tau_max).sqrt() >= quantile {
            in_a_row += 1;
        } else {
            in_a_row = 0;
        }
        if in_a_row == config.persistence {
            return Some(minute - trace.leak_from);
        }
    }
    None
}

#[test]
fn the_quantile_matches_students_distribution() {
    // Student's t at the normal's upper tail at 3.5 (2.326e-4), found by
    // integrating Student's density numerically: 4.177 for 20 degrees of
    // freedom, 3.719 for 56, 3.620 for 100.
    for (dof, t) in [(20.0, 4.177), (56.0, 3.719), (100.0, 3.620)] {
        let quantile = student_quantile(TAIL_Z, dof);
        assert!((quantile - t).abs() < 0.002, "{dof}: {quantile}");
    }
}
