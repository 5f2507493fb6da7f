//! When the breaker refuses, the job stops cleanly and the report names the
//! users done and skipped (partial results, never a crash).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use demo_processor::{run_job, run_job_with, JobConfig, JobHooks, Mode, Progress, Status};
use heapguard_breaker::{
    BreakerConfig, Budget, ManualClock, ManualSource, MemoryBreaker, MemorySource, SourceError,
};

const BUDGET: u64 = 1 << 30;

fn breaker(source: impl MemorySource) -> MemoryBreaker {
    MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(BUDGET))
            .name("suggestions")
            .source(source)
            // No watcher thread: these tests count the source's readings.
            .watch_cancel_line(false)
            .no_purge(),
    )
    .expect("a valid breaker")
}

/// Reads 0 for its first `calm` readings, then 90% of the budget.
#[derive(Debug)]
struct PressureAfter {
    calm: u64,
    reads: Arc<AtomicU64>,
}

impl MemorySource for PressureAfter {
    fn used_bytes(&self) -> Result<u64, SourceError> {
        let read = self.reads.fetch_add(1, Ordering::Relaxed);
        Ok(if read < self.calm { 0 } else { BUDGET / 10 * 9 })
    }

    fn name(&self) -> &'static str {
        "pressure-after"
    }
}

#[test]
fn a_trip_between_users_keeps_the_users_done_and_names_the_rest() {
    let config = JobConfig::new(200, 5).unwrap().with_batch_size(2).unwrap();
    for mode in Mode::ALL {
        let config = config.clone().with_mode(mode);
        let memory = ManualSource::new(0);
        let breaker = breaker(memory.clone());
        // After the second user is done, memory is suddenly short.
        let squeeze = |p: Progress| {
            if p.users_done == 2 {
                memory.set(BUDGET / 10 * 9);
            }
        };
        let hooks = JobHooks {
            breaker: Some(&breaker),
            progress: Some(&squeeze),
            ..JobHooks::default()
        };
        let outcome = run_job_with(&config, hooks).unwrap();
        let report = &outcome.report;
        assert_eq!(report.status, Status::Partial, "{mode}");
        assert_eq!((report.users_done, report.users_skipped), (2, 3), "{mode}");
        assert_eq!(report.skipped_users, vec![2, 3, 4], "{mode}");
        assert_eq!(report.suggestions, 100, "{mode}");
        assert_eq!(report.breaker_trips, 1, "{mode}");
        let trip = report.trip.as_ref().expect("the trip is reported");
        assert_eq!(
            (trip.checkpoint.as_str(), trip.user_id),
            ("user", Some(2)),
            "{mode}"
        );
        assert_eq!(trip.limit_bytes, BUDGET);
        assert!((trip.percent - 90.0).abs() < 0.01, "{}", trip.percent);
        assert!(trip.message.contains("suggestions"), "{}", trip.message);
        // The users done are exactly what a full run computes for them.
        let full = run_job(&config).unwrap();
        assert_eq!(outcome.suggestions[..], full.suggestions[..2], "{mode}");
    }
}

#[test]
fn a_trip_between_chunks_skips_the_interrupted_user() {
    // Streaming, 1,000 contacts in chunks of 100: the job check, a user
    // check and 10 chunk checks for user 0, then user 1's check and 2 chunk
    // checks: the reading after these 15 refuses.
    let config = JobConfig::new(1_000, 3)
        .unwrap()
        .with_chunk_size(100)
        .unwrap()
        .with_mode(Mode::Streaming);
    let breaker = breaker(PressureAfter {
        calm: 1 + 11 + 3,
        reads: Arc::default(),
    });
    let hooks = JobHooks {
        breaker: Some(&breaker),
        ..JobHooks::default()
    };
    let report = run_job_with(&config, hooks).unwrap().report;
    assert_eq!(report.status, Status::Partial);
    assert_eq!(report.users_done, 1);
    assert_eq!(report.skipped_users, vec![1, 2]);
    let trip = report.trip.expect("the trip is reported");
    assert_eq!((trip.checkpoint.as_str(), trip.user_id), ("chunk", Some(1)));
}

