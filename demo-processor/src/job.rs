//! The job loop: batches of users, breaker checks before the job, before each
//! user and between chunks, quiescent marks for the monitor between users,
//! purges after batches, and the report.

use std::time::{Duration, Instant};

use heapguard_breaker::MemoryBreaker;
use heapguard_monitor::MemoryMonitor;

use crate::company::CompanyCache;
use crate::config::{JobConfig, Mode};
use crate::estimate::NaiveEstimate;
use crate::generate::user_profile;
use crate::guards::{Checkpoint, Guards, UserJob};
use crate::leak::UnboundedRecordCache;
use crate::report::{
    digest, CancelledUser, JobOutcome, JobReport, PurgeRecord, Status, UserResult, UserSuggestions,
};
use crate::scoring::Suggestion;
use crate::streaming::Pipeline;
use crate::timeline::TimelineRecorder;
use crate::{naive, streaming};
use heapguard_alloc::{Account, AccountUsage};

/// A job that could not run (not a breaker trip: that is a partial report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The timeline's sampler thread could not start.
    #[error("could not start the timeline sampler thread: {0}")]
    Timeline(std::io::Error),
}

/// Progress after each user, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Users finished or skipped so far.
    pub users_seen: u32,
    /// Users in the job.
    pub users_total: u32,
    /// Users finished so far.
    pub users_done: u32,
}

/// Takes a finished user's result and suggestions (see [`JobHooks::on_user`]).
pub type OnUser<'a> = &'a dyn Fn(&UserResult, &[Suggestion]);

/// What watches a job; every part is optional.
#[derive(Default)]
pub struct JobHooks<'a> {
    /// Checked before the job, before each user and between chunks; its
    /// first refusal stops the job with partial results.
    pub breaker: Option<&'a MemoryBreaker>,
    /// Told when the job is quiescent (between users in streaming mode,
    /// between batches in naive mode, which holds a whole batch); its leak
    /// reports go into the report.
    pub monitor: Option<&'a MemoryMonitor>,
    /// Called after each user is finished or skipped.
    pub progress: Option<&'a dyn Fn(Progress)>,
    /// Given each finished user's result and suggestions as soon as the user
    /// is done. When set, the job keeps neither: the outcome's `suggestions`
    /// and the report's `users` stay empty, so the job's heap does not grow
    /// with the number of users (a caller streams them into its output).
    pub on_user: Option<OnUser<'a>>,
}

impl std::fmt::Debug for JobHooks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobHooks")
            .field("breaker", &self.breaker.map(MemoryBreaker::name))
            .field("monitor", &self.monitor.is_some())
            .field("progress", &self.progress.is_some())
            .field("on_user", &self.on_user.is_some())
            .finish()
    }
}

/// Runs the job with no breaker, no monitor and no progress: the entry point
/// for benchmarks.
pub fn run_job(config: &JobConfig) -> Result<JobOutcome, JobError> {
    run_job_with(config, JobHooks::default())
}

/// Everything the loop keeps while it runs.
struct Tally<'a> {
    /// Finished users' suggestions, kept only without an `on_user` hook.
    done: Vec<UserSuggestions>,
    /// Finished users' results, kept only without an `on_user` hook.
    users: Vec<UserResult>,
    /// Where finished users go instead, if anywhere.
    on_user: Option<OnUser<'a>>,
    users_done: u32,
    suggestions: u64,
    skipped: Vec<u32>,
    /// Users the breaker cancelled, in order.
    cancelled: Vec<CancelledUser>,
    seen: u32,
    stopped: bool,
}

