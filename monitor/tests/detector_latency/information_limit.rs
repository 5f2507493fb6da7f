//! How soon any test on a run's quiescent samples could tell a leak on a
//! filling cache from a clean cache: a bound from the Neyman-Pearson lemma.
//!
//! At a given sample, with normal noise of known standard deviation
//! `sigma`, the most powerful test of one clean curve against the run's
//! true curve (leak included), among tests whose probability of having
//! alarmed on the clean curve by then is at most the normal's upper tail
//! at `z`, has power `Phi(d - z)`, where `d` is the distance between the
//! two curves over the samples so far, in units of `sigma`. A detector that
//! keeps that probability within the tail on every cache of time constant
//! up to `tau_max`, of any size, keeps it on the nearest one, so its power
//! is at most `Phi(d_min - z)`, `d_min` the distance from the true curve to
//! the nearest such cache: until `d_min` reaches `z`, it finds the leak in
//! fewer than half the runs of that curve. The bound holds for a typical
//! run, not each one: a run whose noise favours the leak can be found
//! sooner. Taking `sigma` as known makes the bound hold for detectors that
//! must estimate it too; fitting the caches on a grid of time constants from
//! 5 minutes can only make `d_min` larger, so the sample found is, if
//! anything, early. Samples taken during jobs are left out: a detector that
//! read them, knowing how a job's memory grows, is not bounded by this.
//!
//! Written apart from the detector's own fit (normal equations solved by
//! elimination, not its centred sums).

use crate::common::traces::{Trace, MIB, NOISE_SD};

/// The shortest time constant fitted and the grid's ratio (the detector's
/// `TAU_MIN_MINUTES` and `GRID_RATIO` in `detect/cache_fit.rs`).
const TAU_MIN: f64 = 5.0;
const TAU_RATIO: f64 = 1.02;

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

/// `d_min` for the noise-free points `(minute, bytes)`: the distance, in
/// noise standard deviations, to the nearest clean curve, flat or a cache
/// `a + c (1 - e^(-t/tau))` with `c >= 0` and `tau` on the grid up to
/// `tau_max` minutes (wherever its fill started: an earlier start changes
/// only `a` and `c`).
fn distance_to_caches(points: &[(f64, f64)], tau_max: f64) -> f64 {
    let t0 = points[0].0;
    let t: Vec<f64> = points.iter().map(|p| p.0 - t0).collect();
    let y: Vec<f64> = points.iter().map(|p| p.1 / MIB).collect();
    let ones = vec![1.0; points.len()];
    let mut nearest = least_squares(&[&ones], &y).map_or(f64::INFINITY, |fit| fit.0);
    let mut tau = TAU_MIN;
    while tau <= tau_max {
        let fill: Vec<f64> = t.iter().map(|m| 1.0 - (-m / tau).exp()).collect();
        if let Some((rss, c)) = least_squares(&[&ones, &fill], &y) {
            if c[1] >= 0.0 {
                nearest = nearest.min(rss);
            }
        }
        tau *= TAU_RATIO;
    }
    nearest.max(0.0).sqrt() / (NOISE_SD / MIB)
}

/// The run's quiescent samples within its first `minutes`, noise-free.
fn quiescent_curve(trace: &Trace, seed: u64, minutes: usize) -> Vec<(f64, f64)> {
    trace
        .points(seed, minutes)
        .into_iter()
        .filter(|point| point.quiescent)
        .map(|point| {
            let minute = point.t_secs / 60.0;
            (minute, trace.kept(minute))
        })
        .collect()
}

/// Minutes from the leak's start to the first quiescent sample at which
/// `d_min` over every quiescent sample so far reaches `z`, against caches
/// up to `tau_max` minutes; `None` if not within `minutes`.
pub fn information_limit(
    trace: &Trace,
    seed: u64,
    minutes: usize,
    tau_max: f64,
    z: f64,
) -> Option<f64> {
    let curve = quiescent_curve(trace, seed, minutes);
    (3..=curve.len()).find_map(|end| {
        let minute = curve[end - 1].0;
        (minute >= trace.leak_from && distance_to_caches(&curve[..end], tau_max) >= z)
            .then_some(minute - trace.leak_from)
    })
}

/// `d_min` over the quiescent samples up to `after` minutes past the
/// leak's start.
pub fn distance_after(trace: &Trace, seed: u64, after: f64, tau_max: f64) -> f64 {
    let curve = quiescent_curve(trace, seed, (trace.leak_from + after) as usize + 1);
    let seen = curve.partition_point(|point| point.0 <= trace.leak_from + after);
    distance_to_caches(&curve[..seen], tau_max)
}

#[test]
fn a_clean_cache_is_at_no_distance_and_a_step_far_away() {
    // Noise-free: a cache on the grid is fitted exactly; a 30-MiB step
    // after 60 flat minutes is no cache of any time constant.
    let cache: Vec<(f64, f64)> = (0..120)
        .map(|m| {
            (
                m as f64,
                300.0 * MIB + 80.0 * MIB * (1.0 - (-(m as f64) / 125.0).exp()),
            )
        })
        .collect();
    // 125 min is not on the grid; the nearest time constant on it fits
    // within a small share of the noise.
    assert!(distance_to_caches(&cache, 300.0) < 0.1);
    let step: Vec<(f64, f64)> = (0..120)
        .map(|m| {
            (
                m as f64,
                300.0 * MIB + if m < 60 { 0.0 } else { 30.0 * MIB },
            )
        })
        .collect();
    assert!(distance_to_caches(&step, 300.0) > 10.0);
}
