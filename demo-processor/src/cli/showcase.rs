//! No arguments: the story in about a minute. Both modes at 10,000 contacts
//! per user under a budget the naive job cannot meet, then the streaming job
//! with a leak injected, which the monitor reports.

use std::io::Write;

use super::args::{BudgetArg, WorkloadArgs};
use super::output::{self, WriteFailure};
use super::run::execute;
use super::{compare, format};
use crate::config::Mode;
use crate::exit::{CliError, EXIT_COMPLETE, EXIT_INTERNAL};

/// The showcase's budget: naive needs ~1 GiB for a batch, streaming a few MiB.
pub(crate) const SHOWCASE_BUDGET: &str = "256MiB";

/// Prints to stdout; a full or closed stdout ends the showcase (exit 2).
fn say(text: &str) -> Result<(), CliError> {
    output::print(text).map_err(|WriteFailure(message)| CliError::Output(message))
}

/// Draws the chart into a new file of the temporary directory, with a
/// random name (created exclusively, so no other user can choose it).
fn chart_file(reports: &[&crate::report::JobReport]) -> Result<std::path::PathBuf, String> {
    let svg = crate::chart::render(reports).map_err(|e| e.to_string())?;
    let mut file = tempfile::Builder::new()
        .prefix("demo-processor-showcase-")
        .suffix(".svg")
        .tempfile()
        .map_err(|e| e.to_string())?;
    file.write_all(svg.as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| e.to_string())?;
    let (_, path) = file.keep().map_err(|e| e.to_string())?;
    Ok(path)
}

/// `demo-processor` with no arguments.
pub(crate) fn showcase() -> Result<u8, CliError> {
    let args = WorkloadArgs {
        contacts: 10_000,
        users: Some(100),
        batch_size: 50,
        budget: Some(BudgetArg {
            text: SHOWCASE_BUDGET.to_owned(),
            budget: SHOWCASE_BUDGET
                .parse()
                .map_err(|e| CliError::Internal(crate::messages::budget_error(&e)))?,
        }),
        seed: 42,
        json: None,
        chart: None,
        inject_leak: false,
        purge: false,
        quiet: false,
    };
    say(&format!(
        "heapguard demo: the suggestion job of the original service, 10,000 contacts x 100 users,\n\
         batches of 50, under a {SHOWCASE_BUDGET} budget (the breaker trips at 80%).\n\
         Each mode runs in its own process.\n\n"
    ))?;
    let reports = compare::compare_reports(&args)?;
    say(&compare::comparison(&reports))?;
    let disagreement = compare::disagreement(&reports);
    say(
        "\nnaive loads each batch in full and builds every candidate: the breaker stops it\n\
         cleanly with partial results (exit status 3 from `run`) instead of an OOM kill.\n\
         streaming holds a few chunks and a top-50 per user: it completes under the same budget.\n\n",
    )?;

    say("Now streaming again, with --inject-leak (a cache that never evicts):\n")?;
    let leaky = WorkloadArgs {
        users: Some(20),
        budget: None,
        inject_leak: true,
        ..args
    };
    let report = execute(&leaky, Mode::Streaming)?;
    say(&format::summary(
        &report,
        &format::top_users_by_peak(&report, 3),
    ))?;
    let drawn: Vec<_> = reports.iter().collect();
    match chart_file(&drawn) {
        Ok(path) => say(&format!("\nchart of both modes: {}\n", path.display()))?,
        Err(error) => output::warn(&format!("no chart: {error}")),
    }
    say("\nTry: demo-processor compare --contacts 100000 --chart compare.svg   (see --help)\n")?;
    // The showcase runs as CI's first command: two modes that disagree
    // must fail it, not pass as a demonstration.
    match disagreement {
        Some(why) => {
            output::warn(&why);
            Ok(EXIT_INTERNAL)
        }
        None => Ok(EXIT_COMPLETE),
    }
}
