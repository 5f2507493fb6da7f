//! Every public path of `heapguard_monitor` as of issue 25 (generated from rustdoc JSON
//! by `compat/gen.py`; paths only built with features are gated on this
//! crate's `all-features`). Deprecated paths are allowed: the test fails to
//! compile when a path a user could reach is gone.
#![allow(deprecated, unused_imports, clippy::no_effect, clippy::let_unit_value)]

#[cfg(feature = "all-features")]
use heapguard_monitor::attribution as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::attribution::write_span as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::attribution::Attribution as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::attribution::AttributionConfig as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::attribution::AttributionError as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::attribution::AttributionError::Config as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::attribution::AttributionError::Profile as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::attribution::GrowingSite as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::attribution::GrowthAttributor as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::attribution::TimedProfile as _;
use heapguard_monitor::detect as _;
use heapguard_monitor::detect::classify_growth as _;
use heapguard_monitor::detect::evaluate_trend as _;
use heapguard_monitor::detect::mann_kendall as _;
use heapguard_monitor::detect::theil_sen as _;
use heapguard_monitor::detect::DetectorConfigError as _;
use heapguard_monitor::detect::DetectorConfigError::ConfidenceOutOfRange as _;
use heapguard_monitor::detect::DetectorConfigError::GrowthFactor as _;
use heapguard_monitor::detect::DetectorConfigError::MinPointsOutOfRange as _;
use heapguard_monitor::detect::DetectorConfigError::NotPositive as _;
use heapguard_monitor::detect::DetectorConfigError::TooManyPoints as _;
use heapguard_monitor::detect::DetectorConfigError::WindowTooShort as _;
use heapguard_monitor::detect::DetectorConfigError::Zero as _;
use heapguard_monitor::detect::Growth as _;
use heapguard_monitor::detect::Growth::Leak as _;
use heapguard_monitor::detect::Growth::LevelShift as _;
use heapguard_monitor::detect::Growth::Saturating as _;
use heapguard_monitor::detect::GrowthRule as _;
use heapguard_monitor::detect::GrowthVerdict as _;
use heapguard_monitor::detect::LeakVerdict as _;
use heapguard_monitor::detect::LevelShiftVerdict as _;
use heapguard_monitor::detect::MannKendall as _;
use heapguard_monitor::detect::SaturationVerdict as _;
use heapguard_monitor::detect::SeriesPoint as _;
use heapguard_monitor::detect::TheilSen as _;
use heapguard_monitor::detect::TrendChange as _;
use heapguard_monitor::detect::TrendChange::Cleared as _;
use heapguard_monitor::detect::TrendChange::LevelShift as _;
use heapguard_monitor::detect::TrendChange::Saturating as _;
use heapguard_monitor::detect::TrendChange::Suspected as _;
use heapguard_monitor::detect::TrendConfig as _;
use heapguard_monitor::detect::TrendDetector as _;
use heapguard_monitor::gauge_names as _;
use heapguard_monitor::gauge_names::CYCLING as _;
use heapguard_monitor::gauge_names::LEAK_CONFIDENCE as _;
use heapguard_monitor::gauge_names::LEAK_SECONDS_TO_BUDGET as _;
use heapguard_monitor::gauge_names::LEAK_SLOPE as _;
use heapguard_monitor::gauge_names::LEAK_SUSPECTED as _;
use heapguard_monitor::gauge_names::LEVEL_SHIFT_BYTES as _;
use heapguard_monitor::gauge_names::LEVEL_SHIFT_TIMESTAMP as _;
use heapguard_monitor::gauge_names::WARMING_UP as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::replay as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::replay_csv as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::replay_csv_with_gauges as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::replay_prometheus as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::replay_prometheus_with_gauges as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::ReplayError as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::ReplayError::Config as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::ReplayError::Csv as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::ReplayError::Field as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::ReplayError::FieldCount as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::ReplayError::Header as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::ReplayError::LineTooLong as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::ReplayError::Output as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::ReplayError::Prometheus as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::ReplayError::TimeBackwards as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::ReplayStats as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::SeriesLabels as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::MAX_LINE_BYTES as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::replay::MAX_PROMETHEUS_BYTES as _;
use heapguard_monitor::track as _;
use heapguard_monitor::Analyzer as _;
use heapguard_monitor::DetectorGauges as _;
use heapguard_monitor::LeakEvidence as _;
use heapguard_monitor::LeakEvidence::Growth as _;
use heapguard_monitor::LeakEvidence::Trend as _;
use heapguard_monitor::MemoryEvent as _;
use heapguard_monitor::MemoryEvent::BreakerTripped as _;
use heapguard_monitor::MemoryEvent::HighUsage as _;
#[cfg(feature = "all-features")]
use heapguard_monitor::MemoryEvent::LeakAttributed as _;
use heapguard_monitor::MemoryEvent::LeakSuspected as _;
use heapguard_monitor::MemoryEvent::LevelShift as _;
use heapguard_monitor::MemoryEvent::Recovered as _;
use heapguard_monitor::MemoryEvent::Saturating as _;
use heapguard_monitor::MemoryEvent::SourceFailed as _;
use heapguard_monitor::MemoryMonitor as _;
use heapguard_monitor::MonitorConfig as _;
use heapguard_monitor::MonitorError as _;
use heapguard_monitor::MonitorError::Detector as _;
use heapguard_monitor::MonitorError::Percent as _;
use heapguard_monitor::MonitorError::RecoverAboveHigh as _;
use heapguard_monitor::MonitorError::Source as _;
use heapguard_monitor::MonitorError::SourcePanicked as _;
use heapguard_monitor::MonitorError::Spawn as _;
use heapguard_monitor::MonitorError::WindowTooLarge as _;
use heapguard_monitor::MonitorError::ZeroBudget as _;
use heapguard_monitor::MonitorError::ZeroInterval as _;
use heapguard_monitor::MonitorError::ZeroWindow as _;
use heapguard_monitor::MonitorHandle as _;
use heapguard_monitor::OperationReport as _;
use heapguard_monitor::RecoveredFrom as _;
use heapguard_monitor::RecoveredFrom::Breaker as _;
use heapguard_monitor::RecoveredFrom::HighUsage as _;
use heapguard_monitor::RecoveredFrom::Leak as _;
use heapguard_monitor::Sample as _;
use heapguard_monitor::Sampler as _;
use heapguard_monitor::SUBSCRIBER_QUEUE as _;

