//! Outputs that never lose data, one test per kind of fault: a full disk
//! (a 16 KiB tmpfs), a full stdout (`/dev/full`), a closed stdout (a broken
//! pipe), output paths that cannot work (found before the job starts), and
//! `compare`'s child processes under SIGINT, SIGTERM and SIGKILL. Each
//! asserts the exit status, the message, and that what was already at the
//! path is intact.

use std::os::unix::fs::FileTypeExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::disk::SmallDisk;

const BIN: &str = env!("CARGO_BIN_EXE_demo-processor");

fn demo(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env_remove("RUST_LOG");
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A private scratch directory, removed at the end.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("a scratch directory")
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("a readable directory")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Exit status 2 or 3 with `message` on stderr, and no panic.
fn assert_failed_cleanly(output: &Output, code: i32, message: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(message), "wanted {message:?} in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
}

#[test]
fn json_on_a_full_disk_exits_2_and_keeps_the_good_file() {
    let Some(disk) = SmallDisk::mount("16k") else {
        return;
    };
    // 12 KiB of a good report leaves 4 KiB: too little for 200 users' entries.
    let (json, good) = disk.good_file("report.json", 12 * 1024);
    let output = demo(&[
        "run",
        "--contacts",
        "20",
        "--users",
        "200",
        "--quiet",
        "--json",
    ])
    .arg(&json)
    .output()
    .expect("runs");
    assert_failed_cleanly(&output, 2, "No space left on device");
    assert!(text(&output.stderr).contains(&format!("cannot write {}", json.display())));
    assert_eq!(
        std::fs::read(&json).unwrap(),
        good,
        "the good file is intact"
    );
    assert_eq!(names_in(disk.path()), ["report.json"], "no temporary left");
}

#[test]
fn chart_on_a_full_disk_exits_2_and_keeps_the_good_file() {
    let Some(disk) = SmallDisk::mount("16k") else {
        return;
    };
    let (chart, good) = disk.good_file("memory.svg", 12 * 1024);
    let output = demo(&[
        "run",
        "--contacts",
        "20",
        "--users",
        "20",
        "--quiet",
        "--chart",
    ])
    .arg(&chart)
    .output()
    .expect("runs");
    assert_failed_cleanly(&output, 2, "No space left on device");
    assert!(text(&output.stderr).contains(&format!("cannot write {}", chart.display())));
    assert_eq!(
        std::fs::read(&chart).unwrap(),
        good,
        "the good file is intact"
    );
    assert_eq!(names_in(disk.path()), ["memory.svg"], "no temporary left");
    // The summary still went to stdout.
    assert!(text(&output.stdout).contains("streaming mode"));
}

#[test]
fn a_partial_run_stays_3_when_its_report_cannot_be_written() {
    let Some(disk) = SmallDisk::mount("16k") else {
        return;
    };
    let (json, good) = disk.good_file("partial.json", 12 * 1024);
    let output = demo(&[
        "run",
        "--mode",
        "naive",
        "--contacts",
        "1000",
        "--users",
        "400",
        "--budget",
        "64MiB",
        "--quiet",
        "--json",
    ])
    .arg(&json)
    .output()
    .expect("runs");
    // A report of about 15 KiB (9 users done, 391 skipped): more than the
    // disk has left.
    assert_failed_cleanly(&output, 3, "No space left on device");
    assert!(
        text(&output.stderr).contains("exit status 3 all the same"),
        "{}",
        text(&output.stderr)
    );
    assert!(text(&output.stdout).contains("partial"));
    assert_eq!(
        std::fs::read(&json).unwrap(),
        good,
        "the good file is intact"
    );
    assert_eq!(names_in(disk.path()), ["partial.json"]);
}

#[test]
fn a_full_stdout_exits_2_without_a_panic_and_the_files_are_written() {
    let dir = scratch();
    let json = dir.path().join("report.json");
    std::fs::write(&json, "old").unwrap();
    for command in ["run", "compare"] {
        let output = demo(&[
            command,
            "--contacts",
            "20",
            "--users",
            "2",
            "--quiet",
            "--json",
        ])
        .arg(&json)
        .stdout(std::fs::File::create("/dev/full").expect("/dev/full"))
        .output()
        .expect("runs");
        assert_failed_cleanly(
            &output,
            2,
            "cannot write to stdout: No space left on device",
        );
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).expect("a whole report");
        assert!(report.is_object() || report.is_array(), "{command}");
    }
    // --help goes to stdout too.
    let output = demo(&["--help"])
        .stdout(std::fs::File::create("/dev/full").expect("/dev/full"))
        .output()
        .expect("runs");
    assert_failed_cleanly(&output, 2, "cannot write to stdout");
    // `serve` says where it listens on stdout before it serves anything.
    let output = demo(&["serve", "--listen", "127.0.0.1:0", "--budget", "1GiB"])
        .stdout(std::fs::File::create("/dev/full").expect("/dev/full"))
        .output()
        .expect("runs");
    assert_failed_cleanly(
        &output,
        2,
        "cannot write to stdout: No space left on device",
    );
}

