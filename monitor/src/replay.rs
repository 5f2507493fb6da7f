//! Runs the monitor's analysis over recorded samples (what
//! `heapguard-replay` does), so thresholds can be tuned on production data.
//! Feature `replay`.
//!
//! Two inputs:
//! - **CSV** ([`replay_csv`]) with the header `t_secs,live_bytes` and an
//!   optional third column `quiescent` (`0`/`1`, or `true`/`false`), and
//!   after it an optional fourth, `restart` (`0`/`1`): 1 declares that the
//!   process restarted at that row ([`Analyzer::declare_restart`]: the
//!   detector forgets what it saw and warms up again). Values
//!   may be integers or floats as exporters write them (`314572800`,
//!   `314572800.0`, `3.145728e+08`; rounded to whole bytes). Lines longer
//!   than [`MAX_LINE_BYTES`] are refused.
//! - **A Prometheus `query_range` response** ([`replay_prometheus`]), the
//!   JSON `/api/v1/query_range` returns (`resultType` `matrix`), capped at
//!   [`MAX_PROMETHEUS_BYTES`]. Each series is replayed on its own (or only
//!   those whose labels match a selector), with Unix seconds as `t_secs`. It
//!   carries no quiescent marks, so the detector works on block minima and
//!   the latencies without marks of the crate docs apply. A series named
//!   `process_start_time_seconds` beside a memory series (the same labels
//!   but `__name__`) is no memory series: a change of its value declares a
//!   restart of that series' process, as the CSV's `restart` column does
//!   ([`replay_prometheus_with_restarts`], [`prometheus_restarts`]). The response is
//!   read as a stream, series by series and sample by sample: what is held
//!   is the current series' labels and detector, not the document (a
//!   series that lists its `values` before its `metric`, which Prometheus
//!   does not write, is held until its labels come).
//!
//! In both, a `live_bytes` that is not finite or is negative (`NaN`,
//! `+Inf`, `-1`) is skipped and counted in [`ReplayStats::skipped`]; any
//! other malformed value fails the replay, naming its line (or series and
//! sample), and quoting at most 64 characters of what it rejects. Events
//! are handed over as they are found, so memory stays bounded whatever the
//! input's length.

use crate::detect::SeriesPoint;
use crate::{Analyzer, DetectorGauges, MemoryEvent, MonitorConfig};
use std::io::{BufRead, BufReader, Read};

mod input;
mod prometheus;
mod restarts;

pub use input::{ReplayError, SeriesLabels, MAX_LINE_BYTES, MAX_PROMETHEUS_BYTES};

pub use restarts::{Restarts, START_TIME_METRIC};

/// What a replay read. Read its fields; it gains new ones as replays
/// learn to say more (hence `non_exhaustive`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayStats {
    /// Readings fed to the analysis.
    pub readings: u64,
    /// Readings skipped: `live_bytes` not finite, or negative.
    pub skipped: u64,
    /// Memory series replayed, with or without readings: those of a
    /// Prometheus response that the selector matched (start-time series
    /// not counted); 0 for a CSV.
    pub series: u64,
}

/// Feeds every row of a CSV `input` to an [`Analyzer`] with `config`, as if
/// sampled live, and returns the events in order (see [`replay_csv`] to
/// handle them as they are found). Nothing is returned for an empty input
/// or a header alone; any malformed row fails the whole replay.
///
/// ```
/// use heapguard_monitor::{replay::replay, MonitorConfig};
/// let csv = "t_secs,live_bytes\n0,500\n60,8.0e2\n";
/// let config = MonitorConfig { budget_bytes: Some(1000), ..MonitorConfig::default() };
/// let events = replay(csv.as_bytes(), &config).unwrap();
/// assert_eq!(events[0].kind(), "high_usage");
/// let error = replay("t_secs,live_bytes\n0,lots\n".as_bytes(), &config).unwrap_err();
/// assert_eq!(error.line(), Some(2));
/// ```
pub fn replay(input: impl Read, config: &MonitorConfig) -> Result<Vec<MemoryEvent>, ReplayError> {
    let mut events = Vec::new();
    replay_csv(input, config, |event| {
        events.push(event);
        Ok(())
    })?;
    Ok(events)
}

