//! `--budget` as the command line takes it: a budget that parses, resolves
//! on this machine, and leaves room for work.

use bytesize::ByteSize;
use heapguard_breaker::Budget;

use crate::messages::budget_error;

/// Parses and resolves `text`, with the library's errors worded for the
/// command line ([`budget_error`]). A budget at or below what the process
/// already holds before any work would refuse everything from the start
/// (a service that passes its health checks and serves nothing), so it is
/// refused here, with the likely slip named: a number without a unit is
/// bytes.
pub(crate) fn parse_budget(text: &str) -> Result<Budget, String> {
    let budget: Budget = text.parse().map_err(|error| budget_error(&error))?;
    let bytes = budget.resolve().map_err(|error| budget_error(&error))?;
    let held = heapguard_alloc::stats().live_bytes;
    if bytes <= held {
        let hint = if text.trim().chars().all(|c| c.is_ascii_digit()) {
            format!(
                "; a number without a unit is bytes: did you mean {}MiB?",
                text.trim()
            )
        } else {
            String::new()
        };
        return Err(format!(
            "{text} is {}, no more than the {} this process holds before any work: \
             it would refuse all of it{hint}",
            iec(bytes),
            iec(held)
        ));
    }
    Ok(budget)
}

fn iec(bytes: u64) -> String {
    ByteSize(bytes).display().iec().to_string()
}
