//! How many bytes the breaker guards: a fixed size, the cgroup limit,
//! physical memory, or the smallest known of them.

use std::fmt;
use std::str::FromStr;

use bytesize::ByteSize;

use super::cgroup::Cgroup;
use super::error::{BudgetError, SourceError};
use super::host::Host;
use super::limits::{CgroupLimits, Limit};
use super::resolution::{Origin, Resolution};
use super::size::parse_size;

/// The memory a breaker's thresholds are percentages of.
///
/// Parses from human text ([`FromStr`]): `"512MiB"`, `"2GB"`, `"1.5 GiB"`,
/// `"1048576"` (bytes), `"cgroup"`, `"system"`, `"auto"`, or `"80%"` (80% of
/// `auto`). Sizes of 16 EiB or more are refused, never saturated.
///
/// | budget | bytes |
/// | --- | --- |
/// | `Bytes(n)` | `n` (a warning is logged when it is above the effective limit) |
/// | `Cgroup` | the hard limit: the smallest v2 `memory.max`, or v1 limit that binds, over the cgroup and its visible ancestors |
/// | `SystemMemory` | `MemTotal` of `/proc/meminfo` |
/// | `Auto` | the smallest of the hard limit, `memory.high` and physical memory |
/// | `PercentOfAuto(p)` | `p`% of `Auto` |
///
/// `memory.high` is where the kernel starts throttling the cgroup and
/// reclaiming hard, so a service should shed work before it: `Auto` takes
/// it; `Cgroup` stays the hard limit. The v1 soft limit
/// (`memory.soft_limit_in_bytes`) only orders reclaim: it is reported in the
/// [`Resolution`], never used. See [`Budget::resolution_on`] for where a
/// budget came from and why each file was skipped.
///
/// ```
/// use heapguard_reading::Budget;
/// assert_eq!("512MiB".parse::<Budget>().unwrap(), Budget::Bytes(512 << 20));
/// assert_eq!("2GB".parse::<Budget>().unwrap(), Budget::Bytes(2_000_000_000));
/// assert_eq!("80%".parse::<Budget>().unwrap(), Budget::PercentOfAuto(80.0));
/// assert_eq!(Budget::Bytes(4096).resolve().unwrap(), 4096);
/// let error = "12 parsecs".parse::<Budget>().unwrap_err();
/// assert!(error.to_string().contains("12 parsecs"));
/// let error = "16 EiB".parse::<Budget>().unwrap_err();
/// assert!(error.to_string().contains("below 16 EiB"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Budget {
    /// A fixed number of bytes.
    Bytes(u64),
    /// This process's cgroup hard limit (v2 `memory.max`, v1
    /// `memory.limit_in_bytes` or `hierarchical_memory_limit`), the smallest
    /// over the cgroup and its ancestors. Resolving fails if none sets one.
    Cgroup,
    /// Physical memory (`MemTotal` of `/proc/meminfo`).
    SystemMemory,
    /// The smallest known of the cgroup hard limit, `memory.high` and
    /// physical memory.
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
        self.resolution_on(host).map(|resolution| resolution.bytes)
    }

    /// The budget in bytes with where it came from and what was skipped;
    /// its [warnings](Resolution::warnings) are logged with `tracing`.
    ///
    /// A fixed size reads the host too, only to warn when it is above the
    /// effective limit ([`Budget::Auto`]): the kernel would act first.
    pub fn resolution_on(&self, host: &Host) -> Result<Resolution, BudgetError> {
        let mut resolution = self.resolution_quietly(host)?;
        if let Budget::Bytes(bytes) = *self {
            resolution
                .warnings
                .extend(above_effective_limit(bytes, host));
        }
        for warning in &resolution.warnings {
            tracing::warn!(budget = %self, "{warning}");
        }
        Ok(resolution)
    }

    /// [`resolution_on`](Self::resolution_on) without logging.
    #[doc(hidden)]
    pub fn resolution_quietly(&self, host: &Host) -> Result<Resolution, BudgetError> {
        match *self {
            Budget::Bytes(0) => Err(BudgetError::Zero),
            Budget::Bytes(bytes) => Ok(resolution(bytes, Origin::Fixed)),
            Budget::Cgroup => cgroup(host),
            Budget::SystemMemory => {
                let bytes = host
                    .physical_memory()
                    .map_err(|source| BudgetError::Unknown {
                        what: "physical memory",
                        source,
                    })?;
                Ok(Resolution {
                    bytes,
                    physical: Some(bytes),
                    ..resolution(bytes, physical_origin())
                })
            }
            Budget::Auto => auto(host),
            Budget::PercentOfAuto(percent) => {
                if !(percent > 0.0 && percent <= 100.0) {
                    return Err(BudgetError::Percent {
                        input: percent.to_string(),
                    });
                }
                let auto = auto(host)?;
                let hundredths = (percent * 100.0).round() as u128;
                let bytes = u128::from(auto.bytes) * hundredths / 10_000;
                match u64::try_from(bytes).unwrap_or(u64::MAX) {
                    0 => Err(BudgetError::Zero),
                    bytes => Ok(Resolution {
                        bytes,
                        percent: Some(percent),
                        ..auto
                    }),
                }
            }
        }
    }
}

