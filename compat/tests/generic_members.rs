//! The public functions and methods with type parameters (or `impl Trait`
//! arguments), which `*_paths.rs` can only name through their items: each
//! is called here with concrete arguments, so its path and its signature
//! are checked. Nothing here runs; the test fails by not compiling.
#![allow(deprecated, unused_must_use, clippy::let_underscore_future)]

use heapguard_alloc::{Account, CountingAlloc};
use heapguard_breaker::{BreakerConfig, Budget, CancelToken, MemoryBreaker};

#[allow(dead_code, unreachable_code, clippy::diverging_sub_expression)]
fn alloc(account: &Account) {
    let _ = heapguard_alloc::measure(|| 1u8);
    let _ = heapguard_alloc::measure_or_zeros(|| 1u8);
    let _: Account = Account::new("job");
    let _: Account = account.child(String::from("part"));
    let _: u8 = (account.bind(|| 1u8))();
    let _: std::thread::JoinHandle<u8> = account.spawn(|| 1u8);
    let _: heapguard_alloc::Scoped<std::future::Ready<u8>> = account.scope(std::future::ready(1u8));
    static SYSTEM: CountingAlloc<std::alloc::System> = CountingAlloc::new(std::alloc::System);
    let _: &std::alloc::System = SYSTEM.inner();
}

#[cfg(feature = "all-features")]
#[allow(dead_code)]
fn profile(profile: &heapguard_alloc::profile::HeapProfile) {
    let _ = heapguard_alloc::profile::HeapProfile::parse(std::io::empty());
    let mut symbolizer = heapguard_alloc::profile::Symbolizer::new();
    let stacks: [(&[usize], f64, f64); 0] = [];
    let _: Vec<heapguard_alloc::profile::SiteBytes> = symbolizer.top_sites(stacks.into_iter(), 3);
    let _ = profile;
}

#[allow(dead_code)]
fn breaker(breaker: &MemoryBreaker, account: &Account) {
    let _: BreakerConfig = BreakerConfig::new(Budget::Bytes(1))
        .name("job")
        .source(heapguard_breaker::ManualSource::new(0))
        .clock(heapguard_breaker::ManualClock::new())
        .purge_hook(|| ());
    CancelToken::new().on_cancel(|| ());
    let _ = heapguard_breaker::Cgroup::v1("/sys/fs/cgroup/memory");
    let _ = heapguard_breaker::Cgroup::v2(std::path::PathBuf::from("/sys/fs/cgroup"));
    let host = heapguard_breaker::Host::with_root("/");
    let _: std::path::PathBuf = host.path("/proc/meminfo");
    let _ = heapguard_breaker::RssSource::from_statm("/proc/self/statm", 4096);
    let _: Result<u8, heapguard_breaker::Tripped> = breaker.execute(|| 1u8);
    let _: heapguard_breaker::RefreshAction = breaker.on_refresh(|_usage| ());
    let _: heapguard_breaker::JobRegistration =
        breaker.register_job("job", account, CancelToken::new());
}

#[cfg(feature = "all-features")]
#[allow(dead_code)]
fn service(breaker: std::sync::Arc<MemoryBreaker>, account: Account) {
    use heapguard_breaker::service::{MemoryShedLayer, ShedBody};
    use std::sync::Arc;
    use std::time::Duration;
    let layer = MemoryShedLayer::new(breaker)
        .estimate(|_: &u8| 1u64)
        .bypass(|_: &u8| false)
        .retry_after(Duration::from_secs(1))
        .request_accounts(account);
    let stats = layer.stats();
    let layer = layer.with_stats(stats);
    let _: &Arc<MemoryBreaker> = layer.breaker();
    let _ = layer.http();
    let body = |body: ShedBody<String>| {
        let _: bool = body.holds_reservation();
        let _: &String = body.get_ref();
        let _: String = body.into_inner();
    };
    let _ = body;
    let _ = heapguard_breaker::service::content_length::<()>;
}

#[cfg(feature = "all-features")]
#[allow(dead_code)]
async fn spawn(account: &Account) {
    let _ = heapguard_breaker::spawn::spawn(async { 1u8 });
    let _ = heapguard_breaker::spawn::spawn_in(account, async { 1u8 });
    let _ = heapguard_breaker::spawn::spawn_blocking(|| 1u8);
    let _ = heapguard_breaker::spawn::spawn_blocking_in(account, || 1u8);
}

#[allow(dead_code)]
fn monitor(monitor: &heapguard_monitor::MemoryMonitor) {
    let _: (u8, heapguard_monitor::OperationReport) = monitor.track("job", || 1u8);
    let _: (u8, heapguard_monitor::OperationReport) = heapguard_monitor::track("job", || 1u8);
}

#[cfg(feature = "all-features")]
#[allow(dead_code)]
fn replay(config: &heapguard_monitor::MonitorConfig) {
    use heapguard_monitor::replay;
    let _ = replay::replay(std::io::empty(), config);
    let _ = replay::replay_csv(std::io::empty(), config, |_event| Ok(()));
    let _ = replay::replay_csv_with_gauges(std::io::empty(), config, |_| Ok(()), |_| Ok(()));
    let _ = replay::replay_prometheus(std::io::empty(), config, &[], |_, _| Ok(()));
    let _ = replay::replay_prometheus_with_gauges(
        std::io::empty(),
        config,
        &[],
        |_, _| Ok(()),
        |_, _| Ok(()),
    );
}

#[test]
fn every_generic_member_compiles() {
    let named: fn(&MemoryBreaker, &Account) = breaker;
    let _ = named;
}