/// Replays a CSV `input` (see the [module docs](self)), handing each event
/// to `on_event` as it is found; an error from `on_event` ends the replay
/// with [`ReplayError::Output`].
pub fn replay_csv(
    input: impl Read,
    config: &MonitorConfig,
    on_event: impl FnMut(MemoryEvent) -> std::io::Result<()>,
) -> Result<ReplayStats, ReplayError> {
    replay_csv_with_gauges(input, config, on_event, |_| Ok(()))
}

/// [`replay_csv`], also handing `on_gauges` the trend detector's state
/// after each reading (after that reading's events): the series the
/// `metrics` feature exports, see [`DetectorGauges`]. An error from either
/// handler ends the replay with [`ReplayError::Output`].
pub fn replay_csv_with_gauges(
    input: impl Read,
    config: &MonitorConfig,
    mut on_event: impl FnMut(MemoryEvent) -> std::io::Result<()>,
    mut on_gauges: impl FnMut(DetectorGauges) -> std::io::Result<()>,
) -> Result<ReplayStats, ReplayError> {
    let mut analyzer = Analyzer::new(config)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(LineLimited::new(BufReader::new(input), MAX_LINE_BYTES));
    let mut columns = 0;
    let mut previous: Option<f64> = None;
    let mut stats = ReplayStats::default();
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|error| {
            let line = error.position().map_or(0, |p| p.line());
            match reader.get_ref().too_long_at {
                Some(line) => ReplayError::LineTooLong {
                    line,
                    limit: MAX_LINE_BYTES,
                },
                None => ReplayError::Csv {
                    line,
                    message: error.to_string(),
                },
            }
        })?;
        if !more {
            return Ok(stats);
        }
        let line = record.position().map_or(0, |p| p.line());
        if columns == 0 {
            let names: Vec<&str> = record.iter().collect();
            columns = match names[..] {
                ["t_secs", "live_bytes"] => 2,
                ["t_secs", "live_bytes", "quiescent"] => 3,
                ["t_secs", "live_bytes", "quiescent", "restart"] => 4,
                _ => {
                    return Err(ReplayError::Header {
                        line,
                        found: names.join(","),
                    })
                }
            };
            continue;
        }
        if record.len() != columns {
            return Err(ReplayError::FieldCount {
                line,
                expected: columns,
                found: record.len(),
            });
        }
        let field =
            |column: &'static str, expected: &'static str, value: &str| ReplayError::Field {
                line,
                column,
                expected,
                value: value.to_owned(),
            };
        let t_secs = record[0]
            .parse::<f64>()
            .ok()
            .filter(|t| t.is_finite())
            .ok_or_else(|| field("t_secs", "a finite number of seconds", &record[0]))?;
        let bytes = parse_bytes(&record[1])
            .ok_or_else(|| field("live_bytes", "a number of bytes", &record[1]))?;
        let quiescent = match record.get(2) {
            None | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(other) => return Err(field("quiescent", "0 or 1", other)),
        };
        let restart = match record.get(3) {
            None | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(other) => return Err(field("restart", "0 or 1", other)),
        };
        if let Some(previous) = previous.filter(|&previous| t_secs < previous) {
            return Err(ReplayError::TimeBackwards {
                line,
                t_secs,
                previous,
            });
        }
        previous = Some(t_secs);
        if restart {
            for event in analyzer.declare_restart(t_secs) {
                on_event(event).map_err(ReplayError::Output)?;
            }
        }
        let Some(bytes) = bytes else {
            stats.skipped += 1;
            continue;
        };
        stats.readings += 1;
        for event in analyzer.observe(SeriesPoint {
            t_secs,
            bytes,
            quiescent,
        }) {
            on_event(event).map_err(ReplayError::Output)?;
        }
        if let Some(gauges) = analyzer.gauges(t_secs) {
            on_gauges(gauges).map_err(ReplayError::Output)?;
        }
    }
}

