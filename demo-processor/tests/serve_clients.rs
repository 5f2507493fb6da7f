//! `serve` against careless and hostile clients, over real sockets on
//! 127.0.0.1: slowloris heads, idle keep-alive connections, thousands of
//! idle connections, and each half-sent request state at SIGTERM. In each,
//! `/healthz` keeps answering and the server exits 0 within its drain
//! deadline. Every loop is bounded in count and time.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::Server;

/// `GET /healthz` on a connection of its own; the status code, or why not.
fn health(addr: SocketAddr) -> Result<u16, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&head);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|code| code.trim().parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {text:?}"))
}

fn assert_healthy(addr: SocketAddr, when: &str) {
    assert_eq!(health(addr), Ok(200), "/healthz {when}");
}

/// Whether the server has closed `stream` (EOF or reset), waiting at most
/// `wait` for it.
fn closed_by_server(mut stream: &TcpStream, wait: Duration) -> bool {
    stream
        .set_read_timeout(Some(wait))
        .expect("set a read timeout");
    let mut byte = [0u8; 64];
    loop {
        match stream.read(&mut byte) {
            Ok(0) => return true,
            // A response (a 408 or the like) before the close: read on.
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Raises this process's open-file limit to `wanted` (or the hard limit),
/// so it and the server it starts can hold thousands of sockets.
fn raise_open_files(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a valid pointer.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    limit.rlim_cur = wanted.min(limit.rlim_max);
    // SAFETY: setrlimit reads one rlimit through a valid pointer.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    limit.rlim_cur
}

#[test]
fn slowloris_connections_are_closed_at_the_header_timeout_and_health_answers() {
    raise_open_files(4096);
    let server = Server::start(&["--budget", "256MiB", "--header-timeout", "1"]);
    let started = Instant::now();
    let mut attackers: Vec<TcpStream> = (0..500)
        .map(|_| {
            let mut stream = TcpStream::connect(server.addr).expect("connect");
            stream
                .write_all(b"POST /suggestions?contacts=10 HTTP/1.1\r\nHost: t\r\n")
                .expect("half a head");
            stream
        })
        .collect();
    // Trickle one header line a connection every 200 ms, as slowloris does,
    // for at most 3 s, checking health between rounds.
    let mut still_open = attackers.len();
    for round in 0..15 {
        assert_healthy(server.addr, &format!("in round {round} of the attack"));
        still_open = 0;
        for stream in &mut attackers {
            if stream.write_all(b"X-Slow: 1\r\n").is_ok() {
                still_open += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // Every attacker is closed within the 1 s head timeout and some slack.
    for (i, stream) in attackers.iter().enumerate() {
        let waited = started.elapsed();
        let left = Duration::from_secs(6).saturating_sub(waited);
        assert!(
            closed_by_server(stream, left.max(Duration::from_millis(10))),
            "slowloris connection {i} still open after {waited:?} (writes last went through on {still_open})"
        );
    }
    assert_healthy(server.addr, "after the attack");
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let server = Server::start(&["--budget", "256MiB", "--header-timeout", "1"]);
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("a keep-alive request");
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).expect("a response");
    assert_eq!(&head, b"HTTP/1.1 200");
    let idle = Instant::now();
    assert!(
        closed_by_server(&stream, Duration::from_secs(5)),
        "an idle keep-alive connection is closed"
    );
    let after = idle.elapsed();
    assert!(
        after >= Duration::from_millis(900),
        "not before the timeout: {after:?}"
    );
    assert!(
        after < Duration::from_secs(4),
        "soon after the timeout: {after:?}"
    );
}

#[test]
fn thousands_of_idle_connections_never_starve_health() {
    let files = raise_open_files(16_384);
    assert!(
        files >= 4096,
        "need 4,096 open files, the hard limit is {files}"
    );
    // A head timeout longer than the test, so only the connection limit
    // can make room.
    let server = Server::start(&[
        "--budget",
        "256MiB",
        "--max-connections",
        "500",
        "--header-timeout",
        "120",
    ]);
    let started = Instant::now();
    let mut idle = Vec::new();
    for i in 0..3000 {
        idle.push(TcpStream::connect(server.addr).expect("connect"));
        if i % 250 == 249 {
            assert_healthy(
                server.addr,
                &format!("with {} idle connections opened", i + 1),
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "3,000 connections take at most a minute"
        );
    }
    assert_healthy(server.addr, "after 3,000 idle connections");
    // The oldest were closed to make room: of the first 2,000, at least
    // 1,900 (the limit leaves room for 500, some taken by health checks).
    let closed = idle[..2000]
        .iter()
        .filter(|stream| closed_by_server(stream, Duration::from_millis(20)))
        .count();
    assert!(closed >= 1900, "{closed} of the oldest 2,000 closed");
}

/// Reads `stream` to its end (the server's close), waiting at most `wait`
/// between reads.
fn read_response(mut stream: &TcpStream, wait: Duration) -> String {
    stream
        .set_read_timeout(Some(wait))
        .expect("set a read timeout");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("the whole response");
    response
}

/// `GET path` on a connection of its own, `Connection: close`; the whole
/// response, or why none came.
fn get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    Ok(response)
}

/// A server of two connections whose naive jobs at 100,000 contacts run
/// for many seconds in a test build, with `extra` arguments.
fn two_connection_server(extra: &[&str]) -> Server {
    let mut args = vec![
        "--budget",
        "2GiB",
        "--mode",
        "naive",
        "--max-connections",
        "2",
    ];
    args.extend_from_slice(extra);
    Server::start(&args)
}

#[test]
fn a_connection_over_the_limit_with_every_connection_busy_is_answered_503() {
    let admin = SocketAddr::from(([127, 0, 0, 1], common::free_port()));
    let server = two_connection_server(&["--admin-listen", &admin.to_string()]);
    // Two naive jobs at 100,000 contacts (many seconds in a test build)
    // take both connections.
    let busy: Vec<TcpStream> = (1..=2)
        .map(|seed| {
            let mut stream = TcpStream::connect(server.addr).expect("connect");
            let request = format!(
                "POST /suggestions?contacts=100000&seed={seed} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).expect("a request");
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    // Before, this connection was reset (or closed unanswered).
    for attempt in 1..=3 {
        let response = get(server.addr, "/healthz").expect("an answer, not a reset");
        assert!(
            response.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "attempt {attempt}: {response:.300}"
        );
        let head = response.to_ascii_lowercase();
        assert!(head.contains("\r\nretry-after: 1\r\n"), "{response}");
        assert!(head.contains("\r\nconnection: close\r\n"), "{response}");
        assert!(
            response
                .ends_with("{\"error\":\"connection limit reached: every connection is busy\"}\n"),
            "{response}"
        );
    }
    let metrics = get(admin, "/metrics").expect("the admin listener answers");
    assert_eq!(
        common::metric(&metrics, "heapguard_serve_connections_refused_total"),
        Some(3.0),
        "{metrics}"
    );
    drop(busy);
}

#[test]
fn a_request_on_its_way_is_not_cut_off_to_make_room_but_a_slow_head_is() {
    let server = two_connection_server(&[]);
    // A naive job at 100,000 contacts (many seconds) holds one connection.
    let mut busy = TcpStream::connect(server.addr).expect("connect");
    busy.write_all(
        b"POST /suggestions?contacts=100000&seed=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .expect("a request");
    // The other is a request on its way: its head has begun, not ended.
    let mut arriving = TcpStream::connect(server.addr).expect("connect");
    arriving
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        .expect("half a head");
    std::thread::sleep(Duration::from_millis(50));
    // Before, the limit closed the arriving request's connection (its
    // client saw an empty reply) to admit this one.
    let refused = get(server.addr, "/healthz").expect("an answer");
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused:.200}");
    arriving
        .write_all(b"Connection: close\r\n\r\n")
        .expect("the rest of the head");
    let answer = read_response(&arriving, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.200}");
    // A head still on its way after HEAD_GRACE (1 s) is a slow client's:
    // it makes room.
    let mut slow = TcpStream::connect(server.addr).expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\n")
        .expect("half a head");
    std::thread::sleep(Duration::from_millis(1100));
    // Retried until a deadline, in case the server read the head late.
    let deadline = Instant::now() + Duration::from_secs(5);
    while health(server.addr) != Ok(200) {
        assert!(
            Instant::now() < deadline,
            "the slow head made room within 5 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        closed_by_server(&slow, Duration::from_secs(2)),
        "the slow head was closed"
    );
    drop(busy);
}

#[test]
fn a_flood_of_connections_that_each_send_a_byte_cannot_hold_every_slot() {
    let server = Server::start(&["--budget", "256MiB", "--max-connections", "4"]);
    // 60 connections, 20 a second, each sending one byte of a head and
    // kept open: every slot holds a head on its way, younger than its grace.
    let mut flood = Vec::new();
    for i in 0..60 {
        let mut stream = TcpStream::connect(server.addr).expect("connect");
        stream.write_all(b"G").expect("a byte");
        flood.push(stream);
        std::thread::sleep(Duration::from_millis(50));
        assert_healthy(
            server.addr,
            &format!("after {} one-byte connections", i + 1),
        );
    }
}

/// One connection in each state a client can leave a request in.
fn half_sent_requests(addr: SocketAddr) -> Vec<(&'static str, TcpStream)> {
    let states: [(&str, &[u8]); 5] = [
        ("connected and silent", b""),
        ("half a request line", b"POST /sugges"),
        (
            "headers without the blank line",
            b"POST /suggestions?contacts=10 HTTP/1.1\r\nHost: t\r\n",
        ),
        (
            "a promised body not sent",
            b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nab",
        ),
        (
            "keep-alive after a response",
            b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
        ),
    ];
    states
        .into_iter()
        .map(|(name, sent)| {
            let mut stream = TcpStream::connect(addr).expect("connect");
            stream.write_all(sent).expect("send");
            (name, stream)
        })
        .collect()
}

#[test]
fn half_sent_requests_at_sigterm_do_not_outlive_the_drain_deadline() {
    // A head timeout far beyond the drain deadline: the deadline must end
    // the drain, not the timeout.
    let mut server = Server::start(&[
        "--budget",
        "256MiB",
        "--header-timeout",
        "60",
        "--body-timeout",
        "60",
        "--drain-timeout",
        "2",
    ]);
    let held = half_sent_requests(server.addr);
    std::thread::sleep(Duration::from_millis(300));
    assert_healthy(server.addr, "with every half-sent state held");
    let sent = Instant::now();
    server.terminate();
    let status = server.wait(Duration::from_secs(8));
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(0), "exit 0 after the drain");
    // 2 s of drain, at most 2 s for cancelled jobs, and start-up slack.
    assert!(
        took < Duration::from_secs(5),
        "exited {took:?} after SIGTERM"
    );
    drop(held);
}

#[test]
fn a_request_in_flight_at_sigterm_completes_within_the_drain() {
    let mut server = Server::start(&["--budget", "256MiB", "--drain-timeout", "20"]);
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .write_all(b"POST /suggestions?contacts=3000&seed=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("a request");
    // Idle connections close at once on SIGTERM; this one's job finishes.
    let idle = TcpStream::connect(server.addr).expect("connect");
    std::thread::sleep(Duration::from_millis(100));
    server.terminate();
    let response = read_response(&stream, Duration::from_secs(20));
    assert!(response.starts_with("HTTP/1.1 200"), "{response:.200}");
    assert_eq!(server.wait(Duration::from_secs(20)).code(), Some(0));
    drop(idle);
}

#[test]
fn a_job_still_running_at_the_drain_deadline_is_cancelled_and_the_server_exits_0() {
    // A naive job at 100,000 contacts runs for many seconds in a test
    // build; the drain gives it one.
    let mut server = Server::start(&[
        "--budget",
        "2GiB",
        "--mode",
        "naive",
        "--drain-timeout",
        "1",
    ]);
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .write_all(
            b"POST /suggestions?contacts=100000&seed=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        )
        .expect("a request");
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    server.terminate();
    assert_eq!(server.wait(Duration::from_secs(10)).code(), Some(0));
    let took = sent.elapsed();
    // 1 s of drain and at most 2 s for the cancelled job to stop.
    assert!(
        took < Duration::from_secs(4),
        "exited {took:?} after SIGTERM"
    );
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(
        !response.starts_with("HTTP/1.1 200"),
        "the job did not finish: {response:.200}"
    );
}

/// Sends `POST path` with a body of `body_bytes` whole, then reads the
/// response head, as a client that reads only once it has sent its request
/// does (scripts, simple clients). The error that ended the upload, if one
/// did, and the status code read, or why none was.
fn upload(
    addr: SocketAddr,
    path: &str,
    body_bytes: usize,
) -> (Option<String>, Result<u16, String>) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .expect("set a write timeout");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\nContent-Length: {body_bytes}\r\n\r\n"
    );
    let chunk = vec![b'x'; 64 << 10];
    let mut sent = stream.write_all(head.as_bytes());
    let mut left = body_bytes;
    while sent.is_ok() && left > 0 {
        let n = left.min(chunk.len());
        sent = stream.write_all(&chunk[..n]);
        left -= n;
    }
    let upload_error = sent
        .err()
        .map(|e| format!("{e} with {left} of {body_bytes} bytes left"));
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    let status = loop {
        match stream.read(&mut buf) {
            Ok(0) => break Err(format!("EOF after {} bytes", response.len())),
            Ok(n) => {
                response.extend_from_slice(&buf[..n]);
                if response.windows(4).any(|w| w == b"\r\n\r\n") {
                    let text = String::from_utf8_lossy(&response);
                    break text
                        .strip_prefix("HTTP/1.1 ")
                        .and_then(|rest| rest.get(..3))
                        .and_then(|code| code.parse().ok())
                        .ok_or_else(|| format!("not an HTTP response: {text:?}"));
                }
            }
            Err(e) => break Err(format!("{e} after {} bytes", response.len())),
        }
    };
    (upload_error, status)
}

#[test]
fn a_refused_upload_is_read_to_its_end_and_its_413_arrives() {
    // 100,000 naive contacts never fit a 16 MiB budget: the layer answers
    // 413 before reading the body. A server that then closes with the body
    // unread makes the kernel reset the connection: the client's upload
    // fails with a broken pipe or a reset, and a client that reads only
    // after sending never sees the 413 (RFC 9112, 9.6). The server closes
    // its side and reads on to the end of the body instead.
    let server = Server::start(&["--budget", "16MiB", "--mode", "naive"]);
    for attempt in 0..3 {
        let (upload_error, status) =
            upload(server.addr, "/suggestions?contacts=100000&seed=1", 32 << 20);
        assert_eq!((upload_error, status), (None, Ok(413)), "attempt {attempt}");
    }
    assert_healthy(server.addr, "after the refused uploads");
}
