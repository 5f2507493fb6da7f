//! Reservations: exact under concurrency, rolled back on refusal and on
//! panic, and counted up a hierarchy of breakers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use heapguard_breaker::testing::ManualSource;
use heapguard_breaker::{
    BreakerConfig, BreakerState, Budget, MemoryBreaker, Reservation, TripCause,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn breaker(limit: u64, memory: &ManualSource) -> MemoryBreaker {
    MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(limit))
            .name("process")
            .source(memory.clone())
            .min_state_duration(Duration::ZERO)
            .no_purge(),
    )
    .unwrap()
}

fn child(parent: &MemoryBreaker, name: &str, limit: u64) -> MemoryBreaker {
    parent
        .child(BreakerConfig::new(Budget::Bytes(limit)).name(name))
        .unwrap()
}

#[test]
fn granted_only_below_the_trip_line_and_refusals_leave_no_trace() {
    let memory = ManualSource::new(300);
    let breaker = breaker(1000, &memory);
    let first = breaker.try_reserve(499).unwrap();
    let refused = breaker.try_reserve(1).unwrap_err();
    assert_eq!(refused.breaker(), "process");
    assert!(matches!(
        refused.cause(),
        TripCause::Reservation { requested: 1 }
    ));
    assert_eq!((refused.used(), refused.reserved()), (300, 499));
    assert!(refused.to_string().contains("refused a reservation of 1 B"));
    assert_eq!(breaker.reserved(), 499);
    assert_eq!(
        breaker.state(),
        BreakerState::Accepting,
        "a refused reservation is no trip"
    );
    assert_eq!(breaker.check().unwrap().total(), 799);
    drop(first);
    assert_eq!(breaker.reserved(), 0);
}

#[test]
fn reservations_count_toward_the_trip_and_none_are_granted_while_refusing() {
    let memory = ManualSource::new(0);
    let breaker = breaker(1000, &memory);
    let held = breaker.try_reserve(500).unwrap();
    memory.set(300);
    assert!(breaker.check().is_err(), "300 used + 500 reserved = 80%");
    memory.set(250);
    assert!(
        breaker.try_reserve(1).is_err(),
        "750 is not below the reset line"
    );
    assert_eq!(breaker.reserved(), 500);
    drop(held);
    assert!(breaker.try_reserve(1).is_ok());
}

#[test]
fn grow_shrink_and_resize_are_exact() {
    let memory = ManualSource::new(0);
    let breaker = breaker(1000, &memory);
    let mut batch = breaker.try_reserve(100).unwrap();
    batch.grow(600).unwrap();
    assert!(batch.grow(100).is_err(), "800 is the line");
    assert_eq!((batch.bytes(), breaker.reserved()), (700, 700));
    batch.shrink(650);
    assert_eq!((batch.bytes(), breaker.reserved()), (50, 50));
    batch.resize(799).unwrap();
    assert!(batch.resize(800).is_err());
    batch.shrink(u64::MAX);
    assert_eq!((batch.bytes(), breaker.reserved()), (0, 0));
    assert_eq!(batch.breaker(), "process");
}

#[test]
fn reservations_are_released_on_panic() {
    let memory = ManualSource::new(0);
    let breaker = breaker(1000, &memory);
    let job = child(&breaker, "job", 500);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _batch = job.try_reserve(300).unwrap();
        assert_eq!(breaker.reserved(), 300);
        panic!("the job failed halfway");
    }));
    assert!(outcome.is_err());
    assert_eq!((job.reserved(), breaker.reserved()), (0, 0));
}

#[test]
fn a_refusal_names_the_breaker_that_refused() {
    let memory = ManualSource::new(0);
    let process = breaker(10_000, &memory);
    let job = child(&process, "job-7", 1_000);
    let held = job.try_reserve(700).unwrap();
    assert_eq!((job.reserved(), process.reserved()), (700, 700));

    // The child's own line.
    let refused = job.try_reserve(200).unwrap_err();
    assert_eq!(refused.breaker(), "job-7");
    assert_eq!((job.reserved(), process.reserved()), (700, 700));

    // The parent's line: room for the child, none for the process.
    memory.set(7_250);
    let refused = job.try_reserve(50).unwrap_err();
    assert_eq!(refused.breaker(), "process");
    assert_eq!((job.reserved(), process.reserved()), (700, 700));

    // The parent tripped: the child's checks fail, naming the parent.
    memory.set(7_500);
    assert_eq!(job.check().unwrap_err().breaker(), "process");
    memory.set(0);
    assert_eq!(job.check().unwrap().breaker(), "job-7");
    drop(held);
    assert_eq!(process.reserved(), 0);
}

