//! Human-readable output: one report's summary, two reports side by side.

use std::fmt::Write;

use bytesize::ByteSize;

use crate::report::{JobReport, Status, UserResult};

/// The first [`SITES_SHOWN`] allocation sites of a trip or a leak alert,
/// one line each: `<verb> <bytes> (<share>) in <function> at <file>:<line>`.
fn sites(out: &mut String, verb: &str, sites: &[crate::report::TopSite]) {
    for site in sites.iter().take(SITES_SHOWN) {
        let place = match (&site.file, site.line) {
            (Some(file), Some(line)) => format!(" at {}:{line}", short_path(file)),
            (Some(file), None) => format!(" at {}", short_path(file)),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "      {verb} {} ({:.0}%) in {}{place}",
            bytes(site.bytes.max(0) as u64),
            site.share * 100.0,
            site.function
        );
    }
}

/// Sites shown per trip or leak alert in the summary (the JSON has all).
const SITES_SHOWN: usize = 3;

/// A source path from its crate's directory on (`demo-processor/src/leak.rs`),
/// or whole when it has no `src` component.
fn short_path(file: &str) -> &str {
    match file.rfind("/src/") {
        Some(at) => &file[file[..at].rfind('/').map_or(0, |slash| slash + 1)..],
        None => file,
    }
}

