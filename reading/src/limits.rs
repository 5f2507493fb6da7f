//! The limits a cgroup and its ancestors set, as the kernel applies them.
//!
//! - v2: `memory.max` (the hard limit: past it the OOM killer runs) and
//!   `memory.high` (past it the kernel throttles the cgroup and reclaims
//!   hard) of the cgroup and of every ancestor visible under the mount; the
//!   smallest of each binds.
//! - v1: `hierarchical_memory_limit` of the cgroup's `memory.stat` (the
//!   kernel's own minimum over the cgroup and its ancestors, visible or
//!   not), its `memory.limit_in_bytes`, and each ancestor's
//!   `memory.limit_in_bytes` while that ancestor's `memory.use_hierarchy` is
//!   1 (with 0, charges stop there: a parent's limit does not bind its
//!   child). `memory.soft_limit_in_bytes` is reported, never applied: it only
//!   orders reclaim.
//! - `max` and values at or above 2^62 (the page-aligned `i64::MAX` the
//!   kernel writes for "unset", `i64::MAX`, `u64::MAX`) mean no limit.
//! - A directory without the controller's files is walked past; a file that
//!   is there but cannot be read is reported as unreadable, never as "no limit".

use std::fmt;
use std::path::{Path, PathBuf};

use super::cgroup::{Cgroup, CgroupVersion};
use super::error::SourceError;
use super::files;

/// Which file a limit is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitKind {
    /// v2 `memory.max`: the hard limit.
    Max,
    /// v2 `memory.high`: the throttling limit.
    High,
    /// v1 `memory.limit_in_bytes`: the hard limit of one level.
    LimitInBytes,
    /// v1 `memory.stat`'s `hierarchical_memory_limit`: the kernel's minimum
    /// over the cgroup and its ancestors.
    HierarchicalMemoryLimit,
    /// v1 `memory.soft_limit_in_bytes`: reclaim priority only, never a budget.
    SoftLimit,
}

impl LimitKind {
    /// The file name.
    pub fn file_name(self) -> &'static str {
        match self {
            LimitKind::Max => "memory.max",
            LimitKind::High => "memory.high",
            LimitKind::LimitInBytes => "memory.limit_in_bytes",
            LimitKind::HierarchicalMemoryLimit => "memory.stat",
            LimitKind::SoftLimit => "memory.soft_limit_in_bytes",
        }
    }

    /// Whether the OOM killer acts at it (`memory.max`, v1's limits).
    pub fn is_hard(self) -> bool {
        matches!(
            self,
            LimitKind::Max | LimitKind::LimitInBytes | LimitKind::HierarchicalMemoryLimit
        )
    }
}

/// What a candidate file said.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Finding {
    /// A limit of this many bytes.
    Bytes(u64),
    /// No limit: `max` or an unlimited sentinel.
    Unlimited,
    /// No such file here: the controller's files are not in this directory
    /// (it is not enabled at this level), so the walk goes past it.
    Absent,
    /// Something is there but could not be read or parsed: unknown.
    Unreadable(SourceError),
    /// A v1 ancestor whose limit does not bind the cgroup, because its
    /// `memory.use_hierarchy` (or a lower ancestor's) is 0.
    NotHierarchical,
}

/// One file read while looking for a limit, and what it said.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The file, as the host names it (`/sys/fs/cgroup/app.slice/memory.max`).
    pub file: PathBuf,
    /// Which limit it holds.
    pub kind: LimitKind,
    /// What it said.
    pub finding: Finding,
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        let key = if self.kind == LimitKind::HierarchicalMemoryLimit {
            " hierarchical_memory_limit"
        } else {
            ""
        };
        match &self.finding {
            Finding::Bytes(bytes) => write!(f, "{file}{key}: {bytes} bytes"),
            Finding::Unlimited => write!(f, "{file}{key}: no limit"),
            Finding::Absent => write!(f, "{file}: absent (no memory controller files here)"),
            Finding::Unreadable(error) => write!(f, "{file}{key}: unreadable ({error})"),
            Finding::NotHierarchical => write!(
                f,
                "{file}: does not bind this cgroup (memory.use_hierarchy is 0)"
            ),
        }
    }
}

/// A limit found: bytes and the file that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The limit, in bytes.
    pub bytes: u64,
    /// The file, as the host names it.
    pub file: PathBuf,
    /// Which limit it is.
    pub kind: LimitKind,
}

/// One level's own limit and where its usage is read, for comparing each
/// level's usage with its own limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LevelLimit {
    /// The level, as the host names it.
    pub(crate) level: PathBuf,
    /// The smallest of its hard and throttling limits, if any.
    pub(crate) bytes: u64,
}

/// Every limit file of a cgroup and its visible ancestors, and what each said.
#[derive(Debug, Clone, PartialEq)]
pub struct CgroupLimits {
    cgroup: Cgroup,
    candidates: Vec<Candidate>,
    levels: Vec<LevelLimit>,
}

impl CgroupLimits {
    /// Reads the limit files of `cgroup` and its ancestors.
    pub fn read(cgroup: &Cgroup) -> Self {
        let mut limits = Self {
            cgroup: cgroup.clone(),
            candidates: Vec::new(),
            levels: Vec::new(),
        };
        match cgroup.version() {
            CgroupVersion::V2 => limits.read_v2(),
            CgroupVersion::V1 => limits.read_v1(),
        }
        limits
    }

    fn read_v2(&mut self) {
        for level in self.cgroup.levels().to_vec() {
            let max = self.candidate(&level, LimitKind::Max);
            let high = self.candidate(&level, LimitKind::High);
            self.add_level(&level, [max, high]);
        }
    }

