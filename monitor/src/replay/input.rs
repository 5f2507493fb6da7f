//! What a replay reads and refuses: its limits, the labels that name a
//! series, and the errors.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::MonitorError;

/// The longest CSV line accepted, bytes (newline excluded).
pub const MAX_LINE_BYTES: usize = 4096;

/// The largest Prometheus response accepted, bytes.
pub const MAX_PROMETHEUS_BYTES: u64 = 256 << 20;

/// Why a replay input was refused; every variant about a line names it
/// (1-based).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The first line is not the expected header.
    #[error(
        "line {line}: expected the header `t_secs,live_bytes`, \
         `t_secs,live_bytes,quiescent` or `t_secs,live_bytes,quiescent,restart`, \
         found `{found}`"
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
    /// A line is longer than [`MAX_LINE_BYTES`].
    #[error("line {line}: longer than {limit} bytes")]
    LineTooLong {
        /// The line.
        line: u64,
        /// The limit.
        limit: usize,
    },
    /// The CSV itself is malformed or unreadable (bad quoting, invalid UTF-8, I/O).
    #[error("line {line}: {message}")]
    Csv {
        /// The line (0 if unknown).
        line: u64,
        /// What the CSV reader said.
        message: String,
    },
    /// The Prometheus response is not a `query_range` matrix, is larger than
    /// [`MAX_PROMETHEUS_BYTES`], or holds a malformed sample.
    #[error("prometheus response: {0}")]
    Prometheus(String),
    /// The caller's handler of events failed (a write to a closed pipe).
    #[error("writing events: {0}")]
    Output(#[source] std::io::Error),
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
            | ReplayError::LineTooLong { line, .. }
            | ReplayError::Csv { line, .. } => Some(*line),
            ReplayError::Prometheus(_) | ReplayError::Output(_) | ReplayError::Config(_) => None,
        }
    }
}

/// One series of a Prometheus response: its labels.
pub type SeriesLabels = BTreeMap<String, String>;
