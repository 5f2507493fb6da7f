//! The end-to-end harness shared by the `e2e_*` binaries.
//!
//! Each binary installs a different `#[global_allocator]` and calls [`main`];
//! `benches/run.sh` runs the binaries alternately and compares their times.
//! Usage: `e2e_<allocator> <workload> [runs]`, where workload is `demo`
//! (the demo job, streaming, [`DEMO_CONTACTS`] contacts for each of
//! [`DEMO_USERS`] users) or `churn` (the [`churn`](crate::churn::churn) of
//! [`CHURN_RECORDS`] records); each run prints one line
//! `e2e<TAB>allocator<TAB>workload<TAB>wall ns<TAB>process CPU ns`.

use std::hint::black_box;
use std::process::ExitCode;

use crate::clock::Clock;

/// Records in one end-to-end churn run.
pub const CHURN_RECORDS: usize = 10_000;
/// Contacts per user in the end-to-end demo job.
pub const DEMO_CONTACTS: u32 = 10_000;
/// Users in the end-to-end demo job.
pub const DEMO_USERS: u32 = 3;

/// A workload the end-to-end binaries can time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum E2eWorkload {
    /// [`churn`](crate::churn::churn) of [`CHURN_RECORDS`] records.
    Churn,
    /// The demo job, streaming, [`DEMO_USERS`] users of [`DEMO_CONTACTS`]
    /// contacts, seed 1.
    Demo,
}

impl E2eWorkload {
    /// The name given on the command line and printed with each run.
    pub const fn name(self) -> &'static str {
        match self {
            E2eWorkload::Churn => "churn",
            E2eWorkload::Demo => "demo",
        }
    }
}

/// Why the command line was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum E2eArgsError {
    /// No workload named.
    #[error("usage: <binary> <demo|churn> [runs]")]
    Missing,
    /// An unknown workload.
    #[error("unknown workload {0:?}: expected demo or churn")]
    UnknownWorkload(String),
    /// `runs` is not a positive integer.
    #[error("runs must be a positive integer, got {0:?}")]
    BadRuns(String),
}

/// Why an end-to-end run failed.
#[derive(Debug, thiserror::Error)]
pub enum E2eError {
    /// The demo job refused its configuration or failed.
    #[error("demo job: {0}")]
    Demo(String),
}

/// Parses `<workload> [runs]` (runs default to 5).
pub fn parse_args(args: &[String]) -> Result<(E2eWorkload, u32), E2eArgsError> {
    let workload = match args.first().map(String::as_str) {
        None => return Err(E2eArgsError::Missing),
        Some("churn") => E2eWorkload::Churn,
        Some("demo") => E2eWorkload::Demo,
        Some(other) => return Err(E2eArgsError::UnknownWorkload(other.to_owned())),
    };
    let runs = match args.get(1) {
        None => 5,
        Some(text) => match text.parse::<u32>() {
            Ok(runs) if runs > 0 => runs,
            _ => return Err(E2eArgsError::BadRuns(text.clone())),
        },
    };
    Ok((workload, runs))
}

fn run_once(workload: E2eWorkload) -> Result<u64, E2eError> {
    match workload {
        E2eWorkload::Churn => Ok(black_box(crate::churn::churn(black_box(CHURN_RECORDS)))),
        E2eWorkload::Demo => {
            let config = demo_processor::JobConfig::new(DEMO_CONTACTS, DEMO_USERS)
                .map_err(|error| E2eError::Demo(error.to_string()))?
                .with_mode(demo_processor::Mode::Streaming)
                .with_seed(1);
            let outcome = demo_processor::run_job(black_box(&config))
                .map_err(|error| E2eError::Demo(error.to_string()))?;
            Ok(black_box(outcome.report.users_done.into()))
        }
    }
}

/// Runs the workload once untimed (warm-up), then `runs` times, timed;
/// returns (wall, process CPU) nanoseconds per timed run.
pub fn time_runs(workload: E2eWorkload, runs: u32) -> Result<Vec<(u128, u128)>, E2eError> {
    run_once(workload)?;
    (0..runs)
        .map(|_| {
            let wall = Clock::Wall.start();
            let cpu = Clock::ProcessCpu.start();
            run_once(workload)?;
            Ok((wall.elapsed().as_nanos(), cpu.elapsed().as_nanos()))
        })
        .collect()
}

/// The `main` of an `e2e_*` binary whose global allocator is `allocator`.
pub fn main(allocator: &str) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (workload, runs) = match parse_args(&args) {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    match time_runs(workload, runs) {
        Ok(times) => {
            for (wall, cpu) in times {
                println!("e2e\t{allocator}\t{}\t{wall}\t{cpu}", workload.name());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments_are_checked() {
        assert_eq!(parse_args(&args(&["churn"])), Ok((E2eWorkload::Churn, 5)));
        assert_eq!(
            parse_args(&args(&["churn", "9"])),
            Ok((E2eWorkload::Churn, 9))
        );
        assert_eq!(parse_args(&[]), Err(E2eArgsError::Missing));
        assert_eq!(
            parse_args(&args(&["nope"])),
            Err(E2eArgsError::UnknownWorkload("nope".into()))
        );
        assert_eq!(
            parse_args(&args(&["churn", "0"])),
            Err(E2eArgsError::BadRuns("0".into()))
        );
    }
}
