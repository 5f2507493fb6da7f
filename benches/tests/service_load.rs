//! The service benchmark's driver, run briefly against the three real
//! servers on 127.0.0.1: it must produce well-formed figures for every
//! configuration (never timing assertions: speed is measured in the
//! benchmark, not here).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const REQUESTS: u64 = 40;

#[test]
fn one_brief_round_gives_figures_for_every_configuration() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let json = dir.path().join("service.jsonl");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_service_jemalloc"))
        .parent()
        .expect("the binaries' directory");
    let output = Command::new(env!("CARGO_BIN_EXE_service_load"))
        .args([
            "bench",
            "--rounds",
            "1",
            "--requests",
            &REQUESTS.to_string(),
        ])
        .args(["--warmup", "5", "--connections", "2", "--timeout-s", "60"])
        .args(["--configs", "jemalloc,counting,stack"])
        .arg("--bin-dir")
        .arg(bin_dir)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("service_load runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "service_load failed:\n{stdout}\n{stderr}"
    );

    let lines = std::fs::read_to_string(&json).expect("the JSON lines were written");
    let runs: Vec<Value> = lines
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert_eq!(runs.len(), 3, "one run per configuration:\n{lines}");
    let mut body_bytes = Vec::new();
    for config in ["jemalloc", "counting", "stack"] {
        let run = runs
            .iter()
            .find(|run| run["config"] == config)
            .unwrap_or_else(|| panic!("no run of {config}:\n{lines}"));
        assert_eq!(run["bench"], "service");
        assert_eq!(run["round"], 1);
        assert_eq!(run["requests"], REQUESTS);
        assert_eq!(run["connections"], 2);
        let number = |name: &str| {
            run[name]
                .as_f64()
                .unwrap_or_else(|| panic!("{config}: {name} is not a number: {run}"))
        };
        // The server did the work, and its CPU time was read around it.
        assert!(number("cpu_ns_per_request") > 0.0, "{run}");
        assert_eq!(
            number("cpu_ns_per_request"),
            (number("user_ns") + number("sys_ns")) / REQUESTS as f64
        );
        assert!(
            number("wall_s") > 0.0 && number("requests_per_s") > 0.0,
            "{run}"
        );
        assert!(
            0.0 < number("p50_us") && number("p50_us") <= number("p99_us"),
            "{run}"
        );
        // 24 records of fixed width: the same answer length everywhere.
        body_bytes.push(number("body_bytes"));
        // Only the counting allocator counts; it sees the handler's
        // allocations (hundreds per request: 24 records of JSON).
        let calls = number("allocator_calls_per_request");
        if config == "jemalloc" {
            assert_eq!(calls, 0.0, "{run}");
        } else {
            assert!(
                calls >= 100.0,
                "{config}: {calls} allocator calls per request"
            );
        }
    }
    assert!(
        body_bytes[0] > 1000.0 && body_bytes.iter().all(|&b| b == body_bytes[0]),
        "{body_bytes:?}"
    );

    // The table has a row per configuration, with the ratio to jemalloc.
    for config in ["jemalloc", "counting", "stack"] {
        assert!(
            stdout
                .lines()
                .any(|line| line.starts_with(&format!("| {config} |"))),
            "no row for {config}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("| jemalloc | ") && stdout.contains("1.000x (1.000-1.000)"),
        "{stdout}"
    );
}

#[test]
fn a_bad_configuration_is_refused_with_its_name() {
    let output = Command::new(env!("CARGO_BIN_EXE_service_load"))
        .args([
            "bench",
            "--rounds",
            "1",
            "--requests",
            "1",
            "--configs",
            "jemalloc,counting+cache",
        ])
        .output()
        .expect("service_load runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("\"cache\""), "{stderr}");
}

#[test]
fn a_server_refuses_parts_it_cannot_run() {
    let output = Command::new(env!("CARGO_BIN_EXE_service_jemalloc"))
        .args(["--parts", "layer"])
        .output()
        .expect("service_jemalloc runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("service_stack"), "{stderr}");
}

#[test]
fn an_idle_server_reports_its_cpu_per_second() {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_service_stack"))
        .parent()
        .expect("the binaries' directory");
    let output = Command::new(env!("CARGO_BIN_EXE_service_load"))
        .args(["idle", "--config", "counting+refresher", "--seconds", "1"])
        .arg("--bin-dir")
        .arg(bin_dir)
        .output()
        .expect("service_load runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "service_load idle failed:\n{stdout}\n{stderr}"
    );
    let line: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(line["bench"], "service_idle");
    assert_eq!(line["config"], "counting+refresher");
    let number = |name: &str| {
        line[name]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: {line}"))
    };
    assert!(number("seconds") >= 1.0, "{line}");
    let parts = number("user_us_per_s") + number("sys_us_per_s");
    assert!((number("cpu_us_per_s") - parts).abs() < 1e-6, "{line}");
    // The counting allocator counted what the server allocated between the
    // two readings (the second reading's own connection and request at
    // least); how much CPU the refresher took is the benchmark's figure.
    assert!(number("allocator_calls_per_s") > 0.0, "{line}");
}
