use heapguard_reading::{MemorySource, RssSource};
use serde::Serialize;
use std::time::{Duration, Instant};

/// What one operation did to memory, as the Node service's `logMemoryUsage` and
/// `wrapOperation` logged it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationReport {
    /// The operation's name.
    pub name: String,
    /// Process-wide bytes in use before.
    pub before_bytes: u64,
    /// Process-wide bytes in use after.
    pub after_bytes: u64,
    /// Net bytes the operation kept. With the counting allocator installed:
    /// exactly what this thread allocated minus what it freed inside the
    /// operation (other threads do not disturb it); otherwise
    /// `after_bytes - before_bytes`.
    pub diff_bytes: i64,
    /// The highest net bytes reached inside the operation (exact with the
    /// counting allocator, this thread; otherwise the larger of 0 and
    /// `diff_bytes`).
    pub peak_bytes: u64,
    /// Allocations made inside (0 without the counting allocator).
    pub allocations: u64,
    /// Whether `diff_bytes` and `peak_bytes` come from the counting allocator.
    pub exact: bool,
    /// Wall time of the operation.
    pub duration: Duration,
    /// Resident set size after, where readable.
    pub rss_bytes: Option<u64>,
    /// `after_bytes` as a percentage of the budget, when there is one.
    pub percent_of_budget: Option<f64>,
}

/// Runs `work`, measures its memory and logs the report with `tracing`
/// (target `heapguard_monitor`, level info, fields `operation`,
/// `heap_used_bytes`, `heap_percent`, `diff_bytes`, `peak_bytes`,
/// `rss_bytes`, `duration_ms`).
///
/// Process-wide numbers come from the counting allocator when installed,
/// else from RSS. Use [`MemoryMonitor::track`](crate::MemoryMonitor::track)
/// for percentages of a budget.
///
/// ```
/// let (sum, report) = heapguard_monitor::track("sum", || (1..=10u64).sum::<u64>());
/// assert_eq!(sum, 55);
/// assert_eq!(report.name, "sum");
/// ```
pub fn track<R>(name: &str, work: impl FnOnce() -> R) -> (R, OperationReport) {
    track_with(name, None, None, work)
}

pub(crate) fn track_with<R>(
    name: &str,
    source: Option<&dyn MemorySource>,
    budget_bytes: Option<u64>,
    work: impl FnOnce() -> R,
) -> (R, OperationReport) {
    let rss = RssSource::new().ok();
    let read = || match source {
        Some(source) => source.used_bytes().ok(),
        None if heapguard_alloc::is_active() => Some(heapguard_alloc::stats().live_bytes),
        None => rss.as_ref().and_then(|rss| rss.used_bytes().ok()),
    };
    let before_bytes = read().unwrap_or(0);
    let started = Instant::now();
    let (value, usage) = heapguard_alloc::measure_or_zeros(work);
    let duration = started.elapsed();
    let after_bytes = read().unwrap_or(0);
    let exact = heapguard_alloc::is_active();
    let (diff_bytes, peak_bytes) = if exact {
        (usage.net_bytes, usage.peak_bytes)
    } else {
        let diff = after_bytes as i64 - before_bytes as i64;
        (diff, diff.max(0) as u64)
    };
    let report = OperationReport {
        name: name.to_owned(),
        before_bytes,
        after_bytes,
        diff_bytes,
        peak_bytes,
        allocations: usage.allocations,
        exact,
        duration,
        rss_bytes: rss.as_ref().and_then(|rss| rss.used_bytes().ok()),
        percent_of_budget: budget_bytes.map(|budget| after_bytes as f64 * 100.0 / budget as f64),
    };
    tracing::info!(
        target: "heapguard_monitor",
        operation = name,
        heap_used_bytes = report.after_bytes,
        heap_percent = report.percent_of_budget,
        diff_bytes = report.diff_bytes,
        peak_bytes = report.peak_bytes,
        rss_bytes = report.rss_bytes,
        duration_ms = report.duration.as_secs_f64() * 1000.0,
        "operation memory"
    );
    (value, report)
}
