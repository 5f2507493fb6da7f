//! `run`: one job in one mode, under the breaker (with `--budget`) and the monitor.

use std::path::Path;
use std::time::Duration;

use heapguard_breaker::{BreakerConfig, MemoryBreaker};
use heapguard_monitor::detect::TrendConfig;
use heapguard_monitor::{MemoryMonitor, MonitorConfig};

use super::args::{RunArgs, WorkloadArgs};
use super::error::{CliError, EXIT_COMPLETE, EXIT_PARTIAL};
use super::{format, progress};
use crate::config::{JobConfig, Mode};
use crate::job::{run_job_with, JobHooks};
use crate::report::{JobReport, Status};

/// Time between timeline points (the chart's resolution).
pub(crate) const TIMELINE_INTERVAL: Duration = Duration::from_millis(10);

/// Time between the monitor's samples: short, so a run of seconds is watched.
pub(crate) const MONITOR_INTERVAL: Duration = Duration::from_millis(20);

/// The job's configuration from the arguments.
pub(crate) fn job_config(args: &WorkloadArgs, mode: Mode) -> Result<JobConfig, CliError> {
    let users = args
        .users
        .unwrap_or_else(|| JobConfig::default_users(args.contacts));
    let bad = |e: crate::config::ConfigError| CliError::BadInput(e.to_string());
    Ok(JobConfig::new(args.contacts, users)
        .map_err(bad)?
        .with_batch_size(args.batch_size)
        .map_err(bad)?
        .with_mode(mode)
        .with_seed(args.seed)
        .with_inject_leak(args.inject_leak)
        .with_purge(args.purge)
        .with_timeline(Some(TIMELINE_INTERVAL)))
}

/// Refuses output paths that cannot work before any work is done.
pub(crate) fn check_outputs(args: &WorkloadArgs) -> Result<(), CliError> {
    if let Some(chart) = &args.chart {
        if !crate::chart::is_supported(chart) {
            return Err(CliError::BadInput(format!(
                "--chart {}: only .svg charts are supported",
                chart.display()
            )));
        }
    }
    for path in [&args.json, &args.chart].into_iter().flatten() {
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(CliError::BadInput(format!(
                "cannot write {}: directory {} does not exist",
                path.display(),
                parent.display()
            )));
        }
    }
    Ok(())
}

/// The monitor's settings for a run of seconds: a sample every 20 ms and a
/// trend detector without warm-up grace. The job marks itself quiescent from
/// its first moment (so the detector never falls back to block minima, which
/// a long naive batch would ramp), then between users (streaming) or batches
/// (naive); the only cache that warms up is bounded at 256 KiB, far below the
/// 8 MiB of growth a leak report needs.
pub(crate) fn monitor_config(budget_bytes: Option<u64>) -> MonitorConfig {
    MonitorConfig {
        interval: MONITOR_INTERVAL,
        budget_bytes,
        trend: Some(TrendConfig {
            warm_up_secs: 0.0,
            min_slope_bytes_per_min: 1024.0 * 1024.0,
            min_growth_bytes: 8.0 * 1024.0 * 1024.0,
            ..TrendConfig::default()
        }),
        ..MonitorConfig::default()
    }
}

/// Runs the job described by `args` and returns its report (no output).
pub(crate) fn execute(args: &WorkloadArgs, mode: Mode) -> Result<JobReport, CliError> {
    let config = job_config(args, mode)?;
    check_outputs(args)?;
    let breaker = match &args.budget {
        Some(budget) => Some(
            MemoryBreaker::new(BreakerConfig::new(budget.budget.clone()).name("suggestions"))
                .map_err(|e| match e {
                    heapguard_breaker::ConfigError::Budget(_) => {
                        CliError::BadInput(format!("--budget {}: {e}", budget.text))
                    }
                    other => CliError::Internal(other.to_string()),
                })?,
        ),
        None => None,
    };
    let monitor = MemoryMonitor::start(monitor_config(breaker.as_ref().map(MemoryBreaker::limit)))
        .map_err(|e| CliError::Internal(format!("cannot start the memory monitor: {e}")))?;
    if let Some(breaker) = &breaker {
        monitor.watch_breaker(breaker.subscribe());
    }
    let bar = progress::bar(config.users(), mode.as_str(), args.quiet);
    let on_progress = |p| {
        if let Some(bar) = &bar {
            progress::update(bar, p);
        }
    };
    let hooks = JobHooks {
        breaker: breaker.as_ref(),
        monitor: Some(&monitor),
        progress: Some(&on_progress),
        on_user: None,
    };
    let outcome = run_job_with(&config, hooks).map_err(|e| CliError::Internal(e.to_string()))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(outcome.report)
}

/// Writes `value` as pretty JSON to `path`.
pub(crate) fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), CliError> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| CliError::Internal(e.to_string()))?;
    std::fs::write(path, text + "\n")
        .map_err(|e| CliError::BadInput(format!("cannot write {}: {e}", path.display())))
}

/// Draws the chart, mapping failures to errors.
pub(crate) fn write_chart(path: &Path, reports: &[&JobReport]) -> Result<(), CliError> {
    crate::chart::draw(path, reports).map_err(|e| match e {
        crate::chart::ChartError::Format { .. } => CliError::BadInput(e.to_string()),
        other => CliError::Internal(other.to_string()),
    })
}

/// The exit status of a report.
pub(crate) fn exit_code(report: &JobReport) -> u8 {
    match report.status {
        Status::Complete => EXIT_COMPLETE,
        Status::Partial => EXIT_PARTIAL,
    }
}

/// `demo-processor run`.
pub(crate) fn run(args: &RunArgs) -> Result<u8, CliError> {
    let report = execute(&args.workload, args.mode)?;
    print!("{}", format::summary(&report));
    if let Some(path) = &args.workload.json {
        write_json(path, &report)?;
    }
    if let Some(path) = &args.workload.chart {
        write_chart(path, &[&report])?;
        println!("chart: {}", path.display());
    }
    Ok(exit_code(&report))
}
