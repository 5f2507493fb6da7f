//! Every public path of `heapguard_alloc` as of issue 25 (generated from rustdoc JSON
//! by `compat/gen.py`; paths only built with features are gated on this
//! crate's `all-features`). Deprecated paths are allowed: the test fails to
//! compile when a path a user could reach is gone.
//! Left out: `heapguard_alloc::profile::proto` (made private by issue 22's sampling commit 3ddcde9: a pub mod only for a test, which put prost in the public API; issue 25, acceptance 1).
#![allow(deprecated, unused_imports, clippy::no_effect, clippy::let_unit_value)]

#[cfg(feature = "all-features")]
use heapguard_alloc::enable_heap_profiling as _;
use heapguard_alloc::is_active as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::jemalloc as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::jemalloc::compare as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::jemalloc::purge as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::jemalloc::stats as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::jemalloc::Comparison as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::jemalloc::JemallocError as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::jemalloc::JemallocStats as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::limit as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::limit_slack as _;
use heapguard_alloc::live_bytes as _;
use heapguard_alloc::live_bytes_error_bound as _;
use heapguard_alloc::measure as _;
use heapguard_alloc::measure_or_zeros as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::activate as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::deactivate as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::is_active as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::is_compiled_in as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::is_enabled as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::lg_sample as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::reset as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::take as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::Coverage as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::Frame as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::HeapDiff as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::HeapProfile as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::MallocConf as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::ProfileError as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::ProfileError::Ctl as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::ProfileError::Inactive as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::ProfileError::Io as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::ProfileError::NotCompiledIn as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::ProfileError::NotEnabled as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::ProfileError::NotJemalloc as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::ProfileError::Parse as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::Site as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::SiteBytes as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::StackDelta as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::StackSample as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::Symbolizer as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::DEFAULT_LG_SAMPLE as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::MAX_FRAMES_PER_STACK as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::profile::MAX_STACKS_SYMBOLIZED as _;
use heapguard_alloc::reset_peak as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::set_limit as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::size_class as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::size_classes as _;
use heapguard_alloc::slot_usage as _;
use heapguard_alloc::stats as _;
use heapguard_alloc::Account as _;
use heapguard_alloc::AccountGuard as _;
use heapguard_alloc::AccountUsage as _;
use heapguard_alloc::AllocStats as _;
use heapguard_alloc::CountingAlloc as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::Jemalloc as _;
use heapguard_alloc::Scoped as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::SizeClasses as _;
use heapguard_alloc::SlotUsage as _;
use heapguard_alloc::Usage as _;
use heapguard_alloc::ACCOUNT_FLUSH_CALLS as _;
use heapguard_alloc::FLUSH_THRESHOLD as _;
use heapguard_alloc::MAX_SLOTS as _;
#[cfg(feature = "all-features")]
use heapguard_alloc::SIZE_CLASSES as _;

