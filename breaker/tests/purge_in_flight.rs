//! Readings a purge makes obsolete: a check or tick on one thread while
//! another purges, or just after it purged, decides nothing on its old
//! reading; but the breaker keeps enforcing at the whole budget, past
//! `MAX_DEFER` (100 ms) of a slow purge, and after a purge whose reading
//! panicked.
//!
//! The tests step one breaker over a manual clock and a settable reading,
//! most from two threads: the purge hook (or the source) stops at a point
//! the test chose until the test lets it go on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Duration;

use heapguard_alloc::Account;
use heapguard_breaker::testing::{ManualClock, ManualSource};
use heapguard_breaker::{
    BreakerConfig, BreakerState, Budget, CancelToken, MemoryBreaker, MemorySource, PressureLevel,
    SourceError, TripCause,
};

/// The budget: trip line 800, cancel line 950.
const LIMIT: u64 = 1000;

/// Waits for a signal from a thread the test stopped, or fails.
fn wait(signal: &mpsc::Receiver<()>) {
    signal
        .recv_timeout(Duration::from_secs(30))
        .expect("the stopped thread got there");
}

/// A breaker over `source` (and `clock`) whose purge hook, on its first
/// call, says it has started, waits until `finish` is sent or dropped, then
/// sets `memory` to `after`. A minute's `min_state_duration`, so a trip
/// holds for the rest of the test.
struct SlowPurge {
    breaker: MemoryBreaker,
    started: mpsc::Receiver<()>,
    finish: mpsc::Sender<()>,
    purges: Arc<AtomicUsize>,
}

fn slow_purge(
    source: impl MemorySource,
    memory: &ManualSource,
    clock: &ManualClock,
    after: u64,
) -> SlowPurge {
    let (started_tx, started) = mpsc::channel();
    let (finish, finish_rx) = mpsc::channel::<()>();
    let finish_rx = Mutex::new(finish_rx);
    let purges = Arc::new(AtomicUsize::new(0));
    let (purge_memory, count) = (memory.clone(), purges.clone());
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(LIMIT))
            .name("test")
            .source(source)
            .clock(clock.clone())
            .min_state_duration(Duration::from_secs(60))
            .watch_cancel_line(false)
            .purge_hook(move || {
                if count.fetch_add(1, SeqCst) == 0 {
                    let _ = started_tx.send(());
                    let finish = finish_rx.lock().unwrap_or_else(PoisonError::into_inner);
                    // A failed test drops `finish`: go on at once.
                    let _ = finish.recv_timeout(Duration::from_secs(30));
                }
                purge_memory.set(after);
            }),
    )
    .unwrap();
    SlowPurge {
        breaker,
        started,
        finish,
        purges,
    }
}

/// Why a check refused, in short.
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    OverThreshold,
    Held,
    Other,
}

/// A check's reading, or why it refused.
fn used(breaker: &MemoryBreaker) -> Result<u64, Refused> {
    breaker
        .check()
        .map(|usage| usage.used())
        .map_err(|tripped| match tripped.cause() {
            TripCause::OverThreshold => Refused::OverThreshold,
            TripCause::MinStateDuration { .. } => Refused::Held,
            _ => Refused::Other,
        })
}

/// Runs `during` on this thread while another thread's check, at
/// `before` bytes, purges with a hook that stops until `during` has
/// returned and then sets the reading to `after`. Returns the breaker, what
/// `during` returned, and the purging check's result.
fn while_another_thread_purges<R>(
    before: u64,
    after: u64,
    during: impl FnOnce(&MemoryBreaker, &ManualClock) -> R,
) -> (MemoryBreaker, R, Result<u64, Refused>) {
    let (memory, clock) = (ManualSource::new(before), ManualClock::new());
    let SlowPurge {
        breaker,
        started,
        finish,
        ..
    } = slow_purge(memory.clone(), &memory, &clock, after);
    let (during, purged) = std::thread::scope(|scope| {
        // Dropped if `during` fails, so the purge goes on at once.
        let finish = finish;
        let purging = scope.spawn(|| used(&breaker));
        wait(&started);
        let during = during(&breaker, &clock);
        finish.send(()).unwrap();
        (during, purging.join().unwrap())
    });
    (breaker, during, purged)
}

#[test]
fn a_check_while_another_thread_purges_does_not_trip_on_the_reading_the_purge_replaces() {
    // 900 of 1000 is past the trip line; the purge brings it to 500.
    let (breaker, (), purged) = while_another_thread_purges(900, 500, |breaker, _| {
        assert_eq!(used(breaker), Ok(900), "the state as it stands");
        assert_eq!(
            (breaker.trips(), breaker.state()),
            (0, BreakerState::Accepting)
        );
        assert_eq!(breaker.pressure(), PressureLevel::Normal, "no level moved");
    });
    assert_eq!(purged, Ok(500), "the purger read again");
    // Before, the check above tripped on 900 and `min_state_duration` held
    // the breaker refusing at 500.
    assert_eq!(used(&breaker), Ok(500));
    assert_eq!((breaker.trips(), breaker.refusals()), (0, 0));
}

#[test]
fn a_tick_while_another_thread_purges_cancels_no_job() {
    // 990 of 1000 is past the cancel line; the purge brings it to 500.
    let token = CancelToken::new();
    let (breaker, _job, purged) = while_another_thread_purges(990, 500, |breaker, _| {
        let job = breaker.register_job("report", &Account::new("report"), token.clone());
        // The refresher's step, on the reading the purge replaces.
        let level = breaker.refresh();
        assert!(!token.is_cancelled(), "no job cancelled on the old reading");
        assert_eq!(level, PressureLevel::Normal);
        assert!(
            breaker.reading_age().is_some(),
            "the tick's reading was good"
        );
        job
    });
    assert_eq!(purged, Ok(500));
    assert_eq!(breaker.refresh(), PressureLevel::Normal);
    assert!(!token.is_cancelled());
    assert_eq!(breaker.trips(), 0);
}

