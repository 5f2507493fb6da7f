//! `compare`: each mode in its own child process (so one mode's peak cannot
//! hide in the other's), then a side-by-side table and one chart.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::args::WorkloadArgs;
use super::error::{CliError, EXIT_BAD_INPUT, EXIT_COMPLETE, EXIT_PARTIAL};
use super::format;
use super::run::{check_outputs, job_config, write_chart, write_json};
use crate::config::Mode;
use crate::report::{JobReport, Status};

/// The arguments a child `run` gets for `mode`, writing its report to `json`.
fn child_args(args: &WorkloadArgs, users: u32, mode: Mode, json: &Path) -> Vec<String> {
    let mut out = vec![
        "run".to_owned(),
        "--mode".to_owned(),
        mode.as_str().to_owned(),
        "--contacts".to_owned(),
        args.contacts.to_string(),
        "--users".to_owned(),
        users.to_string(),
        "--batch-size".to_owned(),
        args.batch_size.to_string(),
        "--seed".to_owned(),
        args.seed.to_string(),
        "--json".to_owned(),
        json.display().to_string(),
    ];
    if let Some(budget) = &args.budget {
        out.push("--budget".to_owned());
        out.push(budget.text.clone());
    }
    for (flag, on) in [
        ("--inject-leak", args.inject_leak),
        ("--purge", args.purge),
        ("--quiet", args.quiet),
    ] {
        if on {
            out.push(flag.to_owned());
        }
    }
    out
}

/// Runs one mode in a child process and reads its report.
fn run_child(args: &WorkloadArgs, users: u32, mode: Mode) -> Result<JobReport, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Internal(format!("cannot find this program to run a child: {e}")))?;
    let json: PathBuf = std::env::temp_dir().join(format!(
        "demo-processor-{}-{}.json",
        std::process::id(),
        mode
    ));
    let status = Command::new(&exe)
        .args(child_args(args, users, mode, &json))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| CliError::Internal(format!("cannot start {}: {e}", exe.display())))?;
    let code = status.code();
    let text = std::fs::read_to_string(&json);
    let _ = std::fs::remove_file(&json);
    match code {
        Some(c) if c == i32::from(EXIT_COMPLETE) || c == i32::from(EXIT_PARTIAL) => {}
        Some(c) if c == i32::from(EXIT_BAD_INPUT) => {
            return Err(CliError::BadInput(format!(
                "the {mode} run refused its arguments"
            )))
        }
        _ => {
            return Err(CliError::Internal(format!(
                "the {mode} run failed ({status})"
            )))
        }
    }
    let text =
        text.map_err(|e| CliError::Internal(format!("the {mode} run left no report: {e}")))?;
    serde_json::from_str(&text)
        .map_err(|e| CliError::Internal(format!("the {mode} run's report is unreadable: {e}")))
}

/// Runs both modes and returns their reports, naive first.
pub(crate) fn compare_reports(args: &WorkloadArgs) -> Result<Vec<JobReport>, CliError> {
    let config = job_config(args, Mode::Naive)?;
    check_outputs(args)?;
    let mut reports = Vec::new();
    for mode in Mode::ALL {
        if !args.quiet {
            eprintln!("running {mode} in a child process...");
        }
        reports.push(run_child(args, config.users(), mode)?);
    }
    Ok(reports)
}

/// The table and the verdict lines under it.
pub(crate) fn print_comparison(reports: &[JobReport]) {
    let refs: Vec<&JobReport> = reports.iter().collect();
    print!("{}", format::table(&refs));
    if let [naive, streaming] = reports {
        let both_complete = reports.iter().all(|r| r.status == Status::Complete);
        if naive.peak_bytes > 0 && both_complete {
            println!(
                "  streaming peak = {:.1}% of naive's; time = {:.2}x naive's",
                streaming.peak_bytes as f64 * 100.0 / naive.peak_bytes as f64,
                streaming.elapsed_ms as f64 / naive.elapsed_ms.max(1) as f64
            );
        } else if !both_complete {
            println!("  times and peaks are not comparable: the breaker stopped a mode early");
        }
        let (common, same) = format::agreement(naive, streaming);
        println!(
            "  suggestions of the {common} users both modes finished: {}",
            if same { "identical" } else { "DIFFERENT" }
        );
    }
}

/// `demo-processor compare`.
pub(crate) fn compare(args: &WorkloadArgs) -> Result<u8, CliError> {
    let reports = compare_reports(args)?;
    print_comparison(&reports);
    if let Some(path) = &args.json {
        write_json(path, &reports)?;
    }
    if let Some(path) = &args.chart {
        write_chart(path, &reports.iter().collect::<Vec<_>>())?;
        println!("chart: {}", path.display());
    }
    let partial = reports.iter().any(|r| r.status == Status::Partial);
    Ok(if partial { EXIT_PARTIAL } else { EXIT_COMPLETE })
}
