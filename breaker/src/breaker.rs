//! The breaker handle: checks, reservations, children, subscriptions.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;

use crate::cancel::CancelToken;
use crate::clock::{Clock, SystemClock};
use crate::config::{BreakerConfig, ConfigError, PurgeHook, PurgeSetting};
use crate::event::AccountBytes;
use crate::event::{BreakerEvent, BreakerSnapshot, SUBSCRIBER_CAPACITY};
use crate::inner::Inner;
use crate::jobs::{JobRegistration, Jobs, WatchedAccount};
use crate::ledger::Ledger;
use crate::levels::Levels;
use crate::lines::Lines;
use crate::pressure::PressureLevel;
use crate::primitive::Mutex;
use crate::purge::default_purge;
use crate::refresh::RefreshAction;
use crate::reservation::{AccountReservation, Reservation};
use crate::settling::Registry;
use crate::state::BreakerState;
use crate::state::StateCell;
use crate::sync::lock;
use crate::usage::{Tripped, Usage};
use heapguard_reading::{
    Action, Budget, Cgroup, CountingAllocSource, Reader, Refresher, Resolution, SourceError, Tick,
};

/// A memory circuit breaker: refuses new work once usage reaches a share of
/// a budget, and takes it again once usage falls below a lower share.
///
/// Share it between threads by reference or in an `Arc`: every method takes
/// `&self`. Dropping a child breaker returns all its reservations to its
/// parent at once.
pub struct MemoryBreaker {
    inner: Arc<Inner>,
    /// The refresher this breaker's readings or budget come from, if any.
    refresher: Option<Arc<Refresher>>,
    /// Re-resolves a budget read from the host; the refresher holds it weakly.
    _budget_watch: Option<Arc<Action>>,
    /// Takes a step on each refresh: keeps the state and level fresh, acts
    /// at the cancel line (unless
    /// [`watch_cancel_line`](BreakerConfig::watch_cancel_line) is off).
    _watch: Option<Arc<Action>>,
}

impl MemoryBreaker {
    /// Builds a root breaker; validates the configuration and resolves the budget.
    ///
    /// Without an explicit [`source`](BreakerConfig::source) it reads the
    /// counting allocator, and fails with [`SourceError::CountingAllocNotInstalled`]
    /// (in [`ConfigError::Source`]) if that is not the global allocator.
    pub fn new(config: BreakerConfig) -> Result<Self, ConfigError> {
        let (valid, resolution) = config.resolve(true)?;
        let mut source = match config.source.clone() {
            Some(source) => source.into_reader()?,
            None => {
                CountingAllocSource::new()?;
                Reader::CountingAlloc
            }
        };
        if config
            .cgroup_working_set
            .unwrap_or_else(|| resolution.is_from_cgroup())
            && !matches!(source, Reader::Cgroup(_))
        {
            let cgroup = match resolution.cgroup_limits() {
                Some(limits) => limits.cgroup().clone(),
                None => Cgroup::detect(&config.host)?,
            };
            source = source.worst_of(Refresher::for_cgroup(&cgroup)?);
        }
        let clock = config
            .clock
            .clone()
            .unwrap_or_else(|| Arc::new(SystemClock::new()));
        let purge = default_purge(&config.purge);
        Ok(Self::build(
            config,
            valid.limit,
            resolution,
            Some(source),
            clock,
            purge,
            None,
        ))
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
    /// use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};
    /// use heapguard_breaker::testing::ManualSource;
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
        let (valid, resolution) = config.resolve(false)?;
        let mut source = match config.source.clone() {
            Some(source) => Some(source.into_reader()?),
            None => None,
        };
        if config.cgroup_working_set == Some(true) {
            let refresher = Refresher::for_cgroup(&Cgroup::detect(&config.host)?)?;
            source = Some(match source {
                Some(source) => source.worst_of(refresher),
                None => Reader::Cgroup(refresher),
            });
        }
        let purge = match &config.purge {
            PurgeSetting::Hook(hook) => Some(hook.clone()),
            PurgeSetting::Default | PurgeSetting::None => None,
        };
        Ok(Self::build(
            config,
            valid.limit,
            resolution,
            source,
            clock,
            purge,
            Some(self.inner.clone()),
        ))
    }

