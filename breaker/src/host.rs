//! Where the host's memory facts live: `/proc` and the cgroup mount.
//!
//! Every path the crate reads about the machine goes through a [`Host`], so
//! tests point one at fixture directories instead of the real system.

use std::path::{Path, PathBuf};

use crate::budget::BudgetError;
use crate::cgroup::Cgroup;

/// The roots of `/proc` and of the cgroup filesystem to read budgets from.
///
/// ```
/// use heapguard_breaker::Host;
/// let host = Host::current();
/// assert_eq!(host.proc_dir(), std::path::Path::new("/proc"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    proc_dir: PathBuf,
    cgroup_mount: PathBuf,
}

impl Default for Host {
    fn default() -> Self {
        Self::current()
    }
}

impl Host {
    /// This machine: `/proc` and `/sys/fs/cgroup`.
    pub fn current() -> Self {
        Self::with_paths("/proc", "/sys/fs/cgroup")
    }

    /// A host whose `/proc` is `proc_dir` and whose cgroup filesystem is
    /// mounted at `cgroup_mount` (fixture directories in tests).
    pub fn with_paths(proc_dir: impl Into<PathBuf>, cgroup_mount: impl Into<PathBuf>) -> Self {
        Self {
            proc_dir: proc_dir.into(),
            cgroup_mount: cgroup_mount.into(),
        }
    }

    /// The `/proc` directory read.
    pub fn proc_dir(&self) -> &Path {
        &self.proc_dir
    }

    /// Where the cgroup filesystem is mounted.
    pub fn cgroup_mount(&self) -> &Path {
        &self.cgroup_mount
    }

    /// This process's memory cgroup (see [`Cgroup::detect`]).
    pub fn cgroup(&self) -> Result<Cgroup, BudgetError> {
        Cgroup::detect(self)
    }

    /// Physical memory: `MemTotal` of `/proc/meminfo`.
    pub fn physical_memory(&self) -> Result<u64, BudgetError> {
        let path = self.proc_dir.join("meminfo");
        let text = std::fs::read_to_string(&path).map_err(|error| BudgetError::Unknown {
            what: "physical memory",
            path: path.clone(),
            reason: error.to_string(),
        })?;
        let line = text
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .ok_or_else(|| BudgetError::Unknown {
                what: "physical memory",
                path: path.clone(),
                reason: "no `MemTotal:` line".to_owned(),
            })?;
        let kib = line
            .trim()
            .strip_suffix("kB")
            .and_then(|number| number.trim().parse::<u64>().ok())
            .ok_or_else(|| BudgetError::garbage(&path, "`MemTotal: <n> kB`", line))?;
        match kib.saturating_mul(1024) {
            0 => Err(BudgetError::garbage(&path, "a MemTotal above 0", line)),
            bytes => Ok(bytes),
        }
    }
}
