//! A process's memory cgroup: its limit (the budget a container really has)
//! and its working set.
//!
//! | | limit | usage | working set |
//! | --- | --- | --- | --- |
//! | v2 | `memory.max` (`max` = none), the smallest over the ancestors | `memory.current` | `memory.current - inactive_file` (`memory.stat`) |
//! | v1 | `memory.limit_in_bytes` (near `i64::MAX` = none) | `memory.usage_in_bytes` | `usage - total_inactive_file` |
//!
//! The working set is what the kernel's OOM killer and `kubectl top` look
//! at: page cache that can be dropped does not count.

use std::path::{Path, PathBuf};

use crate::budget::BudgetError;
use crate::host::Host;
use crate::source::SourceError;

/// cgroup v1 reports "no limit" as the largest page-aligned `i64`; anything
/// at or above 2^60 bytes (1 EiB) is treated as no limit.
const V1_UNLIMITED: u64 = 1 << 60;

/// Which cgroup hierarchy a [`Cgroup`] is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    /// The legacy hierarchy, one mount per controller (`memory/`).
    V1,
    /// The unified hierarchy.
    V2,
}

/// One memory cgroup directory and how to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    version: CgroupVersion,
    dir: PathBuf,
    /// v2: the mount root; ancestors of `dir` up to it are read for limits too.
    mount: Option<PathBuf>,
}

impl Cgroup {
    /// The v2 cgroup at `dir` (only its own `memory.max` counts).
    pub fn v2(dir: impl Into<PathBuf>) -> Self {
        Self {
            version: CgroupVersion::V2,
            dir: dir.into(),
            mount: None,
        }
    }

    /// The v1 memory cgroup at `dir`.
    pub fn v1(dir: impl Into<PathBuf>) -> Self {
        Self {
            version: CgroupVersion::V1,
            dir: dir.into(),
            mount: None,
        }
    }

    /// This process's memory cgroup on `host`: the path from
    /// `<proc>/self/cgroup` under the mount (v1's `memory` controller line if
    /// there is one, else v2's `0::` line). Inside a container the path often
    /// names the host's view; then the mount root itself is used.
    pub fn detect(host: &Host) -> Result<Self, BudgetError> {
        let mount = host.cgroup_mount();
        let listing = host.proc_dir().join("self/cgroup");
        let text = std::fs::read_to_string(&listing).unwrap_or_default();
        let mut v1_path = None;
        let mut v2_path = None;
        for line in text.lines() {
            let mut fields = line.splitn(3, ':');
            let (Some(id), Some(controllers), Some(path)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if id == "0" && controllers.is_empty() {
                v2_path = Some(path);
            } else if controllers.split(',').any(|c| c == "memory") {
                v1_path = Some(path);
            }
        }
        let under = |root: &Path, path: Option<&str>| {
            path.map(|path| root.join(path.trim_start_matches('/')))
                .filter(|dir| dir.is_dir())
                .unwrap_or_else(|| root.to_path_buf())
        };
        let v1_root = mount.join("memory");
        if v1_path.is_some() || (v2_path.is_none() && v1_root.is_dir()) {
            return Ok(Self::v1(under(&v1_root, v1_path)));
        }
        if v2_path.is_some() || mount.join("cgroup.controllers").is_file() {
            let dir = under(mount, v2_path);
            return Ok(Self {
                mount: Some(mount.to_path_buf()),
                ..Self::v2(dir)
            });
        }
        Err(BudgetError::Unknown {
            what: "cgroup memory limit",
            path: mount.to_path_buf(),
            reason: format!(
                "no memory cgroup found ({} lists none, and {} holds neither cgroup v2 nor v1's memory/)",
                listing.display(),
                mount.display()
            ),
        })
    }

    /// The hierarchy this cgroup is read from.
    pub fn version(&self) -> CgroupVersion {
        self.version
    }

    /// The cgroup directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The memory limit: `Ok(None)` when the cgroup sets none (`max`), an
    /// error when it cannot be known (a missing file is unknown, never 0).
    pub fn limit(&self) -> Result<Option<u64>, BudgetError> {
        match self.version {
            CgroupVersion::V1 => {
                let path = self.dir.join("memory.limit_in_bytes");
                let bytes = read_number(&path)?;
                Ok(Some(bytes).filter(|&bytes| bytes < V1_UNLIMITED))
            }
            CgroupVersion::V2 => {
                let mut limit = read_v2_max(&self.dir.join("memory.max"))?;
                // A parent's limit binds this cgroup too.
                if let Some(mount) = &self.mount {
                    let mut dir = self.dir.parent();
                    while let Some(ancestor) = dir.filter(|dir| dir.starts_with(mount)) {
                        let path = ancestor.join("memory.max");
                        if path.is_file() {
                            if let Some(bytes) = read_v2_max(&path)? {
                                limit = Some(limit.map_or(bytes, |own| own.min(bytes)));
                            }
                        }
                        dir = ancestor.parent();
                    }
                }
                Ok(limit)
            }
        }
    }

    /// The working set: usage minus inactive file pages (reclaimable page cache).
    pub fn working_set(&self) -> Result<u64, SourceError> {
        let (usage_file, inactive_key) = match self.version {
            CgroupVersion::V1 => ("memory.usage_in_bytes", "total_inactive_file"),
            CgroupVersion::V2 => ("memory.current", "inactive_file"),
        };
        let usage = read_number(&self.dir.join(usage_file)).map_err(BudgetError::into_source)?;
        let stat_path = self.dir.join("memory.stat");
        let stat = std::fs::read_to_string(&stat_path).map_err(|source| SourceError::Io {
            path: stat_path.clone(),
            source,
        })?;
        let inactive = stat
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(' ')?;
                (key == inactive_key).then(|| value.trim().parse::<u64>())
            })
            .ok_or_else(|| SourceError::parse(&stat_path, "an `inactive_file <n>` line", &stat))?
            .map_err(|_| SourceError::parse(&stat_path, "a byte count", &stat))?;
        Ok(usage.saturating_sub(inactive))
    }
}

fn read_text(path: &Path) -> Result<String, BudgetError> {
    std::fs::read_to_string(path).map_err(|error| BudgetError::Unknown {
        what: "cgroup memory limit",
        path: path.to_path_buf(),
        reason: error.to_string(),
    })
}

fn read_number(path: &Path) -> Result<u64, BudgetError> {
    let text = read_text(path)?;
    text.trim()
        .parse()
        .map_err(|_| BudgetError::garbage(path, "a byte count", &text))
}

fn read_v2_max(path: &Path) -> Result<Option<u64>, BudgetError> {
    let text = read_text(path)?;
    match text.trim() {
        "max" => Ok(None),
        number => number
            .parse()
            .map(Some)
            .map_err(|_| BudgetError::garbage(path, "a byte count or `max`", &text)),
    }
}