fn resolution(bytes: u64, origin: Origin) -> Resolution {
    Resolution {
        bytes,
        origin,
        percent: None,
        limits: None,
        cgroup_error: None,
        physical: None,
        warnings: Vec::new(),
    }
}

fn physical_origin() -> Origin {
    Origin::PhysicalMemory {
        file: "/proc/meminfo".into(),
    }
}

/// The cgroup's limits, or why no cgroup could be read.
fn cgroup_limits(host: &Host) -> Result<CgroupLimits, SourceError> {
    Cgroup::detect(host).map(|cgroup| CgroupLimits::read(&cgroup))
}

/// Warnings for files that are there but could not be read.
fn unreadable_warnings(limits: &CgroupLimits, consequence: &str) -> Vec<String> {
    limits
        .unreadable()
        .map(|candidate| format!("cannot read the cgroup limit {candidate}; {consequence}"))
        .collect()
}

/// A warning when a fixed budget is above the effective limit.
fn above_effective_limit(bytes: u64, host: &Host) -> Option<String> {
    let auto = auto(host).ok()?;
    (bytes > auto.bytes).then(|| {
        format!(
            "the fixed memory budget of {} ({bytes} bytes) is above the effective limit of \
             {auto}: the kernel acts before the breaker trips",
            ByteSize(bytes)
        )
    })
}

fn cgroup(host: &Host) -> Result<Resolution, BudgetError> {
    let unknown = |source| BudgetError::Unknown {
        what: "cgroup memory limit",
        source,
    };
    let limits = cgroup_limits(host).map_err(unknown)?;
    let Some(max) = limits.max() else {
        if let Some(candidate) = limits.unreadable().next() {
            let Some(error) = candidate_error(candidate) else {
                unreachable!("an unreadable candidate carries its error")
            };
            return Err(unknown(error));
        }
        return Err(BudgetError::NoCgroupLimit {
            dir: limits.cgroup().host_dir().to_path_buf(),
        });
    };
    if max.bytes == 0 {
        return Err(BudgetError::Zero);
    }
    let warnings = unreadable_warnings(&limits, "the limit it sets, if any, is not applied");
    Ok(Resolution {
        warnings,
        limits: Some(limits),
        ..resolution(max.bytes, Origin::Cgroup(max))
    })
}

fn candidate_error(candidate: &super::limits::Candidate) -> Option<SourceError> {
    match &candidate.finding {
        super::limits::Finding::Unreadable(error) => Some(error.clone()),
        _ => None,
    }
}

fn auto(host: &Host) -> Result<Resolution, BudgetError> {
    let limits = cgroup_limits(host);
    let physical = host.physical_memory();
    let smallest_cgroup: Option<Limit> = limits.as_ref().ok().and_then(|limits| {
        [limits.max(), limits.high()]
            .into_iter()
            .flatten()
            .filter(|limit| limit.bytes > 0)
            .min_by_key(|limit| limit.bytes)
    });
    let (bytes, origin) = match (&smallest_cgroup, &physical) {
        (Some(limit), Ok(physical)) if limit.bytes <= *physical => {
            (limit.bytes, Origin::Cgroup(limit.clone()))
        }
        (_, Ok(physical)) => (*physical, physical_origin()),
        (Some(limit), Err(_)) => (limit.bytes, Origin::Cgroup(limit.clone())),
        (None, Err(physical)) => {
            return Err(BudgetError::NothingKnown {
                cgroup: match &limits {
                    Ok(limits) => match limits.unreadable().next() {
                        Some(candidate) => candidate.to_string(),
                        None => "no limit set".to_owned(),
                    },
                    Err(error) => error.to_string(),
                },
                physical: physical.clone(),
            })
        }
    };
    let mut warnings = Vec::new();
    let falls_back = matches!(origin, Origin::PhysicalMemory { .. });
    match &limits {
        Ok(limits) => warnings.extend(unreadable_warnings(
            limits,
            if falls_back {
                "the budget falls back to physical memory"
            } else {
                "the limit it sets, if any, is not applied"
            },
        )),
        // No cgroup mounted, or none for this process: physical memory is the limit.
        Err(SourceError::NoCgroup { .. }) => {}
        Err(error) => warnings.push(format!(
            "cannot find this process's memory cgroup ({error}); the budget falls back to \
             physical memory"
        )),
    }
    let (limits, cgroup_error) = match limits {
        Ok(limits) => (Some(limits), None),
        Err(error) => (None, Some(error)),
    };
    Ok(Resolution {
        bytes,
        origin,
        percent: None,
        limits,
        cgroup_error,
        physical: physical.ok(),
        warnings,
    })
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
        match parse_size(text) {
            Ok(0) => Err(BudgetError::Zero),
            Ok(bytes) => Ok(Budget::Bytes(bytes)),
            Err(reason) => Err(BudgetError::Size {
                input: input.to_owned(),
                reason,
            }),
        }
    }
}
