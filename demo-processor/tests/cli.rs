//! The binary end to end: exit statuses, messages, the JSON report.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

fn demo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_demo-processor"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary starts")
}

/// A directory of the test's own, removed when dropped: hold it for the
/// whole test, so it goes also when the test fails by panic.
fn scratch() -> TempDir {
    tempfile::Builder::new()
        .prefix("demo-processor-tests-")
        .tempdir()
        .expect("a scratch directory")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn read_json(path: &PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("a report")).expect("valid JSON")
}

#[test]
fn bad_input_exits_2_with_a_message_naming_the_problem() {
    let cases: [(&[&str], &str); 14] = [
        (
            &["run", "--contacts", "0"],
            "contacts per user must be a whole number from 1",
        ),
        // A budget the process's own heap already fills: before, `run`
        // ended "partial" (exit 3) and `serve` passed its health checks
        // while refusing every request.
        (
            &["run", "--budget", "512"],
            "a number without a unit is bytes: did you mean 512MiB?",
        ),
        (
            &["serve", "--budget", "512"],
            "a number without a unit is bytes: did you mean 512MiB?",
        ),
        (&["compare", "--budget", "1KiB"], "no more than the"),
        (
            &["run", "--budget", "abc"],
            "cannot parse \"abc\" as a memory budget",
        ),
        (&["run", "--budget", "0"], "--budget"),
        (
            &["run", "--batch-size", "0"],
            "batch size must be a whole number of at least 1",
        ),
        (
            &["run", "--mode", "fast"],
            "possible values: naive, streaming",
        ),
        (
            &["compare", "--users", "0"],
            "users must be a whole number from 1",
        ),
        (
            &["run", "--contacts", "10", "--chart", "out.png"],
            "only .svg charts are supported",
        ),
        // Both listeners take HOST:PORT, a name resolved by the system.
        (
            &["serve", "--listen", "no-such-host.invalid:8080"],
            "cannot resolve host \"no-such-host.invalid\": ",
        ),
        (
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--admin-listen",
                "no-such-host.invalid:8080",
            ],
            "invalid value 'no-such-host.invalid:8080' for '--admin-listen <ADDR>': \
             cannot resolve host \"no-such-host.invalid\": ",
        ),
        (
            &["serve", "--listen", "localhost"],
            "no port in \"localhost\": expected HOST:PORT, such as localhost:8080",
        ),
        (
            &["serve", "--listen", "localhost:http"],
            "\"http\" is not a port (0 to 65535)",
        ),
    ];
    for (args, message) in cases {
        let output = demo(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let missing_dir = demo(&[
        "run",
        "--contacts",
        "10",
        "--json",
        "/nonexistent-dir/report.json",
    ]);
    assert_eq!(missing_dir.status.code(), Some(2));
    assert!(
        stderr(&missing_dir).contains("does not exist"),
        "{}",
        stderr(&missing_dir)
    );
}

#[test]
fn budget_errors_name_the_options_not_the_rust_api() {
    use heapguard_breaker::{Budget, BudgetError};
    // Only a cgroup without a memory limit gives this error; where the
    // tests' own cgroup sets one, `--budget cgroup` is a valid budget.
    match Budget::Cgroup.resolve() {
        Err(BudgetError::NoCgroupLimit { .. }) => {}
        other => {
            eprintln!("SKIPPED: needs a memory cgroup without a limit; here: {other:?}");
            return;
        }
    }
    let commands: [&[&str]; 3] = [
        &["run", "--budget", "cgroup"],
        &["compare", "--budget", "cgroup"],
        &["serve", "--listen", "127.0.0.1:0", "--budget", "cgroup"],
    ];
    for args in commands {
        let output = demo(args);
        let stderr = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(
                "and its ancestors set no memory limit (`max`); use --budget auto \
                 or a fixed size (such as --budget 512MiB) instead"
            ),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("Budget::"), "{args:?}: {stderr}");
    }
}

#[test]
fn help_succeeds() {
    let output = demo(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("compare"));
}