#[test]
fn dropping_a_child_returns_its_reservations_to_the_parent() {
    let memory = ManualSource::new(0);
    let process = breaker(10_000, &memory);
    let job = child(&process, "job", 5_000);
    let request = job
        .child(BreakerConfig::new(Budget::Bytes(1_000)).name("request"))
        .unwrap();
    let mut by_request = request.try_reserve(400).unwrap();
    let by_job = job.try_reserve(1_000).unwrap();
    assert_eq!(
        (request.reserved(), job.reserved(), process.reserved()),
        (400, 1_400, 1_400)
    );

    drop(job);
    assert_eq!(process.reserved(), 0, "the job's bytes went back at once");
    assert_eq!(request.reserved(), 400);
    // What still points into the released job neither grows nor double-releases.
    assert!(matches!(
        by_request.grow(1).unwrap_err().cause(),
        TripCause::Released
    ));
    assert_eq!(process.reserved(), 0);
    drop(by_request);
    drop(by_job);
    assert_eq!((request.reserved(), process.reserved()), (0, 0));
    assert!(process.try_reserve(7_999).is_ok());
}

/// Random reservations, growths, shrinks and drops from four threads, while
/// a watcher samples the reserved bytes: they never pass the room left, the
/// books balance at the end, nothing goes negative. Each worker waits halfway
/// for a whole sample, so the watcher sampled while reservations were in
/// flight however the threads were scheduled.
#[test]
fn concurrent_reservations_never_pass_the_line_and_roll_back_exactly() {
    const THREADS: u64 = 4;
    const USED: u64 = 2_000;
    let memory = ManualSource::new(USED);
    let process = breaker(100_000, &memory);
    let jobs: Vec<MemoryBreaker> = (0..2)
        .map(|index| child(&process, &format!("job-{index}"), 20_000))
        .collect();
    let room = process.trip_bytes() - USED; // grants keep reserved below this
    let job_room = jobs[0].trip_bytes();
    let done = AtomicBool::new(false);
    let samples = AtomicU64::new(0);

    std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let _stop = StopOnDrop(&done);
            loop {
                let reserved = process.reserved();
                assert!(reserved < room, "{reserved} reserved, room {room}");
                for job in &jobs {
                    assert!(job.reserved() < job_room);
                }
                samples.fetch_add(1, SeqCst);
                if done.load(SeqCst) {
                    break;
                }
            }
        });
        let workers: Vec<_> = (0..THREADS)
            .map(|seed| {
                let (process, jobs) = (&process, &jobs);
                let (done, samples) = (&done, &samples);
                scope.spawn(move || {
                    let _stop = StopOnDrop(done);
                    let mut rng = StdRng::seed_from_u64(seed);
                    let mut held: Vec<Reservation> = Vec::new();
                    let mut watched = false;
                    for step in 0..20_000 {
                        if step == 10_000 {
                            watched = wait_for_a_whole_iteration(samples, done);
                        }
                        let target = match rng.random_range(0..3) {
                            0 => process,
                            index => &jobs[index - 1],
                        };
                        match rng.random_range(0..10) {
                            0..=3 => {
                                if let Ok(reservation) =
                                    target.try_reserve(rng.random_range(0..3_000))
                                {
                                    held.push(reservation);
                                }
                            }
                            4 | 5 if !held.is_empty() => {
                                let index = rng.random_range(0..held.len());
                                let _ = held[index].grow(rng.random_range(1..2_000));
                            }
                            6 if !held.is_empty() => {
                                let index = rng.random_range(0..held.len());
                                held[index].shrink(rng.random_range(0..2_000));
                            }
                            _ if !held.is_empty() => {
                                let index = rng.random_range(0..held.len());
                                drop(held.swap_remove(index));
                            }
                            _ => {}
                        }
                    }
                    (held, watched)
                })
            })
            .collect();
        let (held, watched): (Vec<_>, Vec<_>) = workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .unzip();
        let samples_while_working = samples.load(SeqCst);
        done.store(true, SeqCst);
        watcher.join().unwrap(); // first, so its own failure is the one reported
        assert_eq!(watched, [true; THREADS as usize], "sampled while halfway");
        assert!(
            samples_while_working >= 2,
            "{samples_while_working} samples"
        );
        let held: Vec<Reservation> = held.into_iter().flatten().collect();

        // Quiescent: the books balance exactly.
        let total: u64 = held.iter().map(Reservation::bytes).sum();
        assert_eq!(process.reserved(), total);
        for job in &jobs {
            let name = job.name();
            let mine: u64 = held
                .iter()
                .filter(|r| r.breaker() == name)
                .map(Reservation::bytes)
                .sum();
            assert_eq!(job.reserved(), mine);
        }
        drop(held);
    });
    assert_eq!(process.reserved(), 0);
    assert!(jobs.iter().all(|job| job.reserved() == 0));
}