/// A byte count as text: `Some(Some(bytes))` for a whole number or a
/// finite, non-negative float (rounded, saturating at `u64::MAX`);
/// `Some(None)` for a number to skip (not finite, or negative); `None` for
/// text that is no number.
fn parse_bytes(text: &str) -> Option<Option<u64>> {
    if let Ok(bytes) = text.parse::<u64>() {
        return Some(Some(bytes));
    }
    let value = text.parse::<f64>().ok()?;
    if !value.is_finite() || value < 0.0 {
        return Some(None);
    }
    // `as` saturates at u64::MAX.
    Some(Some(value.round() as u64))
}

/// A reader that fails once a line grows past `limit` bytes, remembering
/// on which line.
struct LineLimited<R> {
    inner: R,
    limit: usize,
    line: u64,
    current: usize,
    too_long_at: Option<u64>,
}

impl<R: BufRead> LineLimited<R> {
    fn new(inner: R, limit: usize) -> Self {
        Self {
            inner,
            limit,
            line: 1,
            current: 0,
            too_long_at: None,
        }
    }
}

impl<R: BufRead> Read for LineLimited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        for &byte in &buf[..read] {
            if byte == b'\n' {
                self.line += 1;
                self.current = 0;
            } else {
                self.current += 1;
                if self.current > self.limit {
                    self.too_long_at = Some(self.line);
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("line {} longer than {} bytes", self.line, self.limit),
                    ));
                }
            }
        }
        Ok(read)
    }
}

/// Replays a Prometheus `query_range` response (see the [module
/// docs](self)): each series whose labels include every `selector` pair
/// (all series for an empty selector), in the response's order, each with
/// its own [`Analyzer`]. `on_event` gets the series' labels with each event
/// as it is found.
///
/// ```
/// use heapguard_monitor::{replay::replay_prometheus, MonitorConfig};
/// let json = r#"{"status":"success","data":{"resultType":"matrix","result":[
///   {"metric":{"instance":"a"},"values":[[1700000000,"5e2"],[1700000060,"800"],[1700000120,"NaN"]]}]}}"#;
/// let config = MonitorConfig { budget_bytes: Some(1000), ..MonitorConfig::default() };
/// let mut seen = Vec::new();
/// let stats = replay_prometheus(json.as_bytes(), &config, &[], |labels, event| {
///     seen.push((labels["instance"].clone(), event.kind()));
///     Ok(())
/// })
/// .unwrap();
/// assert_eq!(seen, vec![("a".to_string(), "high_usage")]);
/// assert_eq!((stats.readings, stats.skipped), (2, 1));
/// ```
pub fn replay_prometheus(
    input: impl Read,
    config: &MonitorConfig,
    selector: &[(String, String)],
    on_event: impl FnMut(&SeriesLabels, MemoryEvent) -> std::io::Result<()>,
) -> Result<ReplayStats, ReplayError> {
    replay_prometheus_with_gauges(input, config, selector, on_event, |_, _| Ok(()))
}

/// [`replay_prometheus`], also handing `on_gauges` each series' labels and
/// the trend detector's state after each reading (after that reading's
/// events), see [`DetectorGauges`].
pub fn replay_prometheus_with_gauges(
    input: impl Read,
    config: &MonitorConfig,
    selector: &[(String, String)],
    on_event: impl FnMut(&SeriesLabels, MemoryEvent) -> std::io::Result<()>,
    on_gauges: impl FnMut(&SeriesLabels, DetectorGauges) -> std::io::Result<()>,
) -> Result<ReplayStats, ReplayError> {
    replay_prometheus_with_restarts(
        input,
        config,
        selector,
        &Restarts::default(),
        on_event,
        on_gauges,
    )
}

