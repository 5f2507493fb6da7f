//! A service built only on heapguard's libraries (not the demo): an axum
//! router behind `MemoryShedLayer`, the breaker's `BreakerMetrics` and the
//! monitor's `metrics` feature rendered by metrics-exporter-prometheus at
//! scrape time. A real Prometheus scrapes it every second and answers every
//! series the shipped alert rules read; a shed request moves the counter
//! the shedding alert reads.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::routing::{get, post};
use axum::Router;
use common::prometheus::{read_back, read_until, start_prometheus};
use heapguard_breaker::metrics::BreakerMetrics;
use heapguard_breaker::service::{MemoryShedLayer, ShedStats};
use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};
use heapguard_monitor::{MemoryMonitor, MonitorConfig};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

#[global_allocator]
static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> =
    heapguard_alloc::CountingAlloc::new(std::alloc::System);

const MIB: u64 = 1 << 20;

/// The service's state for its `/metrics` route.
struct Exported {
    breaker: BreakerMetrics,
    monitor: MemoryMonitor,
    handle: PrometheusHandle,
}

impl Exported {
    /// What a scrape reads: every value taken now, then rendered.
    fn render(&self) -> String {
        self.breaker.record();
        if let Err(error) = self.monitor.record_metrics() {
            eprintln!("cannot read the heap: {error}");
        }
        self.handle.render()
    }
}

/// Starts the service on a free port of 127.0.0.1, on a runtime of its own.
fn start_service() -> (SocketAddr, Arc<MemoryBreaker>, tokio::runtime::Runtime) {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    // The monitor's sampler thread sets the detector's gauges: a global
    // recorder, as a service installs.
    metrics::set_global_recorder(recorder).expect("the only recorder of this test binary");
    let breaker = Arc::new(
        MemoryBreaker::new(BreakerConfig::new(Budget::Bytes(64 * MIB)).name("requests"))
            .expect("a breaker"),
    );
    let shed = ShedStats::default();
    let exported = BreakerMetrics::new(Arc::clone(&breaker)).shed_stats(shed.clone());
    exported.describe();
    let monitor = MemoryMonitor::start(MonitorConfig {
        budget_bytes: Some(64 * MIB),
        ..MonitorConfig::default()
    })
    .expect("a monitor");
    let exported = Arc::new(Exported {
        breaker: exported,
        monitor,
        handle,
    });
    // A request declares what it will hold in `x-estimate` (bytes).
    let layer = MemoryShedLayer::new(Arc::clone(&breaker))
        .with_stats(shed)
        .estimate(|request: &Request<Body>| {
            request
                .headers()
                .get("x-estimate")
                .and_then(|value| value.to_str().ok()?.parse().ok())
                .unwrap_or(0)
        })
        .bypass(|request: &Request<Body>| request.uri().path() == "/metrics")
        .http();
    let app = Router::new()
        .route("/work", post(|| async { "done" }))
        .route(
            "/metrics",
            get(move || {
                let exported = Arc::clone(&exported);
                async move { exported.render() }
            }),
        )
        .layer(layer);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("an address");
    runtime.spawn(async move { axum::serve(listener, app).await });
    (addr, breaker, runtime)
}

#[test]
fn prometheus_reads_every_series_the_rules_use_from_a_library_only_service() {
    let Some(binary) = common::tool("prometheus") else {
        return;
    };
    let (addr, breaker, _runtime) = start_service();
    let dir = tempfile::tempdir().expect("temporary directory");
    let prometheus = start_prometheus(&binary, dir.path(), &addr.to_string());
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client");

    // Every series the rules in deploy/prometheus read, scraped.
    let rules = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../deploy/prometheus/heapguard-rules.yml"),
    )
    .expect("the rules");
    let used: Vec<&str> = [
        "heapguard_live_bytes",
        "heapguard_budget_bytes",
        "heapguard_breaker_trips_total",
        "heapguard_requests_shed_total",
        "heapguard_leak_suspected",
        "heapguard_detector_warming_up",
    ]
    .into_iter()
    .filter(|name| rules.contains(name))
    .collect();
    assert_eq!(used.len(), 6, "the rules read these series: {used:?}");
    for name in &used {
        let (labels, _) = read_back(&client, &prometheus, name);
        assert_eq!(labels["job"], "heapguard", "{name}: {labels}");
        assert_eq!(labels["instance"], addr.to_string(), "{name}: {labels}");
    }
    // Current at scrape time: the heap is read when the scrape arrives, not
    // at the monitor's first sample (a minute away).
    let (_, live) = read_back(&client, &prometheus, "heapguard_live_bytes");
    assert!(live > 0.0 && live < (64 * MIB) as f64, "live bytes {live}");
    let (_, budget) = read_back(&client, &prometheus, "heapguard_budget_bytes");
    assert_eq!(budget, (64 * MIB) as f64);

    // With 30 MiB reserved by other work, a request of 30 MiB does not fit
    // under the trip line (80% of 64 MiB) now: shed with 503, and the
    // counter HeapguardRequestsShed reads moves.
    let other_work = breaker.try_reserve(30 * MIB).expect("room for 30 MiB");
    let shed = client
        .post(format!("http://{addr}/work"))
        .header("x-estimate", (30 * MIB).to_string())
        .send()
        .expect("an answer");
    assert_eq!(shed.status().as_u16(), 503);
    assert!(shed.headers().contains_key("retry-after"));
    drop(other_work);
    let fits = client
        .post(format!("http://{addr}/work"))
        .header("x-estimate", MIB.to_string())
        .send()
        .expect("an answer");
    assert_eq!(fits.status().as_u16(), 200);
    let counted = read_until(
        &client,
        &prometheus,
        "heapguard_requests_shed_total",
        |shed| shed >= 1.0,
    );
    assert_eq!(counted, 1.0);
    let admitted = read_until(
        &client,
        &prometheus,
        "heapguard_requests_admitted_total",
        |admitted| admitted >= 1.0,
    );
    assert_eq!(admitted, 1.0);
}