/// With the reading moving under the reservations, the overshoot is bounded
/// by what the reading moved: reserved bytes stay below the room left at the
/// lowest reading. Each worker waits halfway for a whole move of the reading,
/// so it reserves under more than one reading however the threads were
/// scheduled.
#[test]
fn a_moving_reading_bounds_the_overshoot() {
    let memory = ManualSource::new(30_000);
    let process = breaker(100_000, &memory);
    let lowest_room = process.trip_bytes() - 30_000;
    let done = AtomicBool::new(false);
    let moves = AtomicU64::new(0);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut rng = StdRng::seed_from_u64(99);
            loop {
                memory.set(rng.random_range(30_000..50_000));
                moves.fetch_add(1, SeqCst);
                if done.load(SeqCst) {
                    break;
                }
            }
        });
        let workers: Vec<_> = (0..3)
            .map(|seed| {
                let (process, done, moves) = (&process, &done, &moves);
                scope.spawn(move || {
                    let _stop = StopOnDrop(done);
                    let mut rng = StdRng::seed_from_u64(seed);
                    let mut held = Vec::new();
                    let mut moved = false;
                    for step in 0..20_000 {
                        if step == 10_000 {
                            moved = wait_for_a_whole_iteration(moves, done);
                        }
                        if rng.random_bool(0.6) {
                            if let Ok(r) = process.try_reserve(rng.random_range(1..5_000)) {
                                held.push(r);
                            }
                        } else if !held.is_empty() {
                            drop(held.swap_remove(rng.random_range(0..held.len())));
                        }
                        assert!(process.reserved() < lowest_room);
                    }
                    moved
                })
            })
            .collect();
        for worker in workers {
            let moved = worker.join().unwrap();
            assert!(moved, "the reading moved while this worker was halfway");
        }
        let moves_while_working = moves.load(SeqCst);
        done.store(true, SeqCst);
        assert!(moves_while_working >= 2, "{moves_while_working} moves");
    });
    assert_eq!(process.reserved(), 0);
}

/// Waits until a helper thread that bumps `iterations` after each iteration
/// has run one whole iteration after this call began (two bumps: the first
/// may end one already under way). False if `done` was set first, which only
/// a panicking thread does before the workers finish.
fn wait_for_a_whole_iteration(iterations: &AtomicU64, done: &AtomicBool) -> bool {
    let start = iterations.load(SeqCst);
    while iterations.load(SeqCst) < start + 2 {
        if done.load(SeqCst) {
            return false;
        }
        std::thread::yield_now();
    }
    true
}

/// Stops the other threads when a worker panics, so a failed assertion
/// fails the test instead of hanging it.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, SeqCst);
        }
    }
}

#[test]
fn breakers_reservations_and_refusals_cross_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<MemoryBreaker>();
    assert_send_sync::<Reservation>();
    assert_send_sync::<heapguard_breaker::Tripped>();
    let error: Box<dyn std::error::Error + Send + Sync> = Box::new(
        breaker(100, &ManualSource::new(0))
            .try_reserve(100)
            .unwrap_err(),
    );
    assert!(error.to_string().contains("`process`"));
}
