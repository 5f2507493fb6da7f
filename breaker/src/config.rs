//! What a breaker is built from ([`BreakerConfig`], validated before it
//! exists: [`ValidConfig`], [`ConfigError`]), and the hooks it takes: the
//! [`Clock`] its timings read and the [`PurgeHook`] it runs before refusing.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use crate::clock::{Clock, SystemClock};
use crate::lines::{LineBytes, Percents};
use heapguard_reading::{
    Budget, BudgetError, Configured, Host, MemorySource, Reader, Resolution, SourceError,
};

/// Called before the breaker refuses, to give memory back (see [`BreakerConfig::purge_hook`]).
pub type PurgeHook = Arc<dyn Fn() + Send + Sync + 'static>;

/// How a breaker is configured: budget, thresholds, timing, source.
///
/// ```
/// use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};
/// use heapguard_breaker::testing::ManualSource;
/// use std::time::Duration;
///
/// let config = BreakerConfig::new(Budget::Bytes(1 << 30))
///     .name("jobs")
///     .trip_percent(85.0)
///     .reset_percent(75.0)
///     .min_state_duration(Duration::from_secs(2))
///     .source(ManualSource::new(0));
/// let breaker = MemoryBreaker::new(config).unwrap();
/// assert_eq!(breaker.limit(), 1 << 30);
///
/// let bad = BreakerConfig::new(Budget::Bytes(1 << 30)).trip_percent(120.0);
/// assert!(MemoryBreaker::new(bad).is_err());
/// ```
#[derive(Clone)]
pub struct BreakerConfig {
    pub(crate) budget: Budget,
    pub(crate) name: String,
    pub(crate) trip_percent: f64,
    pub(crate) reset_percent: f64,
    pub(crate) min_state_duration: Duration,
    pub(crate) purge_interval: Duration,
    pub(crate) levels: LevelSettings,
    pub(crate) source: Option<Configured>,
    pub(crate) clock: Option<Arc<dyn Clock>>,
    pub(crate) purge: PurgeSetting,
    pub(crate) host: Host,
    pub(crate) cgroup_working_set: Option<bool>,
    pub(crate) enforce: bool,
}

#[derive(Clone)]
pub(crate) enum PurgeSetting {
    Default,
    None,
    Hook(PurgeHook),
}

impl fmt::Debug for BreakerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerConfig")
            .field("budget", &self.budget)
            .field("name", &self.name)
            .field("trip_percent", &self.trip_percent)
            .field("reset_percent", &self.reset_percent)
            .field("min_state_duration", &self.min_state_duration)
            .field("purge_interval", &self.purge_interval)
            .field("levels", &self.levels)
            .field("source", &self.source.as_ref().map(Configured::name))
            .field("host", &self.host)
            .field("cgroup_working_set", &self.cgroup_working_set)
            .field("enforce", &self.enforce)
            .finish_non_exhaustive()
    }
}

impl BreakerConfig {
    /// Default trip line: 80% of the budget.
    pub const DEFAULT_TRIP_PERCENT: f64 = 80.0;
    /// Default reset line: 70% of the budget.
    pub const DEFAULT_RESET_PERCENT: f64 = 70.0;
    /// Default minimum time in a state: 1 second.
    pub const DEFAULT_MIN_STATE_DURATION: Duration = Duration::from_secs(1);
    /// Default minimum time between two purges: 1 second.
    pub const DEFAULT_PURGE_INTERVAL: Duration = Duration::from_secs(1);
    /// Default warn line: 70% of the budget.
    pub const DEFAULT_WARN_PERCENT: f64 = 70.0;
    /// Default cancel line: 95% of the budget.
    pub const DEFAULT_CANCEL_PERCENT: f64 = 95.0;
    /// Default hysteresis of the warn and cancel lines: 5 percentage points.
    pub const DEFAULT_LEVEL_HYSTERESIS_PERCENT: f64 = 5.0;
    /// Default wait for a cancelled job to deregister: 2 seconds.
    pub const DEFAULT_CANCEL_GRACE: Duration = Duration::from_secs(2);

