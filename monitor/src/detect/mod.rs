//! Leak detectors as pure code over a series of readings, usable without the
//! sampler thread (offline, in tests, in `heapguard-replay`).
//!
//! - [`TrendDetector`] (the default): a Mann-Kendall trend test and a
//!   Theil-Sen slope over quiescent points (or block minima), change points
//!   and a deceleration test that tell a leak from a level shift or a
//!   saturating curve ([`classify_growth`]), a warm-up that lasts until
//!   growth stops, and persistence.
//! - [`GrowthRule`]: the Node service's rule (last / first >= 1.5 over a full
//!   window), kept for compatibility and off by default.
//! - [`mann_kendall`] and [`theil_sen`]: the two statistics on their own.

mod cache_fit;
mod cycle;
mod growth;
mod mann_kendall;
mod normal;
mod point;
mod segment;
mod theil_sen;
mod trend;
mod trend_config;
mod verdict;

pub use growth::{GrowthRule, GrowthVerdict};
pub use mann_kendall::{mann_kendall, MannKendall};
pub use point::SeriesPoint;
pub use theil_sen::{theil_sen, TheilSen};
pub use trend::{classify_growth, evaluate_trend, Growth, TrendChange, TrendDetector};
pub use trend_config::{DetectorConfigError, TrendConfig};
pub use verdict::{LeakVerdict, LevelShiftVerdict, SaturationVerdict};
