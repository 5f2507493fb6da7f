//! The process's resident set size, for the purge report.

/// Resident bytes from `/proc/self/status` (`VmRSS`), or `None` where it
/// cannot be read (not Linux).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
