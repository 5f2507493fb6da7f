//! The end-to-end harness shared by the `e2e_*` binaries.
//!
//! Each binary installs a different `#[global_allocator]` and calls [`main`];
//! `benches/e2e.sh` runs the binaries alternately and compares their times
//! run by run, and `benches/instructions.sh` runs them under cachegrind.
//! Usage: `e2e_<allocator> <workload> [runs]`, where workload is one of
//! [`E2eWorkload`]'s names (`demo`, `churn`, `json`, `pairs`, `pairs2`,
//! `mixed2`).
//! The workload runs once untimed (warm-up), then `runs` times; each timed
//! run prints one line
//! `e2e<TAB>allocator<TAB>workload<TAB>wall ns<TAB>process CPU ns<TAB>allocator calls`,
//! where the calls are what heapguard counted during the run (`allocations +
//! deallocations + reallocations` of [`heapguard_alloc::stats`], exact
//! because every thread of the run has ended) and 0 when the global
//! allocator does not count.

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::process::ExitCode;

use crate::clock::Clock;

/// Records in one end-to-end churn run.
pub const CHURN_RECORDS: usize = 10_000;
/// Contacts per user in the end-to-end demo job.
pub const DEMO_CONTACTS: u32 = 10_000;
/// Users in the end-to-end demo job.
pub const DEMO_USERS: u32 = 3;
/// Alloc/free pairs per thread in one `pairs` or `pairs2` run.
pub const PAIRS: u64 = 2_000_000;
/// Ring steps (a free and an allocation of a mixed size) per thread in one
/// `mixed2` run.
pub const MIXED_STEPS: u64 = 1_000_000;
/// The block size of the `pairs` workloads, in bytes.
pub const PAIR_BYTES: usize = 64;

/// A workload the end-to-end binaries can time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum E2eWorkload {
    /// [`churn`](crate::churn::churn) of [`CHURN_RECORDS`] records.
    Churn,
    /// The demo job, streaming, [`DEMO_USERS`] users of [`DEMO_CONTACTS`]
    /// contacts, seed 1.
    Demo,
    /// A [`JSON_RECORDS`](crate::json::JSON_RECORDS)-record JSON document
    /// (made once, before the warm-up) parsed into `serde_json::Value` and
    /// dropped.
    Json,
    /// [`PAIRS`] alloc/free pairs of [`PAIR_BYTES`] through the global
    /// allocator, one thread.
    Pairs,
    /// The same on two threads at once ([`PAIRS`] each).
    Pairs2,
    /// Mixed sizes (8 B to 16 KiB, a ring of live blocks, see
    /// [`MixedRing`](crate::mixed::MixedRing)) through the global allocator
    /// on two threads at once, [`MIXED_STEPS`] steps each.
    Mixed2,
}

impl E2eWorkload {
    /// The name given on the command line and printed with each run.
    pub const fn name(self) -> &'static str {
        match self {
            E2eWorkload::Churn => "churn",
            E2eWorkload::Demo => "demo",
            E2eWorkload::Json => "json",
            E2eWorkload::Pairs => "pairs",
            E2eWorkload::Pairs2 => "pairs2",
            E2eWorkload::Mixed2 => "mixed2",
        }
    }

    /// Every workload, in the order reports list them.
    pub const ALL: [E2eWorkload; 6] = [
        E2eWorkload::Pairs,
        E2eWorkload::Pairs2,
        E2eWorkload::Mixed2,
        E2eWorkload::Json,
        E2eWorkload::Churn,
        E2eWorkload::Demo,
    ];
}

/// Why the command line was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum E2eArgsError {
    /// No workload named.
    #[error("usage: <binary> <demo|churn|json|pairs|pairs2|mixed2> [runs]")]
    Missing,
    /// An unknown workload.
    #[error("unknown workload {0:?}: expected demo, churn, json, pairs, pairs2 or mixed2")]
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
    /// The JSON document did not parse (a bug in its generator).
    #[error("json workload: {0}")]
    Json(#[from] serde_json::Error),
}