    fn build(
        config: BreakerConfig,
        limit: u64,
        resolution: Resolution,
        source: Option<Reader>,
        clock: Arc<dyn Clock>,
        purge: Option<PurgeHook>,
        parent: Option<Arc<Inner>>,
    ) -> Self {
        let refresher = source.as_ref().and_then(Reader::refresher).cloned();
        let percents = config.percents();
        let watch_on = config.levels.watch;
        let inner = Arc::new(Inner {
            lines: Lines::new(config.name, percents, limit),
            resolution: Mutex::new(resolution),
            min_state_duration: config.min_state_duration,
            purge_interval: config.purge_interval,
            source,
            clock,
            purge,
            parent,
            state: StateCell::default(),
            ledger: Ledger::default(),
            settling: Registry::new(),
            last_purge: crate::primitive::AtomicU64::new(0),
            purge_running: crate::primitive::AtomicU64::new(0),
            purges_done: crate::primitive::AtomicU64::new(0),
            slow_purge_noted: AtomicU64::new(0),
            last_settle: AtomicU64::new(0),
            last_good_read: AtomicU64::new(0),
            read_failing: AtomicBool::new(false),
            trips: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
            last_trip: Mutex::new(None),
            subscribers: Mutex::new(Vec::new()),
            levels: Levels::default(),
            jobs: Arc::new(Jobs::default()),
            cancel_grace: config.levels.cancel_grace,
            enforce: config.enforce,
            would_refuse: AtomicU64::new(0),
        });
        // A budget read from the host follows the host: re-resolved on the
        // refresher's limits period (a cgroup limit can change while the
        // process runs). Physical memory does not change.
        let (refresher, budget_watch) = match &config.budget {
            Budget::Bytes(_) | Budget::SystemMemory => (refresher, None),
            budget => {
                let refresher = refresher.unwrap_or_else(Refresher::plain);
                let watch = budget_watch(&inner, budget.clone(), config.host.clone());
                refresher.add_action(&watch);
                (Some(refresher), Some(watch))
            }
        };
        // The refresher keeps the state fresh on its own, with or without
        // registered jobs: an idle service's breaker resets, and the cancel
        // line acts while no thread calls check().
        let (refresher, watch) = if watch_on {
            let refresher = refresher.unwrap_or_else(Refresher::plain);
            let breaker = Arc::downgrade(&inner);
            let action: Arc<Action> = Arc::new(move |_: &Tick| {
                if let Some(inner) = breaker.upgrade() {
                    inner.refresh();
                }
            });
            refresher.add_action(&action);
            (Some(refresher), Some(action))
        } else {
            (refresher, None)
        };
        Self {
            inner,
            refresher,
            _budget_watch: budget_watch,
            _watch: watch,
        }
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

    /// [`try_reserve`](Self::try_reserve) tied to `account`: the
    /// reservation settles as the account's live bytes grow (see
    /// [`AccountReservation`]), so the work's real bytes are not counted
    /// twice (once by the source, once as reserved).
    pub fn try_reserve_in(
        &self,
        account: &heapguard_alloc::Account,
        bytes: u64,
    ) -> Result<AccountReservation, Tripped> {
        Ok(AccountReservation::new(
            self.try_reserve(bytes)?,
            account.clone(),
        ))
    }

    /// The pressure level as last published: one atomic load (about a
    /// nanosecond), cheap enough for inner loops.
    ///
    /// Moved by checks, reservations, [`refresh`](Self::refresh) and the
    /// refresher thread (every [`REFRESH_PERIOD`](heapguard_reading::REFRESH_PERIOD),
    /// unless [`watch_cancel_line`](BreakerConfig::watch_cancel_line) is
    /// off); stale by at most the time since the last of them. Reading it
    /// changes nothing.
    ///
    /// ```
    /// use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker, PressureLevel};
    /// use heapguard_breaker::testing::ManualSource;
    /// let memory = ManualSource::new(0);
    /// let breaker = MemoryBreaker::new(
    ///     BreakerConfig::new(Budget::Bytes(1000))
    ///         .source(memory.clone())
    ///         .watch_cancel_line(false), // no refresher: only refresh() moves it here
    /// )?;
    /// memory.set(720);
    /// assert_eq!(breaker.pressure(), PressureLevel::Normal, "nothing read it yet");
    /// breaker.refresh();
    /// assert_eq!(breaker.pressure(), PressureLevel::Warn);
    /// # Ok::<(), heapguard_breaker::ConfigError>(())
    /// ```
    #[inline]
    pub fn pressure(&self) -> PressureLevel {
        self.inner.levels.current()
    }

    /// Takes the refresher's step now: reads the source and moves the state
    /// and the pressure level as a check would (the same transition
    /// function; no refusal is counted), and acts on jobs: past the cancel
    /// line, one step of the cancel policy (see
    /// [`register_job`](Self::register_job)). Returns the level (as it
    /// stands, moved by nothing, when the step is deferred to a purge
    /// running on another thread: see
    /// [`purge_hook`](BreakerConfig::purge_hook)). What the
    /// refresher thread does on each tick; an action, not a reading (a
    /// metrics scrape should read [`pressure`](Self::pressure),
    /// [`state`](Self::state) and [`usage`](Self::usage) instead).
    pub fn refresh(&self) -> PressureLevel {
        self.inner.refresh()
    }

    /// Registers a job in flight: its memory account and its cancellation
    /// token. Until the registration is dropped, the breaker may cancel it.
    ///
    /// Past the cancel line, the breaker cancels the registered job whose
    /// account holds the most live bytes (publishing
    /// [`BreakerEvent::JobCancelled`], and running the token's
    /// [`on_cancel`](CancelToken::on_cancel) callbacks), then checks the
    /// cancel: it watches the job's account until the job has deregistered
    /// and the account holds at most half of what it held, or until
    /// [`cancel_grace`](BreakerConfig::cancel_grace) passes, and publishes
    /// [`BreakerEvent::CancelFreed`] or [`BreakerEvent::CancelFreedTooLittle`]
    /// (memory left in tasks the job spawned and detached, or a job that
    /// ignores its token). It cancels another only if the reading is still
    /// at or past the cancel line and that job alone holds enough to bring it
    /// under (else [`BreakerEvent::CancelWithheld`]); it never cancels a job
    /// twice. A cancelled job should stop at its next
    /// [`is_cancelled`](JobRegistration::is_cancelled) poll, free what it
    /// holds (inside its account, so the account sees it go), and drop the
    /// registration.
    ///
    /// Cancels are made by the breaker's refresher thread (or
    /// [`refresh`](Self::refresh)), within one
    /// [`REFRESH_PERIOD`](heapguard_reading::REFRESH_PERIOD) of the cancel line being
    /// crossed, never by [`check`](Self::check), which takes no lock.
    pub fn register_job(
        &self,
        name: impl Into<String>,
        account: &heapguard_alloc::Account,
        token: CancelToken,
    ) -> JobRegistration {
        let name: Arc<str> = name.into().into();
        // A request admitted by the tower layer starts when its handler
        // registers its job with the admission's token.
        self.inner.jobs.start_by_token(&token);
        let id = self
            .inner
            .jobs
            .register(name.clone(), account.clone(), token.clone());
        JobRegistration {
            jobs: self.inner.jobs.clone(),
            breaker: self.inner.lines.name.as_str().into(),
            id,
            name,
            token,
        }
    }

    /// Jobs registered now.
    pub fn jobs_registered(&self) -> usize {
        self.inner.jobs.len()
    }

    /// Admitted requests that have not started yet (see
    /// `service::RequestAdmission`, feature `http`).
    pub fn requests_waiting(&self) -> usize {
        self.inner.jobs.waiting()
    }

    /// Registers an admitted request that has not started: cancelled first
    /// past the cancel line. It waits until it starts (its handler starts
    /// it, or registers a job with its token), is shed, or its last handle
    /// is dropped.
    #[cfg(feature = "http")]
    pub(crate) fn admit_waiting(
        &self,
        account: Option<heapguard_alloc::Account>,
        reserved: u64,
        counter: Arc<std::sync::atomic::AtomicU64>,
    ) -> Arc<crate::jobs::WaitingRequest> {
        self.inner.jobs.add_waiting(account, reserved, counter)
    }

    /// Watches an account that is not a job (the layer's request accounts,
    /// a connection's, a cache's) until the returned guard is dropped: it is
    /// named among the top accounts of events and refusals, and its live
    /// bytes count as attributed in [`ledger`](Self::ledger). It is never
    /// cancelled. Watch disjoint accounts: a child account's bytes are in
    /// its parent's too, so watching both counts them twice.
    pub fn watch_account(&self, account: &heapguard_alloc::Account) -> WatchedAccount {
        WatchedAccount {
            jobs: self.inner.jobs.clone(),
            id: self.inner.jobs.watch(account.clone()),
        }
    }

    /// Where the bytes this breaker reasons about are, read now (changes
    /// nothing): reserved and not yet allocated, in the accounts it knows
    /// (registered jobs and [watched accounts](Self::watch_account)), and
    /// unattributed (the reading minus those accounts: memory allocated
    /// outside any known account, such as a plain `tokio::spawn`ed task's:
    /// a plain spawn is charged to no account; the `spawn` module, feature
    /// `tokio`, spawns inside the current one).
    ///
    /// The accounts' figures lag by at most 2 x
    /// [`FLUSH_THRESHOLD`](heapguard_alloc::FLUSH_THRESHOLD) per thread
    /// inside each (see `heapguard_alloc::Account`), so `unattributed_bytes`
    /// is exact to within that per thread, and is 0 for a source that is
    /// not the counting allocator's bytes and reads less than the accounts.
    pub fn ledger(&self) -> Result<MemoryLedger, SourceError> {
        let usage = self.inner.current_usage()?;
        let in_accounts = self.inner.jobs.attributed_bytes();
        Ok(MemoryLedger {
            used_bytes: usage.used,
            reserved_bytes: usage.reserved,
            in_accounts_bytes: in_accounts,
            unattributed_bytes: usage.used.saturating_sub(in_accounts),
            waiting_requests: self.inner.jobs.waiting(),
            waiting_bytes: self.inner.jobs.waiting_bytes(),
            top_accounts: self.inner.jobs.top_accounts(),
        })
    }

    /// The current usage without deciding anything (no state change, no purge).
    pub fn usage(&self) -> Result<Usage<'_>, SourceError> {
        self.inner.current_usage()
    }

