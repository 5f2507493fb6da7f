//! Shared by the service tests: the real binary started on a free port,
//! metric parsing, and external tools that CI must have.
#![allow(dead_code)] // each test binary uses its own part

pub mod disk;
pub mod prometheus;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `demo-processor serve` running as a child process on 127.0.0.1, on a
/// port the kernel chose. Killed when dropped, unless stopped first.
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    /// The `admin listening on http://ADDR` line's address, once read.
    admin: Option<SocketAddr>,
    lines: mpsc::Receiver<(bool, SocketAddr)>,
}

impl Server {
    /// Starts `demo-processor serve --listen 127.0.0.1:0 <args>` and waits
    /// (at most 30 s) for its `listening on http://ADDR` line.
    pub fn start(args: &[&str]) -> Server {
        Server::start_listening("127.0.0.1:0", args)
    }

    /// Starts `demo-processor serve --listen <listen> <args>` and waits (at
    /// most 30 s) for its `listening on http://ADDR` line.
    pub fn start_listening(listen: &str, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_demo-processor"))
            .args(["serve", "--listen", listen])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start demo-processor serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let (admin, rest) = match line.strip_prefix("admin ") {
                    Some(rest) => (true, rest),
                    None => (false, line.as_str()),
                };
                if let Some(addr) = rest.strip_prefix("listening on http://") {
                    let addr = addr.parse::<SocketAddr>().expect("an address");
                    let _ = sender.send((admin, addr));
                }
            }
        });
        // The service's line comes first, the admin listener's after it.
        let addr = match receiver.recv_timeout(Duration::from_secs(30)) {
            Ok((false, addr)) => addr,
            _ => {
                let _ = child.kill();
                panic!("demo-processor serve did not say where it listens within 30 s");
            }
        };
        Server {
            child: Some(child),
            addr,
            admin: None,
            lines: receiver,
        }
    }

    /// Where the admin listener (`--admin-listen`) listens: its `admin
    /// listening on http://ADDR` line, waited for at most 30 s.
    pub fn admin_addr(&mut self) -> SocketAddr {
        if self.admin.is_none() {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok((true, addr)) => self.admin = Some(addr),
                other => panic!("no admin listening line within 30 s: {other:?}"),
            }
        }
        self.admin.expect("read above")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The process's id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = libc::pid_t::try_from(self.pid()).expect("a pid");
        // SAFETY: kill(2) with a pid of our own child and a valid signal.
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(sent, 0, "SIGTERM not sent");
    }

    /// Waits (at most `limit`) for the process to exit.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let child = self.child.as_mut().expect("running");
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("wait for the server") {
                self.child = None;
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "the server did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The value of an unlabelled sample `name` in Prometheus text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (metric, value) = line.split_once(' ')?;
        (metric == name).then(|| value.trim().parse().ok())?
    })
}

/// An external program the test needs (Debian's `prometheus` package ships
/// both `prometheus` and `promtool`; `golang-go` ships `go tool pprof`). Outside CI a missing one skips the
/// test with a message; under `CI=true` it fails it.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        let package = if name == "go" {
            "golang-go"
        } else {
            "prometheus"
        };
        let message = format!(
            "`{name}` is not installed (Debian: apt-get install {package}); .ci/run installs it"
        );
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            panic!("{message}, and CI=true requires it");
        }
        eprintln!("SKIPPED: {message}");
    }
    found
}

/// A TCP port free on 127.0.0.1 now (bound and released).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}