/// [`replay_prometheus_with_gauges`], declaring restarts: those in
/// `restarts` (from [`prometheus_restarts`] on the same response, read
/// before), and those of every start-time series of the response that
/// comes before its memory series. A series named [`START_TIME_METRIC`]
/// (`process_start_time_seconds`) is no memory series: a change of its
/// value is a restart of the process behind the series with the same
/// labels but `__name__`, declared to that series' detector
/// ([`Analyzer::declare_restart`]) at the new start time (kept between
/// the two samples that show the change), before its first reading at or
/// after that time. Prometheus sorts a response's series by their labels,
/// `__name__` first, so `process_start_time_seconds` comes after memory
/// series named before it (`heapguard_live_bytes`,
/// `process_resident_memory_bytes`): to declare their restarts, read the
/// response twice, first with [`prometheus_restarts`].
///
/// ```
/// use heapguard_monitor::replay::{prometheus_restarts, replay_prometheus_with_restarts};
/// use heapguard_monitor::MonitorConfig;
/// let json = r#"{"status":"success","data":{"resultType":"matrix","result":[
///   {"metric":{"__name__":"heapguard_live_bytes","job":"a"},"values":[[60,"100"],[120,"100"],[180,"100"]]},
///   {"metric":{"__name__":"process_start_time_seconds","job":"a"},"values":[[60,"0"],[120,"0"],[180,"150"]]}]}}"#;
/// let restarts = prometheus_restarts(json.as_bytes()).unwrap();
/// let labels = [("__name__".to_string(), "heapguard_live_bytes".to_string()), ("job".into(), "a".into())];
/// assert_eq!(restarts.of(&labels.into_iter().collect()), [150.0]);
/// let mut warming = Vec::new();
/// replay_prometheus_with_restarts(json.as_bytes(), &MonitorConfig::default(), &[], &restarts,
///     |_, _| Ok(()),
///     |_, gauges| { warming.push((gauges.t_secs, gauges.warming_up)); Ok(()) },
/// ).unwrap();
/// // One reading per memory sample; the start-time series is not replayed.
/// assert_eq!(warming.len(), 3);
/// ```
pub fn replay_prometheus_with_restarts(
    input: impl Read,
    config: &MonitorConfig,
    selector: &[(String, String)],
    restarts: &Restarts,
    mut on_event: impl FnMut(&SeriesLabels, MemoryEvent) -> std::io::Result<()>,
    mut on_gauges: impl FnMut(&SeriesLabels, DetectorGauges) -> std::io::Result<()>,
) -> Result<ReplayStats, ReplayError> {
    Analyzer::new(config)?;
    let mut replay = PrometheusReplay {
        config,
        selector,
        on_event: &mut on_event,
        on_gauges: &mut on_gauges,
        analyzer: None,
        previous: None,
        restarts: restarts.clone(),
        start_time: None,
        pending: Vec::new(),
        stats: ReplayStats::default(),
    };
    stream_response(input, &mut replay)?;
    Ok(replay.stats)
}

/// The restarts that the start-time series of a Prometheus response
/// declare (see [`replay_prometheus_with_restarts`]), read as a stream
/// like a replay: a few numbers per restart are kept. The response must be
/// a `query_range` matrix, as for a replay; a start-time value that is no
/// number fails.
pub fn prometheus_restarts(input: impl Read) -> Result<Restarts, ReplayError> {
    let mut reader = RestartReader::default();
    stream_response(input, &mut reader)?;
    if let Some(series) = reader.current.take() {
        series.finish(&mut reader.restarts);
    }
    Ok(reader.restarts)
}

/// Collects the start-time series' restarts.
#[derive(Default)]
struct RestartReader {
    restarts: Restarts,
    current: Option<restarts::StartTimeSeries>,
}

impl prometheus::Sink for RestartReader {
    fn begin(&mut self, labels: &SeriesLabels) -> bool {
        if let Some(series) = self.current.take() {
            series.finish(&mut self.restarts);
        }
        let wanted = restarts::is_start_time(labels);
        if wanted {
            self.current = Some(restarts::StartTimeSeries::new(labels));
        }
        wanted
    }

    fn sample(
        &mut self,
        labels: &SeriesLabels,
        index: u64,
        t_secs: f64,
        value: &str,
    ) -> Result<(), ReplayError> {
        let start = parse_start_time(labels, index, value)?;
        if let Some(series) = &mut self.current {
            series.sample(t_secs, start);
        }
        Ok(())
    }
}

