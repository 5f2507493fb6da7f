//! The signal a workload step gets when the breaker refuses more work.

/// The breaker refused: stop now, keep what is done. The job records the
/// breaker's reading; the modes only need to know that they must stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Refused;
