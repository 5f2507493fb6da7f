//! A flood on 127.0.0.1, bounded in requests and time: more naive jobs at
//! once than a 16 MiB budget holds. The service sheds some (503 with
//! Retry-After) and runs others, never passes its budget, fails no request
//! any other way, keeps /healthz and /metrics answering, and serves every
//! kind of request again once the load stops.

mod common;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{metric, Server};
use demo_processor::serve::SuggestionsResponse;

const BUDGET: u64 = 16 << 20;
/// Clients sending at once, and requests each sends back to back.
const CLIENTS: usize = 24;
const REQUESTS_PER_CLIENT: usize = 2;
/// The kinds of request: naive jobs whose memory grows with the contacts
/// (an estimate of 1 MiB + 4 KiB per contact: 1.8 to 3.1 MiB each).
const KINDS: [(u32, u64); 6] = [(200, 1), (300, 2), (400, 3), (500, 4), (350, 5), (450, 6)];
/// Every wait in the test ends by then.
const LIMIT: Duration = Duration::from_secs(50);

#[derive(Debug, Default)]
struct Tally {
    ok: usize,
    /// 503 from the layer (empty body): refused, or shed while waiting.
    shed: usize,
    /// 503 from the handler (a JSON error): a running job the breaker
    /// cancelled past its cancel line, which the layer does not count as
    /// shed (a slow, loaded machine gets there).
    cancelled: usize,
}

async fn scrape(client: &reqwest::Client, server: &Server) -> String {
    let response = client
        .get(server.url("/metrics"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("/metrics answers under load");
    assert_eq!(response.status(), 200);
    response.text().await.expect("metrics text")
}

#[test]
fn a_flood_is_shed_within_the_budget_and_every_request_is_served_again_after() {
    let started = Instant::now();
    let server = Server::start(&["--budget", "16MiB", "--mode", "naive"]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(40))
            .build()
            .expect("http client");

        // The flood, while a watcher checks that health and metrics answer.
        let flooding = Arc::new(AtomicBool::new(true));
        let watcher = {
            let (client, flooding) = (client.clone(), flooding.clone());
            let (health, metrics) = (server.url("/healthz"), server.url("/metrics"));
            tokio::spawn(async move {
                let mut checks = 0;
                let mut reserved_seen = 0.0f64;
                while flooding.load(SeqCst) {
                    let health = client
                        .get(&health)
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    assert_eq!(health.expect("/healthz answers under load").status(), 200);
                    let text = client
                        .get(&metrics)
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    let text = text
                        .expect("/metrics answers under load")
                        .text()
                        .await
                        .unwrap();
                    let reserved = metric(&text, "heapguard_reserved_bytes").expect("reserved");
                    reserved_seen = reserved_seen.max(reserved);
                    checks += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                (checks, reserved_seen)
            })
        };
        let clients: Vec<_> = (0..CLIENTS)
            .map(|index| {
                let client = client.clone();
                let server_url = server.url("");
                tokio::spawn(async move {
                    let mut tally = Tally::default();
                    for round in 0..REQUESTS_PER_CLIENT {
                        let (contacts, seed) = KINDS[(index + round) % KINDS.len()];
                        let url =
                            format!("{server_url}/suggestions?contacts={contacts}&seed={seed}");
                        let response = client.post(url).send().await.expect("no transport error");
                        match response.status().as_u16() {
                            200 => {
                                let answer: SuggestionsResponse = response.json().await.unwrap();
                                assert_eq!(answer.suggestions.len(), 50);
                                assert!(
                                    answer.memory.peak_bytes <= answer.memory.estimate_bytes,
                                    "{:?}",
                                    answer.memory
                                );
                                tally.ok += 1;
                            }
                            503 => {
                                let retry = response.headers().get("retry-after");
                                assert_eq!(retry.expect("Retry-After").to_str().unwrap(), "1");
                                let body = response.text().await.expect("a body");
                                if body.is_empty() {
                                    tally.shed += 1;
                                } else {
                                    assert!(body.contains("the job was cancelled"), "{body}");
                                    tally.cancelled += 1;
                                }
                            }
                            status => panic!("a request failed otherwise: {status}"),
                        }
                    }
                    tally
                })
            })
            .collect();
        let mut flood = Tally::default();
        for client in clients {
            let tally = tokio::time::timeout(LIMIT, client)
                .await
                .expect("in time")
                .expect("client");
            flood.ok += tally.ok;
            flood.shed += tally.shed;
            flood.cancelled += tally.cancelled;
        }
        flooding.store(false, SeqCst);
        let (checks, reserved_seen) = watcher.await.expect("watcher");
        let flood_done = started.elapsed();

        assert_eq!(
            flood.ok + flood.shed + flood.cancelled,
            CLIENTS * REQUESTS_PER_CLIENT
        );
        assert!(flood.shed > 0, "no request was shed: {flood:?}");
        assert!(
            flood.ok > 0,
            "no request succeeded during the flood: {flood:?}"
        );
        assert!(
            checks > 0 && reserved_seen > 0.0,
            "{checks} checks saw no reservation"
        );

        let text = scrape(&client, &server).await;
        let peak = metric(&text, "heapguard_peak_bytes").expect("peak");
        let bound = metric(&text, "heapguard_live_bytes_error_bound_bytes").expect("bound");
        assert!(
            peak + bound < BUDGET as f64,
            "peak {peak} (+ its error bound {bound}) reached the {BUDGET}-byte budget"
        );
        assert_eq!(
            metric(&text, "heapguard_requests_shed_total"),
            Some(flood.shed as f64)
        );

        // Once the load stops (the breaker accepts again and nothing is
        // reserved), every kind of request is served at its first try.
        loop {
            let text = scrape(&client, &server).await;
            let idle = metric(&text, "heapguard_breaker_refusing") == Some(0.0)
                && metric(&text, "heapguard_reserved_bytes") == Some(0.0);
            if idle {
                break;
            }
            assert!(
                started.elapsed() < LIMIT,
                "the breaker never accepted again"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for (contacts, seed) in KINDS {
            let url = server.url(&format!("/suggestions?contacts={contacts}&seed={seed}"));
            let response = client.post(url).send().await.expect("answered");
            assert_eq!(
                response.status(),
                200,
                "contacts={contacts} seed={seed} after the load"
            );
        }
        eprintln!(
            "flood: {} ok, {} shed and {} cancelled (503) of {}; {checks} health+metrics checks; \
             peak {peak} of {BUDGET} budget; flood {flood_done:?}, all {:?}",
            flood.ok,
            flood.shed,
            flood.cancelled,
            CLIENTS * REQUESTS_PER_CLIENT,
            started.elapsed()
        );
    });
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}