impl Tally<'_> {
    fn finish(&mut self, user_id: u32, suggestions: Vec<Suggestion>, account: &Account) {
        let usage: AccountUsage = account.usage();
        let result = UserResult {
            user_id,
            suggestions: suggestions.len() as u32,
            digest: digest(&suggestions),
            peak_bytes: usage.peak_bytes,
            allocated_bytes: usage.allocated_bytes,
        };
        self.users_done += 1;
        self.suggestions += u64::from(result.suggestions);
        match self.on_user {
            Some(on_user) => on_user(&result, &suggestions),
            None => {
                self.users.push(result);
                self.done.push(UserSuggestions {
                    user_id,
                    suggestions,
                });
            }
        }
        self.seen += 1;
    }

    fn skip(&mut self, user_id: u32) {
        self.skipped.push(user_id);
        self.seen += 1;
    }

    /// A user whose work stopped midway: cancelled by the breaker (the job
    /// goes on with the next user), or refused (the job stops).
    fn stop(&mut self, user_id: u32, job: &UserJob, t_ms: u64) {
        if job.is_cancelled() {
            let held_bytes = job.held_bytes();
            tracing::warn!(user_id, held_bytes, "user cancelled by the breaker");
            self.cancelled.push(CancelledUser {
                t_ms,
                user_id,
                held_bytes,
            });
            self.seen += 1;
        } else {
            self.stopped = true;
            self.skip(user_id);
        }
    }
}

/// Runs the job with the given hooks.
pub fn run_job_with(config: &JobConfig, hooks: JobHooks<'_>) -> Result<JobOutcome, JobError> {
    let origin = Instant::now();
    let counting = heapguard_alloc::is_active();
    if counting {
        heapguard_alloc::reset_peak();
    }
    let before = heapguard_alloc::stats();
    let timeline = match config.timeline_interval() {
        Some(interval) => {
            Some(TimelineRecorder::start(interval, origin).map_err(JobError::Timeline)?)
        }
        None => None,
    };
    let mut guards = Guards::new(origin, hooks.breaker, hooks.monitor);
    let leak = config.inject_leak().then(UnboundedRecordCache::new);
    let mut cache = CompanyCache::new(config.cache_bytes());
    let mut purges = Vec::new();
    let mut tally = Tally {
        done: Vec::new(),
        users: Vec::new(),
        on_user: hooks.on_user,
        users_done: 0,
        suggestions: 0,
        skipped: Vec::new(),
        cancelled: Vec::new(),
        seen: 0,
        stopped: false,
    };
    let report_progress = |tally: &Tally<'_>| {
        if let Some(progress) = hooks.progress {
            progress(Progress {
                users_seen: tally.seen,
                users_total: config.users(),
                users_done: tally.users_done,
            });
        }
    };

    tally.stopped = guards.check(Checkpoint::Job, None).is_err();
    // From here on the monitor's leak detector looks only at quiescent marks:
    // the job's own ramps are not leaks.
    guards.quiescent();
    let batch = config.batch_size();
    let mut batch_index = 0;
    let mut first = 0;
    while first < config.users() {
        let last = first.saturating_add(batch).min(config.users());
        let users = first..last;
        match config.mode() {
            Mode::Naive => naive_batch(
                config,
                users,
                &mut guards,
                &mut tally,
                leak.as_ref(),
                &report_progress,
            ),
            Mode::Streaming => streaming_batch(
                config,
                users,
                &mut guards,
                &mut tally,
                &mut cache,
                leak.as_ref(),
                &report_progress,
            ),
        }
        if config.purge() && !tally.stopped {
            purges.push(purge_after(batch_index));
        }
        if config.mode() == Mode::Naive && !tally.stopped {
            guards.quiescent();
        }
        batch_index += 1;
        first = last;
    }

    let after = heapguard_alloc::stats();
    let elapsed = origin.elapsed();
    let timeline = timeline.map(TimelineRecorder::finish).unwrap_or_default();
    tracing::info!(
        mode = %config.mode(),
        users_done = tally.users_done,
        users_skipped = tally.skipped.len(),
        peak_bytes = after.peak_bytes,
        elapsed_ms = elapsed.as_millis() as u64,
        leak_cache_entries = leak.as_ref().map_or(0, UnboundedRecordCache::len),
        "suggestion generation finished"
    );
    drop(leak);
    let measured = Measured {
        counting,
        before,
        after,
        elapsed,
        purges,
        timeline,
    };
    let report = build_report(config, &mut tally, guards, measured);
    Ok(JobOutcome {
        report,
        suggestions: tally.done,
    })
}

