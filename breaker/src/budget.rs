//! How many bytes the breaker guards: a fixed size, the cgroup limit,
//! physical memory, or the smallest known of them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use bytesize::ByteSize;

use crate::host::Host;
use crate::source::SourceError;

/// The memory a breaker's thresholds are percentages of.
///
/// Parses from human text ([`FromStr`]): `"512MiB"`, `"2GB"`, `"1.5 GiB"`,
/// `"1048576"` (bytes), `"cgroup"`, `"system"`, `"auto"`, or `"80%"` (80% of
/// `auto`).
///
/// ```
/// use heapguard_breaker::Budget;
/// assert_eq!("512MiB".parse::<Budget>().unwrap(), Budget::Bytes(512 << 20));
/// assert_eq!("2GB".parse::<Budget>().unwrap(), Budget::Bytes(2_000_000_000));
/// assert_eq!("80%".parse::<Budget>().unwrap(), Budget::PercentOfAuto(80.0));
/// assert_eq!(Budget::Bytes(4096).resolve().unwrap(), 4096);
/// let error = "12 parsecs".parse::<Budget>().unwrap_err();
/// assert!(error.to_string().contains("12 parsecs"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Budget {
    /// A fixed number of bytes.
    Bytes(u64),
    /// This process's cgroup memory limit (v2 `memory.max`, v1
    /// `memory.limit_in_bytes`). Resolving fails if the cgroup sets none.
    Cgroup,
    /// Physical memory (`MemTotal` of `/proc/meminfo`).
    SystemMemory,
    /// The smallest known of the cgroup limit and physical memory.
    Auto,
    /// A percentage (0 < p <= 100) of [`Budget::Auto`].
    PercentOfAuto(f64),
}

impl Budget {
    /// The budget in bytes on this machine (see [`Budget::resolve_on`]).
    pub fn resolve(&self) -> Result<u64, BudgetError> {
        self.resolve_on(&Host::current())
    }

    /// The budget in bytes, reading cgroup and physical memory from `host`.
    /// Never 0: a zero or unknown budget is an error.
    pub fn resolve_on(&self, host: &Host) -> Result<u64, BudgetError> {
        match *self {
            Budget::Bytes(0) => Err(BudgetError::Zero),
            Budget::Bytes(bytes) => Ok(bytes),
            Budget::Cgroup => {
                let cgroup = host.cgroup()?;
                match cgroup.limit()? {
                    Some(0) => Err(BudgetError::Zero),
                    Some(bytes) => Ok(bytes),
                    None => Err(BudgetError::NoCgroupLimit {
                        dir: cgroup.dir().to_path_buf(),
                    }),
                }
            }
            Budget::SystemMemory => host.physical_memory(),
            Budget::Auto => {
                let cgroup = host.cgroup().and_then(|cgroup| cgroup.limit());
                let physical = host.physical_memory();
                match (cgroup, physical) {
                    (Ok(Some(limit)), Ok(physical)) if limit > 0 => Ok(limit.min(physical)),
                    (Ok(Some(limit)), Err(_)) if limit > 0 => Ok(limit),
                    (_, Ok(physical)) => Ok(physical),
                    (cgroup, Err(physical)) => Err(BudgetError::NothingKnown {
                        cgroup: match cgroup {
                            Ok(_) => "no limit set".to_owned(),
                            Err(error) => error.to_string(),
                        },
                        physical: physical.to_string(),
                    }),
                }
            }
            Budget::PercentOfAuto(percent) => {
                if !(percent > 0.0 && percent <= 100.0) {
                    return Err(BudgetError::Percent {
                        input: percent.to_string(),
                    });
                }
                let auto = Budget::Auto.resolve_on(host)?;
                match (auto as f64 * percent / 100.0) as u64 {
                    0 => Err(BudgetError::Zero),
                    bytes => Ok(bytes),
                }
            }
        }
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Budget::Bytes(bytes) => write!(f, "{}", ByteSize(*bytes)),
            Budget::Cgroup => f.write_str("cgroup"),
            Budget::SystemMemory => f.write_str("system"),
            Budget::Auto => f.write_str("auto"),
            Budget::PercentOfAuto(percent) => write!(f, "{percent}%"),
        }
    }
}