    /// A configuration over `budget` with the defaults: name `"memory"`, warn
    /// at 70% (until below 65%), trip at 80%, reset below 70%, 1 s minimum
    /// in a state, cancel at 95% (until below 90%) with a 2 s grace, watched
    /// by the refresher while jobs are registered, the counting
    /// allocator as source (for a root breaker; the worst of it and the
    /// cgroup's working set when the budget comes from a cgroup), the real
    /// clock, and the default purge hook (`malloc_trim(0)` on glibc, and
    /// jemalloc's purge when the `jemalloc` feature is on).
    pub fn new(budget: Budget) -> Self {
        Self {
            budget,
            name: "memory".to_owned(),
            trip_percent: Self::DEFAULT_TRIP_PERCENT,
            reset_percent: Self::DEFAULT_RESET_PERCENT,
            min_state_duration: Self::DEFAULT_MIN_STATE_DURATION,
            purge_interval: Self::DEFAULT_PURGE_INTERVAL,
            levels: LevelSettings::default(),
            source: None,
            clock: None,
            purge: PurgeSetting::Default,
            host: Host::current(),
            cgroup_working_set: None,
            enforce: true,
        }
    }

    /// The name in errors, logs and events (a job, a request kind).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Refuse new work when usage reaches this percentage of the budget
    /// (0 < reset <= trip <= 100; default 80).
    pub fn trip_percent(mut self, percent: f64) -> Self {
        self.trip_percent = percent;
        self
    }

    /// Accept work again once usage falls below this percentage (default 70).
    pub fn reset_percent(mut self, percent: f64) -> Self {
        self.reset_percent = percent;
        self
    }

    /// The least time between two state changes (default 1 s), so usage
    /// hovering at a line does not flap. A reading at or above 100% of the
    /// budget trips at once regardless.
    pub fn min_state_duration(mut self, duration: Duration) -> Self {
        self.min_state_duration = duration;
        self
    }

    /// The least time between two calls of the purge hook (default 1 s).
    pub fn purge_interval(mut self, interval: Duration) -> Self {
        self.purge_interval = interval;
        self
    }

    /// Where readings come from. A root breaker defaults to
    /// [`CountingAllocSource`](heapguard_reading::CountingAllocSource) (and fails to build
    /// if the counting allocator is not installed); a child breaker defaults
    /// to counting only its own reservations.
    ///
    /// A [`CgroupSource`](heapguard_reading::CgroupSource) is read by the cgroup's shared
    /// refresher thread, never on `check()`.
    pub fn source(mut self, source: impl MemorySource) -> Self {
        self.source = Some(Configured::of(source));
        self
    }

    /// [`source`](Self::source) for a source already shared.
    pub fn shared_source(mut self, source: Arc<dyn MemorySource>) -> Self {
        self.source = Some(Configured::Reader(Reader::Other(source)));
        self
    }

    /// Whether a root breaker decides on the worst of its source and its
    /// cgroup's working set (each level's usage against that level's limit,
    /// the worst ratio binding; see [`MemoryBreaker`](crate::MemoryBreaker)).
    /// Default: on when the budget comes from a cgroup limit, off otherwise.
    /// On, building fails when no cgroup can be read.
    pub fn cgroup_working_set(mut self, on: bool) -> Self {
        self.cgroup_working_set = Some(on);
        self
    }

    /// The clock that times states and purges (default: the real one).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Called (at most once per purge interval) before the breaker refuses,
    /// then the source is read again: memory the allocator holds but the
    /// program freed should not keep the breaker tripped. A panic in the
    /// hook is caught, logged with the breaker's name and published as
    /// [`BreakerEvent::CallbackPanicked`](crate::BreakerEvent::CallbackPanicked);
    /// the source is read again as after a purge.
    ///
    /// One thread runs the hook. A check or refresh on another thread
    /// whose reading, past the trip line (refusing: the reset line), this
    /// breaker's purge may make obsolete does not decide on it: one that
    /// read before a purge that has since ended reads again, and one made
    /// while the hook runs, for its first 100 ms and below the whole
    /// budget, is decided on the state as it stands (it neither trips the
    /// breaker, nor moves the pressure level, nor cancels a job; the next
    /// step decides on what the purge left). A hook still running after
    /// 100 ms is logged once, and steps decide without it. A reservation
    /// that does not fit meanwhile is refused without a state change.
    pub fn purge_hook(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.purge = PurgeSetting::Hook(Arc::new(hook));
        self
    }

    /// No purge hook, not even jemalloc's default.
    pub fn no_purge(mut self) -> Self {
        self.purge = PurgeSetting::None;
        self
    }

    /// Raise the pressure level to [`Warn`](crate::PressureLevel::Warn) when
    /// usage reaches this percentage of the budget (0 < warn <= trip;
    /// default 70, or the trip line if that is lower).
    pub fn warn_percent(mut self, percent: f64) -> Self {
        self.levels.warn_percent = Some(percent);
        self
    }

    /// Raise the pressure level to [`Cancel`](crate::PressureLevel::Cancel), and
    /// cancel the largest registered job, when usage reaches this percentage
    /// of the budget (trip <= cancel <= 100; default 95, or the trip line if
    /// that is higher).
    pub fn cancel_percent(mut self, percent: f64) -> Self {
        self.levels.cancel_percent = Some(percent);
        self
    }

