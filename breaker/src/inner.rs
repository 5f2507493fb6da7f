//! The shared body of a breaker: readings, the ledger, and the one step
//! that turns a reading into a verdict through [`decide`](crate::decide).
//!
//! `check()`, reservations, [`refresh`](crate::MemoryBreaker::refresh) and
//! the refresher thread all take [`Inner::step`]. The state and the
//! pressure level move by compare-and-swap on atomics; a step that changes
//! nothing takes no lock, reads no clock and allocates nothing, at any
//! level, except where a reading past a line settles the live account
//! reservations first (under the registry's lock; see `settling`). Only
//! the refresher's step (a [`Caller::Tick`]) acts on jobs: it
//! cancels past the cancel line and checks what a cancel freed (see
//! `jobs`), so a check never takes the jobs' lock.
//!
//! A reading that fails refuses (fail closed) and publishes
//! [`BreakerEvent::ReadFailed`] once, but never purges, never moves the
//! state or the level, and never cancels: nothing is known about memory.
//!
//! A reading past a line purges first (one thread at a time, at most once
//! per `purge_interval`) and reads again. A step whose reading a purge may
//! make obsolete does not decide on it: one taken before a purge that has
//! since ended is taken again, and one taken while a purge runs (for at
//! most [`MAX_DEFER`], and below the whole budget) gets the state as it
//! stands as its verdict and moves nothing, the next step deciding on what
//! the purge left.

use std::sync::atomic::{
    AtomicBool, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Sender, TrySendError};

use crate::clock::Clock;
use crate::config::PurgeHook;
use crate::decide::{self, StateChange};
use crate::event::AccountBytes;
use crate::event::{BreakerEvent, BreakerSnapshot};
use crate::jobs::{Jobs, Seen, Step};
use crate::ledger::{Ledger, Refused};
use crate::levels::Levels;
use crate::lines::{percent, Lines};
use crate::pressure::PressureLevel;
use crate::primitive::{self, Mutex};
use crate::settling::Registry;
use crate::state::{BreakerState, StateCell};
use crate::sync::lock;
use crate::usage::{Details, TripCause, Tripped, Usage};
use heapguard_reading::{Reader, Resolution, SourceError};

/// How often at most a reservation short of room settles the account
/// reservations first: each settle walks all of them.
const SETTLE_INTERVAL: Duration = Duration::from_millis(1);

/// How long at most a step defers to a purge running on another thread
/// (see [`Inner::deferred`]): `malloc_trim` on a large, fragmented heap
/// can take a long time, and a hook can block, while the breaker must not
/// stop enforcing when memory is highest. Four refresher ticks.
pub(crate) const MAX_DEFER: Duration = Duration::from_millis(100);

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
    pub(crate) state: StateCell,
    pub(crate) ledger: Ledger,
    /// The live account reservations taken here or in a descendant.
    pub(crate) settling: Registry,
    /// Clock nanoseconds + 1 of the last purge's start; 0 = never. This
    /// and the next two are the purge's protocol (see
    /// [`Inner::purge_and_read`]): loom's in a model, where the counters
    /// and stamps beside them are std's.
    pub(crate) last_purge: primitive::AtomicU64,
    /// Clock nanoseconds + 1 of the start of the purge running now; 0 =
    /// none. Taking it (from 0) claims the purge.
    pub(crate) purge_running: primitive::AtomicU64,
    /// Purges ended: a step that finds it moved since before its reading
    /// reads again, since the purge may have made its reading obsolete.
    pub(crate) purges_done: primitive::AtomicU64,
    /// The start stamp of the last purge logged as running past
    /// [`MAX_DEFER`]; 0 = none.
    pub(crate) slow_purge_noted: AtomicU64,
    /// Clock nanoseconds + 1 of the last settle for a refused reservation's
    /// room; 0 = never.
    pub(crate) last_settle: AtomicU64,
    /// Clock nanoseconds + 1 of the last good reading a refresh made; 0 = never.
    pub(crate) last_good_read: AtomicU64,
    /// Set while the source cannot be read (so `ReadFailed` is published once).
    pub(crate) read_failing: AtomicBool,
    pub(crate) trips: AtomicU64,
    pub(crate) refusals: AtomicU64,
    /// The reading at the last trip.
    pub(crate) last_trip: Mutex<Option<BreakerSnapshot>>,
    pub(crate) subscribers: Mutex<Vec<Sender<BreakerEvent>>>,
    /// The pressure level and its warn and cancel flags.
    pub(crate) levels: Levels,
    pub(crate) jobs: Arc<Jobs>,
    pub(crate) cancel_grace: Duration,
    /// Off: observe only (refuse nothing, cancel nothing).
    pub(crate) enforce: bool,
    /// Checks and reservations refused while observing only.
    pub(crate) would_refuse: AtomicU64,
}