/// Names every public function, method, constant, field and variant field
/// that can be named without choosing type parameters.
#[allow(dead_code, clippy::type_complexity)]
fn names() {
    let _ = heapguard_monitor::Analyzer::declare_restart;
    let _ = heapguard_monitor::Analyzer::gauges;
    let _ = heapguard_monitor::Analyzer::new;
    let _ = heapguard_monitor::Analyzer::observe;
    let _ = heapguard_monitor::Analyzer::trend;
    let _ = |x: &heapguard_monitor::DetectorGauges| {
        let _ = &x.cycling;
    };
    let _ = |x: &heapguard_monitor::DetectorGauges| {
        let _ = &x.leak_confidence;
    };
    let _ = |x: &heapguard_monitor::DetectorGauges| {
        let _ = &x.leak_seconds_to_budget;
    };
    let _ = |x: &heapguard_monitor::DetectorGauges| {
        let _ = &x.leak_slope_bytes_per_second;
    };
    let _ = |x: &heapguard_monitor::DetectorGauges| {
        let _ = &x.leak_suspected;
    };
    let _ = |x: &heapguard_monitor::DetectorGauges| {
        let _ = &x.level_shift;
    };
    let _ = |x: &heapguard_monitor::DetectorGauges| {
        let _ = &x.t_secs;
    };
    let _ = |x: &heapguard_monitor::DetectorGauges| {
        let _ = &x.warming_up;
    };
    let _ = heapguard_monitor::DetectorGauges::of;
    let _ = heapguard_monitor::DetectorGauges::values;
    // Behind the monitor's `breaker` feature since issue 25.
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::MemoryEvent::from_breaker;
    let _ = heapguard_monitor::MemoryEvent::kind;
    let _ = heapguard_monitor::MemoryEvent::t_secs;
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::MemoryMonitor::attribute_leaks;
    let _ = heapguard_monitor::MemoryMonitor::budget_bytes;
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::MemoryMonitor::cancel_line_profile;
    let _ = heapguard_monitor::MemoryMonitor::dropped_events;
    let _ = heapguard_monitor::MemoryMonitor::is_sampling;
    let _ = heapguard_monitor::MemoryMonitor::latest;
    let _ = heapguard_monitor::MemoryMonitor::mark_quiescent;
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::MemoryMonitor::record_metrics;
    let _ = heapguard_monitor::MemoryMonitor::sample_now;
    let _ = heapguard_monitor::MemoryMonitor::samples;
    let _ = heapguard_monitor::MemoryMonitor::samples_taken;
    let _ = heapguard_monitor::MemoryMonitor::set_idle;
    let _ = heapguard_monitor::MemoryMonitor::source_name;
    let _ = heapguard_monitor::MemoryMonitor::start;
    let _ = heapguard_monitor::MemoryMonitor::start_with_source;
    let _ = heapguard_monitor::MemoryMonitor::stop;
    let _ = heapguard_monitor::MemoryMonitor::subscribe;
    // generic, not named: heapguard_monitor::MemoryMonitor::track
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::MemoryMonitor::trip_profile;
    // Behind the monitor's `breaker` feature since issue 25.
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::MemoryMonitor::watch_breaker;
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::MemoryMonitor::write_leak_profiles;
    let _ = |x: &heapguard_monitor::MonitorConfig| {
        let _ = &x.budget_bytes;
    };
    let _ = |x: &heapguard_monitor::MonitorConfig| {
        let _ = &x.growth_rule;
    };
    let _ = |x: &heapguard_monitor::MonitorConfig| {
        let _ = &x.high_usage_percent;
    };
    let _ = |x: &heapguard_monitor::MonitorConfig| {
        let _ = &x.interval;
    };
    let _ = |x: &heapguard_monitor::MonitorConfig| {
        let _ = &x.recover_percent;
    };
    let _ = |x: &heapguard_monitor::MonitorConfig| {
        let _ = &x.trend;
    };
    let _ = |x: &heapguard_monitor::MonitorConfig| {
        let _ = &x.window;
    };
    let _ = &heapguard_monitor::MonitorConfig::MAX_WINDOW;
    let _ = heapguard_monitor::MonitorConfig::validate;
    let _: Option<heapguard_monitor::MonitorHandle> = None;
    let _ = |x: &heapguard_monitor::OperationReport| {
        let _ = &x.after_bytes;
    };
    let _ = |x: &heapguard_monitor::OperationReport| {
        let _ = &x.allocations;
    };
    let _ = |x: &heapguard_monitor::OperationReport| {
        let _ = &x.before_bytes;
    };
    let _ = |x: &heapguard_monitor::OperationReport| {
        let _ = &x.diff_bytes;
    };
    let _ = |x: &heapguard_monitor::OperationReport| {
        let _ = &x.duration;
    };
    let _ = |x: &heapguard_monitor::OperationReport| {
        let _ = &x.exact;
    };
    let _ = |x: &heapguard_monitor::OperationReport| {
        let _ = &x.name;
    };
    let _ = |x: &heapguard_monitor::OperationReport| {
        let _ = &x.peak_bytes;
    };
    let _ = |x: &heapguard_monitor::OperationReport| {
        let _ = &x.percent_of_budget;
    };
    let _ = |x: &heapguard_monitor::OperationReport| {
        let _ = &x.rss_bytes;
    };
    let _ = &heapguard_monitor::SUBSCRIBER_QUEUE;
    let _ = |x: &heapguard_monitor::Sample| {
        let _ = &x.at;
    };
    let _ = |x: &heapguard_monitor::Sample| {
        let _ = &x.jemalloc_resident_bytes;
    };
    let _ = |x: &heapguard_monitor::Sample| {
        let _ = &x.live_bytes;
    };
    let _ = |x: &heapguard_monitor::Sample| {
        let _ = &x.peak_bytes;
    };
    let _ = |x: &heapguard_monitor::Sample| {
        let _ = &x.quiescent;
    };
    let _ = |x: &heapguard_monitor::Sample| {
        let _ = &x.rss_bytes;
    };
    let _ = |x: &heapguard_monitor::Sample| {
        let _ = &x.t_secs;
    };
    let _ = heapguard_monitor::Sample::point;
    let _ = heapguard_monitor::Sampler::elapsed_secs;
    let _ = heapguard_monitor::Sampler::new;
    let _ = heapguard_monitor::Sampler::rss_bytes;
    let _ = heapguard_monitor::Sampler::sample;
    let _ = heapguard_monitor::Sampler::source;
    let _ = heapguard_monitor::Sampler::source_name;
    let _ = heapguard_monitor::Sampler::with_default_source;
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_monitor::attribution::Attribution| {
        let _ = &x.from_t_secs;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_monitor::attribution::Attribution| {
        let _ = &x.growth_bytes;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_monitor::attribution::Attribution| {
        let _ = &x.to_t_secs;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_monitor::attribution::Attribution| {
        let _ = &x.top_sites;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_monitor::attribution::AttributionConfig| {
        let _ = &x.max_bytes;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_monitor::attribution::AttributionConfig| {
        let _ = &x.max_profiles;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_monitor::attribution::AttributionConfig| {
        let _ = &x.max_time_share;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_monitor::attribution::AttributionConfig| {
        let _ = &x.top;
    };
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::attribution::AttributionConfig::validate;
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_monitor::attribution::GrowingSite| {
        let _ = &x.bytes;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_monitor::attribution::GrowingSite| {
        let _ = &x.file;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_monitor::attribution::GrowingSite| {
        let _ = &x.function;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_monitor::attribution::GrowingSite| {
        let _ = &x.line;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_monitor::attribution::GrowingSite| {
        let _ = &x.share;
    };
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::attribution::GrowthAttributor::attribute;
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::attribution::GrowthAttributor::attribute_event;
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::attribution::GrowthAttributor::heap_bytes;
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::attribution::GrowthAttributor::is_empty;
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::attribution::GrowthAttributor::len;
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::attribution::GrowthAttributor::new;
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::attribution::GrowthAttributor::profile_at;
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::attribution::GrowthAttributor::push;
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::attribution::GrowthAttributor::record;
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::attribution::GrowthAttributor::span;
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::attribution::GrowthAttributor::span_profiles;
    #[cfg(feature = "all-features")]
    let _: Option<heapguard_monitor::attribution::TimedProfile> = None;
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::attribution::write_span;
    let _ = &heapguard_monitor::detect::GrowthRule::MAX_WINDOW;
    let _ = heapguard_monitor::detect::GrowthRule::evaluate;
    let _ = heapguard_monitor::detect::GrowthRule::factor;
    let _ = heapguard_monitor::detect::GrowthRule::new;
    let _ = heapguard_monitor::detect::GrowthRule::window;
    let _ = |x: &heapguard_monitor::detect::GrowthVerdict| {
        let _ = &x.first_bytes;
    };
    let _ = |x: &heapguard_monitor::detect::GrowthVerdict| {
        let _ = &x.last_bytes;
    };
    let _ = |x: &heapguard_monitor::detect::GrowthVerdict| {
        let _ = &x.ratio;
    };
    let _ = |x: &heapguard_monitor::detect::GrowthVerdict| {
        let _ = &x.t_secs;
    };
    let _ = |x: &heapguard_monitor::detect::LeakVerdict| {
        let _ = &x.confidence;
    };
    let _ = |x: &heapguard_monitor::detect::LeakVerdict| {
        let _ = &x.level_bytes;
    };
    let _ = |x: &heapguard_monitor::detect::LeakVerdict| {
        let _ = &x.points;
    };
    let _ = |x: &heapguard_monitor::detect::LeakVerdict| {
        let _ = &x.slope_bytes_per_min;
    };
    let _ = |x: &heapguard_monitor::detect::LeakVerdict| {
        let _ = &x.span_secs;
    };
    let _ = |x: &heapguard_monitor::detect::LeakVerdict| {
        let _ = &x.t_secs;
    };
    let _ = |x: &heapguard_monitor::detect::LeakVerdict| {
        let _ = &x.time_to_budget_secs;
    };
    let _ = heapguard_monitor::detect::LeakVerdict::time_to_budget;
    let _ = |x: &heapguard_monitor::detect::LevelShiftVerdict| {
        let _ = &x.at_secs;
    };
    let _ = |x: &heapguard_monitor::detect::LevelShiftVerdict| {
        let _ = &x.level_bytes;
    };
    let _ = |x: &heapguard_monitor::detect::LevelShiftVerdict| {
        let _ = &x.points_after;
    };
    let _ = |x: &heapguard_monitor::detect::LevelShiftVerdict| {
        let _ = &x.shift_bytes;
    };
    let _ = |x: &heapguard_monitor::detect::LevelShiftVerdict| {
        let _ = &x.t_secs;
    };
    let _ = |x: &heapguard_monitor::detect::MannKendall| {
        let _ = &x.n;
    };
    let _ = |x: &heapguard_monitor::detect::MannKendall| {
        let _ = &x.p_increasing;
    };
    let _ = |x: &heapguard_monitor::detect::MannKendall| {
        let _ = &x.s;
    };
    let _ = |x: &heapguard_monitor::detect::MannKendall| {
        let _ = &x.variance;
    };
    let _ = |x: &heapguard_monitor::detect::MannKendall| {
        let _ = &x.z;
    };
    let _ = heapguard_monitor::detect::MannKendall::confidence_increasing;
    let _ = |x: &heapguard_monitor::detect::SaturationVerdict| {
        let _ = &x.deceleration_z;
    };
    let _ = |x: &heapguard_monitor::detect::SaturationVerdict| {
        let _ = &x.from_secs;
    };
    let _ = |x: &heapguard_monitor::detect::SaturationVerdict| {
        let _ = &x.points;
    };
    let _ = |x: &heapguard_monitor::detect::SaturationVerdict| {
        let _ = &x.slope_newer_bytes_per_min;
    };
    let _ = |x: &heapguard_monitor::detect::SaturationVerdict| {
        let _ = &x.slope_older_bytes_per_min;
    };
    let _ = |x: &heapguard_monitor::detect::SaturationVerdict| {
        let _ = &x.t_secs;
    };
    let _ = |x: &heapguard_monitor::detect::SeriesPoint| {
        let _ = &x.bytes;
    };
    let _ = |x: &heapguard_monitor::detect::SeriesPoint| {
        let _ = &x.quiescent;
    };
    let _ = |x: &heapguard_monitor::detect::SeriesPoint| {
        let _ = &x.t_secs;
    };
    let _ = heapguard_monitor::detect::SeriesPoint::new;
    let _ = heapguard_monitor::detect::SeriesPoint::quiescent;
    let _ = |x: &heapguard_monitor::detect::TheilSen| {
        let _ = &x.level_at_end;
    };
    let _ = |x: &heapguard_monitor::detect::TheilSen| {
        let _ = &x.slope_per_sec;
    };
    let _ = heapguard_monitor::detect::TheilSen::slope_per_min;
    let _ = |x: &heapguard_monitor::detect::TrendConfig| {
        let _ = &x.confidence;
    };
    let _ = |x: &heapguard_monitor::detect::TrendConfig| {
        let _ = &x.history;
    };
    let _ = |x: &heapguard_monitor::detect::TrendConfig| {
        let _ = &x.min_growth_bytes;
    };
    let _ = |x: &heapguard_monitor::detect::TrendConfig| {
        let _ = &x.min_points;
    };
    let _ = |x: &heapguard_monitor::detect::TrendConfig| {
        let _ = &x.min_slope_bytes_per_min;
    };
    let _ = |x: &heapguard_monitor::detect::TrendConfig| {
        let _ = &x.minima_block;
    };
    let _ = |x: &heapguard_monitor::detect::TrendConfig| {
        let _ = &x.persistence;
    };
    let _ = |x: &heapguard_monitor::detect::TrendConfig| {
        let _ = &x.warm_up_secs;
    };
    let _ = |x: &heapguard_monitor::detect::TrendConfig| {
        let _ = &x.window;
    };
    let _ = &heapguard_monitor::detect::TrendConfig::MAX_POINTS;
    let _ = heapguard_monitor::detect::TrendConfig::validate;
    let _ = heapguard_monitor::detect::TrendDetector::config;
    let _ = heapguard_monitor::detect::TrendDetector::declare_restart;
    let _ = heapguard_monitor::detect::TrendDetector::is_cycling;
    let _ = heapguard_monitor::detect::TrendDetector::is_suspected;
    let _ = heapguard_monitor::detect::TrendDetector::is_warming_up;
    let _ = heapguard_monitor::detect::TrendDetector::last_level_shift;
    let _ = heapguard_monitor::detect::TrendDetector::new;
    let _ = heapguard_monitor::detect::TrendDetector::observe;
    let _ = heapguard_monitor::detect::TrendDetector::points;
    let _ = heapguard_monitor::detect::TrendDetector::verdict;
    let _ = heapguard_monitor::detect::classify_growth;
    let _ = heapguard_monitor::detect::evaluate_trend;
    let _ = heapguard_monitor::detect::mann_kendall;
    let _ = heapguard_monitor::detect::theil_sen;
    let _ = &heapguard_monitor::gauge_names::CYCLING;
    let _ = &heapguard_monitor::gauge_names::LEAK_CONFIDENCE;
    let _ = &heapguard_monitor::gauge_names::LEAK_SECONDS_TO_BUDGET;
    let _ = &heapguard_monitor::gauge_names::LEAK_SLOPE;
    let _ = &heapguard_monitor::gauge_names::LEAK_SUSPECTED;
    let _ = &heapguard_monitor::gauge_names::LEVEL_SHIFT_BYTES;
    let _ = &heapguard_monitor::gauge_names::LEVEL_SHIFT_TIMESTAMP;
    let _ = &heapguard_monitor::gauge_names::WARMING_UP;
    #[cfg(feature = "all-features")]
    let _ = &heapguard_monitor::replay::MAX_LINE_BYTES;
    #[cfg(feature = "all-features")]
    let _ = &heapguard_monitor::replay::MAX_PROMETHEUS_BYTES;
    #[cfg(feature = "all-features")]
    let _ = heapguard_monitor::replay::ReplayError::line;
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_monitor::replay::ReplayStats| {
        let _ = &x.readings;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_monitor::replay::ReplayStats| {
        let _ = &x.skipped;
    };
    #[cfg(feature = "all-features")]
    let _: Option<heapguard_monitor::replay::SeriesLabels> = None;
}

#[test]
fn every_public_path_compiles() {
    let named: fn() = names;
    let _ = named;
}
