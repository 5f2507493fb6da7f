//! Whether growth needs a leak beside any cache: a likelihood-ratio test
//! (an extra-sum-of-squares F test) of "a cache filling towards its
//! ceiling, time constant up to `tau_max`" against "a cache of any time
//! constant plus a line".
//!
//! A cache is `a + c (1 - e^(-t/tau))` with `c >= 0` (wherever its fill
//! started: an earlier start changes only `a` and `c`); for a fixed `tau`
//! the fit is linear in `a` and `c`, so each `tau` of a geometric grid (5
//! min to `tau_max`, 2% apart) costs one pass over the points. The null's
//! residual sum of squares is the least over that grid; the alternative
//! adds `b t` (a leak) to a cache of the same grid, or is a line alone.
//! `F = (RSS_cache - RSS_both) / (RSS_both / (n - 4))`, and `sqrt(F)` is
//! compared with Student's quantile by the caller. A leak that starts with
//! a fast cache shows as a bend and then a straight tail: the line follows
//! the tail a slow cache cannot, the fast cache the bend a line cannot,
//! where halves of the series see only their average slowdown. Work:
//! `O(n)` per time constant, about 220 of them.

use super::segment::{MIB, RSS_FLOOR_PER_POINT};
use super::SeriesPoint;

/// Ratio between successive time constants of the grid: fine enough that a
/// cache between two of them is fitted within a small share of the noise.
const GRID_RATIO: f64 = 1.02;

/// The shortest time constant fitted, minutes.
const TAU_MIN_MINUTES: f64 = 5.0;

/// The result of [`leak_beyond_cache`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CacheFit {
    /// `sqrt(F)`, the ratio test in standard-error units.
    pub(crate) z: f64,
    /// The leak's slope in the best alternative, bytes per minute.
    pub(crate) slope: f64,
}

/// Tests `points` (at least 6) for a leak beside a cache of time constant
/// up to `tau_max_minutes`; `None` for fewer points or a degenerate span.
pub(crate) fn leak_beyond_cache(points: &[SeriesPoint], tau_max_minutes: f64) -> Option<CacheFit> {
    let n = points.len();
    if n < 6 {
        return None;
    }
    let t0 = points[0].t_secs;
    let y0 = points[0].bytes as f64;
    let t: Vec<f64> = points.iter().map(|p| (p.t_secs - t0) / 60.0).collect();
    let y: Vec<f64> = points.iter().map(|p| (p.bytes as f64 - y0) / MIB).collect();
    let nf = n as f64;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / nf;
    let (mt, my) = (mean(&t), mean(&y));
    let (mut stt, mut sty, mut syy) = (0.0, 0.0, 0.0);
    for (ti, yi) in t.iter().zip(&y) {
        stt += (ti - mt) * (ti - mt);
        sty += (ti - mt) * (yi - my);
        syy += (yi - my) * (yi - my);
    }
    if stt <= 0.0 {
        return None;
    }
    let mut rss_cache = syy; // c = 0: flat
    let (mut rss_both, mut slope) = (syy - sty * sty / stt, sty / stt); // a line
    let mut g = vec![0.0; n];
    let mut tau = TAU_MIN_MINUTES;
    while tau <= tau_max_minutes * GRID_RATIO {
        for (gi, ti) in g.iter_mut().zip(&t) {
            *gi = -(-ti / tau).exp();
        }
        let mg = mean(&g);
        let (mut sgg, mut sgy, mut sgt) = (0.0, 0.0, 0.0);
        for ((gi, yi), ti) in g.iter().zip(&y).zip(&t) {
            let dg = gi - mg;
            sgg += dg * dg;
            sgy += dg * (yi - my);
            sgt += dg * (ti - mt);
        }
        if sgg > 0.0 {
            if tau <= tau_max_minutes && sgy > 0.0 {
                rss_cache = rss_cache.min(syy - sgy * sgy / sgg);
            }
            let det = sgg * stt - sgt * sgt;
            if det > 0.0 {
                let c = (sgy * stt - sty * sgt) / det;
                let b = (sty * sgg - sgy * sgt) / det;
                let rss = syy - c * sgy - b * sty;
                // A cache fills (c >= 0); an emptying curve at the start
                // (a spike up there) is no cache of either model.
                if c >= 0.0 && rss < rss_both {
                    rss_both = rss;
                    slope = b;
                }
            }
        }
        tau *= GRID_RATIO;
    }
    // The change-point search's noise floor, so a noiseless series gets no
    // spurious leak from rounding.
    let rss_both = rss_both.max(0.0) + RSS_FLOOR_PER_POINT * nf;
    let f = (rss_cache - rss_both).max(0.0) / (rss_both / (nf - 4.0));
    Some(CacheFit {
        z: f.sqrt(),
        slope: slope * MIB,
    })
}

#[cfg(test)]
mod tests {
    use super::{leak_beyond_cache, SeriesPoint, MIB};

    /// A deterministic noise of up to +-2 MiB.
    fn noise(i: u64) -> f64 {
        ((i * 7_919 % 41) as f64 - 20.0) / 10.0 * MIB
    }

    /// 120 points a minute apart of `f(minute)` MiB over 300 MiB, with noise.
    fn series(f: impl Fn(f64) -> f64) -> Vec<SeriesPoint> {
        (0..120u64)
            .map(|m| {
                let bytes = 300.0 * MIB + f(m as f64) * MIB + noise(m);
                SeriesPoint::quiescent(m as f64 * 60.0, bytes as u64)
            })
            .collect()
    }

    #[test]
    fn a_leak_beside_a_fast_cache_needs_the_line() {
        // 60 MiB filling with a time constant of 20 min, and 2 MiB/min.
        let points = series(|m| 60.0 * (1.0 - (-m / 20.0).exp()) + 2.0 * m);
        let fit = leak_beyond_cache(&points, 360.0).unwrap();
        assert!(fit.z > 10.0, "{fit:?}");
        assert!((fit.slope / MIB - 2.0).abs() < 0.1, "{fit:?}");
    }

    #[test]
    fn caches_up_to_the_longest_time_constant_need_no_line() {
        // Time constants of 45 min to 5 h, between the grid's values or on
        // them, fitted within the noise: far below any quantile used.
        for tau in [45.0, 61.3, 120.0, 300.0] {
            let points = series(|m| 2.0 * tau * (1.0 - (-m / tau).exp()));
            let fit = leak_beyond_cache(&points, 360.0).unwrap();
            assert!(fit.z < 2.0, "tau {tau}: {fit:?}");
        }
    }

    #[test]
    fn a_spike_up_at_the_start_is_no_cache_of_either_model() {
        // A flat series whose first point is 300 MiB high: an emptying
        // curve, which neither model may fit.
        let mut points = series(|_| 0.0);
        points[0].bytes += 300 << 20;
        let fit = leak_beyond_cache(&points, 360.0).unwrap();
        assert!(fit.z < 2.0, "{fit:?}");
    }

    #[test]
    fn too_few_points_or_one_instant_have_no_test() {
        let points = series(|m| m);
        assert_eq!(leak_beyond_cache(&points[..5], 360.0), None);
        let same_time = vec![SeriesPoint::quiescent(0.0, 1 << 30); 10];
        assert_eq!(leak_beyond_cache(&same_time, 360.0), None);
    }
}
