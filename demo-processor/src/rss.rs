//! The process's resident set size, now and at its peak, from
//! `/proc/self/status` (Linux).

/// Resident bytes now (`VmRSS`), or `None` where they cannot be read (not
/// Linux).
pub fn resident_bytes() -> Option<u64> {
    status_kib("VmRSS:")
}

/// The most resident bytes the process has held since it started (`VmHWM`,
/// the high-water mark of `VmRSS`), or `None` where it cannot be read.
pub fn peak_resident_bytes() -> Option<u64> {
    status_kib("VmHWM:")
}

/// A `kB` line of `/proc/self/status`, in bytes.
fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(key))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn the_peak_is_at_least_what_is_resident_now() {
        // The high-water mark never falls, so read after the current
        // figure it is at least that figure.
        let now = resident_bytes().expect("VmRSS on Linux");
        let peak = peak_resident_bytes().expect("VmHWM on Linux");
        assert!(now > 0);
        assert!(peak >= now, "peak {peak} < now {now}");
    }
}
