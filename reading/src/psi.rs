//! Pressure stall information (PSI) for memory: the share of time tasks
//! waited on memory (reclaim, refaults, swap-in), as the kernel reports it
//! in `memory.pressure` (cgroup v2) and `/proc/pressure/memory` (the host).
//!
//! Format (Documentation/accounting/psi.rst):
//! `some avg10=0.12 avg60=0.05 avg300=0.01 total=123456` and a `full` line
//! of the same shape; `total` is in microseconds. Reported beside the byte
//! readings, never compared with a budget: it says how hard the kernel
//! works to keep the cgroup under its limits, not how close it is.

use std::path::Path;

use super::error::SourceError;

/// One PSI line: averages over 10 s, 60 s and 300 s in percent, and the
/// total stall time in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stall {
    /// Percent of the last 10 seconds.
    pub avg10: f64,
    /// Percent of the last 60 seconds.
    pub avg60: f64,
    /// Percent of the last 300 seconds.
    pub avg300: f64,
    /// Total stall time, in microseconds.
    pub total_us: u64,
}

/// Memory pressure: `some` (at least one task stalled) and `full` (all
/// non-idle tasks stalled at once).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Pressure {
    /// Time at least one task waited on memory.
    pub some: Stall,
    /// Time every non-idle task waited on memory at once.
    pub full: Stall,
}

/// Parses a `memory.pressure` file's text.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Pressure, SourceError> {
    let expected = "`some avg10=<f> avg60=<f> avg300=<f> total=<n>` and a `full` line";
    let mut pressure = Pressure::default();
    let mut seen = (false, false);
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let target = match fields.next() {
            Some("some") => {
                seen.0 = true;
                &mut pressure.some
            }
            Some("full") => {
                seen.1 = true;
                &mut pressure.full
            }
            _ => continue,
        };
        for field in fields {
            let (key, value) = field
                .split_once('=')
                .ok_or_else(|| SourceError::parse(path, expected, line))?;
            let bad = || SourceError::parse(path, expected, line);
            match key {
                "avg10" => target.avg10 = value.parse().map_err(|_| bad())?,
                "avg60" => target.avg60 = value.parse().map_err(|_| bad())?,
                "avg300" => target.avg300 = value.parse().map_err(|_| bad())?,
                "total" => target.total_us = value.parse().map_err(|_| bad())?,
                _ => {}
            }
        }
    }
    // Kernels before 5.13 write no `full` line for the host's CPU file; a
    // memory file always has both, but `some` alone is still a reading.
    if !seen.0 {
        return Err(SourceError::parse(path, expected, text));
    }
    Ok(pressure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kernel_format() {
        let text = "some avg10=1.25 avg60=0.50 avg300=0.10 total=123456\n\
                    full avg10=0.75 avg60=0.25 avg300=0.05 total=65432\n";
        let pressure = parse(Path::new("memory.pressure"), text).unwrap();
        assert_eq!(
            pressure,
            Pressure {
                some: Stall {
                    avg10: 1.25,
                    avg60: 0.5,
                    avg300: 0.1,
                    total_us: 123_456
                },
                full: Stall {
                    avg10: 0.75,
                    avg60: 0.25,
                    avg300: 0.05,
                    total_us: 65_432
                },
            }
        );
        assert!(parse(Path::new("memory.pressure"), "garbage\n").is_err());
        assert!(parse(Path::new("memory.pressure"), "some avg10=x\n").is_err());
    }
}
