//! Stand-ins for tests: a reading that moves only when set
//! ([`ManualSource`]) and a clock that moves only when advanced
//! ([`ManualClock`]), so a test drives a breaker through its lines and
//! its timings exactly.
//!
//! ```
//! use heapguard_breaker::testing::{ManualClock, ManualSource};
//! use heapguard_breaker::{BreakerConfig, Budget, BreakerState, MemoryBreaker};
//! use std::time::Duration;
//!
//! let memory = ManualSource::new(0);
//! let clock = ManualClock::new();
//! let breaker = MemoryBreaker::new(
//!     BreakerConfig::new(Budget::Bytes(1000)).source(memory.clone()).clock(clock.clone()),
//! )?;
//! memory.set(800); // the trip line: 80% of the budget
//! assert!(breaker.check().is_err());
//! memory.set(600); // below the reset line (70%), but within the 1 s dwell
//! assert!(breaker.check().is_err());
//! assert_eq!(breaker.state(), BreakerState::Refusing);
//! clock.advance(Duration::from_secs(1));
//! assert!(breaker.check().is_ok());
//! assert_eq!(breaker.state(), BreakerState::Accepting);
//! # Ok::<(), heapguard_breaker::ConfigError>(())
//! ```

pub use crate::clock::ManualClock;
pub use heapguard_reading::ManualSource;
