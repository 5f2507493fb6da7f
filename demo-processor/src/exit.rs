//! What can go wrong on the command line, and the exit status of each.

/// Every user done.
pub const EXIT_COMPLETE: u8 = 0;
/// Something that is not the user's fault.
pub const EXIT_INTERNAL: u8 = 1;
/// Bad input, or an output that cannot be written: a message says what and why.
pub const EXIT_BAD_INPUT: u8 = 2;
/// The job did not complete (the breaker stopped or cancelled work):
/// partial results. It stays 3 when an output then fails to be written.
pub const EXIT_PARTIAL: u8 = 3;

/// A command that could not do its work (a breaker trip is not one: it is
/// a partial report with exit status 3).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The arguments cannot work; exit status 2.
    #[error("{0}")]
    BadInput(String),
    /// An output could not be written; exit status 2.
    #[error("{0}")]
    Output(String),
    /// Something failed that the arguments did not cause; exit status 1.
    #[error("internal error: {0}")]
    Internal(String),
}

impl CliError {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::BadInput(_) | CliError::Output(_) => EXIT_BAD_INPUT,
            CliError::Internal(_) => EXIT_INTERNAL,
        }
    }
}
