//! Restarts declared by a Prometheus response: the process's start time
//! (`process_start_time_seconds`, exported by Prometheus clients beside
//! their metrics) as a series of its own, with the memory series' labels
//! but for `__name__`. A change of its value is a restart of the process
//! behind the memory series, declared to its detector as the CSV's
//! `restart` column declares one.

use super::input::SeriesLabels;
use std::collections::BTreeMap;

/// The name of the series whose changes are restarts.
pub const START_TIME_METRIC: &str = "process_start_time_seconds";

/// The restarts found in start-time series, per memory series: the times
/// (seconds, the response's clock) at which each process started again.
/// A few numbers per restart, whatever the length of the series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Restarts {
    /// Keyed by the labels without `__name__`.
    by_series: BTreeMap<SeriesLabels, Vec<f64>>,
}

impl Restarts {
    /// Whether no start-time series was read.
    pub fn is_empty(&self) -> bool {
        self.by_series.is_empty()
    }

    /// The restart times, oldest first, of the process behind the memory
    /// series with `labels` (its `__name__` aside); empty when its
    /// start-time series did not change or was not read.
    pub fn of(&self, labels: &SeriesLabels) -> &[f64] {
        self.by_series
            .get(&key(labels))
            .map_or(&[], |times| times.as_slice())
    }

    /// Whether the start-time series for `labels` was read already.
    pub(crate) fn knows(&self, labels: &SeriesLabels) -> bool {
        self.by_series.contains_key(&key(labels))
    }
}

/// `labels` without `__name__`: what a memory series and its start-time
/// series share.
fn key(labels: &SeriesLabels) -> SeriesLabels {
    labels
        .iter()
        .filter(|(name, _)| name.as_str() != "__name__")
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// Whether `labels` are those of a start-time series.
pub(crate) fn is_start_time(labels: &SeriesLabels) -> bool {
    labels.get("__name__").map(String::as_str) == Some(START_TIME_METRIC)
}

/// One start-time series, read sample by sample.
#[derive(Debug)]
pub(crate) struct StartTimeSeries {
    key: SeriesLabels,
    /// The previous sample: its time and the start time it said.
    previous: Option<(f64, f64)>,
    restarts: Vec<f64>,
}

impl StartTimeSeries {
    pub(crate) fn new(labels: &SeriesLabels) -> Self {
        Self {
            key: key(labels),
            previous: None,
            restarts: Vec::new(),
        }
    }

    /// A sample at `t_secs` saying the process started at `start_secs`
    /// (not finite: a stale marker, skipped). A start time other than the
    /// previous one is a restart at that start time, kept between the two
    /// samples' times (the restart happened after the one, before the
    /// other, whatever the clocks say).
    pub(crate) fn sample(&mut self, t_secs: f64, start_secs: f64) {
        if !start_secs.is_finite() {
            return;
        }
        if let Some((previous_t, previous_start)) = self.previous {
            if start_secs != previous_start {
                self.restarts.push(start_secs.clamp(previous_t, t_secs));
            }
        }
        self.previous = Some((t_secs, start_secs));
    }

    /// Adds what the series said to `restarts`.
    pub(crate) fn finish(self, restarts: &mut Restarts) {
        restarts
            .by_series
            .entry(self.key)
            .or_default()
            .extend(self.restarts);
    }
}

#[cfg(test)]
mod tests {
    use super::{is_start_time, Restarts, SeriesLabels, StartTimeSeries};

    fn labels(pairs: &[(&str, &str)]) -> SeriesLabels {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn a_change_of_start_time_is_a_restart_between_the_samples() {
        let start = labels(&[("__name__", "process_start_time_seconds"), ("job", "a")]);
        assert!(is_start_time(&start));
        let mut series = StartTimeSeries::new(&start);
        series.sample(1_000.0, 900.0);
        series.sample(1_060.0, 900.0);
        series.sample(1_120.0, f64::NAN); // stale: skipped
        series.sample(1_180.0, 1_150.0); // started at 1150
        series.sample(1_240.0, 5_000.0); // a clock ahead: kept at the sample
        let mut restarts = Restarts::default();
        series.finish(&mut restarts);
        let memory = labels(&[("__name__", "heapguard_live_bytes"), ("job", "a")]);
        assert!(!is_start_time(&memory));
        assert_eq!(restarts.of(&memory), [1_150.0, 1_240.0]);
        assert!(restarts.knows(&memory));
        assert_eq!(restarts.of(&labels(&[("job", "b")])), [] as [f64; 0]);
    }
}