    fn read_v1(&mut self) {
        let levels = self.cgroup.levels().to_vec();
        // Directories without the controller's files are walked past.
        let charged = levels.iter().position(|level| {
            let path = self.cgroup.file(level, LimitKind::LimitInBytes.file_name());
            std::fs::symlink_metadata(path).is_ok()
        });
        let Some(charged) = charged else {
            for level in &levels {
                self.candidate(level, LimitKind::LimitInBytes);
            }
            return;
        };
        for level in &levels[..charged] {
            self.candidate(level, LimitKind::LimitInBytes);
        }
        let own = &levels[charged];
        let hierarchical = self.hierarchical_memory_limit(own);
        let limit = self.candidate(own, LimitKind::LimitInBytes);
        self.candidate(own, LimitKind::SoftLimit);
        self.add_level(own, [hierarchical, limit]);
        let mut binding = true;
        for level in &levels[charged + 1..] {
            let path = self.cgroup.file(level, "memory.use_hierarchy");
            match files::read_if_present(&path) {
                Ok(Some(text)) if text.trim() == "0" => binding = false,
                // Unknown: count the limit (a smaller budget, never a larger one).
                Ok(_) | Err(_) => {}
            }
            if binding {
                let limit = self.candidate(level, LimitKind::LimitInBytes);
                self.add_level(level, [limit, None]);
            } else {
                let file = level.join(LimitKind::LimitInBytes.file_name());
                let finding = if self.cgroup.file(level, "").exists() {
                    Finding::NotHierarchical
                } else {
                    Finding::Absent
                };
                self.candidates.push(Candidate {
                    file,
                    kind: LimitKind::LimitInBytes,
                    finding,
                });
            }
        }
    }

    /// Reads one limit file of `level`; its bytes if it sets a limit.
    fn candidate(&mut self, level: &Path, kind: LimitKind) -> Option<u64> {
        let path = self.cgroup.file(level, kind.file_name());
        let finding = match files::read_if_present(&path) {
            Ok(None) => Finding::Absent,
            Ok(Some(text)) => match files::parse_limit(&path, &text) {
                Ok(Some(bytes)) => Finding::Bytes(bytes),
                Ok(None) => Finding::Unlimited,
                Err(error) => Finding::Unreadable(error),
            },
            Err(error) => Finding::Unreadable(error),
        };
        let bytes = match finding {
            Finding::Bytes(bytes) => Some(bytes),
            _ => None,
        };
        self.candidates.push(Candidate {
            file: level.join(kind.file_name()),
            kind,
            finding,
        });
        bytes
    }

    fn hierarchical_memory_limit(&mut self, level: &Path) -> Option<u64> {
        let path = self.cgroup.file(level, "memory.stat");
        let finding = match files::read_if_present(&path) {
            Ok(None) => Finding::Absent,
            Ok(Some(text)) => match files::stat_value(&path, &text, "hierarchical_memory_limit") {
                Ok(Some(bytes)) if bytes < files::UNLIMITED_FROM => Finding::Bytes(bytes),
                Ok(Some(_)) => Finding::Unlimited,
                Ok(None) => Finding::Absent,
                Err(error) => Finding::Unreadable(error),
            },
            Err(error) => Finding::Unreadable(error),
        };
        let bytes = match finding {
            Finding::Bytes(bytes) => Some(bytes),
            _ => None,
        };
        self.candidates.push(Candidate {
            file: level.join("memory.stat"),
            kind: LimitKind::HierarchicalMemoryLimit,
            finding,
        });
        bytes
    }

    fn add_level(&mut self, level: &Path, limits: [Option<u64>; 2]) {
        if let Some(bytes) = limits.into_iter().flatten().min() {
            self.levels.push(LevelLimit {
                level: level.to_path_buf(),
                bytes,
            });
        }
    }

    /// The cgroup read.
    pub fn cgroup(&self) -> &Cgroup {
        &self.cgroup
    }

    /// Every file read, in order from the cgroup up, and what each said.
    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    fn smallest(&self, wanted: impl Fn(LimitKind) -> bool) -> Option<Limit> {
        self.candidates
            .iter()
            .filter(|candidate| wanted(candidate.kind))
            .filter_map(|candidate| match candidate.finding {
                Finding::Bytes(bytes) => Some(Limit {
                    bytes,
                    file: candidate.file.clone(),
                    kind: candidate.kind,
                }),
                _ => None,
            })
            .min_by_key(|limit| limit.bytes)
    }

    /// The hard limit: the smallest `memory.max` (v2) or v1 limit that binds.
    pub fn max(&self) -> Option<Limit> {
        self.smallest(LimitKind::is_hard)
    }

    /// The smallest `memory.high` (v2).
    pub fn high(&self) -> Option<Limit> {
        self.smallest(|kind| kind == LimitKind::High)
    }

    /// The v1 soft limit of the cgroup: reported, never used as a budget.
    pub fn soft(&self) -> Option<Limit> {
        self.smallest(|kind| kind == LimitKind::SoftLimit)
    }

    /// The files that are there but could not be read or parsed.
    pub fn unreadable(&self) -> impl Iterator<Item = &Candidate> {
        self.candidates
            .iter()
            .filter(|candidate| matches!(candidate.finding, Finding::Unreadable(_)))
    }

    /// Each level with a limit, and the smallest limit it sets itself.
    pub(crate) fn levels(&self) -> &[LevelLimit] {
        &self.levels
    }
}