/// What the job measured about itself.
struct Measured {
    counting: bool,
    before: heapguard_alloc::AllocStats,
    after: heapguard_alloc::AllocStats,
    elapsed: Duration,
    purges: Vec<PurgeRecord>,
    timeline: Vec<crate::timeline::TimelinePoint>,
}

fn build_report(
    config: &JobConfig,
    tally: &mut Tally<'_>,
    guards: Guards<'_>,
    measured: Measured,
) -> JobReport {
    let Measured {
        counting,
        before,
        after,
        elapsed,
        purges,
        timeline,
    } = measured;
    let budget_bytes = guards.budget_bytes();
    let trip_threshold_bytes = guards.trip_threshold_bytes();
    let warn_threshold_bytes = guards.warn_threshold_bytes();
    let cancel_threshold_bytes = guards.cancel_threshold_bytes();
    let (breaker_trips, trip, leaks) = guards.finish();
    let status = if !tally.cancelled.is_empty() {
        Status::Cancelled
    } else if !tally.skipped.is_empty() {
        Status::Partial
    } else {
        Status::Complete
    };
    JobReport {
        mode: config.mode(),
        contacts_per_user: config.contacts_per_user(),
        users_total: config.users(),
        users_done: tally.users_done,
        users_skipped: tally.skipped.len() as u32,
        suggestions: tally.suggestions,
        status,
        peak_bytes: if counting { after.peak_bytes } else { 0 },
        allocations: after.allocations.saturating_sub(before.allocations),
        breaker_trips,
        leak_alerts: leaks.len() as u64,
        elapsed_ms: elapsed.as_millis() as u64,
        seed: config.seed(),
        batch_size: config.batch_size(),
        allocated_bytes: after.allocated_bytes.saturating_sub(before.allocated_bytes),
        budget_bytes,
        trip_threshold_bytes,
        warn_threshold_bytes,
        cancel_threshold_bytes,
        counting_allocator: counting,
        skipped_users: tally.skipped.clone(),
        cancelled_users: tally.cancelled.clone(),
        trip,
        leaks,
        purges,
        users: std::mem::take(&mut tally.users),
        timeline,
        peak_rss_bytes: crate::rss::peak_resident_bytes(),
        warnings: Vec::new(),
    }
}

