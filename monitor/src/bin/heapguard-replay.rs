//! `heapguard-replay [FILE | -] [--budget SIZE] [--format csv|prometheus]
//! [--series NAME=VALUE,...] [--gauges]`: runs the default leak detector and
//! the high-usage alert over recorded samples and prints one JSON object per
//! event as it is found. With `--gauges`, also one line per reading, after
//! that reading's events: `{"t_secs":T,"gauges":{NAME:VALUE,...}}` with the
//! detector's gauges under the names the `metrics` feature exports
//! (`heapguard_leak_suspected`, ...; `null` stands for +Inf, and
//! `heapguard_level_shift_timestamp_seconds` is on the input's clock), plus
//! `"series"` with `--format prometheus`. In a Prometheus response, a
//! `process_start_time_seconds` series beside a memory series (same labels
//! but `__name__`) declares a restart of it where its value changes, as a
//! CSV's `restart` column does (a file is read twice for that; from
//! standard input, only a start-time series that comes before its memory
//! series counts). Exit status 2 on malformed input (naming the line), 1
//! when the output cannot be written; 0 otherwise, with a line on stderr
//! when no reading was replayed (an empty input, or a `--series` that
//! matches no series or only series without readings), so that an empty
//! output is not read as "no leak". A `--budget` other than a size
//! (`auto`, `cgroup`, `system`, a percentage) is read from the machine
//! running the replay, which is said on stderr with what it came to.

use clap::{Parser, ValueEnum};
use heapguard_monitor::replay::{
    prometheus_restarts, replay_csv_with_gauges, replay_prometheus_with_restarts, ReplayError,
    ReplayStats, Restarts,
};
use heapguard_monitor::{DetectorGauges, MonitorConfig};
use heapguard_reading::{Budget, Host};
use std::cell::RefCell;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Replays memory samples through heapguard's monitor and prints one JSON
/// line per event.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The input file; `-` reads standard input.
    file: PathBuf,
    /// The memory budget (`512MiB`, `2GB`, `auto`, ...) for the high-usage
    /// alert and the projected time to exhaustion (a number without a unit
    /// is bytes; below 1 MiB, stderr asks whether MiB was meant). Give the recorded
    /// process's as a size: `auto`, `cgroup`, `system` and percentages are
    /// read from this machine.
    #[arg(long, value_name = "SIZE")]
    budget: Option<String>,
    /// The input's format: CSV (`t_secs,live_bytes[,quiescent[,restart]]`) or the
    /// JSON of a Prometheus `/api/v1/query_range` response. A response
    /// holds no quiescent marks: the detector works on block minima; a
    /// `process_start_time_seconds` series beside a memory series declares
    /// its restarts.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
    /// With `--format prometheus`: replay only the series whose labels
    /// include these (`job=api,instance=host:9100`). Without it, every
    /// series is replayed on its own, in the response's order. Each event
    /// line then carries the series' labels in a `series` field.
    #[arg(long, value_name = "NAME=VALUE,...")]
    series: Option<String>,
    /// Also print the detector's gauges after each reading, one line
    /// `{"t_secs":T,"gauges":{NAME:VALUE,...}}` (the names the `metrics`
    /// feature exports; `null` for +Inf), so alert rules can be tested on
    /// what the detector says about a recorded trace.
    #[arg(long)]
    gauges: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Prometheus,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let budget_bytes = match args.budget.as_deref().map(resolve_budget).transpose() {
        Ok(budget) => budget,
        Err(message) => return fail(2, &message),
    };
    let selector = match args.series.as_deref().map(parse_selector).transpose() {
        Ok(selector) => selector.unwrap_or_default(),
        Err(message) => return fail(2, &message),
    };
    if !selector.is_empty() && matches!(args.format, Format::Csv) {
        return fail(2, "--series applies to --format prometheus only");
    }
    let name = args.file.display().to_string();
    let input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(&args.file) {
            Ok(file) => Box::new(file),
            Err(error) => return fail(2, &format!("cannot open {name}: {error}")),
        }
    };
    // A file is read twice for a Prometheus response: first for its
    // start-time series, which Prometheus sorts after the memory series
    // named before `process_start_time_seconds`. Standard input is read
    // once: a start-time series declares the restarts of the memory series
    // after it.
    let restarts = match (&args.format, args.file.as_os_str() == "-") {
        (Format::Prometheus, false) => {
            let first = match std::fs::File::open(&args.file) {
                Ok(file) => file,
                Err(error) => return fail(2, &format!("cannot open {name}: {error}")),
            };
            match prometheus_restarts(first) {
                Ok(restarts) => restarts,
                Err(error) => return fail(2, &format!("{name}: {error}")),
            }
        }
        _ => Restarts::default(),
    };
    let config = MonitorConfig {
        budget_bytes,
        ..MonitorConfig::default()
    };
    // Standard output is line-buffered: each line leaves as it is found.
    // Both handlers write to it, one at a time.
    let out = RefCell::new(std::io::stdout().lock());
    let gauges_line = |labels: Option<&serde_json::Value>, gauges: &DetectorGauges| {
        let values: serde_json::Map<String, serde_json::Value> = gauges
            .values(0.0)
            .into_iter()
            .map(|(name, value)| (name.to_owned(), serde_json::json!(value)))
            .collect();
        let mut line = serde_json::json!({ "t_secs": gauges.t_secs, "gauges": values });
        if let (Some(object), Some(labels)) = (line.as_object_mut(), labels) {
            object.insert("series".into(), labels.clone());
        }
        line
    };
    let result = match args.format {
        Format::Csv => replay_csv_with_gauges(
            input,
            &config,
            |event| {
                let line = serde_json::to_string(&event).map_err(std::io::Error::other)?;
                writeln!(out.borrow_mut(), "{line}")
            },
            |gauges| {
                if !args.gauges {
                    return Ok(());
                }
                writeln!(out.borrow_mut(), "{}", gauges_line(None, &gauges))
            },
        ),
        Format::Prometheus => replay_prometheus_with_restarts(
            input,
            &config,
            &selector,
            &restarts,
            |labels, event| {
                let mut value = serde_json::to_value(&event).map_err(std::io::Error::other)?;
                if let Some(object) = value.as_object_mut() {
                    object.insert("series".into(), serde_json::json!(labels));
                }
                writeln!(out.borrow_mut(), "{value}")
            },
            |labels, gauges| {
                if !args.gauges {
                    return Ok(());
                }
                let labels = serde_json::json!(labels);
                writeln!(out.borrow_mut(), "{}", gauges_line(Some(&labels), &gauges))
            },
        ),
    };
    let flushed = out.borrow_mut().flush();
    match result {
        Ok(stats) => {
            report_skipped(&stats);
            report_nothing_replayed(&stats, args.series.as_deref());
            if let Err(error) = flushed {
                return fail(1, &format!("writing events: {error}"));
            }
            ExitCode::SUCCESS
        }
        Err(error @ ReplayError::Output(_)) => fail(1, &error.to_string()),
        Err(error) => fail(2, &format!("{name}: {error}")),
    }
}

