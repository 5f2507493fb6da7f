//! A process's memory cgroup, found as the kernel shows it: the memory
//! controller's mount in `/proc/self/mountinfo`, the process's path in
//! `/proc/self/cgroup` mapped through that mount's root, and the directories
//! from the cgroup up to the mount point.
//!
//! | | usage | working set |
//! | --- | --- | --- |
//! | v2 | `memory.current` | `memory.current - inactive_file` (`memory.stat`) |
//! | v1 | `memory.usage_in_bytes` | `usage - total_inactive_file` (`memory.stat`) |
//!
//! The working set is what the kernel's OOM killer and `kubectl top` look
//! at: page cache that can be dropped does not count.

use std::path::{Path, PathBuf};

use super::error::SourceError;
use super::files;
use super::host::Host;
use super::mountinfo::Mount;
use super::psi::{self, Pressure};

/// Which cgroup hierarchy a [`Cgroup`] is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CgroupVersion {
    /// The legacy hierarchy, one mount per controller (`memory`).
    V1,
    /// The unified hierarchy (`cgroup2`).
    V2,
}

impl CgroupVersion {
    /// The file holding a level's usage (its own and its descendants').
    pub(crate) fn usage_file(self) -> &'static str {
        match self {
            CgroupVersion::V1 => "memory.usage_in_bytes",
            CgroupVersion::V2 => "memory.current",
        }
    }

    /// The `memory.stat` key of inactive file pages, descendants included.
    pub(crate) fn inactive_file_key(self) -> &'static str {
        match self {
            CgroupVersion::V1 => "total_inactive_file",
            CgroupVersion::V2 => "inactive_file",
        }
    }
}

/// One memory cgroup: its directory and the ancestors visible above it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cgroup {
    version: CgroupVersion,
    host: Host,
    /// The cgroup's directory, then each ancestor up to the mount point, as
    /// the host names them.
    levels: Vec<PathBuf>,
}

impl Cgroup {
    /// The v2 cgroup at `dir` alone (no ancestors read).
    pub fn v2(dir: impl Into<PathBuf>) -> Self {
        Self::alone(CgroupVersion::V2, dir.into())
    }

    /// The v1 memory cgroup at `dir` alone (no ancestors read).
    pub fn v1(dir: impl Into<PathBuf>) -> Self {
        Self::alone(CgroupVersion::V1, dir.into())
    }

    fn alone(version: CgroupVersion, dir: PathBuf) -> Self {
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        Self {
            version,
            host: Host::current(),
            levels: vec![dir],
        }
    }

    /// This process's memory cgroup on `host`.
    ///
    /// Finds the memory controller's mount in `/proc/self/mountinfo` (a
    /// `cgroup` mount with the `memory` option, else a `cgroup2` mount; on a
    /// hybrid host the v1 memory controller, when mounted, is the one that
    /// limits), takes the process's path from `/proc/self/cgroup`, and maps it
    /// through the mount's root. A path outside the mount's root is
    /// [`SourceError::OutsideMount`], never the mount's root.
    pub fn detect(host: &Host) -> Result<Self, SourceError> {
        let mounts = host.mounts()?;
        let (listing, text) = host.self_cgroup()?;
        let (v1_path, v2_path) = paths(&text);
        let v1_mounts: Vec<&Mount> = mounts.iter().filter(|m| m.is_v1_memory()).collect();
        let v2_mounts: Vec<&Mount> = mounts.iter().filter(|m| m.is_v2()).collect();
        let (version, path, candidates) = match (v1_path, v2_path) {
            (Some(path), _) if !v1_mounts.is_empty() => (CgroupVersion::V1, path, v1_mounts),
            (_, Some(path)) if !v2_mounts.is_empty() => (CgroupVersion::V2, path, v2_mounts),
            _ => {
                return Err(SourceError::NoCgroup {
                    reason: format!(
                        "{} names {}, and {} has {}",
                        listing.display(),
                        match (v1_path, v2_path) {
                            (Some(_), Some(_)) => "a v1 memory path and a v2 path",
                            (Some(_), None) => "only a v1 memory path",
                            (None, Some(_)) => "only a v2 path",
                            (None, None) => "neither a v1 memory path nor a v2 path",
                        },
                        host.path("/proc/self/mountinfo").display(),
                        match (v1_mounts.is_empty(), v2_mounts.is_empty()) {
                            (true, true) => "no memory cgroup mount",
                            (false, true) => "only a v1 memory mount",
                            (true, false) => "only a cgroup2 mount",
                            (false, false) => "both mounts",
                        }
                    ),
                });
            }
        };
        let mut outside = None;
        for mount in candidates {
            match relative(path, &mount.root) {
                Some(relative) => {
                    return Ok(Self::under_mount(
                        version,
                        host.clone(),
                        &mount.mount_point,
                        relative,
                    ))
                }
                None => outside.get_or_insert(mount),
            };
        }
        let mount = outside.expect("at least one candidate mount");
        Err(SourceError::OutsideMount {
            path: path.to_owned(),
            mount_root: mount.root.clone(),
            mount_point: mount.mount_point.clone(),
        })
    }

    fn under_mount(version: CgroupVersion, host: Host, mount_point: &Path, relative: &str) -> Self {
        let dir = if relative.is_empty() {
            mount_point.to_path_buf()
        } else {
            mount_point.join(relative)
        };
        let levels = dir
            .ancestors()
            .take_while(|ancestor| ancestor.starts_with(mount_point))
            .map(Path::to_path_buf)
            .collect();
        Self {
            version,
            host,
            levels,
        }
    }

