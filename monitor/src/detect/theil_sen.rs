use super::SeriesPoint;

/// A robust line through a series: the median of the slopes of all pairs
/// (Theil 1950, Sen 1968), and the median intercept. Up to about 29% of the
/// points can be arbitrary outliers without moving it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TheilSen {
    /// Median pairwise slope, bytes per second.
    pub slope_per_sec: f64,
    /// The line's value at the last point's time, bytes.
    pub level_at_end: f64,
}

impl TheilSen {
    /// The slope in bytes per minute.
    pub fn slope_per_min(&self) -> f64 {
        self.slope_per_sec * 60.0
    }
}

/// Fits a Theil-Sen line to `points`. `None` for fewer than 2 points or when
/// all points share one time.
///
/// ```
/// use heapguard_monitor::detect::{theil_sen, SeriesPoint};
/// let mut points: Vec<SeriesPoint> =
///     (0..20).map(|m| SeriesPoint::new(m as f64 * 60.0, 1_000 + m * 500)).collect();
/// points[7].bytes = 1_000_000; // one wild outlier does not move the line
/// let fit = theil_sen(&points).unwrap();
/// assert!((fit.slope_per_min() - 500.0).abs() < 1e-9);
/// assert!((fit.level_at_end - (1_000.0 + 19.0 * 500.0)).abs() < 1e-6);
/// ```
pub fn theil_sen(points: &[SeriesPoint]) -> Option<TheilSen> {
    theil_sen_with(points, &mut Vec::new())
}

/// [`theil_sen`] with a caller-owned scratch buffer, so repeated fits do not
/// allocate.
pub(crate) fn theil_sen_with(points: &[SeriesPoint], scratch: &mut Vec<f64>) -> Option<TheilSen> {
    let last = points.last()?;
    scratch.clear();
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            let dt = b.t_secs - a.t_secs;
            if dt > 0.0 {
                scratch.push((b.bytes as f64 - a.bytes as f64) / dt);
            } else if dt < 0.0 {
                scratch.push((a.bytes as f64 - b.bytes as f64) / -dt);
            }
        }
    }
    let slope_per_sec = median(scratch)?;
    scratch.clear();
    scratch.extend(
        points
            .iter()
            .map(|p| p.bytes as f64 - slope_per_sec * (p.t_secs - last.t_secs)),
    );
    let level_at_end = median(scratch)?;
    Some(TheilSen {
        slope_per_sec,
        level_at_end,
    })
}

/// Median by selection (reorders `values`). `None` when empty.
fn median(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let (left, upper, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        return Some(upper);
    }
    let lower = left.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((lower + upper) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::{median, theil_sen, SeriesPoint};

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn exact_line_is_recovered() {
        let points: Vec<SeriesPoint> = (0..10)
            .map(|i| SeriesPoint::new(i as f64 * 30.0, 100 + i * 300))
            .collect();
        let fit = theil_sen(&points).unwrap();
        assert_eq!(fit.slope_per_sec, 10.0);
        assert_eq!(fit.slope_per_min(), 600.0);
        assert_eq!(fit.level_at_end, 2_800.0);
    }

    #[test]
    fn degenerate_inputs_have_no_fit() {
        assert!(theil_sen(&[]).is_none());
        assert!(theil_sen(&[SeriesPoint::new(1.0, 5)]).is_none());
        assert!(theil_sen(&[SeriesPoint::new(1.0, 5), SeriesPoint::new(1.0, 9)]).is_none());
    }
}
