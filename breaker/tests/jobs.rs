//! Jobs in flight past the cancel line: the largest is cancelled first, the
//! breaker waits for it before cancelling another, never cancels a job
//! twice, and its refresher acts while no thread calls `check()` (a check
//! never cancels).
//!
//! Accounts hold real allocations (the counting allocator is installed);
//! the breaker reads a manual source set to what the jobs' accounts hold,
//! and runs on a manual clock, so every step is deterministic.

mod common;

use common::manual_breaker;
use std::alloc::System;
use std::time::{Duration, Instant};

use heapguard_alloc::{Account, CountingAlloc};
use heapguard_breaker::testing::{ManualClock, ManualSource};
use heapguard_breaker::{
    BreakerConfig, BreakerEvent, Budget, CancelToken, JobRegistration, MemoryBreaker, PressureLevel,
};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const MIB: u64 = 1 << 20;

fn breaker(limit: u64, grace: Duration) -> (MemoryBreaker, ManualSource, ManualClock) {
    manual_breaker(
        BreakerConfig::new(Budget::Bytes(limit))
            .name("jobs")
            .min_state_duration(Duration::from_secs(1))
            .cancel_grace(grace)
            .watch_cancel_line(false)
            .no_purge(),
    )
}

/// A job that allocates `step` bytes per step, charged to its own account,
/// until it has done `steps` steps or is cancelled.
struct Job {
    account: Account,
    registration: Option<JobRegistration>,
    held: Vec<Vec<u8>>,
    step: usize,
    steps: usize,
    done: usize,
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Running,
    Completed,
    Cancelled,
}

impl Job {
    fn start(breaker: &MemoryBreaker, name: &str, step: u64, steps: usize) -> Self {
        let account = Account::new(name);
        let registration = breaker.register_job(name, &account, CancelToken::new());
        let held = {
            let _inside = account.enter();
            Vec::with_capacity(steps.min(64))
        };
        Self {
            account,
            registration: Some(registration),
            held,
            step: step as usize,
            steps,
            done: 0,
        }
    }

    /// One step: stop cleanly if cancelled (free everything, deregister),
    /// else allocate one more step.
    fn step(&mut self) -> Outcome {
        let Some(registration) = &self.registration else {
            return if self.done == self.steps {
                Outcome::Completed
            } else {
                Outcome::Cancelled
            };
        };
        if registration.is_cancelled() {
            // Freed inside the account, so the account sees it go.
            let _inside = self.account.enter();
            self.held = Vec::new();
            self.registration = None;
            return Outcome::Cancelled;
        }
        if self.done == self.steps {
            self.registration = None;
            return Outcome::Completed;
        }
        {
            let _inside = self.account.enter();
            self.held.push(vec![1u8; self.step]);
        }
        self.done += 1;
        Outcome::Running
    }

    fn live(&self) -> u64 {
        self.account.live_bytes()
    }
}

fn describe(event: BreakerEvent) -> String {
    match event {
        BreakerEvent::Tripped(_) => "tripped".into(),
        BreakerEvent::Reset(_) => "reset".into(),
        BreakerEvent::Level { from, to, .. } => format!("{from}->{to}"),
        BreakerEvent::JobCancelled {
            job, live_bytes, ..
        } => format!("cancelled {job} holding {live_bytes}"),
        BreakerEvent::CancelFreed {
            job, freed_bytes, ..
        } => format!("{job} freed {freed_bytes}"),
        BreakerEvent::CancelFreedTooLittle {
            job,
            freed_bytes,
            remaining_bytes,
            deregistered,
            ..
        } => format!(
            "{job} freed too little: {freed_bytes} freed, {remaining_bytes} left, {}",
            if deregistered {
                "deregistered"
            } else {
                "registered"
            }
        ),
        BreakerEvent::CancelWithheld {
            job,
            live_bytes,
            needed_bytes,
            ..
        } => format!("withheld {job} holding {live_bytes}, needed {needed_bytes}"),
        other => format!("{other:?}"),
    }
}

