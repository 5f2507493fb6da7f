//! The two states of a breaker.

/// Whether a breaker takes new work.
///
/// ```text
///              usage >= trip line (and min_state_duration in Accepting,
///              or usage >= 100% of the budget)
///   Accepting ---------------------------------------------> Refusing
///       ^                                                        |
///       +--------------------------------------------------------+
///              usage < reset line and min_state_duration in Refusing
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Checks pass and reservations are granted while they fit under the trip line.
    Accepting,
    /// Checks and reservations fail with [`Tripped`](crate::Tripped).
    Refusing,
}

pub(crate) const ACCEPTING: u8 = 0;
pub(crate) const REFUSING: u8 = 1;

impl BreakerState {
    pub(crate) fn from_u8(value: u8) -> Self {
        if value == ACCEPTING {
            BreakerState::Accepting
        } else {
            BreakerState::Refusing
        }
    }
}