    /// Accepting or refusing, as of the last check or refresh.
    pub fn state(&self) -> BreakerState {
        self.inner.state()
    }

    /// Time since the last good reading a refresh (the refresher's tick, or
    /// [`refresh`](Self::refresh)) made, on the breaker's clock; `None` if
    /// none has been made. Grows while the source cannot be read (see
    /// [`BreakerEvent::ReadFailed`]).
    pub fn reading_age(&self) -> Option<Duration> {
        self.inner.reading_age()
    }

    /// How many times it tripped (changed to refusing).
    pub fn trips(&self) -> u64 {
        self.inner.trips.load(Relaxed)
    }

    /// How many checks and reservations it refused.
    pub fn refusals(&self) -> u64 {
        self.inner.refusals.load(Relaxed)
    }

    /// Whether it enforces (see [`BreakerConfig::enforce`]); false: it
    /// observes only.
    pub fn enforcing(&self) -> bool {
        self.inner.enforce
    }

    /// Observing only: how many checks and reservations it would have
    /// refused (0 while it enforces).
    pub fn would_refuse(&self) -> u64 {
        self.inner.would_refuse.load(Relaxed)
    }

    /// The reading at the last trip.
    pub fn last_trip(&self) -> Option<BreakerSnapshot> {
        lock(&self.inner.last_trip).clone()
    }

