//! `demo-processor serve` as a user runs it: the real binary on 127.0.0.1,
//! a real HTTP client. One user's suggestions with the memory they took;
//! 400 for bad input, 413 for a request that could never fit, 405 and 404
//! from the router for a wrong method or path whatever the query asks for;
//! metrics and health; SIGTERM drains the requests in flight and exits 0.

mod common;

use std::time::{Duration, Instant};

use common::{metric, Server};
use demo_processor::serve::estimate::estimate_bytes;
use demo_processor::serve::SuggestionsResponse;
use demo_processor::{run_job, JobConfig, Mode};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn answers_one_users_suggestions_and_the_memory_they_took_in_both_modes() {
    let (contacts, seed) = (300, 7);
    let expected = run_job(&JobConfig::new(contacts, 1).unwrap().with_seed(seed)).unwrap();
    let naive = Server::start(&["--budget", "64MiB", "--mode", "naive"]);
    let streaming = Server::start(&["--budget", "64MiB", "--mode", "streaming"]);
    runtime().block_on(async {
        let client = client();
        for (server, mode) in [(&naive, Mode::Naive), (&streaming, Mode::Streaming)] {
            let url = server.url(&format!("/suggestions?contacts={contacts}&seed={seed}"));
            let response = client.post(url).send().await.expect("answered");
            assert_eq!(response.status(), 200, "{mode}");
            let answer: SuggestionsResponse = response.json().await.expect("JSON");
            assert_eq!(answer.mode, mode);
            assert_eq!(
                (answer.user_id, answer.contacts, answer.seed),
                (0, contacts, seed)
            );
            assert_eq!(
                answer.suggestions, expected.suggestions[0].suggestions,
                "{mode}"
            );
            assert_eq!(answer.suggestions.len(), 50);
            let memory = answer.memory;
            assert_eq!(memory.estimate_bytes, estimate_bytes(mode, contacts));
            assert!(
                memory.peak_bytes > 0 && memory.allocations > 0,
                "{memory:?}"
            );
            assert!(
                memory.peak_bytes <= memory.estimate_bytes,
                "{mode}: the request peaked above its estimate: {memory:?}"
            );
        }
    });
}

#[test]
fn bad_input_is_400_a_request_that_never_fits_is_413_and_health_and_metrics_answer() {
    let server = Server::start(&["--budget", "16MiB", "--mode", "naive"]);
    runtime().block_on(async {
        let client = client();
        for query in [
            "contacts=0&seed=1",
            "contacts=10&seed=x",
            "seed=1",
            "contacts=2000000&seed=1",
        ] {
            let response = client
                .post(server.url(&format!("/suggestions?{query}")))
                .send()
                .await
                .expect("answered");
            assert_eq!(response.status(), 400, "{query}");
            let body: serde_json::Value = response.json().await.expect("JSON error");
            assert!(
                body["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{query}"
            );
        }
        // 100,000 naive contacts need ~400 MB: more than the 16 MiB budget holds, ever.
        let too_large = client
            .post(server.url("/suggestions?contacts=100000&seed=1"))
            .send()
            .await
            .expect("answered");
        assert_eq!(too_large.status(), 413);
        assert!(too_large.headers().get("retry-after").is_none());

        let health = client
            .get(server.url("/healthz"))
            .send()
            .await
            .expect("answered");
        assert_eq!(health.status(), 200);
        let metrics = client
            .get(server.url("/metrics"))
            .send()
            .await
            .expect("answered");
        assert_eq!(metrics.status(), 200);
        assert!(metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        let text = metrics.text().await.expect("text");
        assert_eq!(
            metric(&text, "heapguard_budget_bytes"),
            Some(16.0 * 1024.0 * 1024.0)
        );
        assert_eq!(
            metric(&text, "heapguard_requests_too_large_total"),
            Some(1.0)
        );
        assert_eq!(metric(&text, "heapguard_requests_shed_total"), Some(0.0));
        assert_eq!(metric(&text, "heapguard_breaker_trips_total"), Some(0.0));
        assert_eq!(metric(&text, "heapguard_pressure_level"), Some(0.0));
        assert_eq!(metric(&text, "heapguard_reserved_bytes"), Some(0.0));
        let live = metric(&text, "heapguard_live_bytes").expect("live bytes");
        let peak = metric(&text, "heapguard_peak_bytes").expect("peak bytes");
        assert!(live > 0.0 && live <= peak, "live {live}, peak {peak}");
    });
}

#[test]
fn a_wrong_method_or_path_gets_the_routers_405_or_404_never_a_memory_refusal() {
    // 100,000 naive contacts could never fit 16 MiB: POSTed, that is a 413
    // (above). Any other method, or another path, never runs that job, so
    // the memory layer must leave the answer to the router.
    let server = Server::start(&["--budget", "16MiB", "--mode", "naive"]);
    let huge = "/suggestions?contacts=100000&seed=1";
    runtime().block_on(async {
        let client = client();
        for method in ["GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
            for path in [huge, "/suggestions"] {
                let response = client
                    .request(method.clone(), server.url(path))
                    .send()
                    .await
                    .expect("answered");
                assert_eq!(response.status(), 405, "{method} {path}");
                assert_eq!(response.headers()["allow"], "POST", "{method} {path}");
            }
        }
        for path in [
            "/nowhere?contacts=100000&seed=1",
            "/suggestions/x?contacts=100000&seed=1",
        ] {
            let response = client
                .post(server.url(path))
                .send()
                .await
                .expect("answered");
            assert_eq!(response.status(), 404, "POST {path}");
        }
        let text = client
            .get(server.url("/metrics"))
            .send()
            .await
            .expect("answered")
            .text()
            .await
            .expect("text");
        // Neither refused nor admitted: none of them reached the breaker.
        assert_eq!(
            metric(&text, "heapguard_requests_too_large_total"),
            Some(0.0)
        );
        assert_eq!(
            metric(&text, "heapguard_requests_admitted_total"),
            Some(0.0)
        );
        assert_eq!(metric(&text, "heapguard_requests_shed_total"), Some(0.0));
    });
}

#[test]
fn sigterm_drains_the_requests_in_flight_and_exits_0() {
    let mut server = Server::start(&["--budget", "256MiB", "--mode", "naive"]);
    let runtime = runtime();
    let client = client();
    let request = client
        .post(server.url("/suggestions?contacts=3000&seed=5"))
        .build()
        .expect("request");
    let in_flight = runtime.spawn({
        let client = client.clone();
        async move { client.execute(request).await }
    });
    // Wait (bounded) until the job holds its reservation, then ask the server to stop.
    let started = Instant::now();
    loop {
        let text = runtime.block_on(async {
            client
                .get(server.url("/metrics"))
                .send()
                .await?
                .text()
                .await
        });
        let reserved = metric(&text.expect("metrics"), "heapguard_reserved_bytes");
        if reserved.is_some_and(|bytes| bytes > 0.0) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the request never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server.terminate();
    let response = runtime
        .block_on(in_flight)
        .expect("task")
        .expect("the request in flight is answered");
    assert_eq!(response.status(), 200);
    let answer: SuggestionsResponse = runtime.block_on(response.json()).expect("JSON");
    assert_eq!(answer.suggestions.len(), 50);
    let status = server.wait(Duration::from_secs(30));
    assert!(status.success(), "exit status {status:?}");
}
