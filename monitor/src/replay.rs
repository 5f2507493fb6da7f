//! Runs the monitor's analysis over recorded samples (what
//! `heapguard-replay` does), so thresholds can be tuned on production data.
//!
//! The input is CSV with the header `t_secs,live_bytes` and an optional third
//! column `quiescent` (`0`/`1`, or `true`/`false`).

use crate::detect::SeriesPoint;
use crate::{Analyzer, MemoryEvent, MonitorConfig, MonitorError};
use std::io::Read;
use thiserror::Error;

/// Why a replay input was refused; every variant names its line (1-based).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The first line is not the expected header.
    #[error(
        "line {line}: expected the header `t_secs,live_bytes` or \
         `t_secs,live_bytes,quiescent`, found `{found}`"
    )]
    Header {
        /// The line.
        line: u64,
        /// What was there.
        found: String,
    },
    /// A row has the wrong number of fields.
    #[error("line {line}: expected {expected} fields as in the header, found {found}")]
    FieldCount {
        /// The line.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// A field does not parse.
    #[error("line {line}: {column} must be {expected}, found `{value}`")]
    Field {
        /// The line.
        line: u64,
        /// The column.
        column: &'static str,
        /// What the column holds.
        expected: &'static str,
        /// What was there.
        value: String,
    },
    /// Time went backwards.
    #[error("line {line}: t_secs {t_secs} is earlier than the previous row's {previous}")]
    TimeBackwards {
        /// The line.
        line: u64,
        /// This row's time.
        t_secs: f64,
        /// The previous row's time.
        previous: f64,
    },
    /// The CSV itself is malformed or unreadable (bad quoting, invalid UTF-8, I/O).
    #[error("line {line}: {message}")]
    Csv {
        /// The line (0 if unknown).
        line: u64,
        /// What the CSV reader said.
        message: String,
    },
    /// The analysis settings are invalid.
    #[error(transparent)]
    Config(#[from] MonitorError),
}

impl ReplayError {
    /// The line the error is on, when it is about a line.
    pub fn line(&self) -> Option<u64> {
        match self {
            ReplayError::Header { line, .. }
            | ReplayError::FieldCount { line, .. }
            | ReplayError::Field { line, .. }
            | ReplayError::TimeBackwards { line, .. }
            | ReplayError::Csv { line, .. } => Some(*line),
            ReplayError::Config(_) => None,
        }
    }
}

/// Feeds every row of `input` to an [`Analyzer`] with `config`, as if
/// sampled live, and returns the events in order. Nothing is returned for
/// an empty input or a header alone; any malformed row fails the whole
/// replay.
///
/// ```
/// use heapguard_monitor::{replay::replay, MonitorConfig};
/// let csv = "t_secs,live_bytes\n0,500\n60,800\n";
/// let config = MonitorConfig { budget_bytes: Some(1000), ..MonitorConfig::default() };
/// let events = replay(csv.as_bytes(), &config).unwrap();
/// assert_eq!(events[0].kind(), "high_usage");
/// let error = replay("t_secs,live_bytes\n0,lots\n".as_bytes(), &config).unwrap_err();
/// assert_eq!(error.line(), Some(2));
/// ```
pub fn replay(input: impl Read, config: &MonitorConfig) -> Result<Vec<MemoryEvent>, ReplayError> {
    let mut analyzer = Analyzer::new(config)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let mut columns = 0;
    let mut previous: Option<f64> = None;
    let mut events = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| ReplayError::Csv {
            line: error.position().map_or(0, |p| p.line()),
            message: error.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if columns == 0 {
            let names: Vec<&str> = record.iter().collect();
            columns = match names[..] {
                ["t_secs", "live_bytes"] => 2,
                ["t_secs", "live_bytes", "quiescent"] => 3,
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
        let bytes = record[1]
            .parse::<u64>()
            .map_err(|_| field("live_bytes", "a whole number of bytes", &record[1]))?;
        let quiescent = match record.get(2) {
            None | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(other) => return Err(field("quiescent", "0 or 1", other)),
        };
        if let Some(previous) = previous.filter(|&previous| t_secs < previous) {
            return Err(ReplayError::TimeBackwards {
                line,
                t_secs,
                previous,
            });
        }
        previous = Some(t_secs);
        events.extend(analyzer.observe(SeriesPoint {
            t_secs,
            bytes,
            quiescent,
        }));
    }
    Ok(events)
}
