//! The breaker handle: checks, reservations, children, subscriptions.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use crossbeam_channel::Receiver;

use crate::clock::{Clock, SystemClock};
use crate::config::{BreakerConfig, ConfigError, PurgeHook, PurgeSetting};
use crate::event::{BreakerEvent, BreakerSnapshot};
use crate::inner::{lock, Inner};
use crate::ledger::Ledger;
use crate::reservation::Reservation;
use crate::source::{CountingAllocSource, Reader, SourceError};
use crate::state::{BreakerState, ACCEPTING};
use crate::usage::{Tripped, Usage};

/// Events a subscriber has not read yet, per subscriber; past this, newer
/// events are dropped for that subscriber (the breaker never waits).
pub const SUBSCRIBER_CAPACITY: usize = 1024;

/// A memory circuit breaker: refuses new work once usage reaches a share of
/// a budget, and takes it again once usage falls below a lower share.
///
/// Share it between threads by reference or in an `Arc`: every method takes
/// `&self`. Dropping a child breaker returns all its reservations to its
/// parent at once.
pub struct MemoryBreaker {
    inner: Arc<Inner>,
}

impl MemoryBreaker {
    /// Builds a root breaker; validates the configuration and resolves the budget.
    ///
    /// Without an explicit [`source`](BreakerConfig::source) it reads the
    /// counting allocator, and fails with [`SourceError::CountingAllocNotInstalled`]
    /// (in [`ConfigError::Source`]) if that is not the global allocator.
    pub fn new(config: BreakerConfig) -> Result<Self, ConfigError> {
        let source = match config.source.clone() {
            Some(source) => source,
            None => Reader::of(CountingAllocSource::new()?),
        };
        let clock = config
            .clock
            .clone()
            .unwrap_or_else(|| Arc::new(SystemClock::new()));
        let purge = default_purge(&config.purge);
        Self::build(config, Some(source), clock, purge, None)
    }

    /// A child breaker with its own budget and lines under this one (per job,
    /// per request). Its reservations count in this breaker too; its checks
    /// and reservations pass only if this breaker (and its ancestors) accept;
    /// a refusal names the breaker that refused.
    ///
    /// Without a [`source`](BreakerConfig::source) the child counts only its
    /// own reservations against its budget; it inherits this breaker's clock
    /// unless given one, and has no purge hook unless given one.
    ///
    /// ```
    /// use heapguard_breaker::{BreakerConfig, Budget, ManualSource, MemoryBreaker};
    /// let process = MemoryBreaker::new(
    ///     BreakerConfig::new(Budget::Bytes(10_000)).source(ManualSource::new(0)),
    /// )
    /// .unwrap();
    /// let job = process.child(BreakerConfig::new(Budget::Bytes(1_000)).name("job-42")).unwrap();
    /// let held = job.try_reserve(700).unwrap();
    /// assert_eq!(process.reserved(), 700);
    /// let refused = job.try_reserve(200).unwrap_err();
    /// assert_eq!(refused.breaker(), "job-42");
    /// drop(job); // returns the job's 700 bytes to the parent at once
    /// assert_eq!(process.reserved(), 0);
    /// drop(held);
    /// ```
    pub fn child(&self, config: BreakerConfig) -> Result<MemoryBreaker, ConfigError> {
        let clock = config
            .clock
            .clone()
            .unwrap_or_else(|| self.inner.clock.clone());
        let source = config.source.clone();
        let purge = match &config.purge {
            PurgeSetting::Hook(hook) => Some(hook.clone()),
            PurgeSetting::Default | PurgeSetting::None => None,
        };
        Self::build(config, source, clock, purge, Some(self.inner.clone()))
    }

    fn build(
        config: BreakerConfig,
        source: Option<Reader>,
        clock: Arc<dyn Clock>,
        purge: Option<PurgeHook>,
        parent: Option<Arc<Inner>>,
    ) -> Result<Self, ConfigError> {
        let valid = config.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                name: config.name,
                limit: valid.limit,
                trip_bytes: valid.trip_bytes,
                reset_bytes: valid.reset_bytes,
                trip_percent: config.trip_percent,
                reset_percent: config.reset_percent,
                min_state_duration: config.min_state_duration,
                purge_interval: config.purge_interval,
                source,
                clock,
                purge,
                parent,
                state: AtomicU8::new(ACCEPTING),
                ledger: Ledger::default(),
                last_change: AtomicU64::new(0),
                last_purge: AtomicU64::new(0),
                trips: AtomicU64::new(0),
                refusals: AtomicU64::new(0),
                transitions: Mutex::new(None),
                subscribers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Whether new work may start: the usage if so, [`Tripped`] if this
    /// breaker or an ancestor refuses.
    ///
    /// The fast path (accepting, below the trip line) reads the source and
    /// the reserved bytes and compares: no lock, no clock, no allocation.
    #[inline]
    pub fn check(&self) -> Result<Usage<'_>, Tripped> {
        match self.inner.fast_check() {
            Some(usage) => Ok(usage),
            None => self.inner.evaluate_chain(),
        }
    }

