//! Streaming's heap does not grow with the number of users when finished
//! users go to an `on_user` hook: the same peak at 10x the users.
//!
//! Its own binary: the counting allocator is the global allocator here, and
//! the one test owns the process's peak.

use std::cell::Cell;
use std::time::Duration;

use demo_processor::scoring::Suggestion;
use demo_processor::{
    digest, run_job_with, JobConfig, JobHooks, Mode, Status, UserResult, MAX_TIMELINE_POINTS,
};
use heapguard_alloc::{CountingAlloc, Jemalloc};

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);

/// The job's peak live bytes at `users` users, each handed to a hook that
/// keeps nothing but a count.
fn streaming_peak(users: u32, contacts: u32) -> u64 {
    let config = JobConfig::new(contacts, users)
        .expect("a valid size")
        .with_mode(Mode::Streaming)
        .with_seed(5)
        // A small company cache fills within the first users, so both runs
        // measure it full.
        .with_cache_bytes(16 * 1024)
        // A reading every millisecond fills the timeline's bound many times over.
        .with_timeline(Some(Duration::from_millis(1)));
    let seen = Cell::new(0u32);
    let on_user = |user: &UserResult, suggestions: &[Suggestion]| {
        assert_eq!(user.user_id, seen.get(), "users arrive in order");
        assert_eq!(user.digest, digest(suggestions));
        seen.set(seen.get() + 1);
    };
    let outcome = run_job_with(
        &config,
        JobHooks {
            on_user: Some(&on_user),
            ..JobHooks::default()
        },
    )
    .expect("the job runs");
    let report = &outcome.report;
    assert_eq!(report.status, Status::Complete);
    assert_eq!(report.users_done, users);
    assert_eq!(seen.get(), users, "every user went to the hook");
    assert!(outcome.suggestions.is_empty(), "nothing retained");
    assert!(report.users.is_empty(), "nothing retained");
    assert_eq!(
        report.suggestions,
        u64::from(users) * u64::from(contacts.min(50))
    );
    assert!(report.timeline.len() <= MAX_TIMELINE_POINTS);
    assert!(report.peak_bytes > 0, "the counting allocator is installed");
    report.peak_bytes
}

#[test]
fn the_peak_does_not_grow_with_the_number_of_users() {
    // 3 contacts a user keeps a debug build fast; the per-user work is the
    // same shape as at 1,300 (a producer thread, chunks, a top-K, the
    // company cache), and its transient peak is smaller, so any bytes kept
    // per user show more: 10% of this peak over 18,000 more users is a few
    // bytes a user, where retaining each user's suggestions cost about 2.9 KB.
    let small = streaming_peak(2_000, 3);
    let large = streaming_peak(20_000, 3);
    assert!(
        large <= small + small / 10,
        "peak {large} B at 20,000 users is more than 10% above {small} B at 2,000"
    );
}
