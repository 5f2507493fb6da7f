//! Acceptance 3: the `heapguard-replay` binary, run as a user runs it.

use std::path::PathBuf;
use std::process::{Command, Output};

fn write_csv(name: &str, contents: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("replay-{name}.csv"));
    std::fs::write(&path, contents).unwrap();
    path
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heapguard-replay"))
        .args(args)
        .output()
        .unwrap()
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Eight hours of quiescent samples a minute at 300 MB, leaking 5 MB/min
/// from hour 4, with a little deterministic jitter.
fn leaking_trace() -> String {
    let mut csv = String::from("t_secs,live_bytes,quiescent\n");
    for minute in 0..8 * 60u64 {
        let leak = minute.saturating_sub(240) * 5_000_000;
        let jitter = (minute * 7_919 % 13) * 250_000;
        csv.push_str(&format!(
            "{},{},1\n",
            minute * 60,
            300_000_000 + leak + jitter
        ));
    }
    csv
}

#[test]
fn a_leaking_trace_prints_leak_suspected() {
    let path = write_csv("leak", &leaking_trace());
    let output = run(&[path.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    let events = json_lines(&output);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "leak_suspected");
    let t_secs = events[0]["t_secs"].as_f64().unwrap();
    assert!((240.0 * 60.0..270.0 * 60.0).contains(&t_secs), "{t_secs}");
    let evidence = &events[0]["evidence"];
    assert_eq!(evidence["detector"], "trend");
    let slope = evidence["slope_bytes_per_min"].as_f64().unwrap();
    assert!((4_000_000.0..6_000_000.0).contains(&slope), "{slope}");
    assert!(evidence["time_to_budget_secs"].is_null());
}

#[test]
fn a_budget_adds_high_usage_and_the_time_to_reach_it() {
    let path = write_csv("leak-budget", &leaking_trace());
    let output = run(&[path.to_str().unwrap(), "--budget", "1GB"]);
    assert!(output.status.success(), "{output:?}");
    let events = json_lines(&output);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["leak_suspected", "high_usage"]);
    let to_budget = events[0]["evidence"]["time_to_budget_secs"]
        .as_f64()
        .unwrap();
    assert!(to_budget > 0.0);
    assert_eq!(events[1]["budget_bytes"], 1_000_000_000u64);
    assert!(events[1]["percent"].as_f64().unwrap() > 70.0);
}

#[test]
fn malformed_rows_exit_2_naming_the_line() {
    let cases = [
        (
            "bad-bytes",
            "t_secs,live_bytes\n0,100\n60,100\n120,lots\n",
            "line 4",
        ),
        ("bad-header", "time,bytes\n0,100\n", "line 1"),
        (
            "short-row",
            "t_secs,live_bytes,quiescent\n0,1,1\n60,2\n",
            "line 3",
        ),
        (
            "bad-flag",
            "t_secs,live_bytes,quiescent\n0,1,yes\n",
            "line 2",
        ),
        ("backwards", "t_secs,live_bytes\n60,1\n0,1\n", "line 3"),
    ];
    for (name, contents, line) in cases {
        let path = write_csv(name, contents);
        let output = run(&[path.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{name}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(line), "{name}: {stderr}");
        assert!(output.stdout.is_empty(), "{name}");
    }
}

#[test]
fn empty_and_header_only_files_print_nothing() {
    for (name, contents) in [
        ("empty", ""),
        ("header", "t_secs,live_bytes\n"),
        ("header3", "t_secs,live_bytes,quiescent\n"),
    ] {
        let path = write_csv(name, contents);
        let output = run(&[path.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(0), "{name}: {output:?}");
        assert!(output.stdout.is_empty(), "{name}");
    }
}

#[test]
fn a_missing_file_or_bad_budget_exits_2() {
    let output = run(&["/nonexistent/samples.csv"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/samples.csv"));
    let path = write_csv("ok", "t_secs,live_bytes\n0,1\n");
    let output = run(&[path.to_str().unwrap(), "--budget", "12 parsecs"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("12 parsecs"));
}
