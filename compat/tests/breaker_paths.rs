//! Every public path of `heapguard_breaker` as of issue 25 (generated from rustdoc JSON
//! by `compat/gen.py`; paths only built with features are gated on this
//! crate's `all-features`). Deprecated paths are allowed: the test fails to
//! compile when a path a user could reach is gone.
#![allow(deprecated, unused_imports, clippy::no_effect, clippy::let_unit_value)]

#[cfg(feature = "all-features")]
use heapguard_breaker::metrics as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::metrics::BreakerMetrics as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::content_length as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::BoxError as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::Bypass as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::Errors as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::Estimate as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::Http as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::HttpResponseFuture as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::MemoryShed as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::MemoryShedLayer as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::NoBypass as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::NoEstimate as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::RefusalKind as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::RefusalKind::Overloaded as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::RefusalKind::TooLarge as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::Refused as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::RequestAdmission as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::ResponseFuture as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::ShedBody as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::ShedStats as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::DEFAULT_RETRY_AFTER as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::service::GRPC_RESOURCE_EXHAUSTED as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::spawn as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::spawn::spawn as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::spawn::spawn_blocking as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::spawn::spawn_blocking_in as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::spawn::spawn_in as _;
use heapguard_breaker::AccountBytes as _;
use heapguard_breaker::AccountReservation as _;
use heapguard_breaker::AccountSource as _;
use heapguard_breaker::BreakerConfig as _;
use heapguard_breaker::BreakerEvent as _;
use heapguard_breaker::BreakerEvent::CallbackPanicked as _;
use heapguard_breaker::BreakerEvent::CancelFreed as _;
use heapguard_breaker::BreakerEvent::CancelFreedTooLittle as _;
use heapguard_breaker::BreakerEvent::CancelWithheld as _;
use heapguard_breaker::BreakerEvent::JobCancelled as _;
use heapguard_breaker::BreakerEvent::Level as _;
use heapguard_breaker::BreakerEvent::ReadFailed as _;
use heapguard_breaker::BreakerEvent::ReadRecovered as _;
use heapguard_breaker::BreakerEvent::Reset as _;
use heapguard_breaker::BreakerEvent::Tripped as _;
use heapguard_breaker::BreakerEvent::WaitingShed as _;
use heapguard_breaker::BreakerEvent::WouldCancel as _;
use heapguard_breaker::BreakerSnapshot as _;
use heapguard_breaker::BreakerState as _;
use heapguard_breaker::BreakerState::Accepting as _;
use heapguard_breaker::BreakerState::Refusing as _;
use heapguard_breaker::Budget as _;
use heapguard_breaker::Budget::Auto as _;
use heapguard_breaker::Budget::Bytes as _;
use heapguard_breaker::Budget::Cgroup as _;
use heapguard_breaker::Budget::PercentOfAuto as _;
use heapguard_breaker::Budget::SystemMemory as _;
use heapguard_breaker::BudgetError as _;
use heapguard_breaker::BudgetError::NoCgroupLimit as _;
use heapguard_breaker::BudgetError::NothingKnown as _;
use heapguard_breaker::BudgetError::Percent as _;
use heapguard_breaker::BudgetError::Size as _;
use heapguard_breaker::BudgetError::Unknown as _;
use heapguard_breaker::BudgetError::Zero as _;
use heapguard_breaker::CancelToken as _;
use heapguard_breaker::Candidate as _;
use heapguard_breaker::Cgroup as _;
use heapguard_breaker::CgroupLimits as _;
use heapguard_breaker::CgroupSource as _;
use heapguard_breaker::CgroupVersion as _;
use heapguard_breaker::CgroupVersion::V1 as _;
use heapguard_breaker::CgroupVersion::V2 as _;
use heapguard_breaker::Clock as _;
use heapguard_breaker::ConfigError as _;
use heapguard_breaker::ConfigError::Budget as _;
use heapguard_breaker::ConfigError::CancelPercent as _;
use heapguard_breaker::ConfigError::EmptyName as _;
use heapguard_breaker::ConfigError::LevelHysteresis as _;
use heapguard_breaker::ConfigError::LevelOrder as _;
use heapguard_breaker::ConfigError::ResetAboveTrip as _;
use heapguard_breaker::ConfigError::ResetPercent as _;
use heapguard_breaker::ConfigError::Source as _;
use heapguard_breaker::ConfigError::TripPercent as _;
use heapguard_breaker::ConfigError::WarnPercent as _;
use heapguard_breaker::CountingAllocSource as _;
use heapguard_breaker::Finding as _;
use heapguard_breaker::Finding::Absent as _;
use heapguard_breaker::Finding::Bytes as _;
use heapguard_breaker::Finding::NotHierarchical as _;
use heapguard_breaker::Finding::Unlimited as _;
use heapguard_breaker::Finding::Unreadable as _;
use heapguard_breaker::Host as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::JemallocAllocatedSource as _;
use heapguard_breaker::JobRegistration as _;
use heapguard_breaker::Limit as _;
use heapguard_breaker::LimitKind as _;
use heapguard_breaker::LimitKind::HierarchicalMemoryLimit as _;
use heapguard_breaker::LimitKind::High as _;
use heapguard_breaker::LimitKind::LimitInBytes as _;
use heapguard_breaker::LimitKind::Max as _;
use heapguard_breaker::LimitKind::SoftLimit as _;
use heapguard_breaker::ManualClock as _;
use heapguard_breaker::ManualSource as _;
use heapguard_breaker::MemoryBreaker as _;
use heapguard_breaker::MemoryLedger as _;
use heapguard_breaker::MemorySource as _;
use heapguard_breaker::Origin as _;
use heapguard_breaker::Origin::Cgroup as _;
use heapguard_breaker::Origin::Fixed as _;
use heapguard_breaker::Origin::PhysicalMemory as _;
use heapguard_breaker::Pressure as _;
use heapguard_breaker::PressureLevel as _;
use heapguard_breaker::PressureLevel::Cancel as _;
use heapguard_breaker::PressureLevel::Normal as _;
use heapguard_breaker::PressureLevel::Refuse as _;
use heapguard_breaker::PressureLevel::Warn as _;
use heapguard_breaker::PurgeHook as _;
use heapguard_breaker::RefreshAction as _;
use heapguard_breaker::Reservation as _;
use heapguard_breaker::Resolution as _;
use heapguard_breaker::RssSource as _;
use heapguard_breaker::SourceError as _;
use heapguard_breaker::SourceError::CountingAllocNotInstalled as _;
use heapguard_breaker::SourceError::Io as _;
#[cfg(feature = "all-features")]
use heapguard_breaker::SourceError::Jemalloc as _;
use heapguard_breaker::SourceError::NoCgroup as _;
use heapguard_breaker::SourceError::OutsideMount as _;
use heapguard_breaker::SourceError::Parse as _;
use heapguard_breaker::Stall as _;
use heapguard_breaker::SystemClock as _;
use heapguard_breaker::TripCause as _;
use heapguard_breaker::TripCause::MinStateDuration as _;
use heapguard_breaker::TripCause::OverThreshold as _;
use heapguard_breaker::TripCause::Released as _;
use heapguard_breaker::TripCause::Reservation as _;
use heapguard_breaker::TripCause::Source as _;
use heapguard_breaker::Tripped as _;
use heapguard_breaker::Usage as _;
use heapguard_breaker::ValidConfig as _;
use heapguard_breaker::WatchedAccount as _;
use heapguard_breaker::LIMITS_PERIOD as _;
use heapguard_breaker::REFRESH_PERIOD as _;
use heapguard_breaker::STAT_PERIOD as _;
use heapguard_breaker::SUBSCRIBER_CAPACITY as _;