/// Checks the breaker before a user; once it refused, every later user is
/// skipped without asking again. Returns whether the user may start.
fn admit(
    guards: &mut Guards<'_>,
    tally: &mut Tally<'_>,
    user_id: u32,
    report_progress: &dyn Fn(&Tally<'_>),
) -> bool {
    if tally.stopped || guards.check(Checkpoint::User, Some(user_id)).is_err() {
        tally.stopped = true;
        tally.skip(user_id);
        report_progress(tally);
        return false;
    }
    true
}

fn naive_batch(
    config: &JobConfig,
    users: std::ops::Range<u32>,
    guards: &mut Guards<'_>,
    tally: &mut Tally<'_>,
    leak: Option<&UnboundedRecordCache>,
    report_progress: &dyn Fn(&Tally<'_>),
) {
    let seed = config.seed();
    let chunk = config.chunk_size();
    // Phase 1: reserve each admitted user's estimated peak, register it as
    // a job the breaker may cancel, and load it in full.
    let mut loaded = Vec::new();
    for user_id in users {
        if !admit(guards, tally, user_id, report_progress) {
            continue;
        }
        let account = user_account(user_id);
        let profile = {
            let _inside = account.enter();
            user_profile(seed, user_id)
        };
        let slots = profile.slots.len();
        let estimate = NaiveEstimate::for_user(config.contacts_per_user(), slots);
        let mut job = match guards.start_user(user_id, &account, estimate.peak_bytes()) {
            Ok(job) => job,
            Err(_) => {
                tally.stopped = true;
                tally.skip(user_id);
                report_progress(tally);
                continue;
            }
        };
        let next = NaiveEstimate::chunk_bytes(chunk, slots);
        let inside = account.enter();
        let mut between_chunks = || {
            guards.step(&mut job, next)?;
            guards.check_in_flight(&job, Checkpoint::Chunk)
        };
        let contacts = naive::load_contacts(
            seed,
            user_id,
            config.contacts_per_user(),
            chunk,
            &mut between_chunks,
        );
        match contacts {
            Ok(contacts) => {
                drop(inside);
                loaded.push((account, profile, contacts, job));
            }
            Err(_) => {
                drop(inside);
                tally.stop(user_id, &job, guards.t_ms());
                report_progress(tally);
            }
        }
    }
    // Phase 2: finish the users admitted, checking inside the candidate
    // build; free each one's records when done.
    for (account, profile, contacts, mut job) in loaded {
        let user_id = profile.user_id;
        let next = NaiveEstimate::chunk_bytes(chunk, profile.slots.len());
        let inside = account.enter();
        let mut inside_build = || {
            guards.step(&mut job, next)?;
            guards.check_in_flight(&job, Checkpoint::Candidates)
        };
        let suggestions = naive::suggest(seed, &profile, &contacts, chunk, &mut inside_build, leak);
        drop(contacts);
        drop(inside);
        match suggestions {
            Ok(suggestions) => {
                drop(job);
                log_user(user_id, suggestions.len());
                tally.finish(user_id, suggestions, &account);
            }
            Err(_) => tally.stop(user_id, &job, guards.t_ms()),
        }
        report_progress(tally);
    }
}

fn streaming_batch(
    config: &JobConfig,
    users: std::ops::Range<u32>,
    guards: &mut Guards<'_>,
    tally: &mut Tally<'_>,
    cache: &mut CompanyCache,
    leak: Option<&UnboundedRecordCache>,
    report_progress: &dyn Fn(&Tally<'_>),
) {
    let seed = config.seed();
    let pipeline = Pipeline {
        chunk_size: config.chunk_size(),
        channel_chunks: config.channel_chunks(),
    };
    for user_id in users {
        if !admit(guards, tally, user_id, report_progress) {
            continue;
        }
        let account = user_account(user_id);
        let inside = account.enter();
        let profile = user_profile(seed, user_id);
        let mut between_chunks = || guards.check(Checkpoint::Chunk, Some(user_id));
        let suggestions = streaming::suggest(
            seed,
            &profile,
            config.contacts_per_user(),
            pipeline,
            cache,
            &mut between_chunks,
            leak,
        );
        drop(profile);
        drop(inside);
        match suggestions {
            Ok(suggestions) => {
                log_user(user_id, suggestions.len());
                tally.finish(user_id, suggestions, &account);
                guards.quiescent();
            }
            Err(_) => {
                tally.stopped = true;
                tally.skip(user_id);
            }
        }
        report_progress(tally);
    }
}

/// Each user's work is charged to its own memory account, which follows it
/// onto the streaming producer thread.
fn user_account(user_id: u32) -> Account {
    Account::new(format!("user-{user_id}"))
}

fn log_user(user_id: u32, suggestions: usize) {
    tracing::debug!(
        user_id,
        suggestions,
        heap_used = heapguard_alloc::live_bytes(),
        "generate-suggestions"
    );
}

fn purge_after(batch: u32) -> PurgeRecord {
    let rss_before = crate::rss::resident_bytes();
    if let Err(error) = heapguard_alloc::jemalloc::purge() {
        tracing::warn!(%error, "jemalloc purge failed");
    }
    let rss_after = crate::rss::resident_bytes();
    tracing::info!(
        batch,
        ?rss_before,
        ?rss_after,
        "purged jemalloc after batch"
    );
    PurgeRecord {
        batch,
        rss_before,
        rss_after,
    }
}
