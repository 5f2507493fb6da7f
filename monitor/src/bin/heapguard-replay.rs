//! `heapguard-replay FILE.csv [--budget SIZE]`: runs the default leak
//! detector and the high-usage alert over recorded samples and prints one
//! JSON object per event. Exit status 2 on malformed input, naming the line.

use clap::Parser;
use heapguard_breaker::Budget;
use heapguard_monitor::replay::replay;
use heapguard_monitor::MonitorConfig;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Replays a CSV of memory samples (`t_secs,live_bytes[,quiescent]`) through
/// heapguard's monitor and prints one JSON line per event.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The CSV file.
    file: PathBuf,
    /// The memory budget (`512MiB`, `2GB`, `auto`, ...) for the high-usage
    /// alert and the projected time to exhaustion.
    #[arg(long, value_name = "SIZE")]
    budget: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let budget_bytes = match args.budget.as_deref().map(resolve_budget).transpose() {
        Ok(budget) => budget,
        Err(message) => return fail(&message),
    };
    let file = match std::fs::File::open(&args.file) {
        Ok(file) => file,
        Err(error) => return fail(&format!("cannot open {}: {error}", args.file.display())),
    };
    let config = MonitorConfig {
        budget_bytes,
        ..MonitorConfig::default()
    };
    let events = match replay(std::io::BufReader::new(file), &config) {
        Ok(events) => events,
        Err(error) => return fail(&format!("{}: {error}", args.file.display())),
    };
    let mut out = std::io::stdout().lock();
    for event in events {
        let line = serde_json::to_string(&event).unwrap_or_default();
        if writeln!(out, "{line}").is_err() {
            break; // the reader went away (a closed pipe): nothing left to do
        }
    }
    ExitCode::SUCCESS
}

fn resolve_budget(text: &str) -> Result<u64, String> {
    let budget: Budget = text
        .parse()
        .map_err(|error| format!("--budget {text}: {error}"))?;
    budget
        .resolve()
        .map_err(|error| format!("--budget {text}: {error}"))
}

fn fail(message: &str) -> ExitCode {
    eprintln!("heapguard-replay: {message}");
    ExitCode::from(2)
}
