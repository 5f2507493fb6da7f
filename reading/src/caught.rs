//! Callbacks run inside the breaker (an `on_refresh` action, a purge hook,
//! a job's cancel callbacks) are someone else's code: a panic in one is
//! caught here, so it cannot end the refresher thread that every breaker of
//! the process shares, nor unwind through a check.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `callback`; a panic becomes `Err` with its message.
///
/// Unwind safety is asserted: the breaker's own state is atomics and
/// mutexes locked with poisoning ignored, each left consistent by every
/// critical section, and a callback that panicked is not trusted for
/// anything after (its result is dropped).
pub fn run_caught<R>(callback: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(callback)).map_err(|payload| panic_message(&*payload))
}

/// The message a panic was raised with (`panic!("...")` gives a `&str` or a
/// `String`; anything else is named as such).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic with a payload that is not a string".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message() {
        assert_eq!(run_caught(|| 7), Ok(7));
        assert_eq!(
            run_caught(|| -> u8 { panic!("static {}", "text") }),
            Err("static text".to_owned())
        );
        assert_eq!(
            run_caught(|| std::panic::panic_any(42u8)),
            Err("a panic with a payload that is not a string".to_owned())
        );
        assert_eq!(run_caught(|| panic!("plain")), Err("plain".to_owned()));
    }
}
