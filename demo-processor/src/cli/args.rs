//! The command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use heapguard_breaker::Budget;

use crate::config::{Mode, MAX_CONTACTS_PER_USER, MAX_USERS};

/// The suggestion-generation job, naive and streaming, under heapguard's
/// breaker and monitor. With no command: a one-minute showcase.
#[derive(Debug, Parser)]
#[command(name = "demo-processor", version, about, long_about = None)]
pub struct Cli {
    /// What to do (none: the showcase).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the job in one mode and report.
    Run(RunArgs),
    /// Run both modes, each in its own child process, and compare them.
    Compare(WorkloadArgs),
    /// Serve the job over HTTP, one user per request, shedding what the
    /// memory budget cannot hold (503), with Prometheus metrics.
    Serve(crate::serve::ServeArgs),
}

/// `run`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The workload.
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// `naive` (load the batch, build every candidate, sort) or `streaming`.
    #[arg(long, value_enum, default_value_t = Mode::Streaming)]
    pub mode: Mode,
    /// Turn jemalloc's heap profiler on (one sample per 512 KiB) and write
    /// heap profiles (pprof) to DIR: at both ends of the first leak alarm's
    /// span, at a breaker trip, at its cancel line and at the end; leak
    /// alerts name their top sites.
    #[arg(long, value_name = "DIR")]
    pub profile: Option<PathBuf>,
}

/// The workload and its options, shared by `run` and `compare`.
#[derive(Debug, Clone, Args)]
pub struct WorkloadArgs {
    /// Contacts per user (1 to 1,000,000; the original saw 1,300 to 100,000).
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = parse_contacts)]
    pub contacts: u32,
    /// Users (default: 400,000 contacts spread over 1 to 100 users).
    #[arg(long, value_name = "U", value_parser = parse_users)]
    pub users: Option<u32>,
    /// Users per batch.
    #[arg(long, value_name = "B", default_value_t = 50, value_parser = parse_batch_size)]
    pub batch_size: u32,
    /// Memory budget of the breaker ("256MiB", "2GB", "auto", "50%"); none: no breaker.
    #[arg(long, value_name = "SIZE", value_parser = parse_budget)]
    pub budget: Option<BudgetArg>,
    /// Seed of all generated data.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// Write the report as JSON to PATH.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Draw live bytes over time to PATH (.svg).
    #[arg(long, value_name = "PATH")]
    pub chart: Option<PathBuf>,
    /// Add a cache that never evicts (a real leak) for the monitor to catch.
    #[arg(long)]
    pub inject_leak: bool,
    /// Purge jemalloc after each batch and report RSS before and after.
    #[arg(long)]
    pub purge: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// A budget as given (kept as text to pass on to child processes) and parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetArg {
    /// The text given.
    pub text: String,
    /// The parsed budget.
    pub budget: Budget,
}

fn parse_contacts(text: &str) -> Result<u32, String> {
    match text.replace(['_', ','], "").parse::<u32>() {
        Ok(n) if (1..=MAX_CONTACTS_PER_USER).contains(&n) => Ok(n),
        _ => Err(format!(
            "contacts per user must be a whole number from 1 to {MAX_CONTACTS_PER_USER}"
        )),
    }
}

fn parse_users(text: &str) -> Result<u32, String> {
    match text.replace(['_', ','], "").parse::<u32>() {
        Ok(n) if (1..=MAX_USERS).contains(&n) => Ok(n),
        _ => Err(format!(
            "users must be a whole number from 1 to {MAX_USERS}"
        )),
    }
}

fn parse_batch_size(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("batch size must be a whole number of at least 1 user".to_owned()),
    }
}

fn parse_budget(text: &str) -> Result<BudgetArg, String> {
    Ok(BudgetArg {
        text: text.to_owned(),
        budget: crate::budget_arg::parse_budget(text)?,
    })
}
