//! The `demo-processor` command line: `run`, `compare`, and with no
//! arguments a one-minute showcase. `main.rs` installs the allocator and
//! calls [`main`].
//!
//! Exit status: 0 complete, 3 partial (the breaker stopped a job), 2 bad
//! input (with a message), 1 internal error.

mod args;
mod compare;
mod error;
mod format;
mod logging;
mod progress;
mod run;
mod showcase;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command, RunArgs, WorkloadArgs};
pub use error::{CliError, EXIT_BAD_INPUT, EXIT_COMPLETE, EXIT_INTERNAL, EXIT_PARTIAL};

/// Parses the arguments, runs the command and returns the exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version print to stdout and succeed; the rest is bad input.
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() {
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
            eprintln!("demo-processor: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