/// Names every public function, method, constant, field and variant field
/// that can be named without choosing type parameters.
#[allow(dead_code, clippy::type_complexity)]
fn names() {
    let _ = &heapguard_alloc::ACCOUNT_FLUSH_CALLS;
    // generic, not named: heapguard_alloc::Account::bind
    // generic, not named: heapguard_alloc::Account::child
    let _ = heapguard_alloc::Account::current;
    let _ = heapguard_alloc::Account::enter;
    let _ = heapguard_alloc::Account::live_bytes;
    let _ = heapguard_alloc::Account::name;
    // generic, not named: heapguard_alloc::Account::new
    let _ = heapguard_alloc::Account::parent;
    // generic, not named: heapguard_alloc::Account::scope
    // generic, not named: heapguard_alloc::Account::spawn
    let _ = heapguard_alloc::Account::usage;
    let _ = |x: &heapguard_alloc::AccountUsage| {
        let _ = &x.allocated_bytes;
    };
    let _ = |x: &heapguard_alloc::AccountUsage| {
        let _ = &x.allocations;
    };
    let _ = |x: &heapguard_alloc::AccountUsage| {
        let _ = &x.deallocations;
    };
    let _ = |x: &heapguard_alloc::AccountUsage| {
        let _ = &x.foreign_freed_bytes;
    };
    let _ = |x: &heapguard_alloc::AccountUsage| {
        let _ = &x.freed_bytes;
    };
    let _ = |x: &heapguard_alloc::AccountUsage| {
        let _ = &x.live_bytes;
    };
    let _ = |x: &heapguard_alloc::AccountUsage| {
        let _ = &x.peak_bytes;
    };
    let _ = |x: &heapguard_alloc::AccountUsage| {
        let _ = &x.reallocations;
    };
    let _ = |x: &heapguard_alloc::AllocStats| {
        let _ = &x.allocated_bytes;
    };
    let _ = |x: &heapguard_alloc::AllocStats| {
        let _ = &x.allocations;
    };
    let _ = |x: &heapguard_alloc::AllocStats| {
        let _ = &x.deallocations;
    };
    let _ = |x: &heapguard_alloc::AllocStats| {
        let _ = &x.freed_bytes;
    };
    let _ = |x: &heapguard_alloc::AllocStats| {
        let _ = &x.live_bytes;
    };
    let _ = |x: &heapguard_alloc::AllocStats| {
        let _ = &x.peak_bytes;
    };
    let _ = |x: &heapguard_alloc::AllocStats| {
        let _ = &x.reallocations;
    };
    // generic, not named: heapguard_alloc::CountingAlloc::inner
    // generic, not named: heapguard_alloc::CountingAlloc::new
    let _ = &heapguard_alloc::FLUSH_THRESHOLD;
    let _ = &heapguard_alloc::MAX_SLOTS;
    #[cfg(feature = "all-features")]
    let _ = &heapguard_alloc::SIZE_CLASSES;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::SizeClasses::count;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::SizeClasses::count_for_size;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::SizeClasses::iter;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::SizeClasses::total;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::SizeClasses::upper_bound;
    let _ = |x: &heapguard_alloc::SlotUsage| {
        let _ = &x.capacity;
    };
    let _ = |x: &heapguard_alloc::SlotUsage| {
        let _ = &x.claimed;
    };
    let _ = |x: &heapguard_alloc::SlotUsage| {
        let _ = &x.in_use;
    };
    let _ = |x: &heapguard_alloc::Usage| {
        let _ = &x.allocated_bytes;
    };
    let _ = |x: &heapguard_alloc::Usage| {
        let _ = &x.allocations;
    };
    let _ = |x: &heapguard_alloc::Usage| {
        let _ = &x.deallocations;
    };
    let _ = |x: &heapguard_alloc::Usage| {
        let _ = &x.freed_bytes;
    };
    let _ = |x: &heapguard_alloc::Usage| {
        let _ = &x.net_bytes;
    };
    let _ = |x: &heapguard_alloc::Usage| {
        let _ = &x.peak_bytes;
    };
    let _ = |x: &heapguard_alloc::Usage| {
        let _ = &x.reallocations;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::Usage| {
        let _ = &x.size_classes;
    };
    let _ = heapguard_alloc::is_active;
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::jemalloc::Comparison| {
        let _ = &x.fragmentation;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::jemalloc::Comparison| {
        let _ = &x.jemalloc;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::jemalloc::Comparison| {
        let _ = &x.requested_bytes;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::jemalloc::JemallocStats| {
        let _ = &x.active;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::jemalloc::JemallocStats| {
        let _ = &x.allocated;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::jemalloc::JemallocStats| {
        let _ = &x.mapped;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::jemalloc::JemallocStats| {
        let _ = &x.metadata;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::jemalloc::JemallocStats| {
        let _ = &x.resident;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::jemalloc::JemallocStats| {
        let _ = &x.retained;
    };
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::jemalloc::compare;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::jemalloc::purge;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::jemalloc::stats;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::limit;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::limit_slack;
    let _ = heapguard_alloc::live_bytes;
    let _ = heapguard_alloc::live_bytes_error_bound;
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::Coverage| {
        let _ = &x.active_since;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::Coverage| {
        let _ = &x.covered_bytes;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::Coverage| {
        let _ = &x.live_bytes;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::Coverage| {
        let _ = &x.live_bytes_at_activation;
    };
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::Coverage::covered_share;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::Coverage::share_of_live;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::Coverage::uncovered_bytes;
    #[cfg(feature = "all-features")]
    let _ = &heapguard_alloc::profile::DEFAULT_LG_SAMPLE;
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::Frame| {
        let _ = &x.file;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::Frame| {
        let _ = &x.function;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::Frame| {
        let _ = &x.line;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::HeapDiff| {
        let _ = &x.deltas;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::HeapDiff| {
        let _ = &x.sample_interval;
    };
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::HeapDiff::net_bytes;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::HeapDiff::top_sites;
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::HeapProfile| {
        let _ = &x.coverage;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::HeapProfile| {
        let _ = &x.sample_interval;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::HeapProfile| {
        let _ = &x.stacks;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::HeapProfile| {
        let _ = &x.taken_at;
    };
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::HeapProfile::growth_since;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::HeapProfile::heap_bytes;
    // generic, not named: heapguard_alloc::profile::HeapProfile::parse
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::HeapProfile::to_pprof;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::HeapProfile::to_pprof_symbolized;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::HeapProfile::top_sites;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::HeapProfile::total_bytes;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::HeapProfile::write_pprof;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::HeapProfile::write_pprof_symbolized;
    #[cfg(feature = "all-features")]
    let _ = &heapguard_alloc::profile::MAX_FRAMES_PER_STACK;
    #[cfg(feature = "all-features")]
    let _ = &heapguard_alloc::profile::MAX_STACKS_SYMBOLIZED;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::MallocConf::new;
    #[cfg(feature = "all-features")]
    let _: Option<heapguard_alloc::profile::Site> = None;
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::SiteBytes| {
        let _ = &x.bytes;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::SiteBytes| {
        let _ = &x.objects;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::SiteBytes| {
        let _ = &x.share;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::SiteBytes| {
        let _ = &x.site;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::StackDelta| {
        let _ = &x.addrs;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::StackDelta| {
        let _ = &x.bytes;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::StackDelta| {
        let _ = &x.objects;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::StackSample| {
        let _ = &x.addrs;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::StackSample| {
        let _ = &x.bytes;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::StackSample| {
        let _ = &x.objects;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::StackSample| {
        let _ = &x.sampled_bytes;
    };
    #[cfg(feature = "all-features")]
    let _ = |x: &heapguard_alloc::profile::StackSample| {
        let _ = &x.sampled_objects;
    };
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::Symbolizer::frames;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::Symbolizer::new;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::Symbolizer::site;
    // generic, not named: heapguard_alloc::profile::Symbolizer::top_sites
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::activate;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::deactivate;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::is_active;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::is_compiled_in;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::is_enabled;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::lg_sample;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::reset;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::profile::take;
    let _ = heapguard_alloc::reset_peak;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::set_limit;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::size_class;
    #[cfg(feature = "all-features")]
    let _ = heapguard_alloc::size_classes;
    let _ = heapguard_alloc::slot_usage;
    let _ = heapguard_alloc::stats;
}

#[test]
fn every_public_path_compiles() {
    let named: fn() = names;
    let _ = named;
}
