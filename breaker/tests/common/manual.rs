//! A breaker over a reading and a clock the test moves.

use heapguard_breaker::testing::{ManualClock, ManualSource};
use heapguard_breaker::{BreakerConfig, MemoryBreaker};

/// Builds `config` over a settable reading (at 0 bytes) and a manual clock
/// (at 0), with no refresher, and returns the breaker with both.
///
/// The test steps the breaker itself (`check`, `refresh`). A refresher's
/// tick, due at the same manual instant, would race it from another thread:
/// take the purge the test counts, make the state change whose log the
/// test's subscriber (a thread's own) waits for, or read a new time with
/// the old reading between `advance` and `set`.
pub fn manual_breaker(config: BreakerConfig) -> (MemoryBreaker, ManualSource, ManualClock) {
    let memory = ManualSource::new(0);
    let clock = ManualClock::new();
    let breaker = MemoryBreaker::new(
        config
            .source(memory.clone())
            .clock(clock.clone())
            .watch_cancel_line(false),
    )
    .expect("a valid breaker configuration");
    (breaker, memory, clock)
}
