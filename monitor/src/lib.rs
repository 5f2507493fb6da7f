//! A memory monitor for a Rust service: a sampler thread, operation
//! tracking, a leak detector that sawtooth batch patterns and cache
//! warm-ups do not fool, typed events for any number of subscribers,
//! `tracing` logs and (feature `metrics`) gauges and counters.
//!
//! The Rust counterpart of the seed's Node `MemoryMonitor`: same defaults
//! (a sample a minute, 60 kept, an alert at 70% of the budget), a better
//! leak rule.
//!
//! ```
//! use heapguard_breaker::{BreakerConfig, Budget, ManualSource, MemoryBreaker};
//! use heapguard_monitor::{MemoryEvent, MemoryMonitor, MonitorConfig};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In a service, `MemoryMonitor::start(config)` reads the counting
//! // allocator (or RSS); here a manual source stands in for the heap.
//! let heap = ManualSource::new(100 << 20);
//! let config = MonitorConfig {
//!     interval: Duration::from_secs(60),
//!     budget_bytes: Some(Budget::Bytes(1 << 30).resolve()?),
//!     ..MonitorConfig::default()
//! };
//! let monitor = MemoryMonitor::start_with_source(config, Arc::new(heap.clone()))?;
//! let alerts = monitor.subscribe();
//!
//! // Between jobs, tell the monitor: its leak detector trusts these samples.
//! monitor.mark_quiescent()?;
//! let (_rows, report) = monitor.track("load-batch", || vec![0u8; 4096]);
//! assert_eq!(report.name, "load-batch");
//!
//! heap.set(800 << 20); // 78% of the budget
//! monitor.sample_now()?;
//! match alerts.try_recv()? {
//!     MemoryEvent::HighUsage { percent, .. } => assert!(percent > 70.0),
//!     other => panic!("unexpected {other:?}"),
//! }
//! drop(monitor); // stops and joins the sampler thread
//! # Ok(())
//! # }
//! ```
//!
//! # Parts
//! - [`MemoryMonitor::start`] starts the sampler thread and returns a
//!   [`MonitorHandle`]: [`sample_now`](MonitorHandle::sample_now),
//!   [`mark_quiescent`](MonitorHandle::mark_quiescent),
//!   [`set_idle`](MonitorHandle::set_idle), [`samples`](MonitorHandle::samples),
//!   [`subscribe`](MonitorHandle::subscribe),
//!   [`watch_breaker`](MonitorHandle::watch_breaker),
//!   [`track`](MonitorHandle::track). Dropping the handle stops and joins the
//!   thread.
//! - [`Sampler`] takes one [`Sample`] (live bytes, peak, RSS, jemalloc
//!   resident) without a thread.
//! - [`track`] runs an operation and returns an [`OperationReport`] (before,
//!   after, exact diff and peak with the counting allocator, duration), also
//!   logged with `tracing`.
//! - [`detect`]: the detectors as pure code over a series; [`Analyzer`]
//!   turns a series into [`MemoryEvent`]s; [`replay`] runs it over a CSV (the
//!   `heapguard-replay` binary).
//!
//! # Leak detection
//! The seed's rule, "last sample / first sample >= 1.5 over 60 samples",
//! fires on every day of a sawtooth batch workload (a job's ramp is in the
//! window) and on every cache warm-up, and misses slow leaks. It is kept as
//! [`detect::GrowthRule`], off by default.
//!
//! The default, [`detect::TrendDetector`], looks only at quiescent samples
//! (taken between jobs, see [`MonitorHandle::mark_quiescent`]) or, until
//! there are any, at the minimum of each block of 30 samples: the memory a
//! service keeps, not what a job holds for a while. After a warm-up grace of
//! 3 h it keeps the newest 60 such points and tests them, and their newest
//! half, quarter and eighth, with a Mann-Kendall trend test (confidence
//! 0.99) and a Theil-Sen slope (at least 0.5 MiB/min, and at least 32 MiB of
//! growth over the tested span). Three positive evaluations in a row report
//! a leak with its slope, confidence and projected time to the budget.
//!
//! Measured by `tests/detector_traces.rs` (seeded; 300 MB base, one sample a
//! minute, normal noise of 3 MB; sawtooth jobs ramp 50 to 300 MB over 5 to
//! 20 min with 5 to 30 idle minutes between; caches fill 150 to 300 MB with
//! a time constant of 30 to 90 min):
//!
//! | trace | days | trend detector: days with an alarm | seed rule: days with an alarm |
//! | --- | --- | --- | --- |
//! | steady noise | 100 (one run) | 0 | 0 |
//! | sawtooth batches, quiescent marks | 100 (one run) | 0 | 100 |
//! | sawtooth batches, no marks (block minima) | 100 (one run) | 0 | 100 |
//! | cache warm-up under sawtooth | 100 (a fresh process each) | 0 | 100 |
//!
//! | leak on sawtooth, from hour 4 (40 runs each) | found within 12 h | median latency | worst latency |
//! | --- | --- | --- | --- |
//! | 0.5 MB/min | 39/40 | 281 min | 593 min |
//! | 1 MB/min | 40/40 | 35 min | 51 min |
//! | 2 MB/min | 40/40 | 21 min | 32 min |
//! | 5 MB/min | 40/40 | 11 min | 30 min |
//! | 10 MB/min | 40/40 | 10 min | 30 min |
//!
//! With other seeds (300 days of each pattern, 40 other leak runs) the
//! counts are the same: no false alarm, every leak of 1 MB/min and more
//! found (medians 37, 22, 13 and 9 min for 1, 2, 5 and 10 MB/min).
//!
//! Without quiescent marks (block minima, same traces and seeds), a leak
//! from hour 4 as above, and one from hour 36, when the window is full of
//! flat minima:
//!
//! | leak on sawtooth, no marks (40 runs each) | from hour 4: found, median, worst | from hour 36: found, median, worst |
//! | --- | --- | --- |
//! | 0.5 MB/min | 0/40 | 0/40 |
//! | 1 MB/min | 40/40, 239 min, 239 min | 40/40, 299 min, 329 min |
//! | 2 MB/min | 40/40, 239 min, 239 min | 40/40, 269 min, 269 min |
//! | 5 MB/min | 40/40, 239 min, 239 min | 40/40, 239 min, 239 min |
//! | 10 MB/min | 40/40, 239 min, 239 min | 40/40, 239 min, 239 min |
//!
//! A minimum is made when its block of 30 samples closes, so these
//! latencies move in steps of 30 min and hardly depend on the rate. From
//! hour 4 the window holds 2 minima from before the leak; nothing is tested
//! before 8 minima and 3 positive tests in a row are needed, so no alarm can
//! come before the 8th block after the start (239 min): every run alarms
//! then. From hour 36 the shortest scale tested (15 minima) needs about 5 on
//! the leak before its Theil-Sen slope leaves 0, so no alarm comes before
//! block 7 (209 min), and one comes by block 18 (539 min), when that scale
//! lies wholly on the leak. A leak that starts inside a block is seen up to
//! 29 min later. 0.5 MB/min (0.48 MiB/min) is under the minimum slope, and
//! the minima follow the leak too closely for noise to lift it over. For
//! latencies of minutes rather than hours, call
//! [`mark_quiescent`](MonitorHandle::mark_quiescent) between jobs.
//!
//! Latency counts from the leak's start to the sample that raises the alarm;
//! with marks, the worst cases are leaks that start early in a long job,
//! since only samples between jobs count. 0.5 MB/min sits at the minimum slope and is found late or not at
//! all: lower `min_slope_bytes_per_min` for slower leaks, at the price of
//! more alarms during long warm-ups. The seed rule's latencies are not
//! shown: it alarms on the sawtooth base anyway.
//!
//! # Events
//! [`MemoryEvent`]: `HighUsage` (above 70% of the budget; `Recovered` below
//! 65%), `LeakSuspected` (with the verdict), `BreakerTripped` and
//! `Recovered` (from breakers given to [`MonitorHandle::watch_breaker`]).
//! Every subscriber gets every event on its own unbounded channel; a dropped
//! subscriber is forgotten and never blocks the monitor. Each event is also
//! a `tracing` warning (target `heapguard_monitor`).
//!
//! # Features
//! - `metrics`: gauges `heapguard_live_bytes`, `heapguard_peak_bytes`,
//!   `heapguard_rss_bytes` and the counter `heapguard_memory_events_total`
//!   (label `event`) through the `metrics` facade.
//! - `jemalloc`: jemalloc's resident bytes in each [`Sample`].
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod analyzer;
mod config;
pub mod detect;
mod error;
mod event;
#[cfg(feature = "metrics")]
mod metrics_export;
mod monitor;
pub mod replay;
mod sample;
mod track;

pub use analyzer::Analyzer;
pub use config::MonitorConfig;
pub use error::MonitorError;
pub use event::{LeakEvidence, MemoryEvent, RecoveredFrom};
pub use monitor::{MemoryMonitor, MonitorHandle};
pub use sample::{Sample, Sampler};
pub use track::{track, OperationReport};