/// A start-time sample's value, seconds (`NaN` for a stale marker).
fn parse_start_time(labels: &SeriesLabels, index: u64, value: &str) -> Result<f64, ReplayError> {
    value.trim().parse::<f64>().map_err(|_| {
        let labels = prometheus::quote(&format!("{labels:?}"));
        ReplayError::Prometheus(format!(
            "series {labels}, sample {index}: start time `{}` is not a number",
            prometheus::quote(value)
        ))
    })
}

/// Streams a capped `query_range` response into `sink`, checking its
/// envelope.
fn stream_response(input: impl Read, sink: &mut dyn prometheus::Sink) -> Result<(), ReplayError> {
    let mut input = BufReader::new(Capped::new(input, MAX_PROMETHEUS_BYTES));
    // Leading blanks are skipped a buffer at a time: the parser takes them
    // byte by byte, slow for a document of nothing else.
    loop {
        let buffer = input
            .fill_buf()
            .map_err(|error| ReplayError::Prometheus(format!("cannot read it: {error}")))?;
        let blanks = buffer
            .iter()
            .take_while(|byte| byte.is_ascii_whitespace())
            .count();
        let end = blanks == 0 || buffer.is_empty();
        input.consume(blanks);
        if end {
            break;
        }
    }
    let streamed = prometheus::stream(&mut input, sink);
    if input.get_ref().over {
        return Err(ReplayError::Prometheus(format!(
            "larger than {MAX_PROMETHEUS_BYTES} bytes; ask for a shorter range or a coarser step"
        )));
    }
    let envelope = match streamed {
        Ok(envelope) => envelope,
        Err(prometheus::StreamError::Sink(error)) => return Err(error),
        Err(prometheus::StreamError::Json(error)) => {
            let message = prometheus::quote(&error.to_string());
            return Err(ReplayError::Prometheus(format!(
                "not a query_range response: {message}"
            )));
        }
    };
    let status = envelope.status.unwrap_or_default();
    if status != "success" {
        return Err(ReplayError::Prometheus(format!(
            "status {status}: {}",
            envelope.error.unwrap_or_default()
        )));
    }
    if !envelope.data {
        return Err(ReplayError::Prometheus("no data".into()));
    }
    let result_type = envelope.result_type.unwrap_or_default();
    if result_type != "matrix" {
        return Err(ReplayError::Prometheus(format!(
            "resultType {result_type} (query_range returns a matrix)"
        )));
    }
    Ok(())
}

/// The replay of a Prometheus response, fed sample by sample.
struct PrometheusReplay<'a, E, G> {
    config: &'a MonitorConfig,
    selector: &'a [(String, String)],
    on_event: &'a mut E,
    on_gauges: &'a mut G,
    /// The current series' analyzer.
    analyzer: Option<Analyzer>,
    /// The current series' previous time.
    previous: Option<f64>,
    /// The restarts known: given, and from the start-time series read.
    restarts: Restarts,
    /// The current series, when it is a start-time series not known yet.
    start_time: Option<restarts::StartTimeSeries>,
    /// The current memory series' restarts still to declare, newest first.
    pending: Vec<f64>,
    stats: ReplayStats,
}