#[test]
fn a_closed_stdout_exits_2_without_a_panic() {
    let dir = scratch();
    let json = dir.path().join("report.json");
    for command in ["run", "compare"] {
        let mut child = demo(&[
            command,
            "--contacts",
            "20",
            "--users",
            "2",
            "--quiet",
            "--json",
        ])
        .arg(&json)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
        // Closing the only reader before the summary is written: a broken pipe.
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("exits");
        assert_failed_cleanly(&output, 2, "cannot write to stdout: Broken pipe");
        assert!(
            serde_json::from_slice::<serde_json::Value>(&std::fs::read(&json).unwrap()).is_ok(),
            "{command}: the report file is whole"
        );
    }
}

/// A run big enough that a check made after the job would print a summary
/// (and take a while); refused outputs must stop it before anything.
fn refused(outputs: &[&str], message: &str) {
    let mut args = vec!["run", "--contacts", "5000", "--users", "100", "--quiet"];
    args.extend(outputs);
    let output = demo(&args).output().expect("runs");
    assert_failed_cleanly(&output, 2, message);
    assert!(output.stdout.is_empty(), "{outputs:?}: no job ran");
}

#[test]
fn output_paths_that_cannot_work_are_refused_before_the_job_starts() {
    let dir = scratch();
    let at = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();

    // An existing directory, a device and a FIFO are not replaced.
    std::fs::create_dir(at("a-dir")).unwrap();
    refused(&["--json", &at("a-dir")], "exists and is a directory");
    assert!(Path::new(&at("a-dir")).is_dir());
    refused(&["--json", "/dev/full"], "exists and is a device");
    assert!(std::fs::metadata("/dev/full")
        .unwrap()
        .file_type()
        .is_char_device());
    let fifo = at("a-fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    refused(&["--json", &fifo], "exists and is a FIFO");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());

    // The same file for both outputs, however it is spelled.
    std::fs::create_dir(at("sub")).unwrap();
    refused(
        &["--json", &at("same.svg"), "--chart", &at("sub/../same.svg")],
        "name the same file",
    );
    std::fs::write(at("good.svg"), "good").unwrap();
    std::fs::hard_link(at("good.svg"), at("linked.json")).unwrap();
    refused(
        &["--json", &at("linked.json"), "--chart", &at("good.svg")],
        "name the same file",
    );
    std::os::unix::fs::symlink(at("good.svg"), at("symlinked.json")).unwrap();
    refused(
        &["--json", &at("symlinked.json"), "--chart", &at("good.svg")],
        "name the same file",
    );
    assert_eq!(std::fs::read_to_string(at("good.svg")).unwrap(), "good");

    // A directory that is missing or cannot be written in (even by root).
    refused(&["--json", &at("missing/report.json")], "does not exist");
    refused(&["--chart", "/proc/chart.svg"], "is not writable");
    assert_eq!(
        names_in(dir.path()),
        [
            "a-dir",
            "a-fifo",
            "good.svg",
            "linked.json",
            "sub",
            "symlinked.json"
        ],
        "nothing created"
    );
}

#[test]
fn an_output_through_a_symbolic_link_replaces_the_file_it_names() {
    let dir = scratch();
    let real = dir.path().join("real.json");
    let link = dir.path().join("link.json");
    std::fs::write(&real, "old").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let output = demo(&[
        "run",
        "--contacts",
        "20",
        "--users",
        "2",
        "--quiet",
        "--json",
    ])
    .arg(&link)
    .output()
    .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&real).unwrap()).expect("the report");
    assert_eq!(report["users_done"], 2);
}

