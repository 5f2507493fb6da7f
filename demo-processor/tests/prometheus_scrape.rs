//! A real Prometheus (Debian's `prometheus` package) started on a free
//! port with a temporary data directory scrapes `demo-processor serve`
//! every second, loads the fleet's rules, and the test reads
//! `heapguard_live_bytes` and `heapguard_budget_bytes` back through
//! Prometheus's HTTP API. Skips without Prometheus outside CI; fails under
//! `CI=true`.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Server;

/// Every wait in the test ends by then.
const LIMIT: Duration = Duration::from_secs(45);

/// Prometheus as a child process, killed when dropped.
struct Prometheus {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Prometheus {
    fn query_url(&self, api: &str) -> String {
        format!("http://127.0.0.1:{}{api}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_prometheus(binary: &Path, dir: &Path, target: &str) -> Prometheus {
    let rules =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus/heapguard-rules.yml");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {rules}\n\
             scrape_configs:\n  - job_name: heapguard\n    static_configs:\n      - targets: ['{target}']\n",
            rules = rules.canonicalize().expect("rules file").display()
        ),
    )
    .expect("write prometheus.yml");
    let port = common::free_port();
    let log = dir.join("prometheus.log");
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start prometheus");
    Prometheus { child, port, log }
}

/// The value of the first sample of `query`, once Prometheus has one.
fn read_back(
    client: &reqwest::blocking::Client,
    prometheus: &Prometheus,
    query: &str,
) -> (serde_json::Value, f64) {
    let started = Instant::now();
    loop {
        let answer = client
            .get(prometheus.query_url("/api/v1/query"))
            .query(&[("query", query)])
            .send()
            .and_then(|response| response.json::<serde_json::Value>());
        if let Ok(answer) = answer {
            if let Some(sample) = answer["data"]["result"].as_array().and_then(|r| r.first()) {
                let value: f64 = sample["value"][1]
                    .as_str()
                    .expect("a value")
                    .parse()
                    .expect("a number");
                return (sample["metric"].clone(), value);
            }
        }
        assert!(
            started.elapsed() < LIMIT,
            "Prometheus never returned `{query}`; its log:\n{}",
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

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
