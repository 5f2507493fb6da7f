//! `compare`: each mode in its own child process (so one mode's peak cannot
//! hide in the other's), then a side-by-side table and one chart.
//!
//! A child writes its report to its stdout (`run --json -`), a pipe only
//! this process reads: no file in a shared directory. Each child is killed
//! by the kernel when this process dies (`PR_SET_PDEATHSIG`), so a SIGINT,
//! SIGTERM or SIGKILL to `compare` leaves no child running.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use super::args::WorkloadArgs;
use super::format;
use super::output::{self, JsonTarget, Outputs};
use super::run::{job_config, write_chart};
use crate::config::Mode;
use crate::exit::{CliError, EXIT_BAD_INPUT, EXIT_COMPLETE, EXIT_INTERNAL, EXIT_PARTIAL};
use crate::report::{JobReport, Status};

/// The arguments a child `run` gets for `mode`: its report on stdout.
fn child_args(args: &WorkloadArgs, users: u32, mode: Mode) -> Vec<String> {
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
        "-".to_owned(),
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

/// Makes the kernel kill the child when the thread that spawns it (this
/// one, which also waits for it) ends, which it does when the process dies.
fn dies_with_its_parent(command: &mut Command) {
    let parent = std::process::id();
    // SAFETY: the closure runs in the child between fork and exec and calls
    // only prctl and getppid, both async-signal-safe; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the prctl: then no signal will
            // come, and the child must not run on as an orphan.
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Runs one mode in a child process and reads its report from the pipe.
fn run_child(args: &WorkloadArgs, users: u32, mode: Mode) -> Result<JobReport, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Internal(format!("cannot find this program to run a child: {e}")))?;
    let mut command = Command::new(&exe);
    command
        .args(child_args(args, users, mode))
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    dies_with_its_parent(&mut command);
    let mut child = command
        .spawn()
        .map_err(|e| CliError::Internal(format!("cannot start {}: {e}", exe.display())))?;
    let mut text = String::new();
    let read = match child.stdout.take() {
        Some(mut pipe) => pipe.read_to_string(&mut text).map(drop),
        None => Err(std::io::Error::other("no pipe to the child")),
    };
    if read.is_err() {
        let _ = child.kill();
    }
    let status = child
        .wait()
        .map_err(|e| CliError::Internal(format!("cannot wait for the {mode} run: {e}")))?;
    match status.code() {
        Some(c) if c == i32::from(EXIT_COMPLETE) || c == i32::from(EXIT_PARTIAL) => {}
        Some(c) if c == i32::from(EXIT_BAD_INPUT) => {
            return Err(CliError::BadInput(format!(
                "the {mode} run refused its arguments or could not write its report (its message is above)"
            )))
        }
        _ => {
            return Err(CliError::Internal(format!(
                "the {mode} run failed ({status})"
            )))
        }
    }
    read.map_err(|e| CliError::Internal(format!("cannot read the {mode} run's report: {e}")))?;
    serde_json::from_str(&text)
        .map_err(|e| CliError::Internal(format!("the {mode} run's report is unreadable: {e}")))
}

/// Runs both modes and returns their reports, naive first. The caller
/// checked the outputs.
pub(crate) fn compare_reports(args: &WorkloadArgs) -> Result<Vec<JobReport>, CliError> {
    let config = job_config(args, Mode::Naive)?;
    let mut reports = Vec::new();
    for mode in Mode::ALL {
        if !args.quiet {
            output::warn(&format!("running {mode} in a child process..."));
        }
        reports.push(run_child(args, config.users(), mode)?);
    }
    Ok(reports)
}

/// The table and the verdict lines under it.
pub(crate) fn comparison(reports: &[JobReport]) -> String {
    let refs: Vec<&JobReport> = reports.iter().collect();
    let mut out = format::table(&refs);
    if let [naive, streaming] = reports {
        let both_complete = reports.iter().all(|r| r.status == Status::Complete);
        if naive.peak_bytes > 0 && both_complete {
            out += &format!(
                "  streaming peak = {:.1}% of naive's; time = {:.2}x naive's\n",
                streaming.peak_bytes as f64 * 100.0 / naive.peak_bytes as f64,
                streaming.elapsed_ms as f64 / naive.elapsed_ms.max(1) as f64
            );
        } else if !both_complete {
            out += "  times and peaks are not comparable: the breaker stopped a mode early\n";
        }
        out += &verdict_line(naive, streaming);
    }
    out
}

/// The verdict on the suggestions of the users both modes finished. With
/// none (a mode stopped before its first user), there is nothing to call
/// identical or different, and the line says so.
fn verdict_line(naive: &JobReport, streaming: &JobReport) -> String {
    match format::agreement(naive, streaming) {
        (0, _) => "  suggestions not compared: no user was finished by both modes\n".to_owned(),
        (common, same) => format!(
            "  suggestions of the {common} users both modes finished: {}\n",
            if same { "identical" } else { "DIFFERENT" }
        ),
    }
}

/// `compare`'s exit status: 1 when the two modes' suggestions differ for
/// a user both finished (the modes must agree: a difference is a fault of
/// the program, whatever else happened); otherwise 0 only when both modes
/// completed and their suggestions were compared, 3 as for a partial run.
/// A mode runs at least one user, so nothing compared means a mode stopped
/// early (3 already); a report without users is not a success either.
fn exit_status(reports: &[JobReport]) -> u8 {
    let all_complete = reports.iter().all(|r| r.status == Status::Complete);
    let (compared, same) = match reports {
        [naive, streaming] => format::agreement(naive, streaming),
        _ => (0, true),
    };
    if compared > 0 && !same {
        EXIT_INTERNAL
    } else if all_complete && compared > 0 {
        EXIT_COMPLETE
    } else {
        EXIT_PARTIAL
    }
}

