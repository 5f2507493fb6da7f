//! Naive mode under a budget: each user's estimate bounds what it holds,
//! the job reserves it before the work and stops with partial results when
//! it does not fit, and a user past the cancel line is cancelled and listed.
//!
//! The counting allocator is installed, so reports carry exact peaks and the
//! breaker reads live heap bytes. The figures are the CLI's acceptance runs
//! (1,000,000 contacts under 2 GiB; 100,000 x 3 under half of naive's peak)
//! scaled down by one factor in contacts and bytes, so a debug build runs
//! them in seconds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use demo_processor::estimate::NaiveEstimate;
use demo_processor::generate::user_profile;
use demo_processor::{run_job, run_job_with, JobConfig, JobHooks, JobReport, Mode, Status};
use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker, MemorySource, SourceError};

#[global_allocator]
static GLOBAL: heapguard_alloc::CountingAlloc<heapguard_alloc::Jemalloc> =
    heapguard_alloc::CountingAlloc::new(heapguard_alloc::Jemalloc);

fn naive(contacts: u32, users: u32) -> JobConfig {
    JobConfig::new(contacts, users)
        .unwrap()
        .with_mode(Mode::Naive)
        .with_seed(42)
}

fn run_under(config: &JobConfig, budget: u64) -> JobReport {
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(budget))
            .name("suggestions")
            .no_purge(),
    )
    .expect("the counting allocator is installed");
    let hooks = JobHooks {
        breaker: Some(&breaker),
        ..JobHooks::default()
    };
    run_job_with(config, hooks).unwrap().report
}

#[test]
fn the_estimate_bounds_each_users_measured_peak() {
    for contacts in [2_000u32, 10_000] {
        // One user per batch: each user's account peak is its own work alone.
        let config = naive(contacts, 2).with_batch_size(1).unwrap();
        let report = run_job(&config).unwrap().report;
        assert_eq!(report.status, Status::Complete);
        for user in &report.users {
            let slots = user_profile(42, user.user_id).slots.len();
            let estimate = NaiveEstimate::for_user(contacts, slots).peak_bytes();
            let measured = user.peak_bytes;
            assert!(
                estimate >= measured,
                "{contacts} contacts, user {}: estimate {estimate} below measured {measured}",
                user.user_id
            );
            if contacts >= 10_000 {
                assert!(
                    estimate as f64 <= measured as f64 * 1.25,
                    "{contacts} contacts, user {}: estimate {estimate} over 125% of measured {measured}",
                    user.user_id
                );
            }
        }
    }
}

#[test]
fn one_user_larger_than_the_budget_stops_before_passing_it() {
    // 1,000,000 contacts under 2 GiB, scaled by 1/100: 10,000 under 20.5 MiB.
    let budget = (2u64 << 30) / 100;
    let config = naive(10_000, 1);
    let report = run_under(&config, budget);
    assert!(
        report.peak_bytes <= budget,
        "peak {} over the budget {budget}",
        report.peak_bytes
    );
    assert!(
        matches!(report.status, Status::Partial | Status::Cancelled),
        "{:?}",
        report.status
    );
    assert_eq!(report.users_done, 0);
    let trip = report.trip.expect("the refusal is reported");
    assert_eq!(trip.checkpoint, "reservation", "refused before building");
    // Without a budget the same job completes, well past that budget.
    let free = run_job(&config).unwrap().report;
    assert_eq!(free.status, Status::Complete);
    assert!(free.peak_bytes > budget, "{}", free.peak_bytes);
}

#[test]
fn three_users_under_half_of_naives_peak_stop_before_passing_it() {
    // 100,000 x 3 scaled by 1/20: 5,000 x 3.
    let config = naive(5_000, 3);
    let free = run_job(&config).unwrap().report;
    assert_eq!(free.status, Status::Complete);
    let budget = free.peak_bytes / 2;
    let report = run_under(&config, budget);
    assert!(
        report.peak_bytes <= budget,
        "peak {} over the budget {budget}",
        report.peak_bytes
    );
    assert!(
        matches!(report.status, Status::Partial | Status::Cancelled),
        "{:?}",
        report.status
    );
    assert!(report.users_done < 3);
}

/// Reads 10 MiB for its first `calm` readings, then 96% of the budget.
#[derive(Debug)]
struct SpikeAfter {
    calm: u64,
    budget: u64,
    reads: Arc<AtomicU64>,
}

impl MemorySource for SpikeAfter {
    fn used_bytes(&self) -> Result<u64, SourceError> {
        let read = self.reads.fetch_add(1, Ordering::Relaxed);
        Ok(if read < self.calm {
            10 << 20
        } else {
            self.budget / 100 * 96
        })
    }

    fn name(&self) -> &'static str {
        "spike-after"
    }
}

#[test]
fn a_user_in_flight_past_the_cancel_line_is_cancelled_and_listed() {
    let budget = 1u64 << 30;
    // 1,000 contacts in chunks of 100, one user per batch. Readings: the job
    // check; user 0's check, reservation and 9 chunk checks; user 1's check,
    // reservation and first chunk check (15 calm); the next reading, at
    // user 1's second chunk, is past the cancel line.
    let config = naive(1_000, 3)
        .with_chunk_size(100)
        .unwrap()
        .with_batch_size(1)
        .unwrap();
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(budget))
            .name("suggestions")
            .source(SpikeAfter {
                calm: 15,
                budget,
                reads: Arc::default(),
            })
            .watch_interval(Duration::ZERO)
            .no_purge(),
    )
    .unwrap();
    let events = breaker.subscribe();
    let hooks = JobHooks {
        breaker: Some(&breaker),
        ..JobHooks::default()
    };
    let report = run_job_with(&config, hooks).unwrap().report;
    assert_eq!(report.status, Status::Cancelled);
    assert_eq!(report.users_done, 1);
    let cancelled: Vec<u32> = report.cancelled_users.iter().map(|u| u.user_id).collect();
    assert_eq!(cancelled, [1]);
    assert!(
        report.cancelled_users[0].held_bytes > 0,
        "user 1 held its first chunks"
    );
    assert_eq!(report.skipped_users, [2], "refused: still past the line");
    let cancel = events.try_iter().find_map(|event| match event {
        heapguard_breaker::BreakerEvent::JobCancelled { job, .. } => Some(job),
        _ => None,
    });
    assert_eq!(cancel.as_deref(), Some("user-1"));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["status"], "cancelled");
    assert_eq!(json["cancelled_users"][0]["user_id"], 1);
}
