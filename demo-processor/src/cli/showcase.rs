//! No arguments: the story in about a minute. Both modes at 10,000 contacts
//! per user under a budget the naive job cannot meet, then the streaming job
//! with a leak injected, which the monitor reports.

use super::args::{BudgetArg, WorkloadArgs};
use super::error::{CliError, EXIT_COMPLETE};
use super::run::{execute, write_chart};
use super::{compare, format};
use crate::config::Mode;

/// The showcase's budget: naive needs ~1 GiB for a batch, streaming a few MiB.
pub(crate) const SHOWCASE_BUDGET: &str = "256MiB";

/// `demo-processor` with no arguments.
pub(crate) fn showcase() -> Result<u8, CliError> {
    let chart = std::env::temp_dir().join("demo-processor-showcase.svg");
    let args = WorkloadArgs {
        contacts: 10_000,
        users: Some(100),
        batch_size: 50,
        budget: Some(BudgetArg {
            text: SHOWCASE_BUDGET.to_owned(),
            budget: SHOWCASE_BUDGET
                .parse()
                .map_err(|e: heapguard_breaker::BudgetError| CliError::Internal(e.to_string()))?,
        }),
        seed: 42,
        json: None,
        chart: None,
        inject_leak: false,
        purge: false,
        quiet: false,
    };
    println!(
        "heapguard demo: the suggestion job of the original service, 10,000 contacts x 100 users,"
    );
    println!("batches of 50, under a {SHOWCASE_BUDGET} budget (the breaker trips at 80%).");
    println!("Each mode runs in its own process.\n");
    let reports = compare::compare_reports(&args)?;
    compare::print_comparison(&reports);
    println!();
    println!("naive loads each batch in full and builds every candidate: the breaker stops it");
    println!("cleanly with partial results (exit status 3 from `run`) instead of an OOM kill.");
    println!(
        "streaming holds a few chunks and a top-50 per user: it completes under the same budget.\n"
    );

    println!("Now streaming again, with --inject-leak (a cache that never evicts):");
    let leaky = WorkloadArgs {
        users: Some(20),
        budget: None,
        inject_leak: true,
        ..args
    };
    let report = execute(&leaky, Mode::Streaming)?;
    print!("{}", format::summary(&report));
    let mut drawn: Vec<_> = reports.iter().collect();
    drawn.push(&report);
    if write_chart(&chart, &drawn[..2]).is_ok() {
        println!("\nchart of both modes: {}", chart.display());
    }
    println!("\nTry: demo-processor compare --contacts 100000 --chart compare.svg   (see --help)");
    Ok(EXIT_COMPLETE)
}
