//! Where the host's memory facts live, under one root directory.
//!
//! Every path the crate reads about the machine goes through a [`Host`], so
//! a copy of a machine's files under a directory replays that machine.

use std::path::{Path, PathBuf};

use super::error::SourceError;
use super::files;
use super::mountinfo::{self, Mount};
use super::psi::{self, Pressure};

/// The machine read: every file under one root directory.
///
/// The files read are `/proc/self/cgroup`, `/proc/self/mountinfo`,
/// `/proc/meminfo`, and the cgroup files under the mount points that
/// mountinfo names, each at the same path under the root.
///
/// ```
/// use heapguard_reading::Host;
/// let host = Host::current();
/// assert_eq!(host.root(), std::path::Path::new("/"));
/// assert_eq!(host.path("/proc/meminfo"), std::path::Path::new("/proc/meminfo"));
/// let replay = Host::with_root("/tmp/k8s-node");
/// assert_eq!(replay.path("/proc/meminfo"), std::path::Path::new("/tmp/k8s-node/proc/meminfo"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Host {
    root: PathBuf,
}

impl Default for Host {
    fn default() -> Self {
        Self::current()
    }
}

impl Host {
    /// This machine: `Host::with_root("/")`.
    pub fn current() -> Self {
        Self::with_root("/")
    }

    /// A host whose files are under `root` (`<root>/proc/meminfo`,
    /// `<root>/sys/fs/cgroup/...`): a copy of another machine's files.
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the host's absolute path `path` is read from.
    pub fn path(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        self.root.join(path.strip_prefix("/").unwrap_or(path))
    }

    /// The `/proc` directory read.
    pub fn proc_dir(&self) -> PathBuf {
        self.path("/proc")
    }

    /// Physical memory: `MemTotal` of `/proc/meminfo`, in bytes.
    pub fn physical_memory(&self) -> Result<u64, SourceError> {
        let path = self.path("/proc/meminfo");
        let text = files::read(&path)?;
        let line = text
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .ok_or_else(|| SourceError::parse(&path, "a `MemTotal: <n> kB` line", &text))?;
        let kib = line
            .trim()
            .strip_suffix("kB")
            .and_then(|number| number.trim().parse::<u64>().ok())
            .ok_or_else(|| SourceError::parse(&path, "`MemTotal: <n> kB`", line))?;
        match kib.checked_mul(1024) {
            Some(0) | None => Err(SourceError::parse(
                &path,
                "a MemTotal above 0 and below 16 EiB",
                line,
            )),
            Some(bytes) => Ok(bytes),
        }
    }

    /// The whole machine's memory pressure stall information
    /// (`/proc/pressure/memory`); an error where the kernel has no PSI.
    pub fn memory_pressure(&self) -> Result<Pressure, SourceError> {
        let path = self.path("/proc/pressure/memory");
        psi::parse(&path, &files::read(&path)?)
    }

    /// The mounts of `/proc/self/mountinfo`.
    pub(crate) fn mounts(&self) -> Result<Vec<Mount>, SourceError> {
        let path = self.path("/proc/self/mountinfo");
        Ok(mountinfo::parse(&files::read(&path)?))
    }

    /// `/proc/self/cgroup`: its path and text.
    pub(crate) fn self_cgroup(&self) -> Result<(PathBuf, String), SourceError> {
        let path = self.path("/proc/self/cgroup");
        let text = files::read(&path)?;
        Ok((path, text))
    }
}
