//! A resolved budget and where it came from.

use std::fmt;
use std::path::PathBuf;

use bytesize::ByteSize;

use super::error::SourceError;
use super::limits::{CgroupLimits, Finding, Limit, LimitKind};

/// Where a budget's bytes come from.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Origin {
    /// A fixed size ([`Budget::Bytes`](crate::Budget::Bytes)).
    Fixed,
    /// A cgroup limit file (`memory.max`, `memory.high`, v1's limits).
    Cgroup(Limit),
    /// Physical memory, `MemTotal` of this file (`/proc/meminfo`).
    PhysicalMemory {
        /// The file, as the host names it.
        file: PathBuf,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Fixed => f.write_str("a fixed size"),
            Origin::Cgroup(limit) if limit.kind == LimitKind::HierarchicalMemoryLimit => {
                write!(f, "{} (hierarchical_memory_limit)", limit.file.display())
            }
            Origin::Cgroup(limit) => write!(f, "{}", limit.file.display()),
            Origin::PhysicalMemory { file } => {
                write!(f, "physical memory (MemTotal of {})", file.display())
            }
        }
    }
}

/// A budget in bytes, where it came from, and what else was looked at.
///
/// ```
/// use heapguard_reading::Budget;
/// use heapguard_reading::{Host, Origin};
/// let resolution = Budget::Bytes(1 << 30).resolution_on(&Host::with_root("/nonexistent"))?;
/// assert_eq!(resolution.bytes(), 1 << 30);
/// assert_eq!(resolution.origin(), &Origin::Fixed);
/// # Ok::<(), heapguard_reading::BudgetError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    pub(crate) bytes: u64,
    pub(crate) origin: Origin,
    pub(crate) percent: Option<f64>,
    pub(crate) limits: Option<CgroupLimits>,
    pub(crate) cgroup_error: Option<SourceError>,
    pub(crate) physical: Option<u64>,
    pub(crate) warnings: Vec<String>,
}

impl Resolution {
    /// The budget, in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Where the bytes (or, for a percentage, the whole they are a share of) come from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The percentage taken of the origin's bytes, for [`Budget::PercentOfAuto`](crate::Budget::PercentOfAuto).
    pub fn percent(&self) -> Option<f64> {
        self.percent
    }

    /// Whether the budget comes from a cgroup limit.
    pub fn is_from_cgroup(&self) -> bool {
        matches!(self.origin, Origin::Cgroup(_))
    }

    /// The cgroup's limit files and what each said, when a cgroup was read.
    pub fn cgroup_limits(&self) -> Option<&CgroupLimits> {
        self.limits.as_ref()
    }

    /// Why no cgroup was read, when none was.
    pub fn cgroup_error(&self) -> Option<&SourceError> {
        self.cgroup_error.as_ref()
    }

    /// The `memory.high` that binds (v2), reported whether or not it is the budget.
    pub fn high(&self) -> Option<Limit> {
        self.limits.as_ref().and_then(CgroupLimits::high)
    }

    /// The v1 soft limit: reported only, never a budget (it orders reclaim,
    /// it does not throttle).
    pub fn soft_limit(&self) -> Option<Limit> {
        self.limits.as_ref().and_then(CgroupLimits::soft)
    }

    /// Physical memory, when it was read.
    pub fn physical_memory(&self) -> Option<u64> {
        self.physical
    }

    /// Every cgroup file read that did not set the budget, and why: no limit,
    /// absent (walked past), unreadable, not binding, or a larger limit.
    pub fn skipped(&self) -> Vec<String> {
        let chosen = match &self.origin {
            Origin::Cgroup(limit) => Some(limit),
            _ => None,
        };
        let mut skipped: Vec<String> = self
            .limits
            .iter()
            .flat_map(|limits| limits.candidates())
            .filter(|candidate| {
                chosen.is_none_or(|limit| {
                    candidate.file != limit.file || candidate.kind != limit.kind
                })
            })
            .map(|candidate| match (&candidate.finding, candidate.kind) {
                (Finding::Bytes(_), LimitKind::SoftLimit) => {
                    format!("{candidate} (a soft limit: reported, never a budget)")
                }
                (Finding::Bytes(_), _) => format!("{candidate} (not the smallest)"),
                _ => candidate.to_string(),
            })
            .collect();
        if let Some(error) = &self.cgroup_error {
            skipped.insert(0, format!("cgroup: {error}"));
        }
        skipped
    }

    /// What a person should know about this resolution (a cgroup file that
    /// could not be read, a fixed budget above the effective limit); logged
    /// as `tracing` warnings by [`Budget::resolution_on`](crate::Budget::resolution_on).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} bytes)", ByteSize(self.bytes), self.bytes)?;
        match self.percent {
            Some(percent) => write!(f, ": {percent}% of {}", self.origin),
            None => write!(f, " from {}", self.origin),
        }
    }
}
