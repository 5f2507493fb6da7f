//! The one error type of readings, [`SourceError`], and the budget's own
//! errors, [`BudgetError`], which carry a `SourceError` when a file could not
//! be read rather than a copy of its message.

use std::path::{Path, PathBuf};

/// Why memory could not be read: a source, a host file, a cgroup.
///
/// Clones and compares by what it says (the path, the kind of I/O failure
/// and its message), so a reading that failed can be published to many
/// breakers and asserted on in tests.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// `CountingAllocSource` was asked for while the counting allocator is not
    /// the global allocator: its counters would read zero forever.
    #[error(
        "the counting allocator is not installed, so heapguard_alloc's counters read zero; \
         add `#[global_allocator] static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> \
         = heapguard_alloc::CountingAlloc::new(std::alloc::System);` to the binary, \
         or use another source (RssSource, JemallocAllocatedSource)"
    )]
    CountingAllocNotInstalled,
    /// A file could not be read (it exists but is unreadable, or a file that
    /// must exist is missing).
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file, as read (under the host's root).
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A file did not hold what the kernel writes there.
    #[error("cannot parse {path}: expected {expected}, found {found:?}")]
    Parse {
        /// The file, as read (under the host's root).
        path: PathBuf,
        /// What was expected there.
        expected: &'static str,
        /// What was found (truncated to 64 characters).
        found: String,
    },
    /// No memory cgroup could be found for this process.
    #[error("no memory cgroup: {reason}")]
    NoCgroup {
        /// Why (which files were read and what they lacked).
        reason: String,
    },
    /// The process's cgroup path lies outside the root of the mount that
    /// shows its hierarchy (`/proc/self/mountinfo`'s fourth field), so its
    /// directory is not visible here. Reading the mount's root instead would
    /// read some other cgroup's limit and usage.
    #[error(
        "the memory cgroup {path} is outside the root {mount_root} of the cgroup mount at \
         {mount_point}: its files are not visible in this mount namespace"
    )]
    OutsideMount {
        /// The path from `/proc/self/cgroup`.
        path: String,
        /// The mount's root, from mountinfo.
        mount_root: String,
        /// Where it is mounted.
        mount_point: PathBuf,
    },
    /// jemalloc's control interface failed.
    #[cfg(feature = "jemalloc")]
    #[error("jemalloc statistics are unavailable (is jemalloc the global allocator?): {0}")]
    Jemalloc(#[from] heapguard_alloc::jemalloc::JemallocError),
}

impl PartialEq for SourceError {
    fn eq(&self, other: &Self) -> bool {
        use SourceError::*;
        match (self, other) {
            (CountingAllocNotInstalled, CountingAllocNotInstalled) => true,
            (Io { path, source }, Io { path: p, source: s }) => {
                path == p && source.kind() == s.kind() && source.to_string() == s.to_string()
            }
            (
                Parse {
                    path,
                    expected,
                    found,
                },
                Parse {
                    path: p,
                    expected: e,
                    found: f,
                },
            ) => path == p && expected == e && found == f,
            (NoCgroup { reason }, NoCgroup { reason: r }) => reason == r,
            (
                OutsideMount {
                    path,
                    mount_root,
                    mount_point,
                },
                OutsideMount {
                    path: p,
                    mount_root: r,
                    mount_point: m,
                },
            ) => path == p && mount_root == r && mount_point == m,
            #[cfg(feature = "jemalloc")]
            (Jemalloc(a), Jemalloc(b)) => a == b,
            _ => false,
        }
    }
}

impl Clone for SourceError {
    fn clone(&self) -> Self {
        use SourceError::*;
        match self {
            CountingAllocNotInstalled => CountingAllocNotInstalled,
            // An I/O error is not `Clone`: the copy keeps its kind and message.
            Io { path, source } => Io {
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            Parse {
                path,
                expected,
                found,
            } => Parse {
                path: path.clone(),
                expected,
                found: found.clone(),
            },
            NoCgroup { reason } => NoCgroup {
                reason: reason.clone(),
            },
            OutsideMount {
                path,
                mount_root,
                mount_point,
            } => OutsideMount {
                path: path.clone(),
                mount_root: mount_root.clone(),
                mount_point: mount_point.clone(),
            },
            #[cfg(feature = "jemalloc")]
            Jemalloc(error) => Jemalloc(error.clone()),
        }
    }
}

impl SourceError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        SourceError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn parse(path: impl Into<PathBuf>, expected: &'static str, found: &str) -> Self {
        SourceError::Parse {
            path: path.into(),
            expected,
            found: found.chars().take(64).collect(),
        }
    }

    /// The file this error is about, if it is about one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            SourceError::Io { path, .. } | SourceError::Parse { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// Why a [`Budget`](crate::Budget) cannot be parsed or resolved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BudgetError {
    /// A budget of 0 bytes would refuse everything.
    #[error("a memory budget must be more than 0 bytes")]
    Zero,
    /// Text that is no size, or a size that does not fit in 64 bits.
    #[error(
        "cannot parse {input:?} as a memory budget ({reason}); write a size such as \
         \"512MiB\", \"1.5GiB\", \"2GB\" or \"1048576\" (bytes, below 16 EiB), a percentage \
         such as \"80%\", or one of \"cgroup\", \"system\", \"auto\""
    )]
    Size {
        /// The text given.
        input: String,
        /// What went wrong.
        reason: String,
    },
    /// A percentage outside (0, 100].
    #[error("cannot use {input:?} as a share of memory: write a percentage above 0 and at most 100, such as \"80%\"")]
    Percent {
        /// The text given.
        input: String,
    },
    /// A fact about the machine could not be read (a missing file is unknown, never 0).
    #[error("the {what} is unknown: {source}")]
    Unknown {
        /// What was looked for.
        what: &'static str,
        /// Why it could not be read.
        #[source]
        source: SourceError,
    },
    /// [`Budget::Cgroup`](crate::Budget::Cgroup) was asked for, but neither
    /// the cgroup nor any ancestor visible sets a hard limit.
    #[error(
        "the memory cgroup at {dir} and its ancestors set no memory limit (`max`); \
         a budget of `auto` (the smallest known limit) or a fixed size such as `512MiB` \
         would work instead"
    )]
    NoCgroupLimit {
        /// The cgroup directory (as the host names it).
        dir: PathBuf,
    },
    /// [`Budget::Auto`](crate::Budget::Auto) found neither a cgroup limit nor
    /// physical memory.
    #[error("no memory budget is known: cgroup: {cgroup}; physical memory: {physical}")]
    NothingKnown {
        /// Why the cgroup gave none.
        cgroup: String,
        /// Why physical memory is unknown.
        physical: SourceError,
    },
}
