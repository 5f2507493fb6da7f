//! What a job did, as numbers a person or a script can read (`--json`).

use serde::{Deserialize, Serialize};

use crate::config::Mode;
use crate::scoring::Suggestion;
use crate::timeline::TimelinePoint;

/// Whether every user was processed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every user is done.
    Complete,
    /// The breaker stopped the job: some users are skipped.
    Partial,
    /// The breaker cancelled some users' work in flight, past its cancel
    /// line (listed in `cancelled_users`); others may be done or skipped.
    Cancelled,
}

/// A user whose work the breaker cancelled in flight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelledUser {
    /// Milliseconds since the job started, when the user stopped.
    pub t_ms: u64,
    /// The user.
    pub user_id: u32,
    /// The most live heap bytes the user's memory account held before it stopped.
    pub held_bytes: u64,
}

/// The breaker's refusal that stopped the job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TripRecord {
    /// Milliseconds since the job started.
    pub t_ms: u64,
    /// The user about to be processed (or interrupted), if any.
    pub user_id: Option<u32>,
    /// Where the check was: `job`, `user`, `chunk`, `reservation` or `candidates`.
    pub checkpoint: String,
    /// Bytes in use (plus reservations) when it refused.
    pub used_bytes: u64,
    /// The budget.
    pub limit_bytes: u64,
    /// Use as a percentage of the budget.
    pub percent: f64,
    /// The breaker's own message, a duration in it rounded for reading
    /// (`971 ms`, not `970.727391ms`).
    pub message: String,
    /// The allocation sites holding the most memory when the breaker
    /// tripped, most first (with `--profile`, when the monitor saw the trip;
    /// empty otherwise, as a leak alert's). `bytes` are held, not gained.
    #[serde(default)]
    pub top_sites: Vec<TopSite>,
}

/// A leak the monitor reported during the job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeakRecord {
    /// Milliseconds since the job started.
    pub t_ms: u64,
    /// The monitor's description (slope, confidence, projection).
    pub message: String,
    /// The allocation sites that grew most over the alarm's span, most
    /// first (with `--profile`; empty without).
    #[serde(default)]
    pub top_sites: Vec<TopSite>,
}

/// An allocation site and the bytes it gained (see
/// `heapguard_monitor::attribution`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopSite {
    /// Demangled function name.
    pub function: String,
    /// Source file, when known.
    pub file: Option<String>,
    /// Source line, when known.
    pub line: Option<u32>,
    /// Estimated bytes gained over a leak's span, or held at a trip
    /// (a sampled heap profile).
    pub bytes: i64,
    /// Share of the growth of all growing sites (or of all bytes held),
    /// 0 to 1.
    pub share: f64,
}

impl From<heapguard_monitor::attribution::GrowingSite> for TopSite {
    fn from(site: heapguard_monitor::attribution::GrowingSite) -> Self {
        Self {
            function: site.function,
            file: site.file,
            line: site.line,
            bytes: site.bytes,
            share: site.share,
        }
    }
}

/// A jemalloc purge after a batch (`--purge`), with resident memory around it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeRecord {
    /// Batch number, from 0.
    pub batch: u32,
    /// Resident set size before the purge, if readable.
    pub rss_before: Option<u64>,
    /// Resident set size after the purge, if readable.
    pub rss_after: Option<u64>,
}

/// A user the job finished.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserResult {
    /// The user.
    pub user_id: u32,
    /// Suggestions kept (at most 50).
    pub suggestions: u32,
    /// A digest of the user's suggestions, equal across modes when they agree.
    pub digest: String,
    /// The highest live heap bytes charged to this user's memory account
    /// (0 without the counting allocator).
    #[serde(default)]
    pub peak_bytes: u64,
    /// Heap bytes allocated for this user.
    #[serde(default)]
    pub allocated_bytes: u64,
}

