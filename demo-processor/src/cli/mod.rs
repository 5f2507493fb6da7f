//! The `demo-processor` command line: `run`, `compare`, and with no
//! arguments a one-minute showcase. `main.rs` installs the allocator and
//! calls [`main`].
//!
//! Exit status: 0 complete, 3 partial or cancelled (the breaker stopped
//! work; it stays 3 when an output then cannot be written, and stderr says
//! so), 2 bad input or an output that cannot be written (with a message: a
//! full disk, a closed or full stdout), 1 internal error. Outputs are
//! checked before the job starts and files are replaced atomically.

mod args;
mod compare;
mod format;
mod json;
mod logging;
mod output;
pub(crate) mod profiling;
mod progress;
mod run;
mod showcase;

use std::process::ExitCode;

use clap::Parser;

pub use crate::exit::{CliError, EXIT_BAD_INPUT, EXIT_COMPLETE, EXIT_INTERNAL, EXIT_PARTIAL};
pub use args::{Cli, Command, RunArgs, WorkloadArgs};

/// Parses the arguments, runs the command and returns the exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version print to stdout and succeed unless stdout
            // cannot be written; the rest is bad input.
            let printed = error.print();
            if let (Err(failure), false) = (&printed, error.use_stderr()) {
                output::warn(&format!("cannot write to stdout: {failure}"));
            }
            return ExitCode::from(if error.use_stderr() || printed.is_err() {
                EXIT_BAD_INPUT
            } else {
                EXIT_COMPLETE
            });
        }
    };
    logging::init();
    let result = match &cli.command {
        Some(Command::Run(args)) => run::run(args),
        Some(Command::Compare(args)) => compare::compare(args),
        Some(Command::Serve(args)) => crate::serve::serve(args),
        None => showcase::showcase(),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            output::warn(&error.to_string());
            ExitCode::from(error.exit_code())
        }
    }
}
