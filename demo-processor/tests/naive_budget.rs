//! Naive mode under a budget: each user's estimate bounds what it holds,
//! the job reserves it before the work and stops with partial results when
//! it does not fit, and a user past the cancel line is cancelled and listed.
//!
//! The counting allocator is installed, so reports carry exact peaks and the
//! breaker reads live heap bytes. The figures are the CLI's acceptance runs
//! (1,000,000 contacts under 2 GiB; 100,000 x 3 under half of naive's peak)
//! scaled down by one factor in contacts and bytes, so a debug build runs
//! them in seconds.

use std::sync::{Mutex, MutexGuard, PoisonError};

use demo_processor::estimate::NaiveEstimate;
use demo_processor::generate::user_profile;
use demo_processor::{
    run_job, run_job_with, JobConfig, JobHooks, JobReport, Mode, Progress, Status,
};
use heapguard_breaker::{
    BreakerConfig, BreakerEvent, Budget, ManualSource, MemoryBreaker, PressureLevel,
};

#[global_allocator]
static GLOBAL: heapguard_alloc::CountingAlloc<heapguard_alloc::Jemalloc> =
    heapguard_alloc::CountingAlloc::new(heapguard_alloc::Jemalloc);

/// The breaker reads, and reports give, the whole process's live bytes:
/// these tests run one at a time so none sees another's memory.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

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
    let _serial = serial();
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
    let _serial = serial();
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
    let _serial = serial();
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

#[test]
fn a_user_in_flight_past_the_cancel_line_is_cancelled_and_listed() {
    let _serial = serial();
    let budget = 1u64 << 30;
    // Both users are loaded (in flight) before either builds candidates.
    let config = naive(1_000, 2);
    let memory = ManualSource::new(10 << 20);
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(budget))
            .name("suggestions")
            .source(memory.clone())
            .watch_cancel_line(false)
            .no_purge(),
    )
    .unwrap();
    let events = breaker.subscribe();
    // Once user 0 is done, memory jumps past the cancel line; the refresh
    // stands in for the refresher's next tick.
    let spike = |p: Progress| {
        if p.users_done == 1 {
            memory.set(budget / 100 * 96);
            assert_eq!(breaker.refresh(), PressureLevel::Cancel);
        }
    };
    let hooks = JobHooks {
        breaker: Some(&breaker),
        progress: Some(&spike),
        ..JobHooks::default()
    };
    let report = run_job_with(&config, hooks).unwrap().report;
    assert_eq!(report.status, Status::Cancelled);
    assert_eq!(report.users_done, 1);
    let cancelled: Vec<u32> = report.cancelled_users.iter().map(|u| u.user_id).collect();
    assert_eq!(cancelled, [1]);
    assert!(
        report.cancelled_users[0].held_bytes > 1_000 * 500,
        "user 1 had loaded its records: {}",
        report.cancelled_users[0].held_bytes
    );
    assert!(report.skipped_users.is_empty());
    assert_eq!(breaker.jobs_registered(), 0);
    let cancel = events.try_iter().find_map(|event| match event {
        BreakerEvent::JobCancelled { job, .. } => Some(job),
        _ => None,
    });
    assert_eq!(cancel.as_deref(), Some("user-1"));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["status"], "cancelled");
    assert_eq!(json["cancelled_users"][0]["user_id"], 1);
}
