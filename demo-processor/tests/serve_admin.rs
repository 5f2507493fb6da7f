//! `serve --admin-listen`: `/metrics`, `/healthz` and `/debug/pprof/heap`
//! on a second listener, read by a real HTTP client and by `go tool pprof`
//! (Debian's `golang-go`), which names the demo's functions from the
//! binary. Without the option there is no profile route. Both listeners
//! take a host name (`localhost:0`) as well as an IP address.

mod common;

use std::time::Duration;

use common::Server;

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

#[test]
fn without_admin_listen_there_is_no_profile_route() {
    let server = Server::start(&["--budget", "256MiB"]);
    let status = client()
        .get(server.url("/debug/pprof/heap"))
        .send()
        .expect("a response")
        .status();
    assert_eq!(status.as_u16(), 404);
}

#[test]
fn both_listeners_take_a_host_name() {
    // Before, both options took a literal socket address only: `localhost`
    // was refused as "invalid socket address syntax".
    let mut server = Server::start_listening(
        "localhost:0",
        &["--budget", "256MiB", "--admin-listen", "localhost:0"],
    );
    let admin = server.admin_addr();
    for addr in [server.addr, admin] {
        assert!(addr.ip().is_loopback(), "{addr}");
        assert_ne!(addr.port(), 0, "{addr}");
    }
    assert_ne!(server.addr, admin);
    let client = client();
    for url in [
        server.url("/healthz"),
        format!("http://{admin}/healthz"),
        format!("http://{admin}/metrics"),
    ] {
        let status = client.get(&url).send().expect("a response").status();
        assert_eq!(status.as_u16(), 200, "{url}");
    }
}

#[test]
fn the_admin_listener_serves_metrics_health_and_a_heap_profile_pprof_can_read() {
    use std::io::Read;
    let admin_port = common::free_port();
    let admin = format!("127.0.0.1:{admin_port}");
    let server = Server::start(&[
        "--budget",
        "2GiB",
        "--mode",
        "naive",
        "--admin-listen",
        &admin,
    ]);
    let client = client();
    // A naive job at 50,000 contacts holds hundreds of MiB for seconds
    // (more in a test build): the profiles below are taken while it runs.
    let job = {
        let url = server.url("/suggestions?contacts=50000&seed=3");
        std::thread::spawn(move || {
            reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("an HTTP client")
                .post(url)
                .send()
                .map(|response| response.status().as_u16())
        })
    };
    std::thread::sleep(Duration::from_millis(1500));

    let get = |path: &str| {
        client
            .get(format!("http://{admin}{path}"))
            .send()
            .expect("a response from the admin listener")
    };
    assert_eq!(get("/healthz").status().as_u16(), 200);
    let metrics = get("/metrics").text().expect("text");
    assert!(
        common::metric(&metrics, "heapguard_live_bytes").is_some(),
        "{metrics}"
    );
    // The service's own route is not served there.
    assert_eq!(get("/suggestions").status().as_u16(), 404);

    let profile = get("/debug/pprof/heap");
    assert_eq!(profile.status().as_u16(), 200);
    let mut bytes = Vec::new();
    profile
        .take(64 << 20)
        .read_to_end(&mut bytes)
        .expect("the profile");
    assert_eq!(bytes[..2], [0x1f, 0x8b], "gzip");

    let Some(go) = common::tool("go") else {
        return;
    };
    let output = std::process::Command::new(go)
        .args(["tool", "pprof", "-top", "-nodecount=500"])
        .arg(env!("CARGO_BIN_EXE_demo-processor"))
        .arg(format!("http://{admin}/debug/pprof/heap"))
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("run go tool pprof");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("inuse_space"), "{stdout}{stderr}");
    // pprof names frames from the binary's line tables (short names, as
    // binutils gives them): the in-flight job's, not only addresses.
    let named = ["suggest_one", "load_contacts", "generate_contact"];
    assert!(
        stdout
            .lines()
            .any(|line| named.iter().any(|name| line.trim_end().ends_with(name))),
        "no function of the demo's job named:\n{stdout}{stderr}"
    );
    assert_eq!(job.join().expect("the job's thread").ok(), Some(200));
}
