//! The shared body of a breaker: readings, the state machine, the ledger.
//!
//! The fast path of [`Inner::evaluate`] is a source reading, a load of the
//! reserved bytes and of the state, and one comparison: no lock, no clock,
//! no allocation. Everything else (the clock, the purge hook, logging,
//! events) runs in [`Inner::decide`], only when usage is at or past a line.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Sender, TrySendError};

use crate::clock::Clock;
use crate::config::PurgeHook;
use crate::event::{BreakerEvent, BreakerSnapshot};
use crate::jobs::Jobs;
use crate::ledger::{Ledger, Refused};
use crate::lines::{percent, Lines};
use crate::pressure::{Levels, PressureLevel};
use crate::reading::{Reader, Resolution, SourceError};
use crate::state::{BreakerState, ACCEPTING, REFUSING};
use crate::usage::{Details, TripCause, Tripped, Usage};

pub(crate) struct Inner {
    pub(crate) lines: Lines,
    /// The budget as last resolved.
    pub(crate) resolution: Mutex<Resolution>,
    pub(crate) min_state_duration: Duration,
    pub(crate) purge_interval: Duration,
    pub(crate) source: Option<Reader>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) purge: Option<PurgeHook>,
    pub(crate) parent: Option<Arc<Inner>>,
    pub(crate) state: AtomicU8,
    pub(crate) ledger: Ledger,
    /// Clock nanoseconds + 1 of the last state change; 0 = never.
    pub(crate) last_change: AtomicU64,
    /// Clock nanoseconds + 1 of the last purge; 0 = never.
    pub(crate) last_purge: AtomicU64,
    pub(crate) trips: AtomicU64,
    pub(crate) refusals: AtomicU64,
    /// Serialises state changes; holds the last trip.
    pub(crate) transitions: Mutex<Option<BreakerSnapshot>>,
    pub(crate) subscribers: Mutex<Vec<Sender<BreakerEvent>>>,
    /// The pressure level, its warn and cancel lines and their flags.
    pub(crate) levels: Levels,
    pub(crate) jobs: Jobs,
    pub(crate) cancel_grace: Duration,
}

/// Locks, ignoring poisoning: every critical section leaves its data consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn stamp(now: Duration) -> u64 {
    u64::try_from(now.as_nanos())
        .unwrap_or(u64::MAX - 1)
        .saturating_add(1)
}

/// Time since a stamp, or `None` if it was never set.
fn since(stamp: u64, now: Duration) -> Option<Duration> {
    (stamp != 0).then(|| now.saturating_sub(Duration::from_nanos(stamp - 1)))
}

impl Inner {
    #[inline]
    fn read_used(&self) -> Result<u64, Tripped> {
        match &self.source {
            Some(source) => match source.used_bytes() {
                Ok(used) => Ok(used),
                Err(error) => Err(self.source_failed(error)),
            },
            None => Ok(0),
        }
    }

    #[cold]
    #[inline(never)]
    fn source_failed(&self, error: SourceError) -> Tripped {
        self.refuse(0, self.ledger.reserved(), TripCause::Source(error))
    }

