use super::normal::upper_tail;

/// The Mann-Kendall trend statistic of a series.
///
/// `s` counts, over every pair `i < j`, `+1` when `x[j] > x[i]` and `-1`
/// when `x[j] < x[i]`. Under "no trend" (independent, identically
/// distributed values) it is approximately normal with mean 0 and
/// [`variance`](Self::variance) (with the usual correction for ties), so `z`
/// (with a continuity correction) gives the one-sided
/// [`p_increasing`](Self::p_increasing). Mann (1945), Kendall (1975).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannKendall {
    /// Number of points.
    pub n: usize,
    /// Sum of the signs of all forward differences.
    pub s: i64,
    /// Variance of `s` under no trend, corrected for ties.
    pub variance: f64,
    /// Normal score of `s` with continuity correction.
    pub z: f64,
    /// One-sided p-value of "no trend" against "increasing".
    pub p_increasing: f64,
}

impl MannKendall {
    /// Confidence that the series increases: `1 - p_increasing`.
    pub fn confidence_increasing(&self) -> f64 {
        1.0 - self.p_increasing
    }
}

/// Runs the Mann-Kendall test over `values` in order. `None` for fewer than
/// 3 values. Costs `n (n - 1) / 2` comparisons and a sort.
///
/// ```
/// use heapguard_monitor::detect::mann_kendall;
/// let rising: Vec<u64> = (0..30).map(|i| 1_000 + i * 10 + (i % 3) * 7).collect();
/// let mk = mann_kendall(&rising).unwrap();
/// assert!(mk.confidence_increasing() > 0.999);
/// ```
pub fn mann_kendall(values: &[u64]) -> Option<MannKendall> {
    let n = values.len();
    if n < 3 {
        return None;
    }
    Some(MannKendall::from_parts(
        n,
        sign_sum(values),
        tie_term(values),
    ))
}

impl MannKendall {
    /// The statistic from its parts: `n` values, sign sum `s`, and
    /// `ties` = the sum over groups of `t` equal values of
    /// `t (t - 1) (2t + 5)`. Lets a sliding window keep `s` and `ties` up to
    /// date in `O(n)` per new value instead of `O(n^2)`.
    pub(crate) fn from_parts(n: usize, s: i64, ties: i64) -> Self {
        let variance = (variance_term(n as i64) - ties) as f64 / 18.0;
        let z = if variance <= 0.0 {
            0.0
        } else if s > 0 {
            (s - 1) as f64 / variance.sqrt()
        } else if s < 0 {
            (s + 1) as f64 / variance.sqrt()
        } else {
            0.0
        };
        MannKendall {
            n,
            s,
            variance,
            z,
            p_increasing: upper_tail(z),
        }
    }
}

/// `t (t - 1) (2t + 5)`: the variance term of `t` values (or of a group of
/// `t` tied values).
pub(crate) fn variance_term(t: i64) -> i64 {
    t * (t - 1) * (2 * t + 5)
}

fn sign_sum(values: &[u64]) -> i64 {
    let mut s = 0i64;
    for (i, &earlier) in values.iter().enumerate() {
        for &later in &values[i + 1..] {
            s += (later > earlier) as i64 - (later < earlier) as i64;
        }
    }
    s
}

fn tie_term(values: &[u64]) -> i64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mut ties = 0;
    let mut run = 1;
    for pair in sorted.windows(2) {
        if pair[0] == pair[1] {
            run += 1;
        } else {
            if run > 1 {
                ties += variance_term(run);
            }
            run = 1;
        }
    }
    if run > 1 {
        ties += variance_term(run);
    }
    ties
}

#[cfg(test)]
mod tests {
    use super::mann_kendall;

    #[test]
    fn strictly_increasing_series_has_maximal_s() {
        let values: Vec<u64> = (0..10).collect();
        let mk = mann_kendall(&values).unwrap();
        assert_eq!(mk.s, 45);
        assert!((mk.variance - 10.0 * 9.0 * 25.0 / 18.0).abs() < 1e-9);
        assert!((mk.z - 44.0 / 125.0f64.sqrt()).abs() < 1e-9);
        assert!(mk.p_increasing < 1e-4);
    }

    #[test]
    fn decreasing_and_flat_series_are_not_increasing() {
        let down: Vec<u64> = (0..10).rev().collect();
        let mk = mann_kendall(&down).unwrap();
        assert_eq!(mk.s, -45);
        assert!(mk.p_increasing > 0.999);
        let flat = [5u64; 8];
        let mk = mann_kendall(&flat).unwrap();
        assert_eq!(mk.s, 0);
        assert_eq!(mk.variance, 0.0);
        assert_eq!(mk.z, 0.0);
        assert!((mk.p_increasing - 0.5).abs() < 1e-7);
    }

    #[test]
    fn ties_reduce_the_variance() {
        // Groups of sizes 2 and 3: 10*9*25 - 2*1*9 - 3*2*11 = 2250 - 18 - 66.
        let values = [1u64, 1, 2, 3, 3, 3, 4, 5, 6, 7];
        let mk = mann_kendall(&values).unwrap();
        assert!((mk.variance - (2250.0 - 18.0 - 66.0) / 18.0).abs() < 1e-9);
    }

    #[test]
    fn too_short_series_has_no_statistic() {
        assert!(mann_kendall(&[]).is_none());
        assert!(mann_kendall(&[1, 2]).is_none());
    }
}
