//! Thread scaling: alloc/free pairs per thread for each allocator at each
//! thread count, printed as a markdown table.
//!
//! Build once with `cargo build --release -p heapguard-benches --bin sweep`,
//! then copy `target/release/sweep` to the machine to measure and run
//! `sweep 1 2 4 8 16`. Each round times every allocator at every thread
//! count, alternating them; the table shows the median over rounds.

use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use core::alloc::GlobalAlloc;
use heapguard_benches::contenders::{
    for_each_contender, ContenderVisitor, BASELINE, COUNTING_JEMALLOC,
};
use heapguard_benches::{per_thread_time, run_on_threads, BlockSize, Clock, Workload};

/// Times alloc/free pairs per thread for each allocator at each thread count.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Thread counts to measure, e.g. `1 2 4 8 16`.
    #[arg(required = true)]
    threads: Vec<NonZeroUsize>,
    /// Block size in bytes.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Alloc/free pairs per thread per measurement.
    #[arg(long, default_value_t = 500_000)]
    pairs: u64,
    /// Time with wall-clock time instead of each thread's CPU time.
    #[arg(long)]
    wall: bool,
    /// Rounds; the median is reported.
    #[arg(long, default_value_t = 9)]
    rounds: usize,
}

/// One round: every allocator at one thread count.
struct Round<'a> {
    threads: NonZeroUsize,
    work: Workload<'a>,
    pairs: u64,
    clock: Clock,
    /// (allocator, ns per pair per thread)
    results: Vec<(&'static str, f64)>,
}

impl ContenderVisitor for Round<'_> {
    fn visit<A: GlobalAlloc + Sync + 'static>(&mut self, name: &'static str, alloc: &'static A) {
        let elapsed: Duration =
            per_thread_time(self.threads, alloc, &self.work, self.pairs, self.clock);
        self.results
            .push((name, elapsed.as_nanos() as f64 / self.pairs as f64));
    }
}

impl Round<'_> {
    /// `CountingAlloc<Jemalloc>` again, with a memory account entered on
    /// every measuring thread (entered outside the timed loop).
    fn visit_in_account(&mut self) {
        let account = heapguard_alloc::Account::new("sweep");
        let (work, pairs, clock) = (&self.work, self.pairs, self.clock);
        let elapsed = run_on_threads(self.threads, pairs, |iters| {
            let _inside = account.enter();
            work.timed(&COUNTING_JEMALLOC, iters, clock)
        });
        self.results.push((
            "CountingAlloc<Jemalloc> in an account",
            elapsed.as_nanos() as f64 / pairs as f64,
        ));
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, NonZeroUsize::get);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cores} hardware threads, {model}")
}

fn main() -> ExitCode {
    let args = Args::parse();
    let block = match BlockSize::new(args.size) {
        Ok(block) => block,
        Err(error) => {
            eprintln!("sweep: {error}");
            return ExitCode::from(2);
        }
    };
    if args.rounds == 0 || args.pairs == 0 {
        eprintln!("sweep: --rounds and --pairs must be at least 1");
        return ExitCode::from(2);
    }
    let clock = if args.wall {
        Clock::Wall
    } else {
        Clock::ThreadCpu
    };
    // samples[thread index][allocator index] = ns per pair, one per round
    let mut names: Vec<&'static str> = Vec::new();
    let mut samples: Vec<Vec<Vec<f64>>> = vec![Vec::new(); args.threads.len()];
    for round in 0..args.rounds {
        for (t, &threads) in args.threads.iter().enumerate() {
            let mut run = Round {
                threads,
                work: Workload::Pairs(block),
                pairs: args.pairs,
                clock,
                results: Vec::new(),
            };
            for_each_contender(&mut run);
            run.visit_in_account();
            if names.is_empty() {
                names = run.results.iter().map(|(name, _)| *name).collect();
            }
            samples[t].resize(run.results.len(), Vec::new());
            for (a, (_, ns)) in run.results.into_iter().enumerate() {
                samples[t][a].push(ns);
            }
        }
        eprintln!("sweep: round {} of {} done", round + 1, args.rounds);
    }

    let medians: Vec<Vec<f64>> = samples
        .iter_mut()
        .map(|per_alloc| per_alloc.iter_mut().map(|s| median(s)).collect())
        .collect();
    let baseline = names.iter().position(|name| *name == BASELINE).unwrap_or(0);

    println!(
        "Alloc/free pairs of {} B, ns of {} per pair per thread (ratio to {BASELINE}), median of {} rounds of {} pairs per thread. Machine: {}.\n",
        args.size,
        clock.name(),
        args.rounds,
        args.pairs,
        machine()
    );
    let header: Vec<String> = args.threads.iter().map(|t| format!("{t} thr")).collect();
    println!("| allocator | {} |", header.join(" | "));
    println!("| --- |{}", " ---: |".repeat(args.threads.len()));
    for (a, name) in names.iter().enumerate() {
        let cells: Vec<String> = medians
            .iter()
            .map(|row| format!("{:.1} ({:.2}x)", row[a], row[a] / row[baseline]))
            .collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
    ExitCode::SUCCESS
}