/// Names every public function, method, constant, field and variant field
/// that can be named without choosing type parameters.
#[allow(dead_code, clippy::type_complexity)]
fn names() {
    let _ = |x: &heapguard_breaker::AccountBytes| {
        let _ = &x.live_bytes;
    };
    let _ = |x: &heapguard_breaker::AccountBytes| {
        let _ = &x.name;
    };
    let _ = heapguard_breaker::AccountReservation::account;
    let _ = heapguard_breaker::AccountReservation::bytes;
    let _ = heapguard_breaker::AccountReservation::estimate;
    let _ = heapguard_breaker::AccountReservation::settle;
    let _ = heapguard_breaker::AccountSource::account;
    let _ = heapguard_breaker::AccountSource::new;
    let _ = &heapguard_breaker::BreakerConfig::DEFAULT_CANCEL_GRACE;
    let _ = &heapguard_breaker::BreakerConfig::DEFAULT_CANCEL_PERCENT;
    let _ = &heapguard_breaker::BreakerConfig::DEFAULT_LEVEL_HYSTERESIS_PERCENT;
    let _ = &heapguard_breaker::BreakerConfig::DEFAULT_MIN_STATE_DURATION;
    let _ = &heapguard_breaker::BreakerConfig::DEFAULT_PURGE_INTERVAL;
    let _ = &heapguard_breaker::BreakerConfig::DEFAULT_RESET_PERCENT;
    let _ = &heapguard_breaker::BreakerConfig::DEFAULT_TRIP_PERCENT;
    let _ = &heapguard_breaker::BreakerConfig::DEFAULT_WARN_PERCENT;
    let _ = heapguard_breaker::BreakerConfig::budget;
    let _ = heapguard_breaker::BreakerConfig::cancel_grace;
    let _ = heapguard_breaker::BreakerConfig::cancel_percent;
    let _ = heapguard_breaker::BreakerConfig::cgroup_working_set;
    // generic, not named: heapguard_breaker::BreakerConfig::clock
    let _ = heapguard_breaker::BreakerConfig::enforce;
    let _ = heapguard_breaker::BreakerConfig::host;
    let _ = heapguard_breaker::BreakerConfig::level_hysteresis_percent;
    let _ = heapguard_breaker::BreakerConfig::min_state_duration;
    // generic, not named: heapguard_breaker::BreakerConfig::name
    let _ = heapguard_breaker::BreakerConfig::new;
    let _ = heapguard_breaker::BreakerConfig::no_purge;
    // generic, not named: heapguard_breaker::BreakerConfig::purge_hook
    let _ = heapguard_breaker::BreakerConfig::purge_interval;
    let _ = heapguard_breaker::BreakerConfig::reset_percent;
    let _ = heapguard_breaker::BreakerConfig::shared_source;
    // generic, not named: heapguard_breaker::BreakerConfig::source
    let _ = heapguard_breaker::BreakerConfig::trip_percent;
    let _ = heapguard_breaker::BreakerConfig::validate;
    let _ = heapguard_breaker::BreakerConfig::warn_percent;
    let _ = heapguard_breaker::BreakerConfig::watch_cancel_line;
    let _ = heapguard_breaker::BreakerEvent::is_reset;
    let _ = heapguard_breaker::BreakerEvent::is_trip;
    let _ = heapguard_breaker::BreakerEvent::snapshot;
    let _ = |x: &heapguard_breaker::BreakerSnapshot| {
        let _ = &x.breaker;
    };
    let _ = |x: &heapguard_breaker::BreakerSnapshot| {
        let _ = &x.limit;
    };
    let _ = |x: &heapguard_breaker::BreakerSnapshot| {
        let _ = &x.percent;
    };
    let _ = |x: &heapguard_breaker::BreakerSnapshot| {
        let _ = &x.reserved;
    };
    let _ = |x: &heapguard_breaker::BreakerSnapshot| {
        let _ = &x.time;
    };
    let _ = |x: &heapguard_breaker::BreakerSnapshot| {
        let _ = &x.top_accounts;
    };
    let _ = |x: &heapguard_breaker::BreakerSnapshot| {
        let _ = &x.used;
    };
    let _ = heapguard_breaker::Budget::resolution_on;
    let _ = heapguard_breaker::Budget::resolve;
    let _ = heapguard_breaker::Budget::resolve_on;
    let _ = heapguard_breaker::CancelToken::cancel;
    let _ = heapguard_breaker::CancelToken::is_cancelled;
    let _ = heapguard_breaker::CancelToken::new;
    // generic, not named: heapguard_breaker::CancelToken::on_cancel
    let _ = heapguard_breaker::CancelToken::same_as;
    let _ = |x: &heapguard_breaker::Candidate| {
        let _ = &x.file;
    };
    let _ = |x: &heapguard_breaker::Candidate| {
        let _ = &x.finding;
    };
    let _ = |x: &heapguard_breaker::Candidate| {
        let _ = &x.kind;
    };
    let _ = heapguard_breaker::Cgroup::charged_level;
    let _ = heapguard_breaker::Cgroup::detect;
    let _ = heapguard_breaker::Cgroup::dir;
    let _ = heapguard_breaker::Cgroup::host;
    let _ = heapguard_breaker::Cgroup::host_dir;
    let _ = heapguard_breaker::Cgroup::levels;
    let _ = heapguard_breaker::Cgroup::pressure;
    // generic, not named: heapguard_breaker::Cgroup::v1
    // generic, not named: heapguard_breaker::Cgroup::v2
    let _ = heapguard_breaker::Cgroup::version;
    let _ = heapguard_breaker::Cgroup::working_set;
    let _ = heapguard_breaker::CgroupLimits::candidates;
    let _ = heapguard_breaker::CgroupLimits::cgroup;
    let _ = heapguard_breaker::CgroupLimits::high;
    let _ = heapguard_breaker::CgroupLimits::max;
    let _ = heapguard_breaker::CgroupLimits::read;
    let _ = heapguard_breaker::CgroupLimits::soft;
    let _ = heapguard_breaker::CgroupLimits::unreadable;
    let _ = heapguard_breaker::CgroupSource::cgroup;
    let _ = heapguard_breaker::CgroupSource::from_cgroup;
    let _ = heapguard_breaker::CgroupSource::new;
    {
        fn _t<T: heapguard_breaker::Clock>() {
            let _ = <T as heapguard_breaker::Clock>::now;
        }
    }
    let _ = heapguard_breaker::CountingAllocSource::new;
    let _ = heapguard_breaker::Host::current;
    let _ = heapguard_breaker::Host::memory_pressure;
    // generic, not named: heapguard_breaker::Host::path
    let _ = heapguard_breaker::Host::physical_memory;
    let _ = heapguard_breaker::Host::proc_dir;
    let _ = heapguard_breaker::Host::root;
    // generic, not named: heapguard_breaker::Host::with_root
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::JemallocAllocatedSource::new;
    let _ = heapguard_breaker::JobRegistration::is_cancelled;
    let _ = heapguard_breaker::JobRegistration::name;
    let _ = heapguard_breaker::JobRegistration::token;
    let _ = &heapguard_breaker::LIMITS_PERIOD;
    let _ = |x: &heapguard_breaker::Limit| {
        let _ = &x.bytes;
    };
    let _ = |x: &heapguard_breaker::Limit| {
        let _ = &x.file;
    };
    let _ = |x: &heapguard_breaker::Limit| {
        let _ = &x.kind;
    };
    let _ = heapguard_breaker::LimitKind::file_name;
    let _ = heapguard_breaker::LimitKind::is_hard;
    let _ = heapguard_breaker::ManualClock::advance;
    let _ = heapguard_breaker::ManualClock::new;
    let _ = heapguard_breaker::ManualSource::get;
    let _ = heapguard_breaker::ManualSource::new;
    let _ = heapguard_breaker::ManualSource::set;
    let _ = heapguard_breaker::MemoryBreaker::cancel_bytes;
    let _ = heapguard_breaker::MemoryBreaker::check;
    let _ = heapguard_breaker::MemoryBreaker::child;
    let _ = heapguard_breaker::MemoryBreaker::enforcing;
    // generic, not named: heapguard_breaker::MemoryBreaker::execute
    let _ = heapguard_breaker::MemoryBreaker::jobs_registered;
    let _ = heapguard_breaker::MemoryBreaker::last_trip;
    let _ = heapguard_breaker::MemoryBreaker::ledger;
    let _ = heapguard_breaker::MemoryBreaker::limit;
    let _ = heapguard_breaker::MemoryBreaker::name;
    let _ = heapguard_breaker::MemoryBreaker::new;
    // generic, not named: heapguard_breaker::MemoryBreaker::on_refresh
    let _ = heapguard_breaker::MemoryBreaker::pressure;
    let _ = heapguard_breaker::MemoryBreaker::reading_age;
    let _ = heapguard_breaker::MemoryBreaker::refresh;
    let _ = heapguard_breaker::MemoryBreaker::refusals;
    // generic, not named: heapguard_breaker::MemoryBreaker::register_job
    let _ = heapguard_breaker::MemoryBreaker::requests_waiting;
    let _ = heapguard_breaker::MemoryBreaker::reserved;
    let _ = heapguard_breaker::MemoryBreaker::reset_bytes;
    let _ = heapguard_breaker::MemoryBreaker::resolution;
    let _ = heapguard_breaker::MemoryBreaker::slack_bytes;
    let _ = heapguard_breaker::MemoryBreaker::source_name;
    let _ = heapguard_breaker::MemoryBreaker::state;
    let _ = heapguard_breaker::MemoryBreaker::subscribe;
    let _ = heapguard_breaker::MemoryBreaker::trip_bytes;
    let _ = heapguard_breaker::MemoryBreaker::trips;
    let _ = heapguard_breaker::MemoryBreaker::try_reserve;
    let _ = heapguard_breaker::MemoryBreaker::try_reserve_in;
    let _ = heapguard_breaker::MemoryBreaker::usage;
    let _ = heapguard_breaker::MemoryBreaker::warn_bytes;
    let _ = heapguard_breaker::MemoryBreaker::watch_account;
    let _ = heapguard_breaker::MemoryBreaker::would_refuse;
    let _ = |x: &heapguard_breaker::MemoryLedger| {
        let _ = &x.in_accounts_bytes;
    };
    let _ = |x: &heapguard_breaker::MemoryLedger| {
        let _ = &x.reserved_bytes;
    };
    let _ = |x: &heapguard_breaker::MemoryLedger| {
        let _ = &x.top_accounts;
    };
    let _ = |x: &heapguard_breaker::MemoryLedger| {
        let _ = &x.unattributed_bytes;
    };
    let _ = |x: &heapguard_breaker::MemoryLedger| {
        let _ = &x.used_bytes;
    };
    let _ = |x: &heapguard_breaker::MemoryLedger| {
        let _ = &x.waiting_bytes;
    };
    let _ = |x: &heapguard_breaker::MemoryLedger| {
        let _ = &x.waiting_requests;
    };
    {
        fn _t<T: heapguard_breaker::MemorySource>() {
            let _ = <T as heapguard_breaker::MemorySource>::name;
        }
    }
    {
        fn _t<T: heapguard_breaker::MemorySource>() {
            let _ = <T as heapguard_breaker::MemorySource>::slack_bytes;
        }
    }
    {
        fn _t<T: heapguard_breaker::MemorySource>() {
            let _ = <T as heapguard_breaker::MemorySource>::used_bytes;
        }
    }
    let _ = |x: &heapguard_breaker::Pressure| {
        let _ = &x.full;
    };
    let _ = |x: &heapguard_breaker::Pressure| {
        let _ = &x.some;
    };
    let _ = heapguard_breaker::PressureLevel::as_str;
    let _: Option<heapguard_breaker::PurgeHook> = None;
    let _ = &heapguard_breaker::REFRESH_PERIOD;
    let _ = heapguard_breaker::Reservation::breaker;
    let _ = heapguard_breaker::Reservation::bytes;
    let _ = heapguard_breaker::Reservation::grow;
    let _ = heapguard_breaker::Reservation::resize;
    let _ = heapguard_breaker::Reservation::shrink;
    let _ = heapguard_breaker::Resolution::bytes;
    let _ = heapguard_breaker::Resolution::cgroup_error;
    let _ = heapguard_breaker::Resolution::cgroup_limits;
    let _ = heapguard_breaker::Resolution::high;
    let _ = heapguard_breaker::Resolution::is_from_cgroup;
    let _ = heapguard_breaker::Resolution::origin;
    let _ = heapguard_breaker::Resolution::percent;
    let _ = heapguard_breaker::Resolution::physical_memory;
    let _ = heapguard_breaker::Resolution::skipped;
    let _ = heapguard_breaker::Resolution::soft_limit;
    let _ = heapguard_breaker::Resolution::warnings;
    // generic, not named: heapguard_breaker::RssSource::from_statm
    let _ = heapguard_breaker::RssSource::new;
    let _ = &heapguard_breaker::STAT_PERIOD;
    let _ = &heapguard_breaker::SUBSCRIBER_CAPACITY;
    let _ = heapguard_breaker::SourceError::path;
    let _ = |x: &heapguard_breaker::Stall| {
        let _ = &x.avg10;
    };
    let _ = |x: &heapguard_breaker::Stall| {
        let _ = &x.avg300;
    };
    let _ = |x: &heapguard_breaker::Stall| {
        let _ = &x.avg60;
    };
    let _ = |x: &heapguard_breaker::Stall| {
        let _ = &x.total_us;
    };
    let _ = heapguard_breaker::SystemClock::new;
    let _ = heapguard_breaker::Tripped::breaker;
    let _ = heapguard_breaker::Tripped::cause;
    let _ = heapguard_breaker::Tripped::limit;
    let _ = heapguard_breaker::Tripped::percent;
    let _ = heapguard_breaker::Tripped::reserved;
    let _ = heapguard_breaker::Tripped::top_accounts;
    let _ = heapguard_breaker::Tripped::trip_percent;
    let _ = heapguard_breaker::Tripped::used;
    let _ = heapguard_breaker::Usage::breaker;
    let _ = heapguard_breaker::Usage::limit;
    let _ = heapguard_breaker::Usage::percent;
    let _ = heapguard_breaker::Usage::reserved;
    let _ = heapguard_breaker::Usage::total;
    let _ = heapguard_breaker::Usage::used;
    let _ = |x: &heapguard_breaker::ValidConfig| {
        let _ = &x.cancel_bytes;
    };
    let _ = |x: &heapguard_breaker::ValidConfig| {
        let _ = &x.limit;
    };
    let _ = |x: &heapguard_breaker::ValidConfig| {
        let _ = &x.reset_bytes;
    };
    let _ = |x: &heapguard_breaker::ValidConfig| {
        let _ = &x.trip_bytes;
    };
    let _ = |x: &heapguard_breaker::ValidConfig| {
        let _ = &x.warn_bytes;
    };
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::metrics::BreakerMetrics::describe;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::metrics::BreakerMetrics::new;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::metrics::BreakerMetrics::record;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::metrics::BreakerMetrics::shed_stats;
    #[cfg(feature = "all-features")]
    let _: Option<heapguard_breaker::service::BoxError> = None;
    #[cfg(feature = "all-features")]
    let _ = &heapguard_breaker::service::DEFAULT_RETRY_AFTER;
    #[cfg(feature = "all-features")]
    let _ = &heapguard_breaker::service::GRPC_RESOURCE_EXHAUSTED;
    // generic, not named: heapguard_breaker::service::MemoryShedLayer::breaker
    // generic, not named: heapguard_breaker::service::MemoryShedLayer::bypass
    // generic, not named: heapguard_breaker::service::MemoryShedLayer::estimate
    // generic, not named: heapguard_breaker::service::MemoryShedLayer::http
    // generic, not named: heapguard_breaker::service::MemoryShedLayer::new
    // generic, not named: heapguard_breaker::service::MemoryShedLayer::request_accounts
    // generic, not named: heapguard_breaker::service::MemoryShedLayer::retry_after
    // generic, not named: heapguard_breaker::service::MemoryShedLayer::stats
    // generic, not named: heapguard_breaker::service::MemoryShedLayer::with_stats
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::service::Refused::estimate;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::service::Refused::grpc_code;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::service::Refused::http_status;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::service::Refused::kind;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::service::Refused::retry_after;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::service::Refused::tripped;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::service::RequestAdmission::is_started;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::service::RequestAdmission::start;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::service::RequestAdmission::token;
    // generic, not named: heapguard_breaker::service::ShedBody::get_ref
    // generic, not named: heapguard_breaker::service::ShedBody::holds_reservation
    // generic, not named: heapguard_breaker::service::ShedBody::into_inner
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::service::ShedStats::admitted;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::service::ShedStats::bypassed;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::service::ShedStats::in_flight;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::service::ShedStats::reserved_bytes;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::service::ShedStats::shed;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::service::ShedStats::too_large;
    #[cfg(feature = "all-features")]
    let _ = heapguard_breaker::service::ShedStats::waiting;
}

#[test]
fn every_public_path_compiles() {
    let named: fn() = names;
    let _ = named;
}