/// A settable reading whose next read, once armed, stops after it is
/// taken (saying so) until the test lets it return: a thread that read
/// before a purge and is slow to decide.
#[derive(Clone)]
struct StopsOneRead {
    memory: ManualSource,
    armed: Arc<AtomicBool>,
    taken: Arc<Mutex<Option<mpsc::Sender<()>>>>,
    go: Arc<Mutex<mpsc::Receiver<()>>>,
}

impl MemorySource for StopsOneRead {
    fn used_bytes(&self) -> Result<u64, SourceError> {
        let bytes = self.memory.used_bytes()?;
        if self.armed.swap(false, SeqCst) {
            if let Some(taken) = self.taken.lock().unwrap().take() {
                let _ = taken.send(());
            }
            let go = self.go.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = go.recv_timeout(Duration::from_secs(30));
        }
        Ok(bytes)
    }

    fn name(&self) -> &'static str {
        "stops-one-read"
    }
}

#[test]
fn a_reading_taken_before_a_purge_that_has_ended_is_taken_again() {
    let (memory, clock) = (ManualSource::new(900), ManualClock::new());
    let (taken_tx, taken) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    let source = StopsOneRead {
        memory: memory.clone(),
        armed: Arc::new(AtomicBool::new(false)),
        taken: Arc::new(Mutex::new(Some(taken_tx))),
        go: Arc::new(Mutex::new(go_rx)),
    };
    let armed = source.armed.clone();
    let SlowPurge {
        breaker,
        finish,
        purges,
        ..
    } = slow_purge(source, &memory, &clock, 500);
    drop(finish); // the purge does not wait
    std::thread::scope(|scope| {
        let go = go;
        armed.store(true, SeqCst);
        // A tick (one reading) reads 900, then stops before deciding.
        let slow = scope.spawn(|| breaker.refresh());
        wait(&taken);
        // Meanwhile this thread purges (900 -> 500) and is done.
        assert_eq!(used(&breaker), Ok(500));
        assert_eq!(purges.load(SeqCst), 1);
        go.send(()).unwrap();
        // Before, the tick found the purge not due and tripped on its 900,
        // held for a minute.
        assert_eq!(slow.join().unwrap(), PressureLevel::Normal, "it read again");
    });
    assert_eq!(
        (breaker.trips(), breaker.state()),
        (0, BreakerState::Accepting)
    );
    assert_eq!(purges.load(SeqCst), 1, "one purge, not one a thread");
}

#[test]
fn a_reading_at_the_whole_budget_trips_even_while_another_thread_purges() {
    let (breaker, (), purged) = while_another_thread_purges(LIMIT, 500, |breaker, _| {
        assert_eq!(used(breaker), Err(Refused::OverThreshold));
    });
    assert_eq!(breaker.trips(), 1);
    assert_eq!(
        purged,
        Err(Refused::Held),
        "500 after the purge, held refusing"
    );
}

#[test]
fn a_purge_running_past_the_deferral_limit_defers_nothing() {
    let (breaker, (), purged) = while_another_thread_purges(900, 500, |breaker, clock| {
        clock.advance(Duration::from_millis(99));
        assert_eq!(used(breaker), Ok(900), "deferred for 99 ms");
        clock.advance(Duration::from_millis(1));
        assert_eq!(used(breaker), Err(Refused::OverThreshold), "not at 100");
    });
    assert_eq!(breaker.trips(), 1);
    assert_eq!(purged, Err(Refused::Held));
}

/// A settable reading that panics on the read after the purge hook arms it.
#[derive(Clone)]
struct PanicsAfterPurge {
    memory: ManualSource,
    armed: Arc<AtomicBool>,
}

impl MemorySource for PanicsAfterPurge {
    fn used_bytes(&self) -> Result<u64, SourceError> {
        if self.armed.swap(false, SeqCst) {
            panic!("the source failed after the purge");
        }
        self.memory.used_bytes()
    }

    fn name(&self) -> &'static str {
        "panics-after-purge"
    }
}

#[test]
fn a_purge_whose_reading_panicked_has_ended() {
    let (memory, clock) = (ManualSource::new(900), ManualClock::new());
    let armed = Arc::new(AtomicBool::new(false));
    let source = PanicsAfterPurge {
        memory: memory.clone(),
        armed: armed.clone(),
    };
    let purges = Arc::new(AtomicUsize::new(0));
    let count = purges.clone();
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(LIMIT))
            .source(source)
            .clock(clock.clone())
            .watch_cancel_line(false)
            .purge_hook(move || {
                if count.fetch_add(1, SeqCst) == 0 {
                    armed.store(true, SeqCst);
                }
            }),
    )
    .unwrap();
    let panicked = catch_unwind(AssertUnwindSafe(|| breaker.check().is_ok()));
    assert!(panicked.is_err(), "the reading after the purge panicked");
    // Once due again, the next reading past the line purges (the first
    // purge ended when it unwound) and trips on 900.
    clock.advance(Duration::from_secs(1));
    assert_eq!(used(&breaker), Err(Refused::OverThreshold));
    assert_eq!((purges.load(SeqCst), breaker.trips()), (2, 1));
}