    /// How far, in percentage points, usage must fall below the warn or the
    /// cancel line to leave that level (0 <= points < warn; default 5). The
    /// refuse level is left below the [reset line](Self::reset_percent).
    pub fn level_hysteresis_percent(mut self, points: f64) -> Self {
        self.levels.hysteresis_percent = points;
        self
    }

    /// How long, after cancelling a job, the breaker waits for it to
    /// deregister before it reads again and may cancel another (default 2 s).
    pub fn cancel_grace(mut self, grace: Duration) -> Self {
        self.levels.cancel_grace = grace;
        self
    }

    /// Whether the breaker's refresher thread watches it: every
    /// [`REFRESH_PERIOD`](heapguard_reading::REFRESH_PERIOD) it takes the breaker's
    /// step (the same transition function as `check()`), so the state and
    /// the level stay fresh while no thread calls `check()`, and it acts at
    /// the cancel line (default true; false: only checks and
    /// [`refresh`](crate::MemoryBreaker::refresh) move it, and only
    /// `refresh` cancels, as deterministic tests want).
    pub fn watch_cancel_line(mut self, watch: bool) -> Self {
        self.levels.watch = watch;
        self
    }

    /// Whether the breaker enforces (default true). Off, it observes only,
    /// as a team watches a limiter before turning it on: it reads, moves its
    /// state and level, counts trips and publishes every event as usual, but
    /// refuses no check or reservation (each one it would have refused is
    /// counted in [`would_refuse`](crate::MemoryBreaker::would_refuse)) and
    /// cancels no job (it publishes
    /// [`BreakerEvent::WouldCancel`](crate::BreakerEvent::WouldCancel) once
    /// per job it would have cancelled). The tower layer over such a breaker
    /// sheds nothing.
    pub fn enforce(mut self, on: bool) -> Self {
        self.enforce = on;
        self
    }

    /// Where `Budget::Cgroup`, `SystemMemory` and `Auto` read the machine (default: this one).
    pub fn host(mut self, host: Host) -> Self {
        self.host = host;
        self
    }

    /// The budget this configuration guards.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Checks the thresholds and resolves the budget, without building a
    /// breaker (and without logging).
    pub fn validate(&self) -> Result<ValidConfig, ConfigError> {
        self.check_lines()?;
        let resolution = self.budget.resolution_quietly(&self.host)?;
        Ok(ValidConfig::new(resolution.bytes(), self))
    }

    /// Checks the thresholds and resolves the budget; `log` logs the
    /// resolution's warnings (a fixed budget above the effective limit, an
    /// unreadable cgroup file).
    pub(crate) fn resolve(&self, log: bool) -> Result<(ValidConfig, Resolution), ConfigError> {
        self.check_lines()?;
        let resolution = if log {
            self.budget.resolution_on(&self.host)?
        } else {
            self.budget.resolution_quietly(&self.host)?
        };
        Ok((ValidConfig::new(resolution.bytes(), self), resolution))
    }

    /// Every line's percentage, defaults applied.
    pub(crate) fn percents(&self) -> Percents {
        self.levels.percents(self.trip_percent, self.reset_percent)
    }

    fn check_lines(&self) -> Result<(), ConfigError> {
        let in_range = |percent: f64| percent > 0.0 && percent <= 100.0;
        if !in_range(self.trip_percent) {
            return Err(ConfigError::TripPercent {
                percent: self.trip_percent,
            });
        }
        if !in_range(self.reset_percent) {
            return Err(ConfigError::ResetPercent {
                percent: self.reset_percent,
            });
        }
        if self.reset_percent > self.trip_percent {
            return Err(ConfigError::ResetAboveTrip {
                reset: self.reset_percent,
                trip: self.trip_percent,
            });
        }
        if self.name.is_empty() {
            return Err(ConfigError::EmptyName);
        }
        self.levels.validate(self.trip_percent)
    }
}

/// The byte lines a valid configuration works with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidConfig {
    /// The resolved budget.
    pub limit: u64,
    /// Usage at or above this trips the breaker.
    pub trip_bytes: u64,
    /// Usage below this resets it.
    pub reset_bytes: u64,
    /// Usage at or above this raises the pressure level to `Warn`.
    pub warn_bytes: u64,
    /// Usage at or above this raises the pressure level to `Cancel`.
    pub cancel_bytes: u64,
}

