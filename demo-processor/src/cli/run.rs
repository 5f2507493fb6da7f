//! `run`: one job in one mode, under the breaker (with `--budget`) and the monitor.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use heapguard_breaker::{BreakerConfig, MemoryBreaker};
use heapguard_monitor::detect::TrendConfig;
use heapguard_monitor::{MemoryMonitor, MonitorConfig};

use super::args::{RunArgs, WorkloadArgs};
use super::json::UserSink;
use super::output::{self, FileTarget, JsonTarget, WriteFailure};
use super::{format, profiling, progress};
use crate::config::{JobConfig, Mode};
use crate::exit::{CliError, EXIT_COMPLETE, EXIT_PARTIAL};
use crate::job::{run_job_with, JobHooks, OnUser};
use crate::messages::{breaker_error, monitor_error};
use crate::report::{JobReport, Status, UserResult};
use crate::scoring::Suggestion;

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

/// Runs the job described by `args` and returns its report (no output),
/// with every finished user in it. The caller checked the outputs.
pub(crate) fn execute(args: &WorkloadArgs, mode: Mode) -> Result<JobReport, CliError> {
    execute_with(args, mode, None)
}

/// Runs the job, handing each finished user to `on_user` when given (the
/// report's `users` then stay empty).
pub(crate) fn execute_with(
    args: &WorkloadArgs,
    mode: Mode,
    on_user: Option<OnUser<'_>>,
) -> Result<JobReport, CliError> {
    execute_profiled(args, mode, on_user, None).map(|(report, _)| report)
}

/// [`execute_with`], with jemalloc's heap profiler on and profiles written
/// to `profile` (an existing directory) when given; returns the paths
/// written too.
pub(crate) fn execute_profiled(
    args: &WorkloadArgs,
    mode: Mode,
    on_user: Option<OnUser<'_>>,
    profile: Option<&Path>,
) -> Result<(JobReport, Vec<PathBuf>), CliError> {
    let config = job_config(args, mode)?;
    let breaker = match &args.budget {
        Some(budget) => Some(
            MemoryBreaker::new(BreakerConfig::new(budget.budget.clone()).name("suggestions"))
                .map_err(|e| match e {
                    heapguard_breaker::ConfigError::Budget(_) => CliError::BadInput(format!(
                        "--budget {}: {}",
                        budget.text,
                        breaker_error(&e)
                    )),
                    other => CliError::Internal(breaker_error(&other)),
                })?,
        ),
        None => None,
    };
    if let (Some(breaker), false) = (&breaker, args.quiet) {
        // Where the budget came from (a cgroup file, physical memory, a fixed size).
        eprintln!("budget: {}", breaker.resolution());
    }
    let monitor = MemoryMonitor::start(monitor_config(breaker.as_ref().map(MemoryBreaker::limit)))
        .map_err(|e| {
            CliError::Internal(format!(
                "cannot start the memory monitor: {}",
                monitor_error(&e)
            ))
        })?;
    if let Some(breaker) = &breaker {
        monitor.watch_breaker(breaker.subscribe());
    }
    let attributions = match profile {
        Some(dir) => Some(profiling::start(&monitor, dir)?),
        None => None,
    };
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
        on_user,
    };
    let mut outcome =
        run_job_with(&config, hooks).map_err(|e| CliError::Internal(e.to_string()))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let (Some(trip), Some(_)) = (&mut outcome.report.trip, profile) {
        trip.top_sites = profiling::trip_sites(&monitor);
    }
    let written = match (profile, attributions) {
        (Some(dir), Some(events)) => {
            let (written, warnings) = profiling::write(&monitor, dir, &events);
            outcome.report.warnings.extend(warnings);
            written
        }
        _ => Vec::new(),
    };
    Ok((outcome.report, written))
}

/// Draws the chart into `target`, atomically.
pub(crate) fn write_chart(target: &FileTarget, reports: &[&JobReport]) -> Result<(), WriteFailure> {
    let svg = crate::chart::render(reports)
        .map_err(|e| WriteFailure(format!("cannot draw {}: {e}", target.given.display())))?;
    output::write_file(target, |w| w.write_all(svg.as_bytes()))
}

/// The exit status of a report: 0 complete, 3 otherwise.
pub(crate) fn exit_code(report: &JobReport) -> u8 {
    if report.status == Status::Complete {
        EXIT_COMPLETE
    } else {
        EXIT_PARTIAL
    }
}

/// `demo-processor run`: checks the outputs, runs the job, then writes the
/// files first and stdout last, so a closed stdout loses no file.
pub(crate) fn run(args: &RunArgs) -> Result<u8, CliError> {
    let workload = &args.workload;
    job_config(workload, args.mode)?;
    let outputs = output::check_outputs(workload)?;
    if let Some(dir) = &args.profile {
        profiling::check_dir(dir)?;
    }
    let sink = RefCell::new(UserSink::new(outputs.json.as_ref())?);
    let on_user = |user: &UserResult, _: &[Suggestion]| sink.borrow_mut().take(user);
    let (report, profiles) =
        execute_profiled(workload, args.mode, Some(&on_user), args.profile.as_deref())?;
    let sink = sink.into_inner();
    let top: Vec<UserResult> = sink.top_users().to_vec();
    let mut failures = Vec::new();
    let mut lines = String::new();
    for path in &profiles {
        lines += &format!("heap profile: {}\n", path.display());
    }
    match &outputs.json {
        Some(JsonTarget::File(target)) => {
            if let Err(failure) = output::write_file(target, |w| sink.write_report(&report, w)) {
                failures.push(failure);
            }
        }
        Some(JsonTarget::Stdout) => {
            if let Err(failure) = output::print_with(|w| sink.write_report(&report, w)) {
                failures.push(failure);
            }
        }
        None => {}
    }
    if let Some(target) = &outputs.chart {
        match write_chart(target, &[&report]) {
            Ok(()) => lines += &format!("chart: {}\n", target.given.display()),
            Err(failure) => failures.push(failure),
        }
    }
    for warning in &report.warnings {
        output::warn(warning);
    }
    if !outputs.json_on_stdout() {
        let text = format::summary(&report, &top.iter().collect::<Vec<_>>()) + &lines;
        if let Err(failure) = output::print(&text) {
            failures.push(failure);
        }
    }
    Ok(output::conclude(exit_code(&report), &failures))
}