/// Everything a job reports. The fields up to `elapsed_ms` are the stable
/// schema scripts may rely on; the rest add detail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobReport {
    /// The mode that ran.
    pub mode: Mode,
    /// Contacts per user.
    pub contacts_per_user: u32,
    /// Users asked for.
    pub users_total: u32,
    /// Users finished.
    pub users_done: u32,
    /// Users not processed because the breaker stopped the job.
    pub users_skipped: u32,
    /// Suggestions across finished users.
    pub suggestions: u64,
    /// `complete`, `partial` or `cancelled`.
    pub status: Status,
    /// Peak live heap bytes during the job (0 without the counting allocator).
    pub peak_bytes: u64,
    /// Allocations made during the job (0 without the counting allocator).
    pub allocations: u64,
    /// Times the breaker refused.
    pub breaker_trips: u64,
    /// Leaks the monitor reported during the job.
    pub leak_alerts: u64,
    /// Wall time of the job.
    pub elapsed_ms: u64,
    /// The seed.
    pub seed: u64,
    /// Users per batch.
    pub batch_size: u32,
    /// Bytes allocated during the job (cumulative).
    pub allocated_bytes: u64,
    /// The breaker's budget, when there was one.
    pub budget_bytes: Option<u64>,
    /// The breaker's trip line in bytes, when there was one.
    pub trip_threshold_bytes: Option<u64>,
    /// The breaker's warn line in bytes, when there was one.
    #[serde(default)]
    pub warn_threshold_bytes: Option<u64>,
    /// The breaker's cancel line in bytes, when there was one.
    #[serde(default)]
    pub cancel_threshold_bytes: Option<u64>,
    /// Whether the counting allocator was installed (the byte figures need it).
    pub counting_allocator: bool,
    /// The users skipped, in order.
    pub skipped_users: Vec<u32>,
    /// The users the breaker cancelled in flight, in order.
    #[serde(default)]
    pub cancelled_users: Vec<CancelledUser>,
    /// The refusal that stopped the job, if any.
    pub trip: Option<TripRecord>,
    /// Leaks reported, in order.
    pub leaks: Vec<LeakRecord>,
    /// Purges after each batch (`--purge`).
    pub purges: Vec<PurgeRecord>,
    /// The users finished, in order.
    pub users: Vec<UserResult>,
    /// Live bytes over time (empty unless recorded), at most
    /// [`MAX_TIMELINE_POINTS`](crate::MAX_TIMELINE_POINTS) points.
    pub timeline: Vec<TimelinePoint>,
    /// The process's peak resident set size when the job ended (`VmHWM` of
    /// `/proc/self/status`: the most physical memory the process ever held,
    /// since it started), or `None` where it cannot be read. Heap is what
    /// the breaker bounds; resident memory is what an OOM killer sees.
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
    /// Outputs of the job that could not be written after it ran (a heap
    /// profile on a disk that filled up), one sentence each. The report
    /// itself was written: a late failure costs that output, never the
    /// report or the work.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// The suggestions of one finished user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSuggestions {
    /// The user.
    pub user_id: u32,
    /// Best first, at most 50.
    pub suggestions: Vec<Suggestion>,
}

/// A job's report and the suggestions themselves.
#[derive(Clone, Debug, PartialEq)]
pub struct JobOutcome {
    /// The numbers.
    pub report: JobReport,
    /// Each finished user's suggestions, in user order.
    pub suggestions: Vec<UserSuggestions>,
}

/// FNV-1a over the suggestions' contact, slot and score: equal lists give
/// equal digests, so two reports can be compared without the suggestions.
pub fn digest(suggestions: &[Suggestion]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for s in suggestions {
        eat(&s.contact_id.to_le_bytes());
        eat(&s.slot_index.to_le_bytes());
        eat(&s.score.to_le_bytes());
        eat(s.contact_name.as_bytes());
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Slot;

    #[test]
    fn digest_tells_lists_apart() {
        let s = |contact_id, score| Suggestion {
            contact_id,
            contact_name: "A".into(),
            slot_index: 0,
            slot: Slot {
                day_offset: 0,
                start_minute: 0,
                duration_minutes: 30,
            },
            score,
        };
        assert_eq!(digest(&[s(1, 2)]), digest(&[s(1, 2)]));
        assert_ne!(digest(&[s(1, 2)]), digest(&[s(1, 3)]));
        assert_ne!(digest(&[s(1, 2), s(2, 2)]), digest(&[s(2, 2), s(1, 2)]));
        assert_eq!(digest(&[]).len(), 16);
    }
}