/// Who takes a step: what it does with the verdict differs, the decision
/// does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    /// `check()` or a reservation: a refusal is counted.
    Check,
    /// [`refresh`](crate::MemoryBreaker::refresh) or the refresher thread:
    /// acts on jobs at the cancel line, stamps the reading's time.
    Tick,
}

/// What [`Inner::purge_and_read`] did.
enum Purge {
    /// Purged, or found a purge ended since the reading, and read again.
    Fresh(Result<u64, SourceError>),
    /// Another thread has been purging for `elapsed`, since the stamp
    /// `started`.
    Running { started: u64, elapsed: Duration },
    /// No hook or no source, or not due.
    Skipped,
}

/// Ends the purge its thread claimed, also when the hook or the reading
/// after it unwinds: otherwise every later step would find a purge running.
struct PurgeEnd<'a>(&'a Inner);

impl Drop for PurgeEnd<'_> {
    fn drop(&mut self) {
        self.0.purges_done.fetch_add(1, Release);
        self.0.purge_running.store(0, Release);
    }
}

/// What one step decided.
pub(crate) enum Verdict {
    Accept {
        used: u64,
        reserved: u64,
    },
    Refuse {
        used: u64,
        reserved: u64,
        cause: TripCause,
    },
}

fn stamp(now: Duration) -> u64 {
    u64::try_from(now.as_nanos())
        .unwrap_or(u64::MAX - 1)
        .saturating_add(1)
}

/// Time since a stamp, or `None` if it was never set.
pub(crate) fn since(stamp: u64, now: Duration) -> Option<Duration> {
    (stamp != 0).then(|| now.saturating_sub(Duration::from_nanos(stamp - 1)))
}

/// Whether an action rate-limited by `last` (a stamp) is due `now`, at most
/// once per `interval`: true for the one thread that stamps `last` now,
/// false for every other (not yet due, or another thread took it).
fn claim_if_due(last: &AtomicU64, now: Duration, interval: Duration) -> bool {
    let seen = last.load(Relaxed);
    if since(seen, now).is_some_and(|elapsed| elapsed < interval) {
        return false;
    }
    last.compare_exchange(seen, stamp(now), Relaxed, Relaxed)
        .is_ok()
}

impl Inner {
    #[inline]
    fn read_used(&self) -> Result<u64, SourceError> {
        match &self.source {
            Some(source) => source.used_bytes(),
            None => Ok(0),
        }
    }

    /// This breaker's verdict (not its parents'), as a check: a refusal is
    /// counted (observing only: counted as one it would have made, and the
    /// check passes).
    #[inline]
    pub(crate) fn evaluate(&self) -> Result<Usage<'_>, Tripped> {
        match self.step(Caller::Check) {
            Verdict::Accept { used, reserved } => Ok(self.usage(used, reserved)),
            Verdict::Refuse { used, reserved, .. } if !self.enforce => {
                self.would_refuse.fetch_add(1, Relaxed);
                Ok(self.usage(used, reserved))
            }
            Verdict::Refuse {
                used,
                reserved,
                cause,
            } => Err(self.refuse(used, reserved, cause)),
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
        // Level `Normal` implies accepting (the level is computed from the
        // state after every change), and below the warn line neither flag
        // can rise: the step would change nothing.
        (self.levels.is_normal()
            && self.parent.is_none()
            && used.saturating_add(reserved) < self.lines.warn_bytes())
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
        let mut ancestor = self.parent.as_deref();
        while let Some(breaker) = ancestor {
            breaker.evaluate()?;
            ancestor = breaker.parent.as_deref();
        }
        Ok(usage)
    }