    /// The hierarchy this cgroup is read from.
    pub fn version(&self) -> CgroupVersion {
        self.version
    }

    /// The cgroup's directory, where it is read (under the host's root).
    pub fn dir(&self) -> PathBuf {
        self.host.path(&self.levels[0])
    }

    /// The cgroup's directory as the host names it
    /// (`/sys/fs/cgroup/app.slice/worker.service`).
    pub fn host_dir(&self) -> &Path {
        &self.levels[0]
    }

    /// The cgroup's directory, then each ancestor up to the mount point, as
    /// the host names them.
    pub fn levels(&self) -> &[PathBuf] {
        &self.levels
    }

    /// The host it is read from.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Where the host's file `name` in `level` is read.
    pub(crate) fn file(&self, level: &Path, name: &str) -> PathBuf {
        self.host.path(level.join(name))
    }

    /// The level the kernel charges this process's memory to: the cgroup's
    /// own directory or, where it has no memory files (the controller is
    /// not enabled there), the nearest ancestor that has them.
    pub fn charged_level(&self) -> Result<&Path, SourceError> {
        let usage = self.version.usage_file();
        for level in &self.levels {
            let path = self.file(level, usage);
            if std::fs::symlink_metadata(&path).is_ok() {
                return Ok(level);
            }
        }
        Err(SourceError::NoCgroup {
            reason: format!(
                "no {usage} in {} or any ancestor up to {}",
                self.dir().display(),
                self.host
                    .path(self.levels.last().expect("one level at least"))
                    .display()
            ),
        })
    }

    /// The working set of the charged level ([`Cgroup::charged_level`]):
    /// usage minus inactive file pages (reclaimable page cache), in bytes.
    pub fn working_set(&self) -> Result<u64, SourceError> {
        self.working_set_of(self.charged_level()?)
    }

    /// The working set of one level.
    pub(crate) fn working_set_of(&self, level: &Path) -> Result<u64, SourceError> {
        let usage = self.usage_of(level)?;
        let inactive = self.inactive_file_of(level)?;
        Ok(usage.saturating_sub(inactive))
    }

    /// The usage of one level (`memory.current`, `memory.usage_in_bytes`).
    pub(crate) fn usage_of(&self, level: &Path) -> Result<u64, SourceError> {
        let path = self.file(level, self.version.usage_file());
        files::parse_u64(&path, &files::read(&path)?)
    }

    /// Inactive file pages of one level, from its `memory.stat`.
    pub(crate) fn inactive_file_of(&self, level: &Path) -> Result<u64, SourceError> {
        let path = self.file(level, "memory.stat");
        let key = self.version.inactive_file_key();
        files::stat_value(&path, &files::read(&path)?, key)?.ok_or_else(|| {
            SourceError::parse(
                &path,
                match self.version {
                    CgroupVersion::V1 => "a `total_inactive_file <n>` line",
                    CgroupVersion::V2 => "an `inactive_file <n>` line",
                },
                "",
            )
        })
    }
}

impl Cgroup {
    /// Memory pressure stall information of the charged level
    /// (`memory.pressure`, cgroup v2 with PSI): how much of the time its
    /// tasks waited on memory. Reported beside the byte readings, never a
    /// budget. An error on v1, or where the kernel has no PSI.
    pub fn pressure(&self) -> Result<Pressure, SourceError> {
        let path = self.file(self.charged_level()?, "memory.pressure");
        psi::parse(&path, &files::read(&path)?)
    }
}

/// The v1 memory controller's path and the v2 path of `/proc/self/cgroup`.
fn paths(text: &str) -> (Option<&str>, Option<&str>) {
    let mut v1 = None;
    let mut v2 = None;
    for line in text.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if id == "0" && controllers.is_empty() {
            v2 = Some(path);
        } else if controllers.split(',').any(|c| c == "memory") {
            v1 = Some(path);
        }
    }
    (v1, v2)
}

/// `path` relative to a mount's `root`, or `None` when it lies outside it.
fn relative<'a>(path: &'a str, root: &str) -> Option<&'a str> {
    let root = root.trim_end_matches('/');
    let rest = path.strip_prefix(root)?;
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_prefix('/')
            .map(|rest| rest.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_through_the_mount_root() {
        assert_eq!(relative("/a/b", "/"), Some("a/b"));
        assert_eq!(relative("/", "/"), Some(""));
        assert_eq!(relative("/docker/x", "/docker/x"), Some(""));
        assert_eq!(relative("/docker/x/sys/app", "/docker/x"), Some("sys/app"));
        assert_eq!(relative("/docker/xy", "/docker/x"), None);
        assert_eq!(relative("/other", "/docker/x"), None);
    }

    #[test]
    fn levels_run_from_the_cgroup_to_the_mount_point() {
        let cgroup = Cgroup::under_mount(
            CgroupVersion::V2,
            Host::current(),
            Path::new("/sys/fs/cgroup"),
            "a/b",
        );
        assert_eq!(
            cgroup.levels(),
            [
                PathBuf::from("/sys/fs/cgroup/a/b"),
                PathBuf::from("/sys/fs/cgroup/a"),
                PathBuf::from("/sys/fs/cgroup"),
            ]
        );
    }
}