#[test]
fn compare_takes_its_childrens_reports_through_pipes_not_files() {
    let temp = scratch();
    let out = scratch();
    let json = out.path().join("both.json");
    let output = demo(&[
        "compare",
        "--contacts",
        "20",
        "--users",
        "2",
        "--quiet",
        "--json",
    ])
    .arg(&json)
    .env("TMPDIR", temp.path())
    .output()
    .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        names_in(temp.path()).is_empty(),
        "nothing in the temporary directory"
    );
    assert_eq!(names_in(out.path()), ["both.json"]);
    let reports: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(reports[1]["users_done"], 2);
}

/// The children of `parent` that are running (zombies do not run).
fn running_children(parent: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(1) == Some(&parent.to_string().as_str()) && fields.first() != Some(&"Z") {
            children.push(pid);
        }
    }
    children
}

fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let (_, rest) = stat.rsplit_once(')')?;
            rest.split_whitespace().next().map(|state| state != "Z")
        })
        .unwrap_or(false)
}

/// Starts a long `compare`, waits for its child, sends `signal` to
/// `compare` alone, and returns what was left: the child's pid, and the
/// temporary and output directories.
fn signal_compare(signal: i32) -> (Child, u32, tempfile::TempDir, tempfile::TempDir) {
    let temp = scratch();
    let out = scratch();
    std::fs::write(out.path().join("both.json"), "good").unwrap();
    let mut command = demo(&[
        "compare",
        "--contacts",
        "100000",
        "--users",
        "50",
        "--quiet",
        "--json",
    ]);
    command
        .arg(out.path().join("both.json"))
        .env("TMPDIR", temp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // A shell starts background jobs with SIGINT ignored, and exec keeps
    // an ignored signal ignored: give compare the default dispositions, so
    // the test means the same under `cargo test &` or nohup.
    // SAFETY: signal(2) is async-signal-safe, and the closure touches
    // nothing else between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut compare = command.spawn().expect("runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    let child = loop {
        if let Some(&child) = running_children(compare.id()).first() {
            break child;
        }
        assert!(
            Instant::now() < deadline,
            "compare started no child in 60 s"
        );
        assert!(compare.try_wait().unwrap().is_none(), "compare ended early");
        std::thread::sleep(Duration::from_millis(20));
    };
    // SAFETY: kill(2) on a pid this test spawned and has not reaped.
    assert_eq!(
        unsafe { libc::kill(compare.id() as libc::pid_t, signal) },
        0
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = compare.try_wait().expect("wait for compare") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = compare.kill();
            let _ = compare.wait();
            // SAFETY: kill(2) on compare's child, which this test found.
            unsafe { libc::kill(child as libc::pid_t, libc::SIGKILL) };
            panic!("compare still runs 30 s after signal {signal}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.signal(), Some(signal), "compare died of the signal");
    (compare, child, temp, out)
}

fn assert_child_gone(child: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while is_running(child) {
        assert!(
            Instant::now() < deadline,
            "child {child} still runs 10 s after compare died"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigint_and_sigterm_to_compare_leave_no_child_running_and_no_file() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let (_compare, child, temp, out) = signal_compare(signal);
        assert_child_gone(child);
        assert!(names_in(temp.path()).is_empty(), "signal {signal}");
        assert_eq!(names_in(out.path()), ["both.json"], "signal {signal}");
        assert_eq!(
            std::fs::read_to_string(out.path().join("both.json")).unwrap(),
            "good",
            "signal {signal}: the good file is intact"
        );
    }
}

#[test]
fn sigkill_to_compare_leaves_no_child_running() {
    let (_compare, child, _temp, out) = signal_compare(libc::SIGKILL);
    assert_child_gone(child);
    assert_eq!(
        std::fs::read_to_string(out.path().join("both.json")).unwrap(),
        "good"
    );
}
