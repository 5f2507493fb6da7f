//! A breaker over a reading and a clock the test moves.

use heapguard_breaker::testing::{ManualClock, ManualSource};
use heapguard_breaker::{BreakerConfig, MemoryBreaker};

/// Builds `config` over a settable reading (at 0 bytes) and a manual clock
/// (at 0), and returns the breaker with both.
pub fn manual_breaker(config: BreakerConfig) -> (MemoryBreaker, ManualSource, ManualClock) {
    let memory = ManualSource::new(0);
    let clock = ManualClock::new();
    let breaker = MemoryBreaker::new(config.source(memory.clone()).clock(clock.clone()))
        .expect("a valid breaker configuration");
    (breaker, memory, clock)
}
