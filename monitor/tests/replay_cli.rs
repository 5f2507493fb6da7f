//! The `heapguard-replay` binary, run as a user runs it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};

use tempfile::TempPath;

/// Writes `contents` to a file of its own (`replay-<name>-<random>.csv`),
/// removed when the returned path drops: also when the test panics.
fn write_csv(name: &str, contents: &str) -> TempPath {
    write_file(name, ".csv", contents)
}

fn write_file(name: &str, suffix: &str, contents: &str) -> TempPath {
    let mut file = tempfile::Builder::new()
        .prefix(&format!("replay-{name}-"))
        .suffix(suffix)
        .tempfile_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    file.into_temp_path()
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

/// The gauge lines of a `--gauges` run, and its event lines.
fn gauges_and_events(output: &Output) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    json_lines(output)
        .into_iter()
        .partition(|line| line.get("gauges").is_some())
}

#[test]
fn gauges_follow_the_detector_reading_by_reading() {
    let path = write_csv("gauges-leak", &leaking_trace());
    let output = run(&[path.to_str().unwrap(), "--budget", "1GB", "--gauges"]);
    assert!(output.status.success(), "{output:?}");
    let (gauges, events) = gauges_and_events(&output);
    // One line per reading, in order, each with every gauge.
    assert_eq!(gauges.len(), 8 * 60);
    for (minute, line) in gauges.iter().enumerate() {
        assert_eq!(line["t_secs"], (minute * 60) as f64);
        assert_eq!(line["gauges"].as_object().unwrap().len(), 8, "{line}");
    }
    let gauge = |minute: usize, name: &str| gauges[minute]["gauges"][name].clone();
    assert_eq!(gauge(0, "heapguard_detector_warming_up"), 1.0);
    assert_eq!(gauge(479, "heapguard_detector_warming_up"), 0.0);
    // The leak gauge turns 1 at the sample that raised the event, with the
    // event's slope (per second) and time to the budget, and stays 1.
    let leak = events
        .iter()
        .find(|event| event["event"] == "leak_suspected")
        .unwrap();
    let alarm = (leak["t_secs"].as_f64().unwrap() / 60.0) as usize;
    for minute in 0..480 {
        let expected = if minute >= alarm { 1.0 } else { 0.0 };
        assert_eq!(gauge(minute, "heapguard_leak_suspected"), expected);
    }
    let evidence = &leak["evidence"];
    let slope = evidence["slope_bytes_per_min"].as_f64().unwrap() / 60.0;
    let exported = gauge(alarm, "heapguard_leak_slope_bytes_per_second");
    assert!(
        (exported.as_f64().unwrap() - slope).abs() < 1e-6,
        "{exported}"
    );
    assert_eq!(
        gauge(alarm, "heapguard_leak_seconds_to_budget"),
        evidence["time_to_budget_secs"]
    );
    assert!(gauge(479, "heapguard_leak_confidence").as_f64().unwrap() >= 0.99);
    // Before the alarm: no slope, and +Inf (null) to the budget.
    assert_eq!(
        gauge(alarm - 1, "heapguard_leak_slope_bytes_per_second"),
        0.0
    );
    assert!(gauge(alarm - 1, "heapguard_leak_seconds_to_budget").is_null());
}

#[test]
fn the_level_shift_gauges_hold_the_reported_shift() {
    // Six hours at 300 MB with a step of 100 MB at hour 3.
    let mut csv = String::from("t_secs,live_bytes,quiescent\n");
    for minute in 0..6 * 60u64 {
        let step = if minute >= 180 { 100_000_000 } else { 0 };
        let jitter = (minute * 7_919 % 13) * 250_000;
        csv.push_str(&format!(
            "{},{},1\n",
            minute * 60,
            300_000_000 + step + jitter
        ));
    }
    let path = write_csv("gauges-shift", &csv);
    let output = run(&[path.to_str().unwrap(), "--gauges"]);
    assert!(output.status.success(), "{output:?}");
    let (gauges, events) = gauges_and_events(&output);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["level_shift"]);
    let shift = &events[0]["shift"];
    let reported = (events[0]["t_secs"].as_f64().unwrap() / 60.0) as usize;
    for (minute, line) in gauges.iter().enumerate() {
        let (bytes, at) = if minute >= reported {
            (shift["shift_bytes"].clone(), shift["at_secs"].clone())
        } else {
            (0.0.into(), 0.0.into())
        };
        assert_eq!(line["gauges"]["heapguard_level_shift_bytes"], bytes);
        assert_eq!(
            line["gauges"]["heapguard_level_shift_timestamp_seconds"],
            at
        );
    }
    assert_eq!(shift["at_secs"], 180.0 * 60.0);
}

