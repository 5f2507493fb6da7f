//! `demo-processor serve` estimates a request from the parameters its
//! handler decodes (one parser): a percent-encoded `contacts` that could
//! never fit the budget is refused with 413 as the plain one is, instead of
//! being estimated at 0 bytes, admitted, and run past the budget. The real
//! binary on 127.0.0.1, a real HTTP client.

mod common;

use std::time::Duration;

use common::{metric, Server};

#[test]
fn a_percent_encoded_query_is_refused_as_the_plain_one_is() {
    let server = Server::start(&["--budget", "16MiB", "--mode", "naive"]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        // 100,000 naive contacts need ~400 MB: more than 16 MiB, ever.
        for query in [
            "contacts=100000&seed=1",
            "contacts=%31%30%30%30%30%30&seed=1",
            "%63ontacts=100000&seed=1",
        ] {
            let response = client
                .post(server.url(&format!("/suggestions?{query}")))
                .send()
                .await
                .expect("answered");
            assert_eq!(response.status(), 413, "{query}");
        }
        let text = client
            .get(server.url("/metrics"))
            .send()
            .await
            .expect("answered")
            .text()
            .await
            .expect("text");
        assert_eq!(
            metric(&text, "heapguard_requests_too_large_total"),
            Some(3.0)
        );
        assert_eq!(
            metric(&text, "heapguard_requests_admitted_total"),
            Some(0.0)
        );
        // The breaker's refresher reads every 25 ms on its own: the last
        // good reading is recent (5 s allows a starved runner).
        let age = metric(&text, "heapguard_reading_age_seconds").expect("reading age");
        assert!((0.0..5.0).contains(&age), "last good reading {age} s ago");
    });
}