fn bytes(n: u64) -> String {
    ByteSize(n).display().iec().to_string()
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "0-3, 7, 9-12": a sorted list of ids as ranges.
pub(crate) fn ranges(ids: &[u32]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let start = ids[i];
        let mut end = start;
        while i + 1 < ids.len() && ids[i + 1] == end + 1 {
            i += 1;
            end = ids[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(", ")
}

fn status(report: &JobReport) -> &'static str {
    match report.status {
        Status::Complete => "complete",
        Status::Partial => "partial",
        Status::Cancelled => "cancelled",
    }
}

/// The `n` finished users of a report whose memory accounts peaked highest.
pub(crate) fn top_users_by_peak(r: &JobReport, n: usize) -> Vec<&UserResult> {
    let mut users: Vec<_> = r.users.iter().collect();
    users.sort_by(|a, b| {
        b.peak_bytes
            .cmp(&a.peak_bytes)
            .then(a.user_id.cmp(&b.user_id))
    });
    users.truncate(n);
    users
}

/// The summary `run` prints; `top_users` are the finished users with the
/// highest peaks, highest first (the report's `users` may be empty: `run`
/// streams them into its `--json` file instead of keeping them).
pub(crate) fn summary(r: &JobReport, top_users: &[&UserResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} mode, {} contacts x {} users (batches of {}, seed {}): {}",
        r.mode,
        thousands(u64::from(r.contacts_per_user)),
        r.users_total,
        r.batch_size,
        r.seed,
        status(r)
    );
    let _ = writeln!(
        out,
        "  users done     {} of {}",
        r.users_done, r.users_total
    );
    if !r.skipped_users.is_empty() {
        let _ = writeln!(
            out,
            "  users skipped  {} ({})",
            r.users_skipped,
            ranges(&r.skipped_users)
        );
    }
    for user in &r.cancelled_users {
        let _ = writeln!(
            out,
            "  user cancelled {} (held {})",
            user.user_id,
            bytes(user.held_bytes)
        );
    }
    let _ = writeln!(out, "  suggestions    {}", thousands(r.suggestions));
    let _ = writeln!(
        out,
        "  time           {:.2} s",
        r.elapsed_ms as f64 / 1000.0
    );
    if r.counting_allocator {
        let _ = writeln!(out, "  peak heap      {}", bytes(r.peak_bytes));
    }
    if let Some(rss) = r.peak_rss_bytes {
        let _ = writeln!(out, "  peak RSS       {} (process)", bytes(rss));
    }
    if r.counting_allocator {
        let _ = writeln!(
            out,
            "  allocations    {} ({} allocated)",
            thousands(r.allocations),
            bytes(r.allocated_bytes)
        );
    }
    if r.counting_allocator && !top_users.is_empty() {
        let _ = writeln!(out, "  top users by peak heap (per-user memory accounts)");
        for user in top_users {
            let _ = writeln!(
                out,
                "    user {:<6} peak {:>10}  allocated {:>10}",
                user.user_id,
                bytes(user.peak_bytes),
                bytes(user.allocated_bytes)
            );
        }
    }
    if let (Some(budget), Some(trip)) = (r.budget_bytes, r.trip_threshold_bytes) {
        let _ = writeln!(
            out,
            "  budget         {} (breaker trips at {})",
            bytes(budget),
            bytes(trip)
        );
    }
    let _ = writeln!(out, "  breaker trips  {}", r.breaker_trips);
    if let Some(trip) = &r.trip {
        let _ = writeln!(
            out,
            "    stopped at {} {} after {:.2} s: {} of {} ({:.0}%)",
            trip.checkpoint,
            trip.user_id
                .map_or_else(|| "-".to_owned(), |u| u.to_string()),
            trip.t_ms as f64 / 1000.0,
            bytes(trip.used_bytes),
            bytes(trip.limit_bytes),
            trip.percent
        );
        // The figures above are the reading at the refusal; why it refused
        // (a reservation that would pass the line, a reading over it) is
        // the breaker's own sentence, as in the JSON.
        if !trip.message.is_empty() {
            let _ = writeln!(out, "      why: {}", trip.message);
        }
        sites(&mut out, "holding", &trip.top_sites);
    }
    let _ = writeln!(out, "  leak alerts    {}", r.leak_alerts);
    for leak in &r.leaks {
        let _ = writeln!(
            out,
            "    at {:.2} s: {}",
            leak.t_ms as f64 / 1000.0,
            leak.message
        );
        sites(&mut out, "grew", &leak.top_sites);
    }
    for purge in &r.purges {
        let shown = |v: Option<u64>| v.map_or_else(|| "unknown".to_owned(), bytes);
        let _ = writeln!(
            out,
            "  purge after batch {}: RSS {} -> {}",
            purge.batch,
            shown(purge.rss_before),
            shown(purge.rss_after)
        );
    }
    out
}

/// Whether two reports agree on every user both finished, and how many that is.
pub(crate) fn agreement(a: &JobReport, b: &JobReport) -> (usize, bool) {
    let common = common_users(a, b);
    (common.len(), common.iter().all(|&(_, same)| same))
}

/// The users both reports finished whose suggestions differ, in `a`'s order.
pub(crate) fn differing_users(a: &JobReport, b: &JobReport) -> Vec<u32> {
    common_users(a, b)
        .into_iter()
        .filter(|&(_, same)| !same)
        .map(|(user_id, _)| user_id)
        .collect()
}

/// Each user both reports finished, in `a`'s order, and whether their
/// suggestions agree.
fn common_users(a: &JobReport, b: &JobReport) -> Vec<(u32, bool)> {
    let digests: std::collections::HashMap<u32, &str> = b
        .users
        .iter()
        .map(|user| (user.user_id, user.digest.as_str()))
        .collect();
    a.users
        .iter()
        .filter_map(|user| {
            let other = digests.get(&user.user_id)?;
            Some((user.user_id, *other == user.digest))
        })
        .collect()
}

/// The table `compare` prints, one column per report.
pub(crate) fn table(reports: &[&JobReport]) -> String {
    let mut rows: Vec<(String, Vec<String>)> = vec![
        (
            "mode".into(),
            reports.iter().map(|r| r.mode.to_string()).collect(),
        ),
        (
            "time".into(),
            reports
                .iter()
                .map(|r| format!("{:.2} s", r.elapsed_ms as f64 / 1000.0))
                .collect(),
        ),
        (
            "status".into(),
            reports.iter().map(|r| status(r).to_owned()).collect(),
        ),
        (
            "users done".into(),
            reports
                .iter()
                .map(|r| format!("{} / {}", r.users_done, r.users_total))
                .collect(),
        ),
        (
            "suggestions".into(),
            reports.iter().map(|r| thousands(r.suggestions)).collect(),
        ),
        (
            "peak heap".into(),
            reports.iter().map(|r| bytes(r.peak_bytes)).collect(),
        ),
        (
            "allocations".into(),
            reports.iter().map(|r| thousands(r.allocations)).collect(),
        ),
        (
            "breaker trips".into(),
            reports
                .iter()
                .map(|r| r.breaker_trips.to_string())
                .collect(),
        ),
        (
            "leak alerts".into(),
            reports.iter().map(|r| r.leak_alerts.to_string()).collect(),
        ),
    ];
    if reports.iter().any(|r| !r.skipped_users.is_empty()) {
        rows.push((
            "skipped users".into(),
            reports
                .iter()
                .map(|r| {
                    if r.skipped_users.is_empty() {
                        "-".into()
                    } else {
                        ranges(&r.skipped_users)
                    }
                })
                .collect(),
        ));
    }
    let label_width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..reports.len())
        .map(|c| {
            rows.iter()
                .map(|(_, v)| v[c].len())
                .max()
                .unwrap_or(0)
                .max(10)
        })
        .collect();
    let mut out = String::new();
    for (label, values) in &rows {
        let _ = write!(out, "  {label:<label_width$}");
        for (value, width) in values.iter().zip(&widths) {
            let _ = write!(out, "  {value:>width$}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_compress_runs() {
        assert_eq!(ranges(&[0, 1, 2, 5, 7, 8]), "0-2, 5, 7-8");
        assert_eq!(ranges(&[]), "");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }

    #[test]
    fn sites_show_bytes_share_function_and_a_short_place() {
        let site = |function: &str, file: Option<&str>, line, bytes| crate::report::TopSite {
            function: function.into(),
            file: file.map(Into::into),
            line,
            bytes,
            share: 0.25,
        };
        let mut out = String::new();
        sites(
            &mut out,
            "grew",
            &[
                site(
                    "remember",
                    Some("/w/demo-processor/src/leak.rs"),
                    Some(32),
                    8 << 20,
                ),
                site("clone", Some("contact.rs"), None, 1 << 20),
                site("[unknown]", None, None, 4096),
                site("fourth", None, None, 1),
            ],
        );
        assert_eq!(
            out,
            concat!(
                "      grew 8.0 MiB (25%) in remember at demo-processor/src/leak.rs:32\n",
                "      grew 1.0 MiB (25%) in clone at contact.rs\n",
                "      grew 4.0 KiB (25%) in [unknown]\n",
            )
        );
    }
}