impl<E, G> prometheus::Sink for PrometheusReplay<'_, E, G>
where
    E: FnMut(&SeriesLabels, MemoryEvent) -> std::io::Result<()>,
    G: FnMut(&SeriesLabels, DetectorGauges) -> std::io::Result<()>,
{
    fn begin(&mut self, labels: &SeriesLabels) -> bool {
        self.analyzer = None;
        self.previous = None;
        if let Some(series) = self.start_time.take() {
            series.finish(&mut self.restarts);
        }
        if restarts::is_start_time(labels) {
            // Its own `__name__` is not the memory series' one.
            let selected = self
                .selector
                .iter()
                .all(|(name, value)| name == "__name__" || labels.get(name) == Some(value));
            if selected && !self.restarts.knows(labels) {
                self.start_time = Some(restarts::StartTimeSeries::new(labels));
                return true;
            }
            return false;
        }
        self.pending = self.restarts.of(labels).iter().rev().copied().collect();
        let selected = self
            .selector
            .iter()
            .all(|(name, value)| labels.get(name) == Some(value));
        self.stats.series += u64::from(selected);
        selected
    }

    fn sample(
        &mut self,
        labels: &SeriesLabels,
        index: u64,
        t_secs: f64,
        value: &str,
    ) -> Result<(), ReplayError> {
        let sample = || {
            let labels = prometheus::quote(&format!("{labels:?}"));
            format!("series {labels}, sample {index}")
        };
        if !t_secs.is_finite() || self.previous.is_some_and(|previous| t_secs < previous) {
            return Err(ReplayError::Prometheus(format!(
                "{}: time {t_secs} is not finite or goes backwards",
                sample()
            )));
        }
        self.previous = Some(t_secs);
        if let Some(series) = &mut self.start_time {
            series.sample(t_secs, parse_start_time(labels, index, value)?);
            return Ok(());
        }
        while let Some(&restart) = self.pending.last().filter(|&&at| at <= t_secs) {
            self.pending.pop();
            // Before the first reading there is nothing to forget.
            if let Some(analyzer) = &mut self.analyzer {
                for event in analyzer.declare_restart(restart) {
                    (self.on_event)(labels, event).map_err(ReplayError::Output)?;
                }
            }
        }
        let bytes = match parse_prometheus_value(value) {
            Some(Some(bytes)) => bytes,
            Some(None) => {
                self.stats.skipped += 1;
                return Ok(());
            }
            None => {
                return Err(ReplayError::Prometheus(format!(
                    "{}: `{}` is not a number",
                    sample(),
                    prometheus::quote(value)
                )))
            }
        };
        self.stats.readings += 1;
        let analyzer = match &mut self.analyzer {
            Some(analyzer) => analyzer,
            None => self.analyzer.insert(Analyzer::new(self.config)?),
        };
        for event in analyzer.observe(SeriesPoint::new(t_secs, bytes)) {
            (self.on_event)(labels, event).map_err(ReplayError::Output)?;
        }
        if let Some(gauges) = analyzer.gauges(t_secs) {
            (self.on_gauges)(labels, gauges).map_err(ReplayError::Output)?;
        }
        Ok(())
    }
}

/// A reader that stops at `limit` bytes, remembering when there was more.
struct Capped<R> {
    inner: R,
    left: u64,
    over: bool,
}

impl<R> Capped<R> {
    fn new(inner: R, limit: u64) -> Self {
        Self {
            inner,
            left: limit,
            over: false,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more tells a document at the limit from a longer one.
            let read = self.inner.read(&mut [0u8; 1])?;
            self.over |= read > 0;
            return Ok(0);
        }
        let most = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let read = self.inner.read(&mut buf[..most])?;
        self.left -= read as u64;
        Ok(read)
    }
}