/// Parses `<workload> [runs]` (runs default to 5).
pub fn parse_args(args: &[String]) -> Result<(E2eWorkload, u32), E2eArgsError> {
    let workload = match args.first() {
        None => return Err(E2eArgsError::Missing),
        Some(name) => E2eWorkload::ALL
            .into_iter()
            .find(|workload| workload.name() == name)
            .ok_or_else(|| E2eArgsError::UnknownWorkload(name.clone()))?,
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

/// The input a workload reads, made once before its runs and outside every
/// measurement: the JSON document for `json`, nothing for the others.
fn prepare(workload: E2eWorkload) -> String {
    match workload {
        E2eWorkload::Json => crate::json::document(crate::json::JSON_RECORDS),
        _ => String::new(),
    }
}

/// `PAIRS` alloc/free pairs through the global allocator.
fn pairs() -> u64 {
    let layout = match Layout::from_size_align(PAIR_BYTES, 8) {
        Ok(layout) => layout,
        Err(_) => return 0,
    };
    let mut checksum = 0u64;
    for _ in 0..PAIRS {
        // SAFETY: `layout` has a non-zero size; the block is freed once,
        // with the layout it was allocated with.
        unsafe {
            let ptr = black_box(std::alloc::alloc(layout));
            if ptr.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            checksum = checksum.wrapping_add(ptr as u64 & 0xff);
            std::alloc::dealloc(ptr, layout);
        }
    }
    checksum
}

/// The process's global allocator as a value the mixed ring can call.
struct Global;

// SAFETY: forwards to the global allocator with the caller's arguments.
unsafe impl GlobalAlloc for Global {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { std::alloc::alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `dealloc`'s contract.
        unsafe { std::alloc::dealloc(ptr, layout) }
    }
}

/// [`MIXED_STEPS`] steps of a mixed-size ring seeded with `seed`.
fn mixed(seed: u64) -> u64 {
    let layouts = crate::mixed::mixed_layouts(seed, crate::mixed::MIXED_SIZES);
    let mut ring = crate::mixed::MixedRing::new(&Global, &layouts);
    ring.run(MIXED_STEPS);
    drop(ring);
    MIXED_STEPS
}

fn run_once(workload: E2eWorkload, input: &str) -> Result<u64, E2eError> {
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
        E2eWorkload::Json => Ok(black_box(crate::json::parse_and_drop(input)?)),
        E2eWorkload::Pairs => Ok(black_box(pairs())),
        E2eWorkload::Pairs2 => Ok(std::thread::scope(|scope| {
            let other = scope.spawn(pairs);
            let here = pairs();
            // A panic in `pairs` is a bug; report it as a zero checksum.
            here.wrapping_add(other.join().unwrap_or(0))
        })),
        E2eWorkload::Mixed2 => Ok(std::thread::scope(|scope| {
            let other = scope.spawn(|| mixed(2));
            let here = mixed(1);
            here.wrapping_add(other.join().unwrap_or(0))
        })),
    }
}

/// Allocator calls heapguard counted so far (0 when it is not counting).
fn allocator_calls() -> u64 {
    let stats = heapguard_alloc::stats();
    stats.allocations + stats.deallocations + stats.reallocations
}

/// One timed run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// Wall-clock nanoseconds.
    pub wall_ns: u128,
    /// Process CPU nanoseconds (every thread).
    pub cpu_ns: u128,
    /// Allocator calls counted by heapguard during the run (0 when the
    /// global allocator does not count).
    pub calls: u64,
}

/// Runs the workload once untimed (warm-up), then `runs` times, timed.
pub fn time_runs(workload: E2eWorkload, runs: u32) -> Result<Vec<Run>, E2eError> {
    let input = prepare(workload);
    run_once(workload, &input)?;
    (0..runs)
        .map(|_| {
            let calls = allocator_calls();
            let wall = Clock::Wall.start();
            let cpu = Clock::ProcessCpu.start();
            run_once(workload, &input)?;
            let (wall_ns, cpu_ns) = (wall.elapsed().as_nanos(), cpu.elapsed().as_nanos());
            Ok(Run {
                wall_ns,
                cpu_ns,
                calls: allocator_calls().wrapping_sub(calls),
            })
        })
        .collect()
}

/// The `main` of an `e2e_*` binary whose global allocator is `allocator`.
pub fn main(allocator: &str) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    main_with(allocator, &args)
}

/// [`main`] with the arguments given (without the program name).
pub fn main_with(allocator: &str, args: &[String]) -> ExitCode {
    let (workload, runs) = match parse_args(args) {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    match time_runs(workload, runs) {
        Ok(runs) => {
            for run in runs {
                println!(
                    "e2e\t{allocator}\t{}\t{}\t{}\t{}",
                    workload.name(),
                    run.wall_ns,
                    run.cpu_ns,
                    run.calls
                );
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
        assert_eq!(parse_args(&args(&["json"])), Ok((E2eWorkload::Json, 5)));
        assert_eq!(
            parse_args(&args(&["pairs2", "3"])),
            Ok((E2eWorkload::Pairs2, 3))
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