    /// This breaker's verdict (not its parents').
    #[inline]
    pub(crate) fn evaluate(&self) -> Result<Usage<'_>, Tripped> {
        let used = self.read_used()?;
        let reserved = self.ledger.reserved();
        if self.state.load(Relaxed) == ACCEPTING
            && used.saturating_add(reserved) < self.lines.trip_bytes()
        {
            self.observe_level(used, reserved);
            return Ok(self.usage(used, reserved));
        }
        // A state change moves the level itself; observe what is left after.
        let verdict = self.decide(used, reserved);
        self.observe_level(used, reserved);
        verdict
    }

    /// Moves the pressure level if this reading changes it; acts at the
    /// cancel line. Lock-free unless the level changes or is `Cancel`.
    #[inline]
    fn observe_level(&self, used: u64, reserved: u64) {
        let refusing = self.state.load(Relaxed) == REFUSING;
        if self
            .levels
            .would_change(used.saturating_add(reserved), refusing)
        {
            self.shift_level(used, reserved);
        }
        if self.levels.current() == PressureLevel::Cancel {
            self.cancel_largest(used, reserved);
        }
    }

    /// The usage if this breaker accepts on its fast path (level `Normal`,
    /// below the warn line, which is at or below the trip line) and has no
    /// parent: one reading, three loads, one comparison.
    #[inline]
    pub(crate) fn fast_check(&self) -> Option<Usage<'_>> {
        let used = match &self.source {
            Some(source) => source.used_bytes().ok()?,
            None => 0,
        };
        let reserved = self.ledger.reserved();
        // Level `Normal` implies accepting: the level is set under the
        // transition lock from the state.
        let normal = self.levels.is_normal();
        (normal
            && self.parent.is_none()
            && used.saturating_add(reserved) < self.levels.lines.warn())
        .then_some(Usage {
            lines: &self.lines,
            used,
            reserved,
        })
    }

    /// This breaker's and every ancestor's verdict; the usage is this breaker's.
    #[inline(never)]
    pub(crate) fn evaluate_chain(&self) -> Result<Usage<'_>, Tripped> {
        let usage = self.evaluate()?;
        if let Some(parent) = &self.parent {
            parent.evaluate_ancestors()?;
        }
        Ok(usage)
    }

    #[inline(never)]
    fn evaluate_ancestors(&self) -> Result<(), Tripped> {
        let mut ancestor = Some(self);
        while let Some(breaker) = ancestor {
            breaker.evaluate()?;
            ancestor = breaker.parent.as_deref();
        }
        Ok(())
    }

    /// The usage now, without deciding anything.
    pub(crate) fn current_usage(&self) -> Result<Usage<'_>, SourceError> {
        let used = match &self.source {
            Some(source) => source.used_bytes()?,
            None => 0,
        };
        Ok(self.usage(used, self.ledger.reserved()))
    }

    pub(crate) fn usage(&self, used: u64, reserved: u64) -> Usage<'_> {
        Usage {
            lines: &self.lines,
            used,
            reserved,
        }
    }

    pub(crate) fn state(&self) -> BreakerState {
        BreakerState::from_u8(self.state.load(Relaxed))
    }

    /// The slow path: usage is at a line, or the breaker is refusing.
    #[cold]
    #[inline(never)]
    fn decide(&self, mut used: u64, reserved: u64) -> Result<Usage<'_>, Tripped> {
        let now = self.clock.now();
        let total = |used: u64| used.saturating_add(reserved);
        let (trip_bytes, reset_bytes) = (self.lines.trip_bytes(), self.lines.reset_bytes());
        if self.state.load(Relaxed) == ACCEPTING {
            if total(used) < trip_bytes {
                return Ok(self.usage(used, reserved));
            }
            if let Some(fresh) = self.purge_and_read(now) {
                used = fresh?;
                if total(used) < trip_bytes {
                    return Ok(self.usage(used, reserved));
                }
            }
            // Too soon after a reset, this holds, unless the whole budget is gone.
            let whole_budget = total(used) >= self.lines.limit();
            self.change(ACCEPTING, REFUSING, whole_budget, used, reserved);
            return match self.state() {
                BreakerState::Refusing => {
                    Err(self.refuse(used, reserved, TripCause::OverThreshold))
                }
                BreakerState::Accepting => Ok(self.usage(used, reserved)),
            };
        }
        if total(used) >= reset_bytes {
            if let Some(fresh) = self.purge_and_read(now) {
                used = fresh?;
            }
        }
        if total(used) >= reset_bytes {
            return Err(self.refuse(used, reserved, TripCause::OverThreshold));
        }
        self.change(REFUSING, ACCEPTING, false, used, reserved);
        match self.state() {
            BreakerState::Accepting => Ok(self.usage(used, reserved)),
            BreakerState::Refusing => {
                let remaining = self.wait_before_change(now).unwrap_or_default();
                Err(self.refuse(used, reserved, TripCause::MinStateDuration { remaining }))
            }
        }
    }

    /// How long until the state may change again, if it may not yet.
    fn wait_before_change(&self, now: Duration) -> Option<Duration> {
        let elapsed = since(self.last_change.load(Relaxed), now)?;
        (elapsed < self.min_state_duration).then(|| self.min_state_duration - elapsed)
    }

    /// Calls the purge hook if one is set and it is due, then reads again.
    fn purge_and_read(&self, now: Duration) -> Option<Result<u64, Tripped>> {
        let hook = self.purge.as_ref()?;
        self.source.as_ref()?;
        let last = self.last_purge.load(Relaxed);
        if since(last, now).is_some_and(|elapsed| elapsed < self.purge_interval) {
            return None;
        }
        // One thread purges; the others go on with their reading.
        self.last_purge
            .compare_exchange(last, stamp(now), Relaxed, Relaxed)
            .ok()?;
        if let Err(message) = crate::caught::run_caught(|| hook()) {
            self.callback_panicked("purge_hook", message);
        }
        Some(self.read_used())
    }

    /// Changes state `from` -> `to` unless another thread changed it first or
    /// the last change was under `min_state_duration` ago (ignored if
    /// `force`); on a change counts, logs once and publishes.
    fn change(&self, from: u8, to: u8, force: bool, used: u64, reserved: u64) {
        let mut last_trip = lock(&self.transitions);
        // Under the lock, so two changes are never closer than the minimum.
        let now = self.clock.now();
        if self.state.load(Relaxed) != from || (!force && self.wait_before_change(now).is_some()) {
            return;
        }
        self.state.store(to, Relaxed);
        self.last_change.store(stamp(now), Relaxed);
        let shift = self
            .levels
            .update(used.saturating_add(reserved), to == REFUSING);
        let snapshot = self.snapshot(used, reserved);
        let event = if to == REFUSING {
            self.trips.fetch_add(1, Relaxed);
            *last_trip = Some(snapshot.clone());
            tracing::warn!(
                breaker = %self.lines.name,
                used,
                reserved,
                limit = snapshot.limit,
                percent = snapshot.percent,
                trip_percent = self.lines.trip_percent,
                "memory breaker tripped: refusing new work"
            );
            BreakerEvent::Tripped(snapshot)
        } else {
            tracing::info!(
                breaker = %self.lines.name,
                used,
                reserved,
                limit = snapshot.limit,
                percent = snapshot.percent,
                reset_percent = self.lines.reset_percent,
                "memory breaker reset: accepting work again"
            );
            BreakerEvent::Reset(snapshot)
        };
        drop(last_trip);
        self.publish(&event);
        if let Some((from, to)) = shift {
            // Logged above as the trip or the reset.
            self.publish(&BreakerEvent::Level {
                from,
                to,
                snapshot: event.snapshot().clone(),
            });
        }
    }

    /// Moves the pressure level to what a reading of `used + reserved`
    /// makes it, under the transition lock; logs and publishes a change.
    #[cold]
    #[inline(never)]
    pub(crate) fn shift_level(&self, used: u64, reserved: u64) {
        let guard = lock(&self.transitions);
        let refusing = self.state.load(Relaxed) == REFUSING;
        let shift = self.levels.update(used.saturating_add(reserved), refusing);
        drop(guard);
        if let Some((from, to)) = shift {
            self.publish_level(from, to, self.snapshot(used, reserved));
        }
    }

    fn publish_level(&self, from: PressureLevel, to: PressureLevel, snapshot: BreakerSnapshot) {
        if to > from {
            tracing::warn!(
                breaker = %self.lines.name,
                from = from.as_str(),
                to = to.as_str(),
                used = snapshot.used,
                reserved = snapshot.reserved,
                limit = snapshot.limit,
                percent = snapshot.percent,
                "memory pressure rose"
            );
        } else {
            tracing::info!(
                breaker = %self.lines.name,
                from = from.as_str(),
                to = to.as_str(),
                used = snapshot.used,
                reserved = snapshot.reserved,
                limit = snapshot.limit,
                percent = snapshot.percent,
                "memory pressure fell"
            );
        }
        self.publish(&BreakerEvent::Level { from, to, snapshot });
    }

    /// At the cancel line: one step of the cancel policy (see `jobs`).
    #[cold]
    #[inline(never)]
    fn cancel_largest(&self, used: u64, reserved: u64) {
        if self.jobs.len() == 0 {
            // Nothing to cancel: not even a clock reading on this path.
            return;
        }
        let now = self.clock.now();
        let Some(cancelled) = self.jobs.cancel_largest(now, self.cancel_grace) else {
            return;
        };
        let snapshot = self.snapshot(used, reserved);
        tracing::warn!(
            breaker = %self.lines.name,
            job = %cancelled.name,
            job_live_bytes = cancelled.live_bytes,
            used,
            reserved,
            limit = snapshot.limit,
            percent = snapshot.percent,
            "memory breaker cancelled the largest job"
        );
        self.publish(&BreakerEvent::JobCancelled {
            job: cancelled.name.to_string(),
            live_bytes: cancelled.live_bytes,
            snapshot,
        });
        if let Some(message) = cancelled.token.run_callbacks() {
            self.callback_panicked("on_cancel", message);
        }
    }

    /// Reads the source and moves the state and the pressure level as a
    /// check would, without counting a refusal; acts at the cancel line.
    /// An unreadable source changes nothing here (checks fail closed).
    pub(crate) fn refresh(&self) -> PressureLevel {
        let Some(source) = &self.source else {
            return self.levels.current();
        };
        let Ok(mut used) = source.used_bytes() else {
            return self.levels.current();
        };
        let reserved = self.ledger.reserved();
        let total = |used: u64| used.saturating_add(reserved);
        match self.state() {
            BreakerState::Accepting if total(used) >= self.lines.trip_bytes() => {
                if let Some(Ok(fresh)) = self.purge_and_read(self.clock.now()) {
                    used = fresh;
                }
                if total(used) >= self.lines.trip_bytes() {
                    let whole_budget = total(used) >= self.lines.limit();
                    self.change(ACCEPTING, REFUSING, whole_budget, used, reserved);
                }
            }
            BreakerState::Refusing if total(used) < self.lines.reset_bytes() => {
                self.change(REFUSING, ACCEPTING, false, used, reserved);
            }
            _ => {}
        }
        self.observe_level(used, reserved);
        self.levels.current()
    }

    /// Logs and publishes a callback's caught panic.
    #[cold]
    #[inline(never)]
    pub(crate) fn callback_panicked(&self, callback: &'static str, message: String) {
        let used = self.current_usage().map_or(0, |usage| usage.used);
        let snapshot = self.snapshot(used, self.ledger.reserved());
        tracing::error!(
            breaker = %self.lines.name,
            callback,
            panic = %message,
            "a memory breaker callback panicked; caught, the breaker goes on"
        );
        self.publish(&BreakerEvent::CallbackPanicked {
            callback,
            message,
            snapshot,
        });
    }

    /// Sends to this breaker's subscribers and its ancestors'; never blocks.
    fn publish(&self, event: &BreakerEvent) {
        let mut breaker = Some(self);
        while let Some(inner) = breaker {
            lock(&inner.subscribers).retain(|subscriber| {
                !matches!(
                    subscriber.try_send(event.clone()),
                    Err(TrySendError::Disconnected(_))
                )
            });
            breaker = inner.parent.as_deref();
        }
    }

    pub(crate) fn snapshot(&self, used: u64, reserved: u64) -> BreakerSnapshot {
        let limit = self.lines.limit();
        BreakerSnapshot {
            breaker: self.lines.name.clone(),
            used,
            reserved,
            limit,
            percent: percent(used.saturating_add(reserved), limit),
            time: SystemTime::now(),
        }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn refuse(&self, used: u64, reserved: u64, cause: TripCause) -> Tripped {
        self.refusals.fetch_add(1, Relaxed);
        Tripped::from(Details {
            breaker: self.lines.name.clone(),
            used,
            reserved,
            limit: self.lines.limit(),
            trip_percent: self.lines.trip_percent,
            reset_percent: self.lines.reset_percent,
            cause,
        })
    }

    /// Reserves `bytes` here and in every ancestor (root first), or nowhere.
    pub(crate) fn reserve(&self, bytes: u64) -> Result<(), Tripped> {
        if let Some(parent) = &self.parent {
            parent.reserve(bytes)?;
        }
        let result = self.reserve_here(bytes);
        if result.is_err() {
            if let Some(parent) = &self.parent {
                parent.release(bytes);
            }
        }
        result
    }

    fn reserve_here(&self, bytes: u64) -> Result<(), Tripped> {
        let mut used = self.evaluate()?.used;
        let mut purged = false;
        loop {
            match self
                .ledger
                .try_add(bytes, self.lines.trip_bytes().saturating_sub(used))
            {
                Ok(()) => return Ok(()),
                Err(Refused::Released) => {
                    return Err(self.refuse(used, self.ledger.reserved(), TripCause::Released))
                }
                Err(Refused::Full { reserved }) => {
                    if !purged {
                        purged = true;
                        if let Some(fresh) = self.purge_and_read(self.clock.now()) {
                            used = fresh?;
                            continue;
                        }
                    }
                    let cause = TripCause::Reservation { requested: bytes };
                    return Err(self.refuse(used, reserved, cause));
                }
            }
        }
    }

    /// Returns `bytes` here and up the chain, stopping at a released breaker
    /// (which already returned everything it held).
    pub(crate) fn release(&self, bytes: u64) {
        let mut breaker = Some(self);
        while let Some(inner) = breaker {
            if inner.ledger.remove(bytes) {
                return;
            }
            breaker = inner.parent.as_deref();
        }
    }
}
