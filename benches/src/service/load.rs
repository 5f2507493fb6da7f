//! The load generator: starts a server as a child process, sends it a
//! fixed number of requests over keep-alive connections with hyper's
//! HTTP/1.1 client, and reads the server's CPU time around them.

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// How one configuration is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Load {
    /// Requests sent and timed (the figures' denominator).
    pub requests: u64,
    /// Requests sent first and not measured.
    pub warmup: u64,
    /// Keep-alive connections sending at once (each sends its next request
    /// when its previous answer has arrived).
    pub connections: usize,
    /// Records per `/work` answer.
    pub items: u32,
    /// Longest wait for any one thing: the server's port line, one answer,
    /// the server's exit after `/shutdown`.
    pub timeout: Duration,
}

/// What one measured run of one server gave.
#[derive(Clone, Debug, PartialEq)]
pub struct RunFigures {
    /// Requests measured.
    pub requests: u64,
    /// The server's user CPU time across the measured requests, ns.
    pub user_ns: u64,
    /// The server's system CPU time across them, ns.
    pub sys_ns: u64,
    /// Wall time from the first measured request sent to the last answer.
    pub wall: Duration,
    /// Each measured request's latency (request sent to body read), sorted.
    pub latencies: Vec<Duration>,
    /// Body bytes of one answer (the same for every request).
    pub body_bytes: u64,
    /// Allocator calls the server counted across the measured requests (0
    /// without the counting allocator).
    pub allocator_calls: u64,
}

impl RunFigures {
    /// The server's CPU time (user + system) per request, ns.
    pub fn cpu_ns_per_request(&self) -> f64 {
        (self.user_ns + self.sys_ns) as f64 / self.requests.max(1) as f64
    }

    /// Requests answered per second of wall time.
    pub fn requests_per_s(&self) -> f64 {
        self.requests as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// The latency at quantile `q` (0 to 1, nearest rank), µs.
    pub fn latency_us(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let rank = (q.clamp(0.0, 1.0) * self.latencies.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.latencies.len()) - 1;
        self.latencies[index].as_secs_f64() * 1e6
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The server could not be started, or its stdout read.
    #[error("starting {command}: {source}")]
    Start {
        /// The command line.
        command: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The server exited or closed stdout before printing `port <N>`.
    #[error("{0} printed no `port <N>` line")]
    NoPort(String),
    /// A connection, a request or an answer failed.
    #[error("{what}: {detail}")]
    Http {
        /// Which request.
        what: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// An answer other than 200.
    #[error("{what}: status {status}")]
    Status {
        /// Which request.
        what: &'static str,
        /// The status answered.
        status: StatusCode,
    },
    /// Something took longer than the run's timeout.
    #[error("{0}: timed out")]
    Timeout(&'static str),
    /// `/cpu` answered something other than three numbers.
    #[error("/cpu answered {0:?}")]
    BadCpu(String),
    /// The server did not exit 0 after `/shutdown`.
    #[error("the server exited with {0}")]
    Exit(std::process::ExitStatus),
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Starts `command` (program and arguments) and reads its port line.
    /// The child is killed if this handle is dropped before [`Server::stop`].
    pub async fn start(command: &[String], timeout: Duration) -> Result<Server, LoadError> {
        let shown = command.join(" ");
        let (program, args) = command.split_first().ok_or_else(|| LoadError::Start {
            command: shown.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"),
        })?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| LoadError::Start {
                command: shown.clone(),
                source,
            })?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| LoadError::NoPort(shown.clone()))?;
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(timeout, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(port) = line
                    .strip_prefix("port ")
                    .and_then(|p| p.trim().parse().ok())
                {
                    return Ok(Some(port));
                }
            }
            Ok::<_, std::io::Error>(None)
        })
        .await
        .map_err(|_| LoadError::Timeout("the server's port line"))?
        .map_err(|source| LoadError::Start {
            command: shown.clone(),
            source,
        })?
        .ok_or(LoadError::NoPort(shown))?;
        // The rest of stdout is not read: keep it drained so the server
        // never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server { child, port })
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `POST /shutdown`, then waits for the exit (0 expected).
    pub async fn stop(mut self, timeout: Duration) -> Result<(), LoadError> {
        let mut connection = Connection::open(self.port, "/shutdown").await?;
        connection
            .send(Method::POST, "/shutdown", "/shutdown", timeout)
            .await?;
        drop(connection);
        let status = tokio::time::timeout(timeout, self.child.wait())
            .await
            .map_err(|_| LoadError::Timeout("the server's exit after /shutdown"))?
            .map_err(|error| LoadError::Http {
                what: "/shutdown",
                detail: error.to_string(),
            })?;
        if status.success() {
            Ok(())
        } else {
            Err(LoadError::Exit(status))
        }
    }

    /// The server's CPU time so far and the allocator calls it counted,
    /// (user ns, system ns, calls).
    pub async fn cpu(&self, timeout: Duration) -> Result<(u64, u64, u64), LoadError> {
        let mut connection = Connection::open(self.port, "/cpu").await?;
        let body = connection
            .send(Method::GET, "/cpu", "/cpu", timeout)
            .await?;
        let text = String::from_utf8_lossy(&body).into_owned();
        let mut numbers = text.split_whitespace().map(str::parse::<u64>);
        match (
            numbers.next(),
            numbers.next(),
            numbers.next(),
            numbers.next(),
        ) {
            (Some(Ok(user)), Some(Ok(sys)), Some(Ok(calls)), None) => Ok((user, sys, calls)),
            _ => Err(LoadError::BadCpu(text)),
        }
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
}

impl Connection {
    async fn open(port: u16, what: &'static str) -> Result<Connection, LoadError> {
        let http = |error: &dyn std::fmt::Display| LoadError::Http {
            what,
            detail: error.to_string(),
        };
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| http(&e))?;
        stream.set_nodelay(true).map_err(|e| http(&e))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| http(&e))?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the server closes.
            let _ = connection.await;
        });
        Ok(Connection { sender })
    }

    /// Sends one request and reads the whole answer; anything but 200 is an
    /// error.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        what: &'static str,
        timeout: Duration,
    ) -> Result<Bytes, LoadError> {
        let http = |error: &dyn std::fmt::Display| LoadError::Http {
            what,
            detail: error.to_string(),
        };
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, "127.0.0.1")
            .body(Empty::<Bytes>::new())
            .map_err(|e| http(&e))?;
        let exchange = async {
            self.sender.ready().await.map_err(|e| http(&e))?;
            let response = self
                .sender
                .send_request(request)
                .await
                .map_err(|e| http(&e))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| http(&e))?
                .to_bytes();
            if status != StatusCode::OK {
                return Err(LoadError::Status { what, status });
            }
            Ok(body)
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| LoadError::Timeout(what))?
    }
}