impl ValidConfig {
    fn new(limit: u64, config: &BreakerConfig) -> Self {
        let lines = LineBytes::of(limit, &config.percents());
        Self {
            limit,
            trip_bytes: lines.trip,
            reset_bytes: lines.reset,
            warn_bytes: lines.warn,
            cancel_bytes: lines.cancel,
        }
    }
}

/// Why a breaker cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The trip percentage is outside (0, 100].
    #[error("trip_percent must be above 0 and at most 100, got {percent}")]
    TripPercent {
        /// The value given.
        percent: f64,
    },
    /// The reset percentage is outside (0, 100].
    #[error("reset_percent must be above 0 and at most 100, got {percent}")]
    ResetPercent {
        /// The value given.
        percent: f64,
    },
    /// The reset line is above the trip line: the breaker would flap.
    #[error("reset_percent ({reset}) must not be above trip_percent ({trip})")]
    ResetAboveTrip {
        /// The reset percentage given.
        reset: f64,
        /// The trip percentage given.
        trip: f64,
    },
    /// The warn percentage is outside (0, 100].
    #[error("warn_percent must be above 0 and at most 100, got {percent}")]
    WarnPercent {
        /// The value given.
        percent: f64,
    },
    /// The cancel percentage is outside (0, 100].
    #[error("cancel_percent must be above 0 and at most 100, got {percent}")]
    CancelPercent {
        /// The value given.
        percent: f64,
    },
    /// The lines are out of order: warn <= trip <= cancel is required.
    #[error("pressure lines must rise: warn ({warn}) <= trip ({trip}) <= cancel ({cancel})")]
    LevelOrder {
        /// The warn percentage.
        warn: f64,
        /// The trip (refuse) percentage.
        trip: f64,
        /// The cancel percentage.
        cancel: f64,
    },
    /// The level hysteresis is negative, or so wide that the warn level
    /// could never be left.
    #[error(
        "level_hysteresis_percent must be at least 0 and below warn_percent ({warn}), got {points}"
    )]
    LevelHysteresis {
        /// The value given, in percentage points.
        points: f64,
        /// The warn percentage it must stay below.
        warn: f64,
    },
    /// An empty name would make errors and logs unreadable.
    #[error("a breaker needs a non-empty name")]
    EmptyName,
    /// The budget cannot be resolved (0, unknown, unparsable).
    #[error("invalid memory budget: {0}")]
    Budget(#[from] BudgetError),
    /// The default source cannot read (the counting allocator is not installed).
    #[error("no memory source: {0}")]
    Source(#[from] SourceError),
}

/// The warn and cancel lines and what acts on them, as configured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LevelSettings {
    pub(crate) warn_percent: Option<f64>,
    pub(crate) cancel_percent: Option<f64>,
    pub(crate) hysteresis_percent: f64,
    pub(crate) cancel_grace: Duration,
    pub(crate) watch: bool,
}

impl Default for LevelSettings {
    fn default() -> Self {
        Self {
            warn_percent: None,
            cancel_percent: None,
            hysteresis_percent: BreakerConfig::DEFAULT_LEVEL_HYSTERESIS_PERCENT,
            cancel_grace: BreakerConfig::DEFAULT_CANCEL_GRACE,
            watch: true,
        }
    }
}

impl LevelSettings {
    /// The lines for a breaker tripping at `trip` and resetting below
    /// `reset`: explicit values as given, defaults bent to the trip line.
    pub(crate) fn percents(&self, trip: f64, reset: f64) -> Percents {
        Percents {
            trip,
            reset,
            warn: self
                .warn_percent
                .unwrap_or(BreakerConfig::DEFAULT_WARN_PERCENT.min(trip)),
            cancel: self
                .cancel_percent
                .unwrap_or(BreakerConfig::DEFAULT_CANCEL_PERCENT.max(trip)),
            hysteresis: self.hysteresis_percent,
        }
    }

    /// Explicit values must be in range and in order.
    fn validate(&self, trip: f64) -> Result<(), ConfigError> {
        let in_range = |percent: f64| percent > 0.0 && percent <= 100.0;
        if let Some(percent) = self.warn_percent.filter(|p| !in_range(*p)) {
            return Err(ConfigError::WarnPercent { percent });
        }
        if let Some(percent) = self.cancel_percent.filter(|p| !in_range(*p)) {
            return Err(ConfigError::CancelPercent { percent });
        }
        let Percents {
            warn,
            cancel,
            hysteresis: points,
            ..
        } = self.percents(trip, trip);
        if warn > trip || trip > cancel {
            return Err(ConfigError::LevelOrder { warn, trip, cancel });
        }
        if !(points >= 0.0 && points < warn) {
            return Err(ConfigError::LevelHysteresis { points, warn });
        }
        Ok(())
    }
}
