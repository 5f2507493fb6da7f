//! Every `/suggestions` job is registered with the service's breaker, so
//! past the cancel line the breaker can stop it: the job ends at its next
//! chunk and the request is answered 503. The service in process (its
//! breaker reads a manual source, so the test sets the pressure), a real
//! server on 127.0.0.1 and a real HTTP client.

use std::alloc::System;
use std::sync::Arc;
use std::time::{Duration, Instant};

use demo_processor::serve::server::{serve, Limits};
use demo_processor::serve::{service, App};
use demo_processor::Mode;
use heapguard_alloc::CountingAlloc;
use heapguard_breaker::{BreakerConfig, BreakerEvent, Budget, ManualSource, MemoryBreaker};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const GIB: u64 = 1 << 30;

#[test]
fn the_breaker_cancels_a_running_job_past_its_cancel_line() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let memory = ManualSource::new(0);
    let breaker = Arc::new(
        MemoryBreaker::new(
            BreakerConfig::new(Budget::Bytes(4 * GIB))
                .name("requests")
                .source(memory.clone())
                .no_purge(),
        )
        .expect("breaker"),
    );
    let events = breaker.subscribe();
    let app = App::with_breaker(breaker.clone(), Mode::Naive);
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let served = serve(
            listener,
            service(app),
            Limits::default(),
            None,
            std::future::pending(),
        );
        tokio::spawn(served);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("http client");
        // A long naive job: 100,000 contacts.
        let request = client
            .post(format!(
                "http://{address}/suggestions?contacts=100000&seed=3"
            ))
            .send();
        let response = tokio::spawn(request);
        let deadline = Instant::now() + Duration::from_secs(60);
        while breaker.jobs_registered() == 0 {
            assert!(Instant::now() < deadline, "the job never registered");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Past the cancel line (95% of 4 GiB): the refresher cancels the
        // only job within a tick.
        memory.set(4 * GIB - GIB / 20);
        let response = response.await.expect("task").expect("answered");
        assert_eq!(response.status(), 503);
        // Answered as a shed request is: retry after the layer's pause.
        assert_eq!(response.headers()["retry-after"], "1");
        let body: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(body["error"], "the job was cancelled");
    });
    assert_eq!(breaker.jobs_registered(), 0, "deregistered when it ended");
    let cancelled = events.try_iter().find_map(|event| match event {
        BreakerEvent::JobCancelled { job, .. } => Some(job),
        _ => None,
    });
    assert_eq!(cancelled.as_deref(), Some("suggestions"));
}