    /// Bytes held by reservations (its children's included).
    pub fn reserved(&self) -> u64 {
        self.inner.ledger.reserved()
    }

    /// The budget, in bytes (it follows a changed cgroup limit; see
    /// [`resolution`](Self::resolution)).
    pub fn limit(&self) -> u64 {
        self.inner.lines.limit()
    }

    /// Usage at or above this many bytes trips it.
    pub fn trip_bytes(&self) -> u64 {
        self.inner.lines.trip_bytes()
    }

    /// Usage below this many bytes resets it.
    pub fn reset_bytes(&self) -> u64 {
        self.inner.lines.reset_bytes()
    }

    /// Usage at or above this many bytes raises the pressure level to `Warn`.
    pub fn warn_bytes(&self) -> u64 {
        self.inner.lines.warn_bytes()
    }

    /// Usage at or above this many bytes raises the pressure level to
    /// `Cancel`, where the breaker cancels the largest registered job.
    pub fn cancel_bytes(&self) -> u64 {
        self.inner.lines.cancel_bytes()
    }

    /// The budget as last resolved: bytes, where they came from, what was skipped.
    pub fn resolution(&self) -> Resolution {
        lock(&self.inner.resolution).clone()
    }

    /// Runs `action` on the breaker's refresher thread after each refresh
    /// (every [`REFRESH_PERIOD`](heapguard_reading::REFRESH_PERIOD)) with the usage a
    /// check would see then, until the returned [`RefreshAction`] is dropped.
    ///
    /// The refresher is the one its cgroup readings come from (shared by
    /// every breaker of the process on that cgroup), or the process's plain
    /// refresher when it reads no cgroup. Keep the action short: every
    /// action on a refresher delays its next reading. It is not run while
    /// the source cannot be read (the breaker refuses then). A panic in the
    /// action is caught, logged with the breaker's name and published as
    /// [`BreakerEvent::CallbackPanicked`]; the action runs again on the next
    /// refresh, and the refresher goes on.
    ///
    /// ```
    /// use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};
    /// use heapguard_breaker::testing::ManualSource;
    /// use std::sync::mpsc;
    /// let memory = ManualSource::new(900);
    /// let breaker = MemoryBreaker::new(
    ///     BreakerConfig::new(Budget::Bytes(1000)).source(memory.clone()),
    /// )?;
    /// let (sender, receiver) = mpsc::channel();
    /// let action = breaker.on_refresh(move |usage| {
    ///     let _ = sender.send(usage.percent());
    /// });
    /// let percent = receiver.recv_timeout(std::time::Duration::from_secs(10))?;
    /// assert_eq!(percent, 90.0);
    /// drop(action); // stops the action
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_refresh(&self, action: impl Fn(&Usage<'_>) + Send + Sync + 'static) -> RefreshAction {
        let refresher = self.refresher.clone().unwrap_or_else(Refresher::plain);
        let breaker = Arc::downgrade(&self.inner);
        let action: Arc<Action> = Arc::new(move |_: &Tick| {
            if let Some(inner) = breaker.upgrade() {
                if let Ok(usage) = inner.current_usage() {
                    if let Err(message) = heapguard_reading::caught::run_caught(|| action(&usage)) {
                        inner.callback_panicked("on_refresh", message);
                    }
                }
            }
        });
        refresher.add_action(&action);
        RefreshAction::new(action, refresher)
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.inner.lines.name
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
            .field("name", &self.name())
            .field("limit", &self.limit())
            .field("trip_bytes", &self.trip_bytes())
            .field("reset_bytes", &self.reset_bytes())
            .field("state", &self.state())
            .field("reserved", &self.reserved())
            .field("source", &self.source_name())
            .finish_non_exhaustive()
    }
}

/// The action that re-resolves a host-derived budget on the refresher's
/// limits period, and logs a change.
fn budget_watch(inner: &Arc<Inner>, budget: Budget, host: heapguard_reading::Host) -> Arc<Action> {
    let breaker = Arc::downgrade(inner);
    let last_error = Mutex::new(None::<String>);
    Arc::new(move |tick: &Tick| {
        if !tick.limits_refreshed {
            return;
        }
        let Some(inner) = breaker.upgrade() else {
            return;
        };
        match budget.resolution_quietly(&host) {
            Ok(resolution) => {
                *lock(&last_error) = None;
                let old = inner.lines.limit();
                if resolution.bytes() != old {
                    inner.lines.set_limit(resolution.bytes());
                    tracing::warn!(
                        breaker = %inner.lines.name,
                        old,
                        new = resolution.bytes(),
                        "memory budget changed: now {resolution}"
                    );
                    for warning in resolution.warnings() {
                        tracing::warn!(breaker = %inner.lines.name, "{warning}");
                    }
                }
                *lock(&inner.resolution) = resolution;
            }
            Err(error) => {
                let message = error.to_string();
                let mut last = lock(&last_error);
                if last.as_deref() != Some(message.as_str()) {
                    tracing::warn!(
                        breaker = %inner.lines.name,
                        limit = inner.lines.limit(),
                        "cannot re-resolve the memory budget ({message}); keeping the last one"
                    );
                    *last = Some(message);
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ManualSource;
    use std::time::Duration;

    /// At the cancel level, with a job registered, a check takes none of the
    /// breaker's locks: with every one of them held by this thread, checks on
    /// another thread still finish.
    #[test]
    fn checks_take_no_lock_at_the_cancel_level() {
        let memory = ManualSource::new(0);
        let breaker = Arc::new(
            MemoryBreaker::new(
                BreakerConfig::new(Budget::Bytes(1000))
                    .source(memory.clone())
                    .watch_cancel_line(false)
                    .no_purge(),
            )
            .unwrap(),
        );
        let account = heapguard_alloc::Account::new("job");
        let job = breaker.register_job("job", &account, CancelToken::new());
        memory.set(990);
        breaker.check().unwrap_err();
        assert_eq!(breaker.pressure(), PressureLevel::Cancel);
        let inner = &breaker.inner;
        let held = (
            inner.jobs.hold_lock(),
            lock(&inner.last_trip),
            lock(&inner.subscribers),
            lock(&inner.resolution),
        );
        let (done, finished) = crossbeam_channel::bounded(1);
        let checker = breaker.clone();
        std::thread::spawn(move || {
            let refused = (0..1000).filter(|_| checker.check().is_err()).count();
            let _ = done.send(refused);
        });
        let refused = finished.recv_timeout(Duration::from_secs(30));
        drop(held);
        assert_eq!(refused, Ok(1000), "every check refused without a lock");
        assert!(!job.is_cancelled(), "checks cancel nothing");
    }

    /// An account reservation whose settle gives `bytes` back, once the
    /// test lets it (after it said it had started).
    struct SlowSettle {
        inner: Arc<Inner>,
        bytes: u64,
        started: crossbeam_channel::Sender<()>,
        finish: crossbeam_channel::Receiver<()>,
    }

    impl crate::settling::Settle for SlowSettle {
        fn settle(&self) {
            let _ = self.started.send(());
            let _ = self.finish.recv_timeout(Duration::from_secs(30));
            self.inner.release(self.bytes);
        }
    }

    /// A reservation short of room while another thread settles is not
    /// refused on the ledger as it was: it waits for the settle, which
    /// gives room back, and fits.
    #[test]
    fn a_reservation_short_of_room_during_a_settle_waits_for_it() {
        let breaker = MemoryBreaker::new(
            BreakerConfig::new(Budget::Bytes(1000))
                .source(ManualSource::new(0))
                .clock(crate::testing::ManualClock::new())
                .watch_cancel_line(false)
                .no_purge(),
        )
        .unwrap();
        // 600 reserved by work that has since allocated all of it: a settle
        // gives the 600 back. The trip line is 800.
        breaker.inner.ledger.try_add(600, u64::MAX).unwrap();
        let (started_tx, started) = crossbeam_channel::bounded(2);
        let (finish, finish_rx) = crossbeam_channel::bounded(2);
        let settled = Arc::new(SlowSettle {
            inner: breaker.inner.clone(),
            bytes: 600,
            started: started_tx,
            finish: finish_rx,
        });
        let weak: std::sync::Weak<SlowSettle> = Arc::downgrade(&settled);
        breaker.inner.settling.add(weak);
        let breaker = &breaker;
        std::thread::scope(|scope| {
            // 600 + 300 > 800: this one settles, and waits inside the settle.
            let settling = scope.spawn(|| breaker.try_reserve(300).map(|held| held.bytes()));
            started.recv_timeout(Duration::from_secs(30)).unwrap();
            let (done, result) = crossbeam_channel::bounded(1);
            scope.spawn(move || done.send(breaker.try_reserve(300).map(|held| held.bytes())));
            assert!(
                result.recv_timeout(Duration::from_millis(300)).is_err(),
                "refused while the settle that gives room back was in flight"
            );
            finish.send(()).unwrap();
            assert_eq!(settling.join().unwrap().ok(), Some(300));
            let waited = result.recv_timeout(Duration::from_secs(30)).unwrap();
            assert_eq!(waited.ok(), Some(300), "it waited for the settle and fit");
        });
        assert_eq!((breaker.reserved(), breaker.refusals()), (0, 0));
    }
}

/// Where a breaker's bytes are: from [`MemoryBreaker::ledger`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryLedger {
    /// The source's reading: bytes allocated (real).
    pub used_bytes: u64,
    /// Bytes reserved and not yet given back (they add to `used_bytes` in
    /// every decision).
    pub reserved_bytes: u64,
    /// Live bytes of the accounts the breaker knows: registered jobs and
    /// watched accounts.
    pub in_accounts_bytes: u64,
    /// `used_bytes - in_accounts_bytes` (0 if negative): real bytes no known
    /// account holds.
    pub unattributed_bytes: u64,
    /// Admitted requests that have not started (the http layer's queued
    /// work, shed first past the cancel line).
    pub waiting_requests: usize,
    /// What the waiting requests hold: their reservations plus their
    /// accounts' live bytes (part of `reserved_bytes` and `in_accounts_bytes`).
    pub waiting_bytes: u64,
    /// The accounts holding the most, most first (at most three).
    pub top_accounts: Vec<AccountBytes>,
}
