//! The heapguard libraries' errors as the command line tells them.
//!
//! Those errors are written for a program that calls the libraries: a few
//! name the Rust API to use instead (`Budget::Auto`,
//! `heapguard_alloc::profile::activate`). A command-line user has options,
//! not types, so the errors a command can show are worded here for it; the
//! libraries keep their wording for their own callers. Errors without an
//! API name pass through as the library words them.
//!
//! The same goes for durations: a library's message may print one as Rust
//! debugs it (`970.727391ms`); a person reads [`duration`]'s `971 ms`.

use std::time::Duration;

use heapguard_alloc::profile::ProfileError;
use heapguard_breaker::{BudgetError, ConfigError, SourceError, TripCause, Tripped};
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

/// A duration as a person reads it: whole milliseconds below a second
/// (`971 ms`), tenths of a second below a minute (`2.5 s`), whole seconds
/// beyond (`95 s`).
pub(crate) fn duration(duration: Duration) -> String {
    let millis = (duration.as_secs_f64() * 1000.0).round();
    if duration.is_zero() {
        "0 ms".to_owned()
    } else if millis < 1.0 {
        "less than 1 ms".to_owned()
    } else if millis < 1000.0 {
        format!("{millis:.0} ms")
    } else if duration.as_secs_f64() < 59.95 {
        format!("{:.1} s", duration.as_secs_f64())
    } else {
        format!("{:.0} s", duration.as_secs_f64())
    }
}

/// The breaker's refusal in its own words, but for the time it holds
/// itself back (`min_state_duration`), which it prints as Rust debugs a
/// duration: that one span of the text is replaced by [`duration`]'s.
/// Replacing the exact text the breaker wrote keeps the rest of its
/// sentence (and the accounts it lists) as it is.
pub(crate) fn tripped(tripped: &Tripped) -> String {
    let text = tripped.to_string();
    match tripped.cause() {
        TripCause::MinStateDuration { remaining } => {
            text.replacen(&format!("{remaining:?}"), &duration(*remaining), 1)
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heapguard_breaker::{BreakerConfig, Budget, ManualClock, ManualSource, MemoryBreaker};
    use std::path::PathBuf;

    #[test]
    fn durations_are_rounded_for_reading() {
        let cases = [
            (Duration::ZERO, "0 ms"),
            (Duration::from_micros(400), "less than 1 ms"),
            (Duration::from_nanos(970_727_391), "971 ms"),
            (Duration::from_nanos(29_272_609), "29 ms"),
            (Duration::from_micros(999_600), "1.0 s"),
            (Duration::from_millis(1_260), "1.3 s"),
            (Duration::from_millis(59_960), "60 s"),
            (Duration::from_secs(95), "95 s"),
        ];
        for (given, shown) in cases {
            assert_eq!(duration(given), shown, "{given:?}");
        }
    }

    #[test]
    fn a_refusal_that_holds_back_says_for_how_long_in_milliseconds() {
        let memory = ManualSource::new(0);
        let clock = ManualClock::new();
        let breaker = MemoryBreaker::new(
            BreakerConfig::new(Budget::Bytes(1000))
                .name("requests")
                .source(memory.clone())
                .clock(clock.clone())
                .watch_cancel_line(false)
                .no_purge(),
        )
        .unwrap();
        memory.set(900);
        assert!(breaker.check().is_err());
        // Below the reset line, 29.272609 ms into the 1 s the breaker holds
        // its state: it refuses for 970.727391 ms more.
        memory.set(100);
        clock.advance(Duration::from_nanos(29_272_609));
        let refusal = breaker.check().unwrap_err();
        assert!(
            refusal.to_string().contains("for 970.727391ms more"),
            "{refusal}"
        );
        assert_eq!(
            tripped(&refusal),
            "memory breaker `requests` is refusing new work for 971 ms more: usage fell to \
             10.0% of its 1000 B budget (trips at 80%, resets below 70%), but it tripped too \
             recently to reset yet"
        );
    }

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
        assert!(error.to_string().contains("Budget::Auto"), "{error}");
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
