//! Loom models of the breaker's concurrency: the crate's own code, through
//! its public API, built on loom's atomics, mutexes and `Arc` (the crate's
//! `primitive` facade), under every interleaving loom explores within its
//! preemption bound.
//!
//! Run with (CI's command, in a target directory of its own so that the
//! normal build is not rebuilt):
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p heapguard-breaker --release --test loom_breaker`.
//! In a normal build this file compiles to nothing.
//!
//! What a model sees: the cancel token's flag, callbacks and body, the jobs'
//! registry and its lock, the published pressure level, the breaker's
//! state word, the ledger of reserved bytes, the breaker's other locks
//! and the purge's claim, stamp and count are loom's. The source's reading
//! ([`ManualSource`], set by the model's own thread), the counters and the
//! clock are std's: loom does not interleave around them, and no invariant
//! of those models rests on them. The purge's models read a source of
//! loom's (`ModelSource`), since theirs does.

#![cfg(loom)]

use std::time::Duration;

use heapguard_alloc::Account;
use heapguard_breaker::testing::{ManualClock, ManualSource};
use heapguard_breaker::{
    BreakerConfig, BreakerEvent, BreakerState, Budget, CancelToken, MemoryBreaker, MemorySource,
    PressureLevel, SourceError,
};
use loom::model::Builder;
use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

/// Loom's settings from the environment (`LOOM_MAX_PREEMPTIONS`, ...), with
/// a preemption bound of 4 where none is given, which keeps all eight
/// models to a few seconds in a release build.
fn builder() -> Builder {
    let mut builder = Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(4);
    }
    builder
}

/// A breaker with a 1000-byte budget (warn 70%, trip 80%, reset 70%,
/// cancel 95%), no minimum time in a state, read from a manual source, with
/// no refresher thread: a thread of its own, outside the model, must not
/// touch the model's primitives (the model's threads call `refresh()`).
fn breaker(source: &ManualSource) -> MemoryBreaker {
    MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(1000))
            .min_state_duration(Duration::ZERO)
            .watch_cancel_line(false)
            .source(source.clone()),
    )
    .expect("a valid config")
}

// ---------------------------------------------------------------------------
// 1. CancelToken: cancel racing a callback's registration, and the breaker's
//    cancel racing a job's registration and deregistration.
// ---------------------------------------------------------------------------

/// `cancel()` on one thread races `on_cancel()` on another: the callback
/// runs exactly once, whichever comes first (never lost between the flag
/// and the lock, never run twice), and a thread that saw the winning
/// `cancel()` return sees `is_cancelled()` and the callback already run.
/// A second `cancel()` races the first: exactly one of them reports that
/// it cancelled. (The losing call returns at once, possibly before the
/// winner's callbacks ran: an earlier version of this model asserted the
/// callback had run after either call returned, and loom found the
/// interleaving where it had not.)
#[test]
fn cancel_races_a_callback_being_added() {
    builder().check(|| {
        let token = CancelToken::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let cancel_returned = Arc::new(AtomicBool::new(false));

        let adder = {
            let (token, ran, cancel_returned) =
                (token.clone(), ran.clone(), cancel_returned.clone());
            thread::spawn(move || {
                let counter = ran.clone();
                token.on_cancel(move || {
                    counter.fetch_add(1, SeqCst);
                });
                if cancel_returned.load(SeqCst) {
                    // `on_cancel` and the winning `cancel` have returned:
                    // the callback ran, once.
                    assert!(token.is_cancelled(), "cancel returned, flag not seen");
                    assert_eq!(ran.load(SeqCst), 1, "callback not run once");
                }
            })
        };
        let canceller = {
            let (token, cancel_returned) = (token.clone(), cancel_returned.clone());
            thread::spawn(move || {
                let cancelled = token.cancel();
                // Only the call that cancelled has run the callbacks when
                // it returns: a losing call returns at once.
                cancel_returned.store(cancelled, SeqCst);
                cancelled
            })
        };
        let again = token.cancel();
        adder.join().unwrap();
        let first = canceller.join().unwrap();
        assert!(first != again, "both or neither cancel reported cancelling");
        assert!(token.is_cancelled());
        assert_eq!(
            ran.load(SeqCst),
            1,
            "the callback ran {} times",
            ran.load(SeqCst)
        );
    });
}

/// What the job saw and did, for the checks after joining.
struct JobSide {
    /// `is_cancelled()` right after its registration was dropped
    /// (deregistration returned).
    cancelled_at_deregistration: bool,
}

/// A job registers with the breaker, adds a cancel callback and
/// deregisters, while the refresher's tick (past the cancel line) cancels
/// the largest registered job. The breaker cancels the job only while it
/// is registered: once its deregistration has returned without seeing a
/// cancel, the job is never cancelled. Its callback runs exactly once if
/// the token ends cancelled and never otherwise. The breaker runs callbacks
/// after letting go of the jobs' lock (a callback may end the job), so a
/// callback may run after the deregistration returned; then the job saw the
/// cancel at its deregistration (the cancel was made under the lock before
/// it). The last is checked to happen in some execution.
#[test]
fn the_breaker_cancels_a_job_racing_its_registration_and_deregistration() {
    static LATE_CALLBACK_SEEN: std::sync::atomic::AtomicBool =
        std::sync::atomic::AtomicBool::new(false);
    builder().check(|| {
        let source = ManualSource::new(960);
        let breaker = Arc::new(breaker(&source));
        // At the cancel level before the job exists: the tick below only
        // cancels.
        assert_eq!(breaker.refresh(), PressureLevel::Cancel);
        let account = Account::new("job");
        let token = CancelToken::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let deregistered = Arc::new(AtomicBool::new(false));
        let late = Arc::new(AtomicBool::new(false));

        let job = {
            let (breaker, token, ran, deregistered, late) = (
                breaker.clone(),
                token.clone(),
                ran.clone(),
                deregistered.clone(),
                late.clone(),
            );
            thread::spawn(move || {
                let registration = breaker.register_job("job", &account, token.clone());
                let flag = deregistered.clone();
                token.on_cancel(move || {
                    ran.fetch_add(1, SeqCst);
                    late.store(flag.load(SeqCst), SeqCst);
                });
                drop(registration);
                let seen = token.is_cancelled();
                deregistered.store(true, SeqCst);
                JobSide {
                    cancelled_at_deregistration: seen,
                }
            })
        };
        let tick = {
            let breaker = breaker.clone();
            thread::spawn(move || breaker.refresh())
        };
        let side = job.join().unwrap();
        assert_eq!(tick.join().unwrap(), PressureLevel::Cancel);
        let cancelled = token.is_cancelled();
        let runs = ran.load(SeqCst);
        assert_eq!(
            runs,
            usize::from(cancelled),
            "callback ran {runs} times, token cancelled: {cancelled}"
        );
        if !side.cancelled_at_deregistration {
            assert!(!cancelled, "cancelled after its deregistration returned");
        }
        if late.load(SeqCst) {
            assert!(
                side.cancelled_at_deregistration,
                "a callback ran after deregistration, which saw no cancel"
            );
            LATE_CALLBACK_SEEN.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        assert_eq!(breaker.jobs_registered(), 0);
    });
    assert!(
        LATE_CALLBACK_SEEN.load(std::sync::atomic::Ordering::Relaxed),
        "no execution ran the callback after deregistration (the model explores less than it should)"
    );
}

// ---------------------------------------------------------------------------
// 2. The published pressure level: one writer, readers loading.
// ---------------------------------------------------------------------------

/// The readings the writer applies, and the level each publishes. Warn is
/// skipped on the way up (a reader must never see it) and the level falls
/// back to Normal at the end, so "never older" is by position, not by
/// severity.
const READINGS: [(u64, PressureLevel); 3] = [
    (800, PressureLevel::Refuse),
    (960, PressureLevel::Cancel),
    (100, PressureLevel::Normal),
];

/// The levels published, in order, the initial one first.
fn written() -> [PressureLevel; 4] {
    [
        PressureLevel::Normal,
        READINGS[0].1,
        READINGS[1].1,
        READINGS[2].1,
    ]
}

/// The position in [`written`] of `level` at or after `from`: the reader
/// saw a level that was written, no older than the last it saw.
fn position(level: PressureLevel, from: usize, seen: &[PressureLevel]) -> usize {
    written()
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, written)| **written == level)
        .map(|(index, _)| index)
        .unwrap_or_else(|| {
            panic!("read {level} after {seen:?}: not written, or older than one seen")
        })
}

/// One writer (the refresher) applies readings that move the level
/// Normal -> Refuse -> Cancel -> Normal while another thread loads
/// `pressure()` three times: each load is a level that was written, never
/// older than one it loaded before; once the writer is joined, every load
/// sees the last level.
#[test]
fn readers_see_the_published_levels_in_order() {
    builder().check(|| {
        let source = ManualSource::new(0);
        let breaker = Arc::new(breaker(&source));
        let writer = {
            let breaker = breaker.clone();
            thread::spawn(move || {
                for (total, level) in READINGS {
                    source.set(total);
                    assert_eq!(breaker.refresh(), level);
                }
            })
        };
        let reader = {
            let breaker = breaker.clone();
            thread::spawn(move || {
                let (mut seen, mut at) = (Vec::new(), 0);
                for _ in 0..3 {
                    let level = breaker.pressure();
                    at = position(level, at, &seen);
                    seen.push(level);
                }
            })
        };
        writer.join().unwrap();
        let last = written()[3];
        assert_eq!(breaker.pressure(), last, "a load after the join");
        reader.join().unwrap();
        assert_eq!(breaker.pressure(), last);
    });
}

/// Two steps race to apply one reading past the cancel line (the
/// refresher's tick and a `check()`, both of which move the state and the
/// level by compare-and-swap): the breaker trips once and the level rises
/// once (one `Tripped` event, one `Level { Normal -> Cancel }`), never
/// twice or torn, and once both are joined every load sees `Cancel` and
/// the state `Refusing`. Each purges first (the default hook, which frees
/// nothing here); a step made while the other purges defers to it (the
/// tick returns `Normal`, the level as it stands, or the check passes).
#[test]
fn two_steps_racing_move_the_level_once() {
    builder().check(|| {
        let source = ManualSource::new(0);
        let breaker = Arc::new(breaker(&source));
        let events = breaker.subscribe();
        source.set(960);
        let tick = {
            let breaker = breaker.clone();
            thread::spawn(move || breaker.refresh())
        };
        let refused = breaker.check().is_err();
        let ticked = tick.join().unwrap();
        assert!(
            (ticked, refused) == (PressureLevel::Cancel, true)
                || (ticked, refused) == (PressureLevel::Normal, true)
                || (ticked, refused) == (PressureLevel::Cancel, false),
            "tick {ticked:?}, check refused: {refused}: one defers to the other's purge or neither does, never both"
        );
        assert_eq!(breaker.pressure(), PressureLevel::Cancel);
        assert_eq!(breaker.state(), BreakerState::Refusing);
        let (mut trips, mut rises) = (0, 0);
        while let Ok(event) = events.try_recv() {
            match event {
                BreakerEvent::Tripped(_) => trips += 1,
                BreakerEvent::Level { from, to, .. } => {
                    assert_eq!((from, to), (PressureLevel::Normal, PressureLevel::Cancel));
                    rises += 1;
                }
                _ => {}
            }
        }
        assert_eq!((trips, rises), (1, 1), "trips and level changes published");
    });
}

// ---------------------------------------------------------------------------
// 3. The reservation ledger: reserve, settle, release racing check().
// ---------------------------------------------------------------------------

/// Reserved bytes as a reading: never past the trip line (800 bytes: the
/// ledger grants only below it), so never wrapped below zero either.
fn assert_in_range(reserved: u64) {
    assert!(
        reserved < 800,
        "reserved {reserved}: past the trip line, or underflowed"
    );
}

/// Two reservations are made, partly settled (shrunk as the work's own
/// allocations become counted) and released, on two threads, while the
/// main thread checks and reads the reserved bytes: every reading is in
/// range (never negative or wrapped, never past the trip line), and once
/// both are joined nothing is reserved.
#[test]
fn reservations_settle_and_release_racing_a_check() {
    builder().check(|| {
        let source = ManualSource::new(0);
        let breaker = Arc::new(breaker(&source));
        let spawn = |bytes: u64, settle: u64| {
            let breaker = breaker.clone();
            thread::spawn(move || {
                let mut reservation = breaker.try_reserve(bytes).expect("room for both");
                reservation.shrink(settle);
                assert_in_range(breaker.reserved());
                drop(reservation);
            })
        };
        let one = spawn(300, 100);
        let two = spawn(400, 400);
        let usage = breaker.check().expect("nothing near the line");
        assert_in_range(usage.reserved());
        assert_in_range(breaker.reserved());
        one.join().unwrap();
        two.join().unwrap();
        assert_eq!(breaker.reserved(), 0, "bytes left reserved");
        assert_eq!(breaker.check().expect("accepting").reserved(), 0);
    });
}

/// A child breaker's reservation is released while the child itself is
/// dropped (its handle hands what it holds back to its parent): the
/// parent gets the bytes back exactly once, whichever comes first, and is
/// never read with more reserved than was taken, or wrapped below zero;
/// after joining, nothing is reserved in the parent.
#[test]
fn a_childs_release_races_its_drop() {
    builder().check(|| {
        let source = ManualSource::new(0);
        let parent = Arc::new(breaker(&source));
        let child = parent
            .child(
                BreakerConfig::new(Budget::Bytes(1000))
                    .min_state_duration(Duration::ZERO)
                    .source(source.clone()),
            )
            .expect("a valid child");
        let reservation = child.try_reserve(300).expect("room");
        assert_eq!(parent.reserved(), 300);
        let releaser = thread::spawn(move || drop(reservation));
        let dropper = thread::spawn(move || drop(child));
        let reserved = parent.reserved();
        assert!(
            reserved == 300 || reserved == 0,
            "parent reads {reserved} reserved"
        );
        releaser.join().unwrap();
        dropper.join().unwrap();
        assert_eq!(
            parent.reserved(),
            0,
            "bytes left reserved, or released twice"
        );
    });
}

// ---------------------------------------------------------------------------
// 5. The purge: a reading the purge may make obsolete decides nothing.
// ---------------------------------------------------------------------------

/// A reading loom sees: set by the purge hook and read by the racing
/// threads, so loom places each reading before or after the purge (a
/// [`ManualSource`] is std's, and loom would see no race on it).
#[derive(Clone)]
struct ModelSource(Arc<AtomicU64>);

impl MemorySource for ModelSource {
    fn used_bytes(&self) -> Result<u64, SourceError> {
        Ok(self.0.load(SeqCst))
    }

    fn name(&self) -> &'static str {
        "model"
    }
}

/// A breaker at `bytes` of 1000 whose purge hook brings the reading to
/// 500, on a manual clock that never moves (so a purge is due once, and a
/// running one may be deferred to), holding a trip for a minute; and the
/// count of the hook's calls.
fn purging_breaker(bytes: u64) -> (MemoryBreaker, Arc<AtomicUsize>) {
    let source = ModelSource(Arc::new(AtomicU64::new(bytes)));
    let purges = Arc::new(AtomicUsize::new(0));
    let (purged, count) = (source.clone(), purges.clone());
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(1000))
            .min_state_duration(Duration::from_secs(60))
            .clock(ManualClock::new())
            .watch_cancel_line(false)
            .source(source)
            .purge_hook(move || {
                count.fetch_add(1, SeqCst);
                purged.0.store(500, SeqCst);
            }),
    )
    .expect("a valid config");
    (breaker, purges)
}

/// Two checks at 900 race: one purges, and wherever the other's reading
/// and decision fall around that purge (before its claim, during the hook,
/// after its end), it neither trips the breaker nor is refused, and the
/// hook runs once (the clock never moves: one purge is due).
#[test]
fn a_check_racing_another_threads_purge_trips_nothing() {
    builder().check(|| {
        let (breaker, purges) = purging_breaker(900);
        let breaker = Arc::new(breaker);
        let other = {
            let breaker = breaker.clone();
            thread::spawn(move || breaker.check().is_ok())
        };
        let here = breaker.check().is_ok();
        assert!(other.join().unwrap() && here, "a check refused");
        assert_eq!(
            breaker.trips(),
            0,
            "tripped on a reading the purge replaced"
        );
        assert_eq!(breaker.state(), BreakerState::Accepting);
        assert_eq!(
            purges.load(SeqCst),
            1,
            "a purge within purge_interval of another"
        );
    });
}

/// The refresher's step at 990 (past the cancel line) races a check that
/// purges: the registered job is never cancelled on the reading the purge
/// replaces, and nothing trips.
#[test]
fn a_tick_racing_another_threads_purge_cancels_nothing() {
    builder().check(|| {
        let (breaker, _) = purging_breaker(990);
        let breaker = Arc::new(breaker);
        let token = CancelToken::new();
        let _job = breaker.register_job("job", &Account::new("job"), token.clone());
        let tick = {
            let breaker = breaker.clone();
            thread::spawn(move || breaker.refresh())
        };
        let checked = breaker.check().is_ok();
        let level = tick.join().unwrap();
        assert!(checked, "the check refused");
        assert!(!token.is_cancelled(), "a job cancelled on the old reading");
        assert_eq!(level, PressureLevel::Normal);
        assert_eq!(breaker.trips(), 0);
    });
}