    /// Runs `work` if [`check`](Self::check) passes.
    #[inline]
    pub fn execute<R>(&self, work: impl FnOnce() -> R) -> Result<R, Tripped> {
        self.check()?;
        Ok(work())
    }

    /// Reserves `bytes` in this breaker and its ancestors, or nowhere.
    ///
    /// Granted only while every breaker on the chain accepts and
    /// `used + reserved + bytes` stays below its trip line. Concurrent
    /// reservations are exact: each is a compare-and-swap against the room
    /// left, so together they never pass the line; only a change in the
    /// source's reading between the read and the swap (at most the memory
    /// allocated meanwhile, plus the source's [slack](crate::MemorySource::slack_bytes))
    /// can. A refused reservation changes nothing.
    pub fn try_reserve(&self, bytes: u64) -> Result<Reservation, Tripped> {
        self.inner.reserve(bytes)?;
        Ok(Reservation {
            breaker: self.inner.clone(),
            bytes,
        })
    }

    /// The current usage without deciding anything (no state change, no purge).
    pub fn usage(&self) -> Result<Usage<'_>, SourceError> {
        let used = match &self.inner.source {
            Some(source) => source.used_bytes()?,
            None => 0,
        };
        Ok(self.inner.usage(used, self.inner.ledger.reserved()))
    }

    /// Accepting or refusing, as of the last check.
    pub fn state(&self) -> BreakerState {
        self.inner.state()
    }

    /// How many times it tripped (changed to refusing).
    pub fn trips(&self) -> u64 {
        self.inner.trips.load(Relaxed)
    }

    /// How many checks and reservations it refused.
    pub fn refusals(&self) -> u64 {
        self.inner.refusals.load(Relaxed)
    }

    /// The reading at the last trip.
    pub fn last_trip(&self) -> Option<BreakerSnapshot> {
        lock(&self.inner.transitions).clone()
    }

    /// Bytes held by reservations (its children's included).
    pub fn reserved(&self) -> u64 {
        self.inner.ledger.reserved()
    }

    /// The budget, in bytes.
    pub fn limit(&self) -> u64 {
        self.inner.limit
    }

    /// Usage at or above this many bytes trips it.
    pub fn trip_bytes(&self) -> u64 {
        self.inner.trip_bytes
    }

    /// Usage below this many bytes resets it.
    pub fn reset_bytes(&self) -> u64 {
        self.inner.reset_bytes
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Its source's name, or `None` for a child counting only reservations.
    pub fn source_name(&self) -> Option<&'static str> {
        self.inner.source.as_ref().map(Reader::name)
    }

    /// How far its source's readings can be from the truth, in bytes.
    pub fn slack_bytes(&self) -> u64 {
        self.inner.source.as_ref().map_or(0, Reader::slack_bytes)
    }

    /// A channel of this breaker's state changes and its children's.
    ///
    /// Any number of subscribers; each gets every event. A subscriber that
    /// stops reading loses events past [`SUBSCRIBER_CAPACITY`] queued; one
    /// that is dropped is forgotten. Neither ever blocks the breaker.
    pub fn subscribe(&self) -> Receiver<BreakerEvent> {
        let (sender, receiver) = crossbeam_channel::bounded(SUBSCRIBER_CAPACITY);
        lock(&self.inner.subscribers).push(sender);
        receiver
    }
}

impl Drop for MemoryBreaker {
    fn drop(&mut self) {
        if let Some(parent) = &self.inner.parent {
            let held = self.inner.ledger.release_all();
            if held > 0 {
                parent.release(held);
            }
        }
    }
}

impl fmt::Debug for MemoryBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBreaker")
            .field("name", &self.inner.name)
            .field("limit", &self.inner.limit)
            .field("trip_bytes", &self.inner.trip_bytes)
            .field("reset_bytes", &self.inner.reset_bytes)
            .field("state", &self.state())
            .field("reserved", &self.reserved())
            .field("source", &self.source_name())
            .finish_non_exhaustive()
    }
}

fn default_purge(setting: &PurgeSetting) -> Option<PurgeHook> {
    match setting {
        PurgeSetting::Hook(hook) => Some(hook.clone()),
        PurgeSetting::None => None,
        #[cfg(feature = "jemalloc")]
        PurgeSetting::Default => Some(Arc::new(|| {
            if let Err(error) = heapguard_alloc::jemalloc::purge() {
                tracing::debug!(%error, "jemalloc purge failed");
            }
        })),
        #[cfg(not(feature = "jemalloc"))]
        PurgeSetting::Default => None,
    }
}