#[test]
fn a_short_run_completes_and_writes_the_json_schema() {
    let tmp = scratch();
    let json = tmp.path().join("run.json");
    let chart = tmp.path().join("run.svg");
    let output = demo(&[
        "run",
        "--contacts",
        "300",
        "--users",
        "4",
        "--batch-size",
        "3",
        "--mode",
        "naive",
        "--json",
        json.to_str().unwrap(),
        "--chart",
        chart.to_str().unwrap(),
        "--purge",
        "--quiet",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("naive mode, 300 contacts x 4 users"),
        "{stdout}"
    );
    assert!(stdout.contains("complete"), "{stdout}");

    let report = read_json(&json);
    assert_eq!(report["mode"], "naive");
    assert_eq!(report["status"], "complete");
    for (key, expected) in [
        ("contacts_per_user", 300),
        ("users_total", 4),
        ("users_done", 4),
        ("users_skipped", 0),
        ("suggestions", 200),
        ("breaker_trips", 0),
        ("leak_alerts", 0),
    ] {
        assert_eq!(report[key].as_u64(), Some(expected), "{key}");
    }
    for key in ["peak_bytes", "allocations", "elapsed_ms"] {
        assert!(report[key].is_u64(), "{key} is a number");
    }
    assert!(
        report["peak_bytes"].as_u64().unwrap() > 300 * 4 * 500,
        "the counting allocator saw the batch"
    );
    assert!(report["allocations"].as_u64().unwrap() > 300 * 4);
    // The process's resident peak holds its code and stacks besides the heap.
    let peak_rss = report["peak_rss_bytes"].as_u64().expect("peak_rss_bytes");
    assert!(
        peak_rss > report["peak_bytes"].as_u64().unwrap(),
        "{report}"
    );
    assert!(stdout.contains("peak RSS"), "{stdout}");
    assert_eq!(report["counting_allocator"], true);
    assert_eq!(
        report["purges"].as_array().map(Vec::len),
        Some(2),
        "one purge per batch"
    );
    assert!(report["purges"][0]["rss_before"].is_u64());
    assert!(report["users"][0]["digest"]
        .as_str()
        .is_some_and(|d| d.len() == 16));
    // Each user's memory account saw that user's own records (300 contacts
    // of at least 0.5 KiB), and a peak can never pass what was allocated.
    let users = report["users"].as_array().expect("users");
    assert_eq!(users.len(), 4);
    for user in users {
        let peak = user["peak_bytes"].as_u64().expect("peak_bytes");
        let allocated = user["allocated_bytes"].as_u64().expect("allocated_bytes");
        assert!(peak >= 300 * 512, "{user}");
        assert!(peak <= allocated, "{user}");
        assert!(peak < report["peak_bytes"].as_u64().unwrap(), "{user}");
    }
    assert!(stdout.contains("top users by peak heap"), "{stdout}");

    let svg = std::fs::read_to_string(&chart).expect("a chart");
    assert!(svg.starts_with("<svg") || svg.contains("<svg"), "an SVG");
    assert!(svg.contains("naive: peak"), "the legend names the series");
}

#[test]
fn under_a_tight_budget_naive_is_partial_and_streaming_completes() {
    let args = [
        "--contacts",
        "1000",
        "--users",
        "12",
        "--budget",
        "6MiB",
        "--quiet",
    ];
    let tmp = scratch();
    let naive_json = tmp.path().join("naive.json");
    let mut naive_args = vec![
        "run",
        "--mode",
        "naive",
        "--json",
        naive_json.to_str().unwrap(),
    ];
    naive_args.extend(args);
    let naive = demo(&naive_args);
    assert_eq!(naive.status.code(), Some(3), "{}", stderr(&naive));
    let stdout = String::from_utf8_lossy(&naive.stdout);
    assert!(stdout.contains("users skipped"), "{stdout}");
    let report = read_json(&naive_json);
    assert_eq!(report["status"], "partial");
    // Refused before it allocated: a user's estimate does not fit under the
    // trip line (at its reservation, or at its admission once the reserved
    // users brought the breaker to the line).
    let checkpoint = report["trip"]["checkpoint"].as_str();
    assert!(
        matches!(checkpoint, Some("reservation" | "user")),
        "{checkpoint:?}"
    );
    let (peak, budget) = (
        report["peak_bytes"].as_u64(),
        report["budget_bytes"].as_u64(),
    );
    assert!(peak.is_some() && peak < budget, "{peak:?} {budget:?}");
    let skipped = report["skipped_users"]
        .as_array()
        .expect("skipped users listed");
    assert!(!skipped.is_empty());
    assert_eq!(report["users_skipped"].as_u64(), Some(skipped.len() as u64));
    assert_eq!(
        skipped.last().and_then(Value::as_u64),
        Some(11),
        "skips run to the last user"
    );

    let streaming_json = tmp.path().join("streaming.json");
    let mut streaming_args = vec![
        "run",
        "--mode",
        "streaming",
        "--json",
        streaming_json.to_str().unwrap(),
    ];
    streaming_args.extend(args);
    let streaming = demo(&streaming_args);
    assert_eq!(streaming.status.code(), Some(0), "{}", stderr(&streaming));
    let report = read_json(&streaming_json);
    assert_eq!(report["status"], "complete");
    assert_eq!(report["users_done"], 12);
    assert_eq!(report["breaker_trips"], 0);
}

#[test]
fn the_monitor_reports_an_injected_leak_and_not_a_normal_run() {
    // 24 users: the detector holds its decision until 5 quiescent points
    // follow a jump, so a leak needs some users past the last jump of the
    // cache's staircase (16 found it only when the machine was quiet).
    let args = ["run", "--contacts", "1000", "--users", "24", "--quiet"];
    let tmp = scratch();
    let leak_json = tmp.path().join("leak.json");
    let mut leaky = args.to_vec();
    leaky.extend(["--inject-leak", "--json", leak_json.to_str().unwrap()]);
    let output = demo(&leaky);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = read_json(&leak_json);
    assert!(report["leak_alerts"].as_u64().unwrap() >= 1, "{report}");
    assert!(report["leaks"][0]["message"]
        .as_str()
        .unwrap()
        .contains("MiB/min"));

    let clean_json = tmp.path().join("clean.json");
    let mut clean = args.to_vec();
    clean.extend(["--json", clean_json.to_str().unwrap()]);
    let output = demo(&clean);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(read_json(&clean_json)["leak_alerts"], 0);
}

#[test]
fn compare_runs_both_modes_and_prints_the_table() {
    let tmp = scratch();
    let json = tmp.path().join("compare.json");
    let output = demo(&[
        "compare",
        "--contacts",
        "300",
        "--users",
        "3",
        "--quiet",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for row in [
        "peak heap",
        "allocations",
        "breaker trips",
        "leak alerts",
        "users done",
    ] {
        assert!(stdout.contains(row), "{row}: {stdout}");
    }
    assert!(
        stdout.contains("suggestions of the 3 users both modes finished: identical"),
        "{stdout}"
    );
    let reports = read_json(&json);
    let modes: Vec<&str> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["mode"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["naive", "streaming"]);
}

#[test]
fn compare_with_no_user_finished_by_both_modes_says_nothing_was_compared() {
    // 200 KiB: above what the process holds when it parses the option,
    // but its trip line (160 KiB) is below what each child holds when its
    // job starts, so both modes stop before their first user.
    let tmp = scratch();
    let json = tmp.path().join("compare.json");
    let output = demo(&[
        "compare",
        "--contacts",
        "100",
        "--users",
        "2",
        "--budget",
        "200KiB",
        "--quiet",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let reports = read_json(&json);
    for report in reports.as_array().expect("two reports") {
        assert_eq!(report["users_done"], 0, "{report}");
        assert_eq!(report["status"], "partial", "{report}");
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("\n  suggestions not compared: no user was finished by both modes\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("identical"), "{stdout}");
}

#[test]
fn the_run_says_where_its_budget_came_from() {
    let output = demo(&[
        "run",
        "--contacts",
        "100",
        "--users",
        "2",
        "--mode",
        "streaming",
        "--budget",
        "64GiB",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("budget: 64.0 GiB (68719476736 bytes) from a fixed size"),
        "{}",
        stderr(&output)
    );
}