#[test]
fn the_larger_job_is_cancelled_and_the_smaller_completes() {
    let (breaker, memory, clock) = breaker(100 * MIB, Duration::from_secs(2));
    let events = breaker.subscribe();
    // small: 1 MiB a step for 25 steps; large: 4 MiB a step, without end.
    let mut small = Job::start(&breaker, "small", MIB, 25);
    let mut large = Job::start(&breaker, "large", 4 * MIB, usize::MAX);
    assert_eq!(breaker.jobs_registered(), 2);
    let mut large_at_cancel = None;
    let mut small_outcome = Outcome::Running;
    let mut large_outcome = Outcome::Running;
    for _ in 0..40 {
        small_outcome = small.step();
        large_outcome = large.step();
        // The process holds what the jobs hold (to within a page of Vec headers).
        memory.set(small.live() + large.live());
        let large_before = large.live();
        // No thread calls check(): the refresh is the refresher's tick.
        breaker.refresh();
        let cancelled_now = large
            .registration
            .as_ref()
            .is_some_and(JobRegistration::is_cancelled);
        if cancelled_now && large_at_cancel.is_none() {
            large_at_cancel = Some(large_before);
        }
        clock.advance(Duration::from_millis(100));
    }
    assert_eq!(small_outcome, Outcome::Completed);
    assert_eq!(small.done, 25, "the small job did all its steps");
    assert_eq!(large_outcome, Outcome::Cancelled);
    assert_eq!(large.live(), 0, "the cancelled job freed what it held");
    assert_eq!(breaker.jobs_registered(), 0);
    assert_eq!(breaker.pressure(), PressureLevel::Normal);
    let large_held = large_at_cancel.expect("the large job ran before the cancel line");
    assert!(
        (76 * MIB..77 * MIB).contains(&large_held),
        "19 steps of 4 MiB: {large_held}"
    );
    let seen: Vec<String> = events.try_iter().map(describe).collect();
    assert_eq!(
        seen,
        [
            "normal->warn".to_owned(),
            "tripped".to_owned(),
            "warn->refuse".to_owned(),
            "refuse->cancel".to_owned(),
            format!("cancelled large holding {large_held}"),
            // The large job is gone: the cancel level clears at once, the
            // cancel is found to have freed all the job held, and the
            // refuse level clears after the breaker's minimum time in a state.
            "cancel->refuse".to_owned(),
            format!("large freed {large_held}"),
            "reset".to_owned(),
            "refuse->normal".to_owned(),
        ]
    );
}

#[test]
fn waits_for_the_cancelled_job_or_its_grace_then_cancels_the_next_never_twice() {
    let (breaker, memory, clock) = breaker(100 * MIB, Duration::from_secs(2));
    let events = breaker.subscribe();
    let accounts: Vec<Account> = ["a", "b", "c"].map(Account::new).into();
    let sizes = [30 * MIB, 50 * MIB, 10 * MIB];
    let mut held: Vec<Vec<u8>> = accounts
        .iter()
        .zip(sizes)
        .map(|(account, bytes)| {
            let _inside = account.enter();
            vec![1u8; bytes as usize]
        })
        .collect();
    let registrations: Vec<JobRegistration> = accounts
        .iter()
        .map(|account| breaker.register_job(account.name(), account, CancelToken::new()))
        .collect();
    memory.set(96 * MIB);
    let cancelled = |registrations: &[JobRegistration]| -> Vec<bool> {
        registrations
            .iter()
            .map(JobRegistration::is_cancelled)
            .collect()
    };

    assert_eq!(breaker.refresh(), PressureLevel::Cancel);
    assert_eq!(
        cancelled(&registrations),
        [false, true, false],
        "b is largest"
    );
    // b ignores its token: within the grace period nothing more happens.
    clock.advance(Duration::from_millis(1999));
    breaker.refresh();
    assert_eq!(cancelled(&registrations), [false, true, false]);
    // The grace period ends: this tick gives the verdict (b freed too
    // little); the next reads again and cancels the largest job not
    // cancelled yet, which alone can bring 96 MiB under the 95 MiB line.
    clock.advance(Duration::from_millis(1));
    breaker.refresh();
    assert_eq!(cancelled(&registrations), [false, true, false]);
    breaker.refresh();
    assert_eq!(
        cancelled(&registrations),
        [true, true, false],
        "a, never b again"
    );
    // a frees what it held (inside its account) and deregisters at once:
    // the wait ends early, the next tick cancels c.
    let mut registrations = registrations;
    let a = registrations.remove(0);
    {
        let _inside = accounts[0].enter();
        held[0] = Vec::new();
    }
    drop(a);
    breaker.refresh();
    assert_eq!(cancelled(&registrations), [true, false]);
    breaker.refresh();
    assert_eq!(cancelled(&registrations), [true, true]);
    // Nobody is left to cancel: ticks change nothing.
    clock.advance(Duration::from_secs(10));
    breaker.refresh();
    breaker.refresh();
    let names: Vec<String> = events
        .try_iter()
        .filter_map(|event| match event {
            BreakerEvent::Level { .. } | BreakerEvent::Tripped(_) => None,
            other => Some(describe(other)),
        })
        .collect();
    assert_eq!(
        names,
        [
            "cancelled b holding 52428800",
            "b freed too little: 0 freed, 52428800 left, registered",
            "cancelled a holding 31457280",
            "a freed 31457280",
            "cancelled c holding 10485760",
            "c freed too little: 0 freed, 10485760 left, registered",
        ]
    );
    drop(held);
}