#[test]
fn a_restart_column_declares_a_restart_and_a_clean_warm_up() {
    // Leaking 5 MB/min from hour 4; at hour 8 the process restarts (back
    // to 300 MB, leaking again), declared on that row.
    let mut csv = String::from("t_secs,live_bytes,quiescent,restart\n");
    for minute in 0..14 * 60u64 {
        let since = if minute >= 480 {
            minute - 480
        } else {
            minute.saturating_sub(240)
        };
        let jitter = (minute * 7_919 % 13) * 250_000;
        let restart = u8::from(minute == 480);
        let bytes = 300_000_000 + since * 5_000_000 + jitter;
        csv.push_str(&format!("{},{bytes},1,{restart}\n", minute * 60));
    }
    let path = write_csv("restart", &csv);
    let output = run(&[path.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    let events: Vec<(String, f64)> = json_lines(&output)
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_owned(),
                e["t_secs"].as_f64().unwrap() / 60.0,
            )
        })
        .collect();
    let kinds: Vec<&str> = events.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["leak_suspected", "recovered", "leak_suspected"],
        "{events:?}"
    );
    assert_eq!(events[1].1, 480.0);
    // The warm-up after the restart starts clean: the leak before it is
    // forgotten, and the one after it is reported from its own points
    // alone, once they show that its growth keeps its slope rather than
    // slowing down like a filling cache (39 min at 5 MB/min), well before
    // the warm-up's 3 h.
    assert!(
        events[2].1 > 480.0 + 16.0 && events[2].1 <= 480.0 + 60.0,
        "{events:?}"
    );
    let refused = run_with_stdin(
        &["-"],
        b"t_secs,live_bytes,quiescent,restart\n0,1,1,maybe\n",
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("restart must be 0 or 1"));
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
fn empty_and_header_only_files_print_nothing_and_say_so() {
    for (name, contents) in [
        ("empty", ""),
        ("header", "t_secs,live_bytes\n"),
        ("header3", "t_secs,live_bytes,quiescent\n"),
    ] {
        let path = write_csv(name, contents);
        let output = run(&[path.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(0), "{name}: {output:?}");
        assert!(output.stdout.is_empty(), "{name}");
        // Not an empty output that reads as "no leak".
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            "heapguard-replay: replayed no readings: the input holds no readings\n",
            "{name}"
        );
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

#[test]
fn a_budget_read_from_this_machine_is_said_to_be_this_machines() {
    let path = write_csv("host-budget", "t_secs,live_bytes\n0,1000\n60,1000\n");
    let path = path.to_str().unwrap();
    for budget in ["auto", "system", "80%"] {
        let output = run(&[path, "--budget", budget]);
        assert!(output.status.success(), "{budget}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with(&format!(
                "heapguard-replay: --budget {budget} is this machine's, not the recorded process's: "
            )) && stderr.contains("--budget 512MiB"),
            "{budget}: {stderr}"
        );
    }
    // A bare number is bytes: below 1 MiB, the likely slip is named.
    let output = run(&[path, "--budget", "512"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "heapguard-replay: --budget 512 is 512 bytes: a number without a unit is bytes; \
         did you mean --budget 512MiB?\n"
    );
    let output = run(&[path, "--budget", "1073741824"]);
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    // A size is the recorded process's: nothing to say.
    let output = run(&[path, "--budget", "512MiB"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

fn run_with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_heapguard-replay"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input); // fails once the replay has refused it
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

#[test]
fn float_values_as_exporters_write_them_replay_like_integers() {
    let integers = leaking_trace();
    let mut floats = String::new();
    for (i, line) in integers.lines().enumerate() {
        let mut fields: Vec<String> = line.split(',').map(str::to_owned).collect();
        if i > 0 {
            let bytes: f64 = fields[1].parse().unwrap();
            fields[1] = if i % 2 == 0 {
                format!("{bytes:e}") // 3.145728e8
            } else {
                format!("{bytes:.1}") // 314572800.0
            };
        }
        floats.push_str(&fields.join(","));
        floats.push('\n');
    }
    assert!(floats.contains("e8,") && floats.contains(".0,"));
    let expected = run(&[write_csv("ints", &integers).to_str().unwrap()]);
    let output = run(&[write_csv("floats", &floats).to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(json_lines(&output), json_lines(&expected));
    assert_eq!(json_lines(&output).len(), 1);
    assert!(output.stderr.is_empty());
}

#[test]
fn non_finite_and_negative_values_are_skipped_and_counted() {
    let mut csv = leaking_trace();
    for (t, value) in [
        (60_000, "NaN"),
        (60_060, "inf"),
        (60_120, "-1"),
        (60_180, "-4.5e6"),
    ] {
        csv.push_str(&format!("{t},{value},1\n"));
    }
    let output = run(&[write_csv("skipped", &csv).to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(json_lines(&output).len(), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("skipped 4 of 484 readings"), "{stderr}");
}

#[test]
fn a_dash_reads_standard_input() {
    let output = run_with_stdin(&["-"], leaking_trace().as_bytes());
    assert!(output.status.success(), "{output:?}");
    let events = json_lines(&output);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["event"], "leak_suspected");
}

#[test]
fn an_endless_line_is_refused_at_the_limit() {
    // What `heapguard-replay - < /dev/zero` reads: bytes without a newline.
    let zeros = vec![0u8; 64 * 1024];
    let output = run_with_stdin(&["-"], &zeros);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 1: longer than 4096 bytes"),
        "{stderr}"
    );
    let mut long = String::from("t_secs,live_bytes\n0,1\n");
    long.push_str(&"7".repeat(5_000));
    let output = run(&[write_csv("long-line", &long).to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 3: longer than 4096 bytes"));
}

#[test]
fn events_are_printed_as_they_are_found() {
    // The input stays open after the leak: its event must come out before
    // the end of the input.
    let mut child = Command::new(env!("CARGO_BIN_EXE_heapguard-replay"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(leaking_trace().as_bytes()).unwrap();
    stdin.flush().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let event: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(event["event"], "leak_suspected");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_failed_write_to_stdout_exits_1() {
    // Every row crosses the high-usage line one way or the other: an event
    // per row, into a pipe whose reader has gone.
    let mut csv = String::from("t_secs,live_bytes\n");
    for row in 0..200_000u64 {
        csv.push_str(&format!("{row},{}\n", if row % 2 == 0 { 900 } else { 100 }));
    }
    let path = write_csv("many-events", &csv);
    let mut child = Command::new(env!("CARGO_BIN_EXE_heapguard-replay"))
        .args([path.to_str().unwrap(), "--budget", "1000B"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("writing events"));
}

/// A `query_range` response with two series: `a` leaks 5 MB/min from hour 4
/// (samples a minute), `b` stays flat; one `NaN` in `b`.
fn prometheus_response() -> String {
    let series = |instance: &str, leak: bool| {
        let values: Vec<String> = (0..8 * 60u64)
            .map(|minute| {
                let leaked = if leak {
                    minute.saturating_sub(240) * 5_000_000
                } else {
                    0
                };
                let jitter = (minute * 7_919 % 13) * 250_000;
                let value = if !leak && minute == 100 {
                    "NaN".to_string()
                } else {
                    format!("{:e}", (300_000_000 + leaked + jitter) as f64)
                };
                format!("[{},\"{value}\"]", 1_700_000_000 + minute * 60)
            })
            .collect();
        format!(
            r#"{{"metric":{{"__name__":"heapguard_live_bytes","instance":"{instance}"}},"values":[{}]}}"#,
            values.join(",")
        )
    };
    format!(
        r#"{{"status":"success","data":{{"resultType":"matrix","result":[{},{}]}}}}"#,
        series("a", true),
        series("b", false)
    )
}

#[test]
fn a_prometheus_response_replays_each_series_or_the_selected_one() {
    let file = write_file("prometheus", ".json", &prometheus_response());
    let path = file.to_str().unwrap();
    let output = run(&[path, "--format", "prometheus"]);
    assert!(output.status.success(), "{output:?}");
    let events = json_lines(&output);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "leak_suspected");
    assert_eq!(events[0]["series"]["instance"], "a");
    // Unix seconds; no quiescent marks, so block minima: found within the
    // latencies without marks (the leak starts at minute 240).
    let minute = (events[0]["t_secs"].as_f64().unwrap() - 1_700_000_000.0) / 60.0;
    assert!((240.0..=240.0 + 420.0).contains(&minute), "{minute}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("skipped 1 of 960 readings"));
    let only_b = run(&[path, "--format", "prometheus", "--series", "instance=b"]);
    assert!(only_b.status.success(), "{only_b:?}");
    assert!(only_b.stdout.is_empty());
    assert!(!String::from_utf8_lossy(&only_b.stderr).contains("replayed no readings"));
    // A selector that matches nothing says so: an empty output is not "no leak".
    let none = run(&[path, "--format", "prometheus", "--series", "instance=c"]);
    assert!(none.status.success(), "{none:?}");
    assert!(none.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&none.stderr)
            .contains("replayed no readings: no series in the input matches --series instance=c"),
        "{none:?}"
    );
    let refused = run(&[path, "--series", "instance=b"]);
    assert_eq!(refused.status.code(), Some(2));
    // A series that matches but holds no reading is not "no match".
    let empty = write_file(
        "empty-series",
        ".json",
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"heapguard_live_bytes","instance":"e"},"values":[]}]}}"#,
    );
    let output = run(&[
        empty.to_str().unwrap(),
        "--format",
        "prometheus",
        "--series",
        "instance=e",
    ]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "heapguard-replay: replayed no readings: the 1 series matching --series instance=e holds no readings\n"
    );
    let not_matrix = write_csv(
        "vector",
        r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
    );
    let output = run(&[not_matrix.to_str().unwrap(), "--format", "prometheus"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("resultType vector"));
}

/// A `query_range` response in Prometheus's layout (series sorted by
/// labels, `__name__` first; values `[unix_secs, "value"]`; 60 s step; 14 h)
/// generated for this test: `heapguard_live_bytes` of two processes of job
/// `api`, and each one's `process_start_time_seconds`. `api-0` leaks
/// 5 MB/min from hour 4 and restarts at 1765028820 (20 s after hour 8:
/// memory back to its base, leaking again; its start time changes there);
/// `api-1` is steady and never restarts.
const RESTART_RESPONSE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/restart_query_range.json"
);
const RESTART_AT: f64 = 1_765_028_820.0;

/// `(event, t_secs, instance)` of each event line.
fn series_events(output: &Output) -> Vec<(String, f64, String)> {
    json_lines(output)
        .iter()
        .filter(|line| line.get("event").is_some())
        .map(|line| {
            (
                line["event"].as_str().unwrap().to_owned(),
                line["t_secs"].as_f64().unwrap(),
                line["series"]["instance"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_start_time_change_in_a_prometheus_response_declares_a_restart() {
    let output = run(&[RESTART_RESPONSE, "--format", "prometheus", "--gauges"]);
    assert!(output.status.success(), "{output:?}");
    let events = series_events(&output);
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|(kind, _, instance)| (kind.as_str(), instance.as_str()))
        .collect();
    // The leak is found before the restart, forgotten at it (the start
    // time's change, between two samples), and found again after it.
    assert_eq!(
        kinds,
        [
            ("leak_suspected", "api-0:9000"),
            ("recovered", "api-0:9000"),
            ("leak_suspected", "api-0:9000")
        ],
        "{events:?}"
    );
    assert!(events[0].1 < RESTART_AT && events[2].1 > RESTART_AT);
    assert_eq!(events[1].1, RESTART_AT);
    let lines = json_lines(&output);
    let gauges: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|line| line.get("gauges").is_some())
        .collect();
    // One gauge line per memory sample: the start-time series are not
    // replayed as memory.
    assert_eq!(gauges.len(), 2 * 14 * 60);
    assert!(gauges
        .iter()
        .all(|line| line["series"]["__name__"] == "heapguard_live_bytes"));
    // The first reading after the restart starts a warm-up.
    let after = gauges
        .iter()
        .find(|line| {
            line["series"]["instance"] == "api-0:9000" && line["t_secs"].as_f64() > Some(RESTART_AT)
        })
        .unwrap();
    assert_eq!(after["gauges"]["heapguard_detector_warming_up"], 1.0);
}

#[test]
fn from_standard_input_a_start_time_series_after_its_memory_series_declares_nothing() {
    // Read once, the response's start-time series come after the memory
    // series they belong to: no restart is declared. Without marks (block
    // minima of 30 samples) the drop is not below the points before the
    // leak, so none is inferred either, and the leak, which goes on at the
    // same rate after the restart, stays suspected: one alarm, nothing
    // cleared. Declared (the test above), the restart clears it at once.
    let input = std::fs::read(RESTART_RESPONSE).unwrap();
    let output = run_with_stdin(&["-", "--format", "prometheus"], &input);
    assert!(output.status.success(), "{output:?}");
    let events = series_events(&output);
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|(kind, _, instance)| (kind.as_str(), instance.as_str()))
        .collect();
    assert_eq!(kinds, [("leak_suspected", "api-0:9000")], "{events:?}");
    assert!(events[0].1 < RESTART_AT, "{events:?}");
}