/// Sends `total` `/work` requests over `load.connections` connections (or
/// fewer when `total` is smaller), request `i` with seed `i`; returns each
/// one's latency (unsorted) and the body bytes of the last answer.
pub async fn send_work(
    port: u16,
    total: u64,
    load: &Load,
) -> Result<(Vec<Duration>, u64), LoadError> {
    let next = Arc::new(AtomicU64::new(0));
    let connections = (load.connections.max(1) as u64).min(total.max(1));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let next = Arc::clone(&next);
        let (items, timeout) = (load.items, load.timeout);
        tasks.push(tokio::spawn(async move {
            let mut connection = Connection::open(port, "/work").await?;
            let mut latencies = Vec::new();
            let mut body_bytes = 0;
            loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= total {
                    return Ok::<_, LoadError>((latencies, body_bytes));
                }
                let path = format!("/work?items={items}&seed={seed}");
                let sent = Instant::now();
                let body = connection
                    .send(Method::GET, &path, "/work", timeout)
                    .await?;
                latencies.push(sent.elapsed());
                body_bytes = body.len() as u64;
            }
        }));
    }
    let mut all = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut body_bytes = 0;
    for task in tasks {
        let (latencies, bytes) = task.await.map_err(|error| LoadError::Http {
            what: "/work",
            detail: error.to_string(),
        })??;
        all.extend(latencies);
        body_bytes = body_bytes.max(bytes);
    }
    Ok((all, body_bytes))
}

/// One measured run: starts `command`, sends `load.warmup` requests, reads
/// the server's CPU time, sends `load.requests` timed requests, reads the
/// CPU time again, stops the server.
pub async fn measure(command: &[String], load: &Load) -> Result<RunFigures, LoadError> {
    let server = Server::start(command, load.timeout).await?;
    if load.warmup > 0 {
        send_work(server.port(), load.warmup, load).await?;
    }
    let (user0, sys0, calls0) = server.cpu(load.timeout).await?;
    let started = Instant::now();
    let (mut latencies, body_bytes) = send_work(server.port(), load.requests, load).await?;
    let wall = started.elapsed();
    let (user1, sys1, calls1) = server.cpu(load.timeout).await?;
    server.stop(load.timeout).await?;
    latencies.sort_unstable();
    Ok(RunFigures {
        requests: load.requests,
        user_ns: user1.saturating_sub(user0),
        sys_ns: sys1.saturating_sub(sys0),
        wall,
        latencies,
        body_bytes,
        allocator_calls: calls1.saturating_sub(calls0),
    })
}