/// `demo-processor compare`.
pub(crate) fn compare(args: &WorkloadArgs) -> Result<u8, CliError> {
    job_config(args, Mode::Naive)?;
    let outputs: Outputs = output::check_outputs(args)?;
    let reports = compare_reports(args)?;
    let mut failures = Vec::new();
    let mut lines = String::new();
    let write_reports = |w: &mut dyn std::io::Write| {
        serde_json::to_writer_pretty(&mut *w, &reports)?;
        w.write_all(b"\n")
    };
    match &outputs.json {
        Some(JsonTarget::File(target)) => {
            if let Err(failure) = output::write_file(target, write_reports) {
                failures.push(failure);
            }
        }
        Some(JsonTarget::Stdout) => {
            if let Err(failure) = output::print_with(write_reports) {
                failures.push(failure);
            }
        }
        None => {}
    }
    if let Some(target) = &outputs.chart {
        match write_chart(target, &reports.iter().collect::<Vec<_>>()) {
            Ok(()) => lines += &format!("chart: {}\n", target.given.display()),
            Err(failure) => failures.push(failure),
        }
    }
    if !outputs.json_on_stdout() {
        if let Err(failure) = output::print(&(comparison(&reports) + &lines)) {
            failures.push(failure);
        }
    }
    // On stderr whatever stdout carries (with `--json -`, only the JSON).
    if let Some(why) = disagreement(&reports) {
        output::warn(&why);
    }
    Ok(output::conclude(exit_status(&reports), &failures))
}

/// Why the run must exit 1, when the modes disagree on users both finished.
pub(crate) fn disagreement(reports: &[JobReport]) -> Option<String> {
    let differing = match reports {
        [naive, streaming] => format::differing_users(naive, streaming),
        _ => Vec::new(),
    };
    (!differing.is_empty()).then(|| {
        format!(
            "naive and streaming suggestions differ for {} of the users both finished \
             (user ids {differing:?}): a fault of the program, exit status 1",
            differing.len()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::JobConfig;

    /// Both modes' reports of a small complete run, naive first.
    fn complete_reports() -> Vec<JobReport> {
        let config = JobConfig::new(40, 2).unwrap();
        Mode::ALL
            .into_iter()
            .map(|mode| {
                crate::run_job(&config.clone().with_mode(mode))
                    .unwrap()
                    .report
            })
            .collect()
    }

    /// A mode the breaker stopped before its first user.
    fn stopped_before_any_user(report: &mut JobReport) {
        report.status = Status::Partial;
        report.users_done = 0;
        report.users_skipped = report.users_total;
        report.skipped_users = (0..report.users_total).collect();
        report.suggestions = 0;
        report.users.clear();
    }

    const NOT_COMPARED: &str = "  suggestions not compared: no user was finished by both modes\n";

    #[test]
    fn both_complete_and_identical_is_success() {
        let reports = complete_reports();
        assert_eq!(disagreement(&reports), None);
        assert!(comparison(&reports)
            .ends_with("  suggestions of the 2 users both modes finished: identical\n"));
        assert_eq!(exit_status(&reports), EXIT_COMPLETE);
    }

    #[test]
    fn suggestions_that_differ_are_a_failure_complete_or_not() {
        let mut reports = complete_reports();
        reports[1].users[0].digest.push('x');
        assert!(comparison(&reports)
            .ends_with("  suggestions of the 2 users both modes finished: DIFFERENT\n"));
        assert_eq!(exit_status(&reports), EXIT_INTERNAL);
        let first = reports[1].users[0].user_id;
        assert_eq!(
            disagreement(&reports).unwrap(),
            format!(
                "naive and streaming suggestions differ for 1 of the users both finished \
                 (user ids [{first}]): a fault of the program, exit status 1"
            )
        );
        // A mode stopped early, and a user both finished differs: still 1.
        reports[1].status = Status::Partial;
        assert_eq!(exit_status(&reports), EXIT_INTERNAL);
    }

    #[test]
    fn no_user_finished_by_both_modes_is_not_called_identical() {
        // Neither mode finished a user, then only one did: nothing to compare.
        for stopped in [&[0, 1][..], &[0][..], &[1][..]] {
            let mut reports = complete_reports();
            for &mode in stopped {
                stopped_before_any_user(&mut reports[mode]);
            }
            let text = comparison(&reports);
            assert!(
                text.ends_with(&format!(
                    "  times and peaks are not comparable: the breaker stopped a mode early\n\
                     {NOT_COMPARED}"
                )),
                "{stopped:?}: {text}"
            );
            assert!(!text.contains("identical"), "{stopped:?}: {text}");
            assert_eq!(exit_status(&reports), EXIT_PARTIAL, "{stopped:?}");
        }
        // Reports that say complete but list no users compare nothing
        // either: never a success.
        let mut reports = complete_reports();
        for report in &mut reports {
            report.users.clear();
        }
        assert!(comparison(&reports).ends_with(NOT_COMPARED));
        assert_eq!(exit_status(&reports), EXIT_PARTIAL);
    }
}