fn report_skipped(stats: &ReplayStats) {
    if stats.skipped > 0 {
        eprintln!(
            "heapguard-replay: skipped {} of {} readings whose live_bytes is not finite or is negative",
            stats.skipped,
            stats.skipped + stats.readings
        );
    }
}

/// An empty output reads as "no leak": say on stderr when it is "nothing
/// read" instead (an empty input, a header alone, an empty result, or a
/// `--series` that matches no series). The status stays 0.
fn report_nothing_replayed(stats: &ReplayStats, series: Option<&str>) {
    if stats.readings == 0 && stats.skipped == 0 {
        let why = match series {
            Some(series) if stats.series == 0 => {
                format!("no series in the input matches --series {series}")
            }
            Some(series) => format!(
                "the {} series matching --series {series} {} no readings",
                stats.series,
                if stats.series == 1 { "holds" } else { "hold" }
            ),
            None => "the input holds no readings".to_owned(),
        };
        eprintln!("heapguard-replay: replayed no readings: {why}");
    }
}

fn parse_selector(text: &str) -> Result<Vec<(String, String)>, String> {
    text.split(',')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                Ok((name.trim().to_owned(), value.trim().to_owned()))
            }
            _ => Err(format!("--series {text}: expected NAME=VALUE,...")),
        })
        .collect()
}

/// The budget in bytes. Only a size is the recorded process's; `auto`,
/// `cgroup`, `system` and a percentage are read from the machine running
/// the replay, which is said on stderr with what they came to, since a
/// trace is usually replayed elsewhere.
fn resolve_budget(text: &str) -> Result<u64, String> {
    let budget: Budget = text
        .parse()
        .map_err(|error| format!("--budget {text}: {error}"))?;
    let resolution = budget
        .resolution_on(&Host::current())
        .map_err(|error| format!("--budget {text}: {error}"))?;
    // A number without a unit is bytes: `--budget 512` meant as MiB makes
    // every reading "high usage". Said, not refused (a small budget in
    // bytes is a valid replay).
    if text.trim().chars().all(|c| c.is_ascii_digit()) && resolution.bytes() < 1 << 20 {
        eprintln!(
            "heapguard-replay: --budget {text} is {text} bytes: a number without a unit is \
             bytes; did you mean --budget {}MiB?",
            text.trim()
        );
    }
    if !matches!(budget, Budget::Bytes(_)) {
        eprintln!(
            "heapguard-replay: --budget {text} is this machine's, not the recorded process's: \
             {resolution}; give the recorded process's budget as a size (such as --budget 512MiB) \
             to replay a trace from another machine"
        );
    }
    Ok(resolution.bytes())
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("heapguard-replay: {message}");
    ExitCode::from(code)
}
