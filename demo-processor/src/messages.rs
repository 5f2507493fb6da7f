//! The heapguard libraries' errors as the command line tells them.
//!
//! Those errors are written for a program that calls the libraries: a few
//! name the Rust API to use instead (`heapguard_alloc::profile::activate`,
//! `#[global_allocator]`). A command-line user has options,
//! not types, so the errors a command can show are worded here for it; the
//! libraries keep their wording for their own callers. Errors without an
//! API name pass through as the library words them.

use heapguard_alloc::profile::ProfileError;
use heapguard_breaker::{BudgetError, ConfigError, SourceError};
use heapguard_monitor::attribution::AttributionError;
use heapguard_monitor::MonitorError;

/// A budget that cannot be parsed or resolved, in `--budget`'s terms.
pub(crate) fn budget_error(error: &BudgetError) -> String {
    match error {
        BudgetError::NoCgroupLimit { dir } => format!(
            "the memory cgroup at {} and its ancestors set no memory limit (`max`); \
             use --budget auto or a fixed size (such as --budget 512MiB) instead",
            dir.display()
        ),
        BudgetError::Unknown { what, source } => {
            format!("the {what} is unknown: {}", source_error(source))
        }
        BudgetError::NothingKnown { cgroup, physical } => format!(
            "no memory budget is known: cgroup: {cgroup}; physical memory: {}",
            source_error(physical)
        ),
        other => other.to_string(),
    }
}

/// Why memory cannot be read. The counting allocator is installed by the
/// binary, not by its user: missing, it is a fault of the build.
pub(crate) fn source_error(error: &SourceError) -> String {
    match error {
        SourceError::CountingAllocNotInstalled => {
            "this build of demo-processor does not count its allocations \
             (its global allocator is not heapguard's counting allocator)"
                .to_owned()
        }
        other => other.to_string(),
    }
}

/// Why the breaker cannot be built. Its percentages are fixed by the demo,
/// so only the budget and the memory source can be the user's concern.
pub(crate) fn breaker_error(error: &ConfigError) -> String {
    match error {
        ConfigError::Budget(budget) => budget_error(budget),
        ConfigError::Source(source) => format!("no memory source: {}", source_error(source)),
        other => other.to_string(),
    }
}

/// Why the memory monitor cannot start.
pub(crate) fn monitor_error(error: &MonitorError) -> String {
    match error {
        MonitorError::Source(source) => format!("memory source: {}", source_error(source)),
        other => other.to_string(),
    }
}

/// Why leak attribution (`--profile`) cannot start.
pub(crate) fn attribution_error(error: &AttributionError) -> String {
    match error {
        AttributionError::Profile(profile) => profile_error(profile),
        other => other.to_string(),
    }
}

/// Why there is no heap profile, in terms of the build and its options.
pub(crate) fn profile_error(error: &ProfileError) -> String {
    match error {
        ProfileError::NotEnabled => "jemalloc's heap profiler is off: build demo-processor \
                                     with `--features profiling`, or run it with \
                                     _RJEM_MALLOC_CONF=prof:true"
            .to_owned(),
        ProfileError::NotSampling => "no heap profiler is sampling: heap sampling \
                                      could not be started in this process"
            .to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// What a command-line user should never be told: a Rust path.
    fn assert_no_api_names(message: &str) {
        for api in ["Budget::", "heapguard_", "::", "#[global_allocator]"] {
            assert!(!message.contains(api), "{api} in: {message}");
        }
    }

    #[test]
    fn a_cgroup_without_a_limit_points_to_the_cli_options() {
        let error = BudgetError::NoCgroupLimit {
            dir: PathBuf::from("/sys/fs/cgroup/app"),
        };
        assert!(error.to_string().contains("`auto`"), "{error}");
        let message = budget_error(&error);
        assert_eq!(
            message,
            "the memory cgroup at /sys/fs/cgroup/app and its ancestors set no memory limit \
             (`max`); use --budget auto or a fixed size (such as --budget 512MiB) instead"
        );
        assert_no_api_names(&message);
        assert_eq!(breaker_error(&ConfigError::Budget(error)), message);
    }

    #[test]
    fn a_missing_counting_allocator_is_the_builds_fault_not_an_api_to_call() {
        let error = SourceError::CountingAllocNotInstalled;
        assert_eq!(
            source_error(&error),
            "this build of demo-processor does not count its allocations \
             (its global allocator is not heapguard's counting allocator)"
        );
        assert!(error.to_string().contains("#[global_allocator]"), "{error}");
        let message = breaker_error(&ConfigError::Source(error.clone()));
        assert!(
            message.starts_with("no memory source: this build"),
            "{message}"
        );
        assert_no_api_names(&message);
        let message = monitor_error(&MonitorError::Source(error.clone()));
        assert!(
            message.starts_with("memory source: this build"),
            "{message}"
        );
        let unknown = BudgetError::Unknown {
            what: "physical memory",
            source: error,
        };
        assert_eq!(
            budget_error(&unknown),
            "the physical memory is unknown: this build of demo-processor does not count \
             its allocations (its global allocator is not heapguard's counting allocator)"
        );
    }

    #[test]
    fn profile_errors_name_the_build_not_functions() {
        for error in [ProfileError::NotEnabled, ProfileError::NotSampling] {
            assert!(error.to_string().contains("::"), "{error}");
            assert_no_api_names(&profile_error(&error));
            assert_no_api_names(&attribution_error(&AttributionError::Profile(error)));
        }
        assert_eq!(
            profile_error(&ProfileError::NotEnabled),
            "jemalloc's heap profiler is off: build demo-processor with `--features \
             profiling`, or run it with _RJEM_MALLOC_CONF=prof:true"
        );
    }
}