    /// The usage now, without deciding anything.
    pub(crate) fn current_usage(&self) -> Result<Usage<'_>, SourceError> {
        Ok(self.usage(self.read_used()?, self.ledger.reserved()))
    }

    pub(crate) fn usage(&self, used: u64, reserved: u64) -> Usage<'_> {
        Usage {
            lines: &self.lines,
            used,
            reserved,
        }
    }

    pub(crate) fn state(&self) -> BreakerState {
        self.state.state()
    }

    /// One step: read, purge first if the reading would trip or keep the
    /// breaker refusing, move the state and the level as [`decide`] says,
    /// and (for a tick) act on jobs.
    pub(crate) fn step(&self, caller: Caller) -> Verdict {
        // Before the reading: a purge that ends after this may make it obsolete.
        let purges_seen = self.purges_done.load(Acquire);
        let mut reserved = self.ledger.reserved();
        let mut used = match self.read_used() {
            Ok(used) => used,
            Err(error) => return self.read_failed(error, reserved),
        };
        self.read_succeeded(used, reserved);
        let state = self.state.state();
        if decide::wants_purge(state, used.saturating_add(reserved), &self.lines) {
            // What account reservations' work allocated since they last
            // settled is counted twice: settle them before a trip is decided
            // on it, and on the refresher's tick (which also acts at the
            // cancel line, and lets a refusing breaker recover), not on
            // every check near the line.
            let total = used.saturating_add(reserved);
            if (caller == Caller::Tick || self.would_trip(total)) && self.settling.settle_all() {
                reserved = self.ledger.reserved();
            }
            if decide::wants_purge(state, used.saturating_add(reserved), &self.lines) {
                match self.purge_and_read(purges_seen) {
                    Purge::Fresh(Ok(fresh)) => used = fresh,
                    Purge::Fresh(Err(error)) => return self.read_failed(error, reserved),
                    Purge::Running { elapsed, .. }
                        if elapsed < MAX_DEFER
                            && used.saturating_add(reserved) < self.lines.limit() =>
                    {
                        return self.deferred(caller, used, reserved);
                    }
                    Purge::Running { started, elapsed } if elapsed >= MAX_DEFER => {
                        self.note_slow_purge(started, elapsed);
                    }
                    Purge::Running { .. } | Purge::Skipped => {}
                }
            }
        }
        let total = used.saturating_add(reserved);
        let mut held = None;
        let mut changed = None;
        loop {
            let seen = self.state.load();
            if !decide::bytes_change_state(seen.state(), total, &self.lines) {
                break;
            }
            let now = self.clock.now();
            let since = seen.since_change(now);
            match decide::next_state(
                seen.state(),
                total,
                &self.lines,
                since,
                self.min_state_duration,
            ) {
                StateChange::Stay => break,
                StateChange::Held { remaining } => {
                    held = Some(remaining);
                    break;
                }
                StateChange::Change => {
                    if self.state.flip(seen, now) {
                        changed = Some(self.state_changed(seen.state(), used, reserved));
                        break;
                    }
                    // Another reading changed it first: decide again from there.
                }
            }
        }
        let refusing = self.state.state() == BreakerState::Refusing;
        if let Some((from, to)) = self.levels.update(total, refusing, &self.lines) {
            self.publish_level(from, to, used, reserved, changed);
        }
        if caller == Caller::Tick {
            self.last_good_read.store(stamp(self.clock.now()), Relaxed);
            self.watch_jobs(used, reserved);
        }
        if refusing {
            let cause = match held {
                Some(remaining) => TripCause::MinStateDuration { remaining },
                None => TripCause::OverThreshold,
            };
            Verdict::Refuse {
                used,
                reserved,
                cause,
            }
        } else {
            Verdict::Accept { used, reserved }
        }
    }

    /// Whether `total` would trip the breaker now (not held back by
    /// `min_state_duration`). Reads the clock; called only past a line.
    fn would_trip(&self, total: u64) -> bool {
        let seen = self.state.load();
        seen.state() == BreakerState::Accepting
            && decide::next_state(
                seen.state(),
                total,
                &self.lines,
                seen.since_change(self.clock.now()),
                self.min_state_duration,
            ) == StateChange::Change
    }

    /// Settles the account reservations before a reservation is refused
    /// for want of room, at most once per [`SETTLE_INTERVAL`] whatever the
    /// number of refusals; true when any was settled, or when another
    /// thread's settle (in flight or just done) may have made room.
    fn settle_for_room(&self) -> bool {
        // Claimed under the registry's lock, so a thread that loses the
        // claim has waited for the settle it lost to, and tries again on
        // the ledger that settle left. The clock (the user's) is read
        // before the lock.
        let now = self.clock.now();
        self.settling
            .settle_for_room(|| claim_if_due(&self.last_settle, now, SETTLE_INTERVAL))
    }

    /// A failed reading: refuse (fail closed); publish `ReadFailed` once per
    /// run of failures. No purge, no state or level change, no cancel.
    #[cold]
    #[inline(never)]
    fn read_failed(&self, error: SourceError, reserved: u64) -> Verdict {
        self.note_read_failure(&error, reserved);
        Verdict::Refuse {
            used: 0,
            reserved,
            cause: TripCause::Source(error),
        }
    }

    /// Publishes `ReadFailed` on the first failure of a run.
    #[cold]
    #[inline(never)]
    fn note_read_failure(&self, error: &SourceError, reserved: u64) {
        if !self.read_failing.load(Relaxed) && !self.read_failing.swap(true, Relaxed) {
            let snapshot = self.snapshot(0, reserved);
            tracing::warn!(
                breaker = %self.lines.name,
                %error,
                "memory breaker cannot read memory usage: refusing new work until it can"
            );
            self.publish(&BreakerEvent::ReadFailed {
                error: error.to_string(),
                snapshot,
            });
        }
    }

    #[inline]
    fn read_succeeded(&self, used: u64, reserved: u64) {
        if self.read_failing.load(Relaxed) && self.read_failing.swap(false, Relaxed) {
            let snapshot = self.snapshot(used, reserved);
            tracing::info!(breaker = %self.lines.name, used, "memory breaker reads memory usage again");
            self.publish(&BreakerEvent::ReadRecovered { snapshot });
        }
    }

    /// A reading a purge has not made obsolete: purges now if one is due
    /// (and no other thread does) and reads again; reads again if a purge
    /// ended since `seen` (`purges_done` before the caller's reading); says
    /// so if another thread is purging.
    fn purge_and_read(&self, seen: u64) -> Purge {
        let (Some(hook), Some(_)) = (self.purge.as_ref(), self.source.as_ref()) else {
            return Purge::Skipped;
        };
        let now = self.clock.now();
        // `last_purge` first: it is stamped (Release) after the claim, so a
        // thread that finds a purge's stamp also finds the purge running or
        // ended, never a purge "not due" that is running.
        let last = self.last_purge.load(Acquire);
        let running = self.purge_running.load(Acquire);
        if let Some(elapsed) = since(running, now) {
            return Purge::Running {
                started: running,
                elapsed,
            };
        }
        // A purge that ended since the reading: `purge_running` is cleared
        // (Release) after `purges_done` moves, so it shows here.
        if self.purges_done.load(Acquire) != seen {
            return Purge::Fresh(self.read_used());
        }
        if since(last, now).is_some_and(|age| age < self.purge_interval) {
            return Purge::Skipped;
        }
        if let Err(running) = self
            .purge_running
            .compare_exchange(0, stamp(now), Acquire, Acquire)
        {
            // Another thread claimed it a moment ago.
            return Purge::Running {
                started: running,
                elapsed: since(running, now).unwrap_or_default(),
            };
        }
        // A purge claimed, run and ended between the checks above and this
        // claim: the reading is obsolete, and another purge now would come
        // sooner than `purge_interval` after it. The claim's Acquire saw
        // that purge's end, so its count shows.
        if self.purges_done.load(Relaxed) != seen {
            self.purge_running.store(0, Release);
            return Purge::Fresh(self.read_used());
        }
        let _end = PurgeEnd(self);
        self.last_purge.store(stamp(now), Release);
        if let Err(message) = heapguard_reading::caught::run_caught(|| hook()) {
            self.callback_panicked("purge_hook", message);
        }
        Purge::Fresh(self.read_used())
    }

    /// Logs once per purge that a purge has run past [`MAX_DEFER`], so
    /// steps decide without it (and, should the hook never return, no
    /// purge runs again).
    #[cold]
    #[inline(never)]
    fn note_slow_purge(&self, started: u64, elapsed: Duration) {
        if self.slow_purge_noted.swap(started, Relaxed) != started {
            tracing::warn!(
                breaker = %self.lines.name,
                elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                "memory breaker's purge hook is still running: deciding without it"
            );
        }
    }

    /// A step's verdict on a reading taken while another thread purges:
    /// the state as it stands, nothing moved. The purge may make the
    /// reading obsolete, so it neither trips the breaker (which would then
    /// hold for `min_state_duration`), nor moves the level, nor (on a tick)
    /// cancels a job; the next step decides on what the purge left. Callers
    /// defer only below the whole budget and for [`MAX_DEFER`] at most.
    #[cold]
    #[inline(never)]
    fn deferred(&self, caller: Caller, used: u64, reserved: u64) -> Verdict {
        if caller == Caller::Tick {
            // The reading was good: its age is not the purge's.
            self.last_good_read.store(stamp(self.clock.now()), Relaxed);
        }
        if self.state.state() == BreakerState::Refusing {
            // Refusing, a purge is wanted only at or past the reset line.
            Verdict::Refuse {
                used,
                reserved,
                cause: TripCause::OverThreshold,
            }
        } else {
            Verdict::Accept { used, reserved }
        }
    }

    /// Counts, logs once and publishes the state change this reading made
    /// (`from` is the state before); returns the snapshot published.
    #[cold]
    #[inline(never)]
    fn state_changed(&self, from: BreakerState, used: u64, reserved: u64) -> BreakerSnapshot {
        let snapshot = self.snapshot(used, reserved);
        let event = if from == BreakerState::Accepting {
            self.trips.fetch_add(1, Relaxed);
            *lock(&self.last_trip) = Some(snapshot.clone());
            tracing::warn!(
                breaker = %self.lines.name,
                used,
                reserved,
                limit = snapshot.limit,
                percent = snapshot.percent,
                trip_percent = self.lines.percents.trip,
                "memory breaker tripped: refusing new work"
            );
            BreakerEvent::Tripped(snapshot.clone())
        } else {
            tracing::info!(
                breaker = %self.lines.name,
                used,
                reserved,
                limit = snapshot.limit,
                percent = snapshot.percent,
                reset_percent = self.lines.percents.reset,
                "memory breaker reset: accepting work again"
            );
            BreakerEvent::Reset(snapshot.clone())
        };
        self.publish(&event);
        snapshot
    }

    /// The one place a level change is logged and published. A change made
    /// by a state change in the same step (`with`: that change's snapshot)
    /// was logged as the trip or the reset, and is published after it.
    #[cold]
    #[inline(never)]
    fn publish_level(
        &self,
        from: PressureLevel,
        to: PressureLevel,
        used: u64,
        reserved: u64,
        with: Option<BreakerSnapshot>,
    ) {
        let logged = with.is_some();
        let snapshot = with.unwrap_or_else(|| self.snapshot(used, reserved));
        if !logged {
            if to > from {
                tracing::warn!(
                    breaker = %self.lines.name,
                    from = from.as_str(),
                    to = to.as_str(),
                    used,
                    reserved,
                    limit = snapshot.limit,
                    percent = snapshot.percent,
                    "memory pressure rose"
                );
            } else {
                tracing::info!(
                    breaker = %self.lines.name,
                    from = from.as_str(),
                    to = to.as_str(),
                    used,
                    reserved,
                    limit = snapshot.limit,
                    percent = snapshot.percent,
                    "memory pressure fell"
                );
            }
        }
        self.publish(&BreakerEvent::Level { from, to, snapshot });
    }

    /// A tick's work on jobs (see `jobs`): past the cancel line, one step
    /// of the cancel policy; at any level, a pending cancel's verdict.
    fn watch_jobs(&self, used: u64, reserved: u64) {
        let at_cancel_level = self.levels.current() == PressureLevel::Cancel;
        if !self.jobs.has_work(at_cancel_level) {
            return;
        }
        let total = used.saturating_add(reserved);
        let seen = Seen {
            now: self.clock.now(),
            grace: self.cancel_grace,
            total,
            cancel_line: self.lines.cancel_bytes(),
            at_cancel_level,
            enforce: self.enforce,
        };
        let Some(step) = self.jobs.step(seen) else {
            return;
        };
        let snapshot = self.snapshot(used, reserved);
        let name = &self.lines.name;
        let event = match step {
            Step::Cancelled(cancelled) => {
                tracing::warn!(
                    breaker = %name,
                    job = %cancelled.name,
                    job_live_bytes = cancelled.live_bytes,
                    used,
                    reserved,
                    limit = snapshot.limit,
                    percent = snapshot.percent,
                    top_accounts = %list(&snapshot.top_accounts),
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
                return;
            }
            Step::Checked(checked) if checked.enough() => {
                tracing::info!(
                    breaker = %name,
                    job = %checked.name,
                    freed_bytes = checked.freed(),
                    remaining_bytes = checked.remaining,
                    reading_freed_bytes = checked.reading_freed,
                    "the cancelled job freed its memory"
                );
                BreakerEvent::CancelFreed {
                    job: checked.name.to_string(),
                    freed_bytes: checked.freed(),
                    remaining_bytes: checked.remaining,
                    reading_freed_bytes: checked.reading_freed,
                    snapshot,
                }
            }
            Step::Checked(checked) => {
                tracing::warn!(
                    breaker = %name,
                    job = %checked.name,
                    freed_bytes = checked.freed(),
                    remaining_bytes = checked.remaining,
                    reading_freed_bytes = checked.reading_freed,
                    deregistered = checked.deregistered,
                    top_accounts = %list(&snapshot.top_accounts),
                    "the cancelled job freed too little: its account still holds memory \
                     (tasks it spawned and detached, or a job that ignores its token)"
                );
                BreakerEvent::CancelFreedTooLittle {
                    job: checked.name.to_string(),
                    freed_bytes: checked.freed(),
                    remaining_bytes: checked.remaining,
                    reading_freed_bytes: checked.reading_freed,
                    deregistered: checked.deregistered,
                    snapshot,
                }
            }
            Step::ShedWaiting {
                requests,
                bytes,
                shed,
            } => {
                tracing::warn!(
                    breaker = %name,
                    requests,
                    bytes,
                    used,
                    reserved,
                    limit = snapshot.limit,
                    percent = snapshot.percent,
                    "memory breaker cancelled requests waiting to start, largest first"
                );
                self.publish(&BreakerEvent::WaitingShed {
                    requests,
                    bytes,
                    snapshot,
                });
                for request in shed {
                    if let Some(message) = request.run_cancel() {
                        self.callback_panicked("on_cancel", message);
                    }
                }
                return;
            }
            Step::WouldCancel {
                name: job,
                live_bytes,
            } => {
                tracing::warn!(
                    breaker = %name,
                    job = %job,
                    job_live_bytes = live_bytes,
                    used,
                    reserved,
                    top_accounts = %list(&snapshot.top_accounts),
                    "memory breaker would cancel the largest job (observing only: nothing cancelled)"
                );
                BreakerEvent::WouldCancel {
                    job: job.to_string(),
                    live_bytes,
                    snapshot,
                }
            }
            Step::Withheld(withheld) => {
                tracing::warn!(
                    breaker = %name,
                    job = %withheld.name,
                    live_bytes = withheld.live_bytes,
                    needed_bytes = withheld.needed,
                    top_accounts = %list(&snapshot.top_accounts),
                    "memory breaker withheld a cancel that could not bring usage under the cancel line"
                );
                BreakerEvent::CancelWithheld {
                    job: withheld.name.to_string(),
                    live_bytes: withheld.live_bytes,
                    needed_bytes: withheld.needed,
                    snapshot,
                }
            }
        };
        self.publish(&event);
    }

    /// A refresh: one step as the refresher takes it. Returns the level.
    pub(crate) fn refresh(&self) -> PressureLevel {
        let _ = self.step(Caller::Tick);
        self.levels.current()
    }

    /// Time since the last good reading a refresh made.
    pub(crate) fn reading_age(&self) -> Option<Duration> {
        since(self.last_good_read.load(Relaxed), self.clock.now())
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
    pub(crate) fn publish(&self, event: &BreakerEvent) {
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
            top_accounts: self.jobs.top_accounts(),
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
            trip_percent: self.lines.percents.trip,
            reset_percent: self.lines.percents.reset,
            cause,
            jobs: self.jobs.clone(),
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
        let purges_seen = self.purges_done.load(Acquire);
        let mut used = match self.step(Caller::Check) {
            Verdict::Accept { used, .. } => used,
            Verdict::Refuse {
                used,
                reserved,
                cause,
            } => {
                if self.enforce {
                    return Err(self.refuse(used, reserved, cause));
                }
                return self.observed_reservation(bytes, used);
            }
        };
        let (mut settled, mut purged) = (false, false);
        loop {
            let added = self
                .ledger
                .try_add(bytes, self.lines.trip_bytes().saturating_sub(used));
            if let Err(Refused::Full { .. }) = added {
                // Room taken by work counted twice is given back first.
                if !settled {
                    settled = true;
                    if self.settle_for_room() {
                        continue;
                    }
                }
            }
            match added {
                Ok(()) => return Ok(()),
                Err(Refused::Released) => {
                    return Err(self.refuse(used, self.ledger.reserved(), TripCause::Released))
                }
                Err(Refused::Full { .. }) if !self.enforce => {
                    return self.observed_reservation(bytes, used);
                }
                Err(Refused::Full { reserved }) => {
                    if !purged {
                        purged = true;
                        match self.purge_and_read(purges_seen) {
                            Purge::Fresh(Ok(fresh)) => {
                                used = fresh;
                                continue;
                            }
                            Purge::Fresh(Err(error)) => {
                                self.note_read_failure(&error, reserved);
                                return Err(self.refuse(0, reserved, TripCause::Source(error)));
                            }
                            // Refusing one reservation moves no state: the
                            // step after the purge decides on what it left.
                            Purge::Running { .. } | Purge::Skipped => {}
                        }
                    }
                    let cause = TripCause::Reservation { requested: bytes };
                    return Err(self.refuse(used, reserved, cause));
                }
            }
        }
    }

    /// Observing only: a reservation it would have refused is granted past
    /// the line and counted.
    #[cold]
    #[inline(never)]
    fn observed_reservation(&self, bytes: u64, used: u64) -> Result<(), Tripped> {
        self.would_refuse.fetch_add(1, Relaxed);
        self.ledger.try_add(bytes, u64::MAX).map_err(|refused| {
            let cause = match refused {
                Refused::Released => TripCause::Released,
                Refused::Full { .. } => TripCause::Reservation { requested: bytes },
            };
            self.refuse(used, self.ledger.reserved(), cause)
        })
    }

    /// This breaker and its ancestors, nearest first.
    pub(crate) fn chain(&self) -> impl Iterator<Item = &Inner> {
        std::iter::successors(Some(self), |inner| inner.parent.as_deref())
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

/// `name bytes, name bytes` for a log line.
fn list(accounts: &[AccountBytes]) -> String {
    let names: Vec<String> = accounts.iter().map(ToString::to_string).collect();
    names.join(", ")
}
