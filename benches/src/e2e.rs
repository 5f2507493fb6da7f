//! The end-to-end harness shared by the `e2e_*` binaries.
//!
//! Each binary installs a different `#[global_allocator]` and calls [`main`];
//! `benches/run.sh` runs the binaries alternately and compares their times.
//! Usage: `e2e_<allocator> <workload> [runs]`, where workload is `churn`
//! (the [`churn`](crate::churn::churn) of 10,000 records); each run prints
//! one line `e2e<TAB>allocator<TAB>workload<TAB>nanoseconds`.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

/// Records in one end-to-end churn run.
pub const CHURN_RECORDS: usize = 10_000;

/// A workload the end-to-end binaries can time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum E2eWorkload {
    /// [`churn`](crate::churn::churn) of [`CHURN_RECORDS`] records.
    Churn,
}

/// Why the command line was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum E2eArgsError {
    /// No workload named.
    #[error("usage: <binary> <churn> [runs]")]
    Missing,
    /// An unknown workload.
    #[error("unknown workload {0:?}: expected churn")]
    UnknownWorkload(String),
    /// `runs` is not a positive integer.
    #[error("runs must be a positive integer, got {0:?}")]
    BadRuns(String),
}

/// Parses `<workload> [runs]` (runs default to 5).
pub fn parse_args(args: &[String]) -> Result<(E2eWorkload, u32), E2eArgsError> {
    let workload = match args.first().map(String::as_str) {
        None => return Err(E2eArgsError::Missing),
        Some("churn") => E2eWorkload::Churn,
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

/// Runs the workload once untimed (warm-up), then `runs` times, timed.
pub fn time_runs(workload: E2eWorkload, runs: u32) -> Vec<u128> {
    let once = || match workload {
        E2eWorkload::Churn => black_box(crate::churn::churn(black_box(CHURN_RECORDS))),
    };
    once();
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            once();
            start.elapsed().as_nanos()
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
    let name = match workload {
        E2eWorkload::Churn => "churn",
    };
    for nanos in time_runs(workload, runs) {
        println!("e2e\t{allocator}\t{name}\t{nanos}");
    }
    ExitCode::SUCCESS
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
