//! A real Prometheus (Debian's `prometheus` package) started on a free
//! port with a temporary data directory scrapes `demo-processor serve`
//! every second, loads the fleet's rules, and the test reads
//! `heapguard_live_bytes` and `heapguard_budget_bytes` back through
//! Prometheus's HTTP API. Skips without Prometheus outside CI; fails under
//! `CI=true`.

mod common;

use std::time::Duration;

use common::prometheus::{read_back, start_prometheus};
use common::Server;

#[test]
fn prometheus_scrapes_the_service_and_answers_its_heapguard_series() {
    let Some(binary) = common::tool("prometheus") else {
        return;
    };
    let server = Server::start(&["--budget", "64MiB", "--mode", "streaming"]);
    let dir = tempfile::tempdir().expect("temporary directory");
    let prometheus = start_prometheus(&binary, dir.path(), &server.addr.to_string());
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client");
    let answered = client
        .post(server.url("/suggestions?contacts=500&seed=1"))
        .send()
        .expect("the service answers");
    assert_eq!(answered.status(), 200);

    let (labels, live) = read_back(&client, &prometheus, "heapguard_live_bytes");
    assert_eq!(labels["job"], "heapguard");
    assert_eq!(labels["instance"], server.addr.to_string());
    assert!(live > 0.0 && live < (64 << 20) as f64, "live bytes {live}");
    let (_, budget) = read_back(&client, &prometheus, "heapguard_budget_bytes");
    assert_eq!(budget, (64 << 20) as f64);
    let (_, admitted) = read_back(&client, &prometheus, "heapguard_requests_admitted_total");
    assert!(admitted >= 1.0);
    // The rules the fleet ships are loaded by a real Prometheus too.
    let (_, rules) = read_back(
        &client,
        &prometheus,
        "count(heapguard_live_bytes / heapguard_budget_bytes < 0.85)",
    );
    assert_eq!(rules, 1.0);
    let loaded: serde_json::Value = client
        .get(prometheus.query_url("/api/v1/rules"))
        .send()
        .and_then(|response| response.json())
        .expect("rules API");
    let names: Vec<&str> = loaded["data"]["groups"][0]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|rule| rule["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "heapguard:budget_exhaustion_seconds",
            "HeapguardHighMemoryUsage",
            "HeapguardMemoryLeakSuspected",
            "HeapguardRequestsShed",
            "HeapguardBreakerTripping",
            "HeapguardBudgetExhaustionPredicted",
            "HeapguardMetricsAbsent"
        ],
        "{loaded}"
    );
}