#[test]
fn naive_refuses_a_user_whose_estimate_does_not_fit_before_loading_it() {
    // Naive, one user per batch: the job check, then each user's check and
    // reservation; user 1's reservation is the first reading past the line.
    let config = JobConfig::new(1_000, 3)
        .unwrap()
        .with_chunk_size(100)
        .unwrap()
        .with_batch_size(1)
        .unwrap()
        .with_mode(Mode::Naive);
    let breaker = breaker(PressureAfter {
        calm: 1 + 2 + 1,
        reads: Arc::default(),
    });
    let hooks = JobHooks {
        breaker: Some(&breaker),
        ..JobHooks::default()
    };
    let report = run_job_with(&config, hooks).unwrap().report;
    assert_eq!(report.status, Status::Partial);
    assert_eq!(report.users_done, 1);
    assert_eq!(report.skipped_users, vec![1, 2]);
    let trip = report.trip.expect("the refusal is reported");
    assert_eq!(
        (trip.checkpoint.as_str(), trip.user_id),
        ("reservation", Some(1))
    );
    assert_eq!(breaker.reserved(), 0, "every reservation was released");
}

#[test]
fn a_breaker_already_over_its_line_skips_every_user() {
    let breaker = breaker(ManualSource::new(BUDGET));
    let hooks = JobHooks {
        breaker: Some(&breaker),
        ..JobHooks::default()
    };
    let report = run_job_with(&JobConfig::new(100, 4).unwrap(), hooks)
        .unwrap()
        .report;
    assert_eq!(report.status, Status::Partial);
    assert_eq!((report.users_done, report.suggestions), (0, 0));
    assert_eq!(report.skipped_users, vec![0, 1, 2, 3]);
    assert_eq!(report.trip.expect("reported").checkpoint, "job");
    assert_eq!(report.budget_bytes, Some(BUDGET));
    assert_eq!(report.trip_threshold_bytes, Some(breaker.trip_bytes()));
    assert!(
        breaker.trip_bytes().abs_diff(BUDGET / 10 * 8) <= 8,
        "80% of the budget"
    );
}

#[test]
fn a_refusal_that_holds_back_says_for_how_long_rounded() {
    // Tripped before the job, then below the reset line 29.272609 ms into
    // the 1 s the breaker holds its state: the job's check is refused for
    // 970.727391 ms more, which the report says as a person reads it.
    let memory = ManualSource::new(BUDGET / 10 * 9);
    let clock = ManualClock::new();
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(BUDGET))
            .name("suggestions")
            .source(memory.clone())
            .clock(clock.clone())
            .watch_cancel_line(false)
            .no_purge(),
    )
    .expect("a valid breaker");
    assert!(breaker.check().is_err());
    memory.set(0);
    clock.advance(Duration::from_nanos(29_272_609));
    let hooks = JobHooks {
        breaker: Some(&breaker),
        ..JobHooks::default()
    };
    let report = run_job_with(&JobConfig::new(100, 2).unwrap(), hooks)
        .unwrap()
        .report;
    assert_eq!((report.users_done, report.status), (0, Status::Partial));
    let trip = report.trip.expect("reported");
    assert_eq!(trip.checkpoint, "job");
    assert!(
        trip.message.starts_with(
            "memory breaker `suggestions` is refusing new work for 971 ms more: \
             usage fell to 0.0% of its 1.0 GiB budget"
        ),
        "{}",
        trip.message
    );
}

#[test]
fn a_breaker_with_room_changes_nothing() {
    let breaker = breaker(ManualSource::new(0));
    let config = JobConfig::new(300, 3).unwrap();
    let hooks = JobHooks {
        breaker: Some(&breaker),
        ..JobHooks::default()
    };
    let guarded = run_job_with(&config, hooks).unwrap();
    assert_eq!(guarded.report.status, Status::Complete);
    assert_eq!(guarded.report.breaker_trips, 0);
    assert_eq!(guarded.suggestions, run_job(&config).unwrap().suggestions);
}