impl FromStr for Budget {
    type Err = BudgetError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let text = input.trim();
        match text.to_ascii_lowercase().as_str() {
            "cgroup" => return Ok(Budget::Cgroup),
            "system" | "system-memory" | "physical" => return Ok(Budget::SystemMemory),
            "auto" => return Ok(Budget::Auto),
            _ => {}
        }
        if let Some(number) = text.strip_suffix('%') {
            let percent_error = || BudgetError::Percent {
                input: input.to_owned(),
            };
            let percent: f64 = number.trim().parse().map_err(|_| percent_error())?;
            if !(percent > 0.0 && percent <= 100.0) {
                return Err(percent_error());
            }
            return Ok(Budget::PercentOfAuto(percent));
        }
        let starts_with_digit = text.starts_with(|c: char| c.is_ascii_digit());
        match text.parse::<ByteSize>() {
            Ok(ByteSize(0)) => Err(BudgetError::Zero),
            Ok(ByteSize(bytes)) if starts_with_digit => Ok(Budget::Bytes(bytes)),
            Ok(_) => Err(BudgetError::Size {
                input: input.to_owned(),
                reason: "a size starts with a number".to_owned(),
            }),
            Err(reason) => Err(BudgetError::Size {
                input: input.to_owned(),
                reason,
            }),
        }
    }
}

/// Why a [`Budget`] cannot be parsed or resolved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BudgetError {
    /// A budget of 0 bytes would refuse everything.
    #[error("a memory budget must be more than 0 bytes")]
    Zero,
    /// Text that is no size.
    #[error(
        "cannot parse {input:?} as a memory budget ({reason}); write a size such as \
         \"512MiB\", \"2GB\" or \"1048576\", a percentage such as \"80%\", \
         or one of \"cgroup\", \"system\", \"auto\""
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
    #[error("the {what} is unknown: cannot read {path}: {reason}")]
    Unknown {
        /// What was looked for.
        what: &'static str,
        /// The file (or directory) read.
        path: PathBuf,
        /// Why it could not be read.
        reason: String,
    },
    /// A file held something other than what the kernel writes there.
    #[error("cannot parse {path}: expected {expected}, found {found:?}")]
    Garbage {
        /// The file.
        path: PathBuf,
        /// What was expected.
        expected: &'static str,
        /// What was found (up to 64 characters).
        found: String,
    },
    /// [`Budget::Cgroup`] was asked for, but the cgroup sets no limit (`max`).
    #[error("the cgroup at {dir} sets no memory limit (`max`); use Budget::Auto or a fixed size instead")]
    NoCgroupLimit {
        /// The cgroup directory.
        dir: PathBuf,
    },
    /// [`Budget::Auto`] found neither a cgroup limit nor physical memory.
    #[error("no memory budget is known: cgroup: {cgroup}; physical memory: {physical}")]
    NothingKnown {
        /// Why the cgroup gave none.
        cgroup: String,
        /// Why physical memory is unknown.
        physical: String,
    },
}

impl BudgetError {
    pub(crate) fn garbage(path: &Path, expected: &'static str, found: &str) -> Self {
        BudgetError::Garbage {
            path: path.to_path_buf(),
            expected,
            found: found.chars().take(64).collect(),
        }
    }

    /// The same failure, seen by a reading rather than a budget.
    pub(crate) fn into_source(self) -> SourceError {
        match self {
            BudgetError::Garbage {
                path,
                expected,
                found,
            } => SourceError::Parse {
                path,
                expected,
                found,
            },
            BudgetError::Unknown { path, reason, .. } => SourceError::Io {
                path,
                source: std::io::Error::other(reason),
            },
            other => SourceError::Io {
                path: PathBuf::new(),
                source: std::io::Error::other(other.to_string()),
            },
        }
    }
}
