//! The layer covers the whole request: a streaming response keeps its
//! request's reservation until its body has ended, or until the client
//! leaves mid-stream; the body is polled inside the request's account; the
//! layer's stats show the requests in flight and their reserved bytes.
//! A real axum server and a real HTTP client on 127.0.0.1.
#![cfg(feature = "http")]

mod common;

use common::{eventually_async, serve, two_workers};
use std::alloc::System;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::routing::get;
use axum::Router;
use heapguard_alloc::{Account, CountingAlloc};
use heapguard_breaker::service::MemoryShedLayer;
use heapguard_breaker::testing::ManualSource;
use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};
use http_body::Frame;
use tokio::sync::mpsc;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const MIB: u64 = 1 << 20;
const ESTIMATE: u64 = 64 * MIB;
const CHUNK: usize = 64 * 1024;

/// A body that makes each chunk when it is polled (so its allocations
/// happen in the body's polls) as the test's channel says so.
struct Paced {
    go: mpsc::UnboundedReceiver<()>,
}

impl http_body::Body for Paced {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.go
            .poll_recv(cx)
            .map(|go| go.map(|()| Ok(Frame::data(Bytes::from(vec![7u8; CHUNK])))))
    }
}

#[test]
fn a_streaming_response_holds_its_reservation_until_its_body_ends_or_the_client_leaves() {
    let runtime = two_workers();
    let breaker = Arc::new(
        MemoryBreaker::new(
            BreakerConfig::new(Budget::Bytes(1 << 30))
                .name("streams")
                .source(ManualSource::new(0))
                .no_purge(),
        )
        .unwrap(),
    );
    let requests = Account::new("requests");
    let layer = MemoryShedLayer::new(breaker.clone())
        .estimate(|_: &http::Request<Body>| ESTIMATE)
        .request_accounts(requests.clone())
        .http();
    let stats = layer.stats();
    // Each request's handler hands its body's pacing channel to the test.
    let (senders, mut paced) = mpsc::unbounded_channel::<mpsc::UnboundedSender<()>>();
    let app = Router::new()
        .route(
            "/stream",
            get(move || {
                let senders = senders.clone();
                async move {
                    let (go, pacing) = mpsc::unbounded_channel();
                    senders.send(go).unwrap();
                    Body::new(Paced { go: pacing })
                }
            }),
        )
        .layer(layer);
    runtime.block_on(async {
        let address = serve(app).await;
        let client = reqwest::Client::new();
        let url = format!("http://{address}/stream");

        // A body read to its end.
        let mut response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let go = paced.recv().await.unwrap();
        // The head is sent; the body has not ended: still reserved.
        go.send(()).unwrap();
        let first = response.chunk().await.unwrap().unwrap();
        assert!(!first.is_empty());
        // Reserved while streaming, less what the body's chunks made in the
        // request's account so far (the reservation settles against it).
        let reserved = breaker.reserved();
        assert!(
            (ESTIMATE - 2 * CHUNK as u64..=ESTIMATE).contains(&reserved),
            "reserved while streaming: {reserved}"
        );
        assert_eq!((stats.in_flight(), stats.reserved_bytes()), (1, reserved));
        for _ in 0..15 {
            go.send(()).unwrap();
        }
        drop(go); // the body's last frame
        let mut read = first.len();
        while let Some(chunk) = response.chunk().await.unwrap() {
            read += chunk.len();
        }
        assert_eq!(read, 16 * CHUNK);
        eventually_async("the ended body released its reservation", || {
            breaker.reserved() == 0
        })
        .await;
        assert_eq!((stats.in_flight(), stats.reserved_bytes()), (0, 0));
        // The chunks were made in the body's polls, inside the request's
        // account (a child of `requests`).
        assert!(
            requests.usage().allocated_bytes >= 16 * CHUNK as u64,
            "{:?}",
            requests.usage()
        );

        // A client that leaves mid-stream.
        let mut response = client.get(&url).send().await.unwrap();
        let go = paced.recv().await.unwrap();
        go.send(()).unwrap();
        response.chunk().await.unwrap().unwrap();
        assert!(breaker.reserved() >= ESTIMATE - 2 * CHUNK as u64);
        drop(response);
        eventually_async("the dropped body released its reservation", || {
            breaker.reserved() == 0
        })
        .await;
        assert_eq!((stats.in_flight(), stats.reserved_bytes()), (0, 0));
        assert_eq!(stats.admitted(), 2);
        drop(go);
    });
}
