//! Reading the small text files of `/proc` and cgroupfs, and the byte counts
//! in them.

use std::io::ErrorKind;
use std::path::Path;

use super::error::SourceError;

/// At or above this, a limit means "no limit": 2^62 bytes (4 EiB). The
/// kernel writes the page-aligned `i64::MAX` (`9223372036854771712` with 4
/// KiB pages, `9223372036854710272` with 64 KiB pages) for an unset v1
/// limit, and some tools write `i64::MAX` or `u64::MAX`; no machine has 4 EiB.
pub(crate) const UNLIMITED_FROM: u64 = 1 << 62;

/// The text of a file that must exist.
pub(crate) fn read(path: &Path) -> Result<String, SourceError> {
    std::fs::read_to_string(path).map_err(|error| SourceError::io(path, error))
}

/// The text of a file, `None` when nothing is at `path`: a cgroup directory
/// without a controller's files is normal. Something at `path` that cannot
/// be read (a directory, a dangling symbolic link, no permission) is an error,
/// never "absent".
pub(crate) fn read_if_present(path: &Path) -> Result<Option<String>, SourceError> {
    match std::fs::symlink_metadata(path) {
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(error) => Err(SourceError::io(path, error)),
        Ok(_) => read(path).map(Some),
    }
}

/// A byte count as the kernel writes one (`"1073741824\n"`).
pub(crate) fn parse_u64(path: &Path, text: &str) -> Result<u64, SourceError> {
    text.trim()
        .parse()
        .map_err(|_| SourceError::parse(path, "a byte count", text))
}

/// A limit: `Some(bytes)`, or `None` for `max` and the unlimited sentinels.
pub(crate) fn parse_limit(path: &Path, text: &str) -> Result<Option<u64>, SourceError> {
    match text.trim() {
        "max" => Ok(None),
        number => number
            .parse::<u64>()
            .map(|bytes| (bytes < UNLIMITED_FROM).then_some(bytes))
            .map_err(|_| SourceError::parse(path, "a byte count or `max`", text)),
    }
}

/// The value of `key` in a `key value` file such as `memory.stat`.
pub(crate) fn stat_value(path: &Path, text: &str, key: &str) -> Result<Option<u64>, SourceError> {
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        if fields.next() == Some(key) {
            let value = fields.next().unwrap_or("");
            return value
                .parse()
                .map(Some)
                .map_err(|_| SourceError::parse(path, "a byte count after the key", line));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinels_mean_no_limit() {
        let path = Path::new("memory.max");
        for sentinel in [
            "max",
            "9223372036854771712",
            "9223372036854710272",
            "9223372036854775807",
            "18446744073709551615",
            "4611686018427387904",
        ] {
            assert_eq!(parse_limit(path, sentinel), Ok(None), "{sentinel}");
        }
        assert_eq!(
            parse_limit(path, "4611686018427387903\n"),
            Ok(Some((1 << 62) - 1))
        );
        assert!(parse_limit(path, "-1").is_err());
    }

    #[test]
    fn stat_values_by_key() {
        let path = Path::new("memory.stat");
        let text = "inactive_file 5\ntotal_inactive_file 7\n";
        assert_eq!(stat_value(path, text, "inactive_file"), Ok(Some(5)));
        assert_eq!(stat_value(path, text, "total_inactive_file"), Ok(Some(7)));
        assert_eq!(stat_value(path, text, "active_file"), Ok(None));
        assert!(stat_value(path, "inactive_file x\n", "inactive_file").is_err());
    }
}