/// Prometheus writes `NaN`, `+Inf` and `-Inf` for special values.
fn parse_prometheus_value(text: &str) -> Option<Option<u64>> {
    match text {
        "NaN" | "+Inf" | "-Inf" | "Inf" => Some(None),
        _ => parse_bytes(text),
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_bytes, replay_csv, ReplayError, MAX_LINE_BYTES};
    use crate::MonitorConfig;

    #[test]
    fn a_start_time_series_read_before_its_memory_series_declares_its_restarts() {
        use super::{prometheus_restarts, replay_prometheus_with_gauges};
        use crate::detect::TrendConfig;
        // Sorted as Prometheus sorts: `process_start_time_seconds` before
        // `rss_bytes`. One process restarts at 5990 s, the other never.
        let values = |f: &dyn Fn(u64) -> String| {
            (0..150u64)
                .map(|m| format!("[{},\"{}\"]", m * 60, f(m * 60)))
                .collect::<Vec<_>>()
                .join(",")
        };
        let start = |restarts: bool| {
            values(&move |t| if restarts && t >= 6000 { "5990" } else { "-5" }.to_owned())
        };
        let flat = values(&|_| "100000000".to_owned());
        let json = format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[
            {{"metric":{{"__name__":"process_start_time_seconds","job":"a"}},"values":[{}]}},
            {{"metric":{{"__name__":"process_start_time_seconds","job":"b"}},"values":[{}]}},
            {{"metric":{{"__name__":"rss_bytes","job":"a"}},"values":[{flat}]}},
            {{"metric":{{"__name__":"rss_bytes","job":"b"}},"values":[{flat}]}}]}}}}"#,
            start(true),
            start(false)
        );
        let restarts = prometheus_restarts(json.as_bytes()).unwrap();
        let labels = |job: &str| {
            [("__name__", "rss_bytes"), ("job", job)]
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .into_iter()
                .collect()
        };
        assert_eq!(restarts.of(&labels("a")), [5990.0]);
        assert_eq!(restarts.of(&labels("b")), [] as [f64; 0]);
        // Read once: the start-time series come first, so they count. A
        // warm-up of 10 min ends at the second block minimum (minute 59:
        // the first minimum of a flat series is its first sample); the
        // restart starts another at the first reading after 5990 s.
        let config = MonitorConfig {
            trend: Some(TrendConfig {
                warm_up_secs: 600.0,
                ..TrendConfig::default()
            }),
            ..MonitorConfig::default()
        };
        let mut warming = Vec::new();
        let stats = replay_prometheus_with_gauges(
            json.as_bytes(),
            &config,
            &[],
            |_, _| Ok(()),
            |labels, gauges| {
                warming.push((labels["job"].clone(), gauges.t_secs, gauges.warming_up));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(stats.readings, 300);
        let warm_at = |job: &str, t: f64| {
            warming
                .iter()
                .find(|(j, at, _)| j == job && *at == t)
                .unwrap()
                .2
        };
        assert!(!warm_at("a", 5940.0) && warm_at("a", 6000.0));
        assert!(!warm_at("b", 5940.0) && !warm_at("b", 6000.0));
    }

    #[test]
    fn byte_counts_as_exporters_write_them() {
        assert_eq!(parse_bytes("314572800"), Some(Some(314_572_800)));
        assert_eq!(parse_bytes("314572800.0"), Some(Some(314_572_800)));
        assert_eq!(parse_bytes("3.145728e+08"), Some(Some(314_572_800)));
        assert_eq!(parse_bytes("1e30"), Some(Some(u64::MAX)));
        assert_eq!(parse_bytes("NaN"), Some(None));
        assert_eq!(parse_bytes("inf"), Some(None));
        assert_eq!(parse_bytes("-1"), Some(None));
        assert_eq!(parse_bytes("lots"), None);
    }

    #[test]
    fn a_prometheus_response_over_the_cap_is_refused() {
        use super::{replay_prometheus, MAX_PROMETHEUS_BYTES};
        use std::io::Read;
        let spaces = std::io::repeat(b' ').take(MAX_PROMETHEUS_BYTES + 1);
        let error =
            replay_prometheus(spaces, &MonitorConfig::default(), &[], |_, _| Ok(())).unwrap_err();
        assert!(error.to_string().contains("larger than"), "{error}");
    }

    #[test]
    fn a_line_over_the_limit_is_refused_with_its_number() {
        let mut csv = String::from("t_secs,live_bytes\n0,1\n");
        csv.push_str(&"9".repeat(MAX_LINE_BYTES + 1));
        let error = replay_csv(csv.as_bytes(), &MonitorConfig::default(), |_| Ok(())).unwrap_err();
        assert!(
            matches!(error, ReplayError::LineTooLong { line: 3, .. }),
            "{error}"
        );
        let fits = format!("t_secs,live_bytes\n0,{}\n", "0".repeat(MAX_LINE_BYTES - 2));
        assert!(replay_csv(fits.as_bytes(), &MonitorConfig::default(), |_| Ok(())).is_ok());
    }
}
