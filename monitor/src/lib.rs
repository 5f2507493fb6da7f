//! A memory monitor for a Rust service: a sampler thread, operation
//! tracking, a leak detector that sawtooth batch patterns and cache
//! warm-ups do not fool, typed events for any number of subscribers,
//! `tracing` logs and (feature `metrics`) gauges and counters.
//!
//! The Rust counterpart of the Node service's `MemoryMonitor`: same defaults
//! (a sample a minute, 60 kept, an alert at 70% of the budget), a better
//! leak rule.
//!
//! ```
//! use heapguard_reading::{Budget, ManualSource};
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
//! - [`MemoryMonitor`]: [`start`](MemoryMonitor::start) starts the sampler
//!   thread and returns the running monitor, with
//!   [`sample_now`](MemoryMonitor::sample_now),
//!   [`mark_quiescent`](MemoryMonitor::mark_quiescent),
//!   [`set_idle`](MemoryMonitor::set_idle), [`samples`](MemoryMonitor::samples),
//!   [`subscribe`](MemoryMonitor::subscribe),
//!   `watch_breaker` (feature `breaker`),
//!   [`track`](MemoryMonitor::track). Dropping it stops and joins the
//!   thread. (`MonitorHandle`, its former name, is a deprecated alias.)
//! - [`Sampler`] takes one [`Sample`] (live bytes, peak, RSS, jemalloc
//!   resident) without a thread.
//! - [`track`] runs an operation and returns an [`OperationReport`] (before,
//!   after, exact diff and peak with the counting allocator, duration), also
//!   logged with `tracing`.
//! - [`detect`]: the detectors as pure code over a series; [`Analyzer`]
//!   turns a series into [`MemoryEvent`]s; the `replay` module (feature
//!   `replay`) runs it over a CSV file or a Prometheus `query_range`
//!   response (the `heapguard-replay` binary).
//!
//! # Leak detection
//! A leak is growth that goes on. The detector tells it from the two kinds
//! of growth a healthy service shows: a **level shift** (memory steps to a
//! new level once, a larger data set loaded, and stays flat) and a
//! **saturating curve** (a cache or pool filling towards its ceiling: growth
//! that slows down). Both are reported as informational events
//! ([`MemoryEvent::LevelShift`], [`MemoryEvent::Saturating`]), never as
//! [`MemoryEvent::LeakSuspected`]. The Node service's rule, "last sample / first
//! sample >= 1.5 over 60 samples", fires on every day of a sawtooth batch
//! workload and on every cache warm-up, and misses slow leaks; it is kept as
//! [`detect::GrowthRule`], off by default.
//!
//! The default, [`detect::TrendDetector`], looks only at quiescent samples
//! (taken between jobs, see [`MemoryMonitor::mark_quiescent`]) or, until
//! there are any, at the minimum of each block of 30 samples: the memory a
//! service keeps, not what a job holds for a while. At each such point
//! ([`detect::classify_growth`]):
//! 1. **Growth**: the newest 60 points, their newest half and quarter, and
//!    the newest 8 (the fewest a test runs on: a fast leak shows there
//!    first), are tested with the Mann-Kendall trend test (Mann 1945,
//!    Kendall 1975; confidence 0.99) and a Theil-Sen slope (Theil 1950, Sen
//!    1968; at least 0.5 MiB/min, and at least 24 MiB of growth over the
//!    scale's span).
//! 2. **Change points** among the newest 180 points: binary segmentation
//!    (Scott and Knott 1974, Vostrikova 1981) of a two-phase linear
//!    regression (Quandt 1958, Hinkley 1969), a split accepted by Schwarz's
//!    criterion (Schwarz 1978; for change points Yao 1988):
//!    `n ln(RSS_one_line / RSS_two_lines) > max(4 ln n, 13.8)`. A change
//!    point is a *jump* when the two lines, compared at the sample before or
//!    after it (whichever is closer; 0 if they cross in between), differ by
//!    4 standard errors and a third of the minimum growth, with a level known
//!    from 8 points before it; a *slowdown* when the newer slope is lower by
//!    the 0.99 normal quantile in standard errors. After a jump or a
//!    slowdown, growth is tested again on the points after it alone: growth
//!    that does not go on is a level shift (flat before) or a saturating
//!    curve (growth before). Its size is the jump of the fitted lines at the
//!    change point, never a slope times a span (which overstates a step).
//!    While fewer than 16 points follow the newest change point and they do
//!    not rise significantly, nothing is decided.
//! 3. **Deceleration**: growth that goes on is compared, from the newest
//!    jump up (or the oldest point kept), between the least-squares slopes
//!    of its older and newer halves (the test for the difference of two
//!    regression slopes, Paternoster et al. 1998): a newer slope lower by the
//!    0.99 normal quantile in standard errors and at most 0.8 of the older
//!    one is a saturating curve. A cache slows towards zero; a leak on top of
//!    a cache slows towards the leak's slope, and is reported once the cache
//!    no longer makes the difference. A cache only slows down: growth that
//!    *sped up* (a change point with no jump and a newer slope steeper by
//!    the 0.99 quantile in standard errors, 16 points or more after it: a
//!    leak starting on a cache that had slowed down) is a saturating curve
//!    only if the points after the speed-up slow down too.
//! 4. **A leak keeps its slope.** Before growth is reported as a leak, it
//!    must also show that it does not slow down like a cache filling
//!    towards its ceiling. A cache `c (1 - e^(-t/tau))` slows down by
//!    `r = e^(-d/tau)` over any `d` minutes, wherever its points start (one
//!    of 5 hours looks nearly straight over an hour, yet slows by 18%); a
//!    leak keeps its slope, and a leak on a cache slows down less and less
//!    as the cache fills. So on some set of the newest 180 points (from the
//!    oldest, from each change point, or centred on one), the least-squares
//!    slopes of the older and newer halves must satisfy
//!    `b_new - r b_old >= t se`, with `r` for the slowest cache told from a
//!    leak ([`detect::TrendConfig::cache_time_constant_secs`], 6 h), `se`
//!    the standard error of the difference and `t` Student's quantile for
//!    the points' residual degrees of freedom at the normal's upper tail at
//!    3.5 (4.2 for 24 points). A cache of 6 h or less passes only by noise.
//!    Halves see only a set's average slowdown, and a leak that starts with
//!    a fast cache has the cache's early bend in its older half; so the
//!    kept points (16 or more) also pass when a cache of any time constant
//!    plus a line of the minimum slope fits them better than any cache of
//!    up to 6 h alone, by the same quantile (an extra-sum-of-squares F
//!    test over a grid of time constants, 5 min to 6 h, 2% apart).
//! 5. **Persistence**: three leaks in a row report
//!    [`MemoryEvent::LeakSuspected`], with the slope, level and projected
//!    time to the budget of the points after the newest change point; three
//!    evaluations without one report [`MemoryEvent::Recovered`] (a leak
//!    reported need not keep proving its slope to stay reported). Once
//!    reported, a leak counts at half the minimum slope, and evaluations
//!    too soon to tell (too few points after a change point or a step)
//!    leave it reported, for up to 16 in a row within 90 minutes.
//!
//! **Steps.** Growing points that two flat levels fit better than a line
//! (Schwarz's criterion), with neither level rising and a jump of a third
//! of the minimum growth, fewer than 16 of them on the newer level, are a
//! step: nothing is decided until 5 points follow it, then it is a level
//! shift. A few points just after a step, with a job between them and the
//! points before, otherwise make a steep line; the price is that a leak
//! seen across a job waits until the points after the job rise on their
//! own (a minute or more of latency, see the table).
//!
//! **One change, one event.** A level shift or a saturating curve is
//! reported once, when seen three evaluations in a row; a later evaluation
//! that sees a change which began before the newest report says nothing.
//!
//! **Warm-up.** After the first reading and a declared restart
//! ([`detect::TrendDetector::declare_restart`],
//! [`Analyzer::declare_restart`]; the points and cycles before it are
//! forgotten) caches fill, so only a leak is reported, and only once its
//! growth keeps its slope (step 4): a leak that starts while a cache fills
//! is reported as soon as the cache no longer makes the difference, and
//! the report ends the warm-up. Level shifts and saturating curves are not
//! reported until the warm-up ends: once growth has stopped (three
//! evaluations in a row in which no scale of 16 points or more grows)
//! after an hour at least, or after 3 hours at the most.
//!
//! **Drops and cycles.** A *drop* is a point 24 MiB below the newest 8
//! points, confirmed by the point after it (still 8 MiB below them; a
//! single low reading is a spike, forgotten). The first drop may be a
//! restart the detector was not told of: it forgets the points before it
//! and starts a new warm-up. From the second on, drops recur: the series
//! *cycles* (a cache emptied and refilled on a
//! schedule, a batch that repeats). A recurring drop starts a new cycle, not
//! a warm-up (one an inferred drop started ends; a declared one goes on),
//! and clears no suspected leak. Each cycle is kept as a bounded summary
//! (its start, end, lowest point and *level*: the median of its newest 5
//! points before the drop; the newest 16 cycles), and growth is tested
//! across cycles: the newest three levels (the current cycle's running
//! level counting once it is above the last completed one) must rise twice
//! in a row, each rise above the larger of 8 MiB and three times how much
//! levels wander on their own, significant against the points' noise at
//! the detector's confidence, by at least the minimum growth and slope in
//! all. Within a cycle, the fill that starts it is not tested on its own
//! until it stops growing (or for 3 hours at most); meanwhile only the
//! cross-cycle test speaks. Work per point is bounded: `O(window)` for the
//! kept Mann-Kendall sums, `O(window^2)` for a Theil-Sen fit and
//! `O(history)` per change point only when a scale grows, `O(cycles)`
//! for the cross-cycle test.
//!
//! ## Record
//! Measured by `tests/detector_traces.rs` and `tests/detector_shapes.rs`
//! (seeded; 300 MB base, one sample a minute, normal noise of 3 MB; sawtooth
//! jobs ramp 50 to 300 MB over 5 to 20 min with 5 to 30 idle minutes
//! between; the figures are those the tests assert):
//!
//! | trace | days | trend detector: days with an alarm | seed rule: days with an alarm |
//! | --- | --- | --- | --- |
//! | steady noise | 100 (one run) | 0 | 0 |
//! | sawtooth batches, quiescent marks | 100 (one run) | 0 | 100 |
//! | sawtooth batches, no marks (block minima) | 100 (one run) | 0 | 100 |
//! | cache warm-up (150 to 300 MB, time constant 30 to 90 min) under sawtooth | 100 (a fresh process each) | 0 | 100 |
//!
//! | leak on sawtooth with quiescent marks, from hour 4 (40 runs each) | found within 12 h | median latency | worst latency |
//! | --- | --- | --- | --- |
//! | 0.5 MB/min | 40/40 | 113 min | 334 min |
//! | 1 MB/min | 40/40 | 29 min | 45 min |
//! | 2 MB/min | 40/40 | 20 min | 40 min |
//! | 5 MB/min | 40/40 | 14 min | 30 min |
//! | 10 MB/min | 40/40 | 10 min | 30 min |
//!
//! | leak on sawtooth, no marks (40 runs each) | from hour 4: found, median, worst | from hour 36 (a window of flat minima): found, median, worst |
//! | --- | --- | --- |
//! | 0.5 MB/min | 0/40 | 0/40 |
//! | 1 MB/min | 40/40, 209 min, 329 min | 40/40, 209 min, 389 min |
//! | 2 MB/min | 40/40, 179 min, 329 min | 40/40, 179 min, 389 min |
//! | 5 MB/min | 40/40, 179 min, 329 min | 40/40, 179 min, 359 min |
//! | 10 MB/min | 40/40, 179 min, 329 min | 40/40, 209 min, 359 min |
//!
//! Growth that is no leak, and leaks behind it (20 runs of each sampling:
//! quiescent marks; no marks; marks with each sample lost with probability
//! 0.1 and one gap of 30 to 90 min; caches with a time constant of 30 min to
//! 4 h and an initial slope of 0.5 to 2.6 MiB/min):
//!
//! | trace | marks | no marks | marks, samples lost |
//! | --- | --- | --- | --- |
//! | a step of 16 to 200 MiB at a random time, 12 h: leak alarms | 0 | 0 | 0 |
//! | a cache filling from the start, the process restarting after 6 to 9 h and the cache filling again, 14 h: leak alarms | 0 | 0 | 0 |
//! | a leak of 2 MB/min 0 to 60 min after a step of 16 to 200 MiB: found, worst latency | 20/20, 36 min | 20/20, 321 min | 20/20, 32 min |
//! | a leak of 2 MB/min from minute 30 to 120 on a filling cache: found within 20 h, worst latency | 20/20, 31 min | 19/20, 598 min | 20/20, 89 min |
//!
//! A step of 24, 100 or 200 MiB is reported once as a level shift, its size
//! within 3 MiB of the step.
//!
//! `tests/detector_spikes.rs` (20 runs each): one-sample spikes (each
//! sample with probability 0.02, 50 to 500 MB up or 50 to 250 MB down),
//! steady and after a step, in the three samplings: no leak alarm; a
//! 2 MB/min leak among them found every run within 70 min (median 42).
//! Readings frozen for 1 to 4 hours, or a whole day: no event; a 2 MB/min
//! leak after a frozen stretch found within 60 min.
//!
//! A minimum is made when its block of 30 samples closes, so latencies
//! without marks move in steps of 30 min and hardly depend on the rate; for
//! latencies of minutes rather than hours, call
//! [`mark_quiescent`](MemoryMonitor::mark_quiescent) between jobs. Latency
//! counts from the leak's start to the sample that raises the alarm; with
//! marks, the worst cases are leaks that start early in a long job, since
//! only samples between jobs count. 0.5 MB/min (0.48 MiB/min) sits at the
//! minimum slope: found with marks when noise lifts a short scale over it,
//! never on block minima; lower `min_slope_bytes_per_min` for slower leaks,
//! at the price of more alarms during long warm-ups. A cache is told from a
//! leak by how it slows down (step 4), wherever it starts, when its time
//! constant is at most `cache_time_constant_secs` (6 h); one that fills
//! more slowly than that and faster than the minimum slope reads as a leak.
//! `tests/detector_latency.rs` (release) runs 500 clean caches of 45 min
//! to 5 h (initial slope 0.5 to 2.6 MiB/min) for 10 hours each, every
//! sample quiescent, with jobs and marks, and with jobs and no marks: no
//! leak alarm. The latency by shape (steady, sawtooth, after a level
//! shift, on a filling cache, on a cycling cache) is in that test and the
//! README.
//!
//! # Events
//! [`MemoryEvent`]: `HighUsage` (above 70% of the budget; `Recovered` below
//! 65%), `LeakSuspected` (with the verdict), the informational `LevelShift`
//! and `Saturating`, `SourceFailed` (the memory source panicked: the panic
//! is caught, logged as a `tracing` error, and the sampler goes on),
//! `BreakerTripped` and `Recovered` (from breakers given to
//! `MemoryMonitor::watch_breaker`, feature `breaker`). Every subscriber gets every event on
//! its own queue of [`SUBSCRIBER_QUEUE`] (1,024) events; an event that finds
//! a queue full is dropped for that subscriber and counted
//! ([`MemoryMonitor::dropped_events`]), so a subscriber that never reads
//! costs at most its queue, and a dropped subscriber is forgotten; neither
//! ever blocks the monitor. Each event is also a `tracing` warning (target
//! `heapguard_monitor`). [`MemoryMonitor::is_sampling`] says whether the
//! sampler thread runs. Dropping the handle on the sampler thread itself
//! (from a memory source, a `tracing` layer or a metrics recorder that owns
//! it) does not wait for the thread: it ends at its next wake-up.
//!
//! # Features
//! - `metrics`: gauges `heapguard_live_bytes`, `heapguard_peak_bytes`,
//!   `heapguard_rss_bytes` and the counter `heapguard_memory_events_total`
//!   (label `event`) through the `metrics` facade, and the detector's state
//!   after every sample ([`gauges::DetectorGauges`], names in [`gauges::names`]):
//!   `heapguard_leak_suspected` (0/1), `heapguard_leak_slope_bytes_per_second`,
//!   `heapguard_leak_confidence` (0 to 1), `heapguard_leak_seconds_to_budget`
//!   (+Inf without a leak or a budget), `heapguard_detector_warming_up`
//!   (0/1), `heapguard_detector_cycling` (0/1), `heapguard_level_shift_bytes`
//!   and `heapguard_level_shift_timestamp_seconds` (Unix seconds; both 0
//!   before any shift). `heapguard-replay --gauges` prints the same series
//!   for a recorded trace.
//! - `jemalloc`: jemalloc's resident bytes in each [`Sample`].
//! - `replay`: the `replay` module and the `heapguard-replay` binary
//!   (`cargo install heapguard-monitor --features replay`). A feature rather
//!   than a package of its own: the replay runs this crate's [`Analyzer`]
//!   and stays versioned with it, while the library alone pulls neither
//!   `csv` nor `clap`.
//! - `attribution`: heap profiles at the samples the leak detector tests, and the
//!   allocation sites that grew behind each suspected leak ([`attribution`]); needs
//!   jemalloc as the global allocator with its profiler enabled.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod analyzer;
#[cfg(feature = "attribution")]
mod attributed;
#[cfg(feature = "attribution")]
pub mod attribution;
mod config;
#[cfg(all(feature = "breaker", unix))]
mod debug_files;
pub mod detect;
mod error;
mod event;
pub mod gauges;
#[cfg(feature = "metrics")]
mod metrics_export;
mod monitor;
#[cfg(feature = "breaker")]
pub mod observer;
#[cfg(feature = "replay")]
pub mod replay;
mod sample;
mod track;

pub use analyzer::Analyzer;
pub use config::MonitorConfig;
pub use error::MonitorError;
pub use event::{LeakEvidence, MemoryEvent, RecoveredFrom};
// Kept at the root for one release (issue 25): the gauges moved to
// `gauges`; `MonitorHandle` is the monitor's former name.
#[deprecated(note = "moved to `heapguard_monitor::gauges`")]
#[doc(hidden)]
pub use gauges::{names as gauge_names, DetectorGauges};
#[allow(deprecated)]
#[doc(hidden)]
pub use monitor::MonitorHandle;
pub use monitor::{MemoryMonitor, SUBSCRIBER_QUEUE};
pub use sample::{Sample, Sampler};
pub use track::{track, OperationReport};
