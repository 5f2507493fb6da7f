//! A real Prometheus (Debian's `prometheus` package) as a child process on
//! a free port, with a temporary data directory, scraping one target every
//! second with the fleet's rules loaded; and reading series back through
//! its HTTP API.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Every wait in the test ends by then.
pub const LIMIT: Duration = Duration::from_secs(45);

/// Prometheus as a child process, killed when dropped.
pub struct Prometheus {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Prometheus {
    pub fn query_url(&self, api: &str) -> String {
        format!("http://127.0.0.1:{}{api}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_prometheus(binary: &Path, dir: &Path, target: &str) -> Prometheus {
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
    let port = super::free_port();
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
pub fn read_back(
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

/// The value of the first sample of `query` once it satisfies `wanted`.
pub fn read_until(
    client: &reqwest::blocking::Client,
    prometheus: &Prometheus,
    query: &str,
    wanted: impl Fn(f64) -> bool,
) -> f64 {
    let started = Instant::now();
    loop {
        let (_, value) = read_back(client, prometheus, query);
        if wanted(value) {
            return value;
        }
        assert!(
            started.elapsed() < LIMIT,
            "`{query}` stayed at {value}; Prometheus's log:\n{}",
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