#[test]
fn a_job_its_owner_cancelled_is_passed_over_for_the_next_largest() {
    let (breaker, memory, _clock) = breaker(100 * MIB, Duration::from_secs(2));
    let (large, small) = (Account::new("large"), Account::new("small"));
    let large_bytes = {
        let _inside = large.enter();
        vec![1u8; 8 << 20]
    };
    let small_bytes = {
        let _inside = small.enter();
        vec![1u8; 1 << 20]
    };
    let large_job = breaker.register_job("large", &large, CancelToken::new());
    let small_job = breaker.register_job("small", &small, CancelToken::new());
    let events = breaker.subscribe();
    // The owner stops the large job itself; it is ending already.
    assert!(large_job.token().cancel());
    memory.set(95 * MIB);
    breaker.refresh();
    assert!(small_job.is_cancelled());
    let cancelled: Vec<String> = events
        .try_iter()
        .filter_map(|event| match event {
            BreakerEvent::JobCancelled { job, .. } => Some(job),
            _ => None,
        })
        .collect();
    assert_eq!(cancelled, ["small"]);
    drop((large_bytes, small_bytes));
}

#[test]
fn checks_refuse_at_the_cancel_line_and_the_refresh_cancels() {
    let (breaker, memory, _clock) = breaker(100 * MIB, Duration::from_secs(2));
    let account = Account::new("only");
    let job = breaker.register_job("only", &account, CancelToken::new());
    memory.set(95 * MIB);
    for _ in 0..10 {
        breaker.check().unwrap_err();
    }
    assert_eq!(
        breaker.pressure(),
        PressureLevel::Cancel,
        "checks move the level"
    );
    assert!(
        !job.is_cancelled(),
        "a check takes no lock and cancels nothing"
    );
    breaker.refresh();
    assert!(job.is_cancelled(), "the refresher's step cancels");
    assert_eq!(job.name(), "only");
}

#[test]
fn the_refresher_cancels_while_no_thread_checks() {
    let memory = ManualSource::new(0);
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(100 * MIB))
            .name("watched")
            .source(memory.clone())
            .no_purge(),
    )
    .unwrap();
    let events = breaker.subscribe();
    let account = Account::new("job");
    let token = CancelToken::new();
    let job = breaker.register_job("job", &account, token.clone());
    memory.set(99 * MIB);
    // Bounded wait: the refresher ticks every 25 ms; allow a starved runner 30 s.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !token.is_cancelled() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(job.is_cancelled(), "the refresher cancelled the job");
    let cancelled = events
        .try_iter()
        .find(|event| matches!(event, BreakerEvent::JobCancelled { .. }));
    assert!(
        matches!(cancelled, Some(BreakerEvent::JobCancelled { ref job, .. }) if job == "job"),
        "{cancelled:?}"
    );
}
