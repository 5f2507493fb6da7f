//! `serve --admin-listen ADDR`: a second listener for operators and
//! profilers, never shed and never crowded out by the service's clients:
//! `GET /metrics`, `GET /healthz`, and `GET /debug/pprof/heap` (a gzip
//! pprof of the live heap, the convention `go tool pprof` and continuous
//! profilers such as Parca and Pyroscope scrape), with
//! `/debug/pprof/symbol` answering that this server symbolises nothing
//! (`num_symbols: 0`: pprof then symbolises from the binary, as it must for
//! a profile that carries addresses only). Without the option there is no
//! profile route at all.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use heapguard_monitor::observer::Observer;

use super::app::{routes, App};

/// The routes the admin listener answers; anything else is 404 there.
const ADMIN_ROUTES: [&str; 4] = [
    "/metrics",
    "/healthz",
    "/debug/pprof/heap",
    "/debug/pprof/symbol",
];

/// Heap a profile's dump, parse and encoding may take at their peak,
/// reserved in the breaker before it is taken, so the observer cannot
/// push the service past its budget (a profile of a few thousand
/// backtraces is about a MiB at each step).
pub const PROFILE_RESERVATION_BYTES: u64 = 8 << 20;

/// The admin router: the service's `/metrics` and `/healthz`, and the heap
/// profile. No memory layer: none of these is ever shed.
pub fn admin_router(app: App) -> Router {
    let profiled = app.clone();
    routes(app)
        .route(
            "/debug/pprof/heap",
            get(move || heap_profile(profiled.clone())),
        )
        .route(
            "/debug/pprof/symbol",
            get(no_symbols).merge(post(no_symbols)),
        )
        .layer(middleware::from_fn(admin_routes_only))
}

/// pprof's remote symbolisation protocol, answered with no symbols.
async fn no_symbols() -> &'static str {
    "num_symbols: 0\n"
}

async fn admin_routes_only(request: Request<Body>, next: Next) -> Response {
    if ADMIN_ROUTES.contains(&request.uri().path()) {
        next.run(request).await
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

/// `GET /debug/pprof/heap`: takes the profile on the blocking pool, inside
/// an observer's reservation of [`PROFILE_RESERVATION_BYTES`] and its
/// account (503 with `Retry-After` when that does not fit): addresses and
/// mappings, no symbols (pprof symbolises them from the binary).
async fn heap_profile(app: App) -> Response {
    let observer = Observer::new(app.shared_breaker()).with_reservation(PROFILE_RESERVATION_BYTES);
    match tokio::task::spawn_blocking(move || observer.run(take_pprof)).await {
        Ok(Ok(Ok(pprof))) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"heap.pb.gz\"",
                ),
            ],
            pprof,
        )
            .into_response(),
        Ok(Ok(Err((status, message)))) => (status, format!("{message}\n")).into_response(),
        Ok(Err(refused)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "10")],
            format!(
                "no room for a heap profile (it reserves {}): {}\n",
                bytesize::ByteSize(refused.needed_bytes).display().iec(),
                refused.tripped
            ),
        )
            .into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("taking the profile failed: {error}\n"),
        )
            .into_response(),
    }
}

/// Switches sampling on for `/debug/pprof/heap`: jemalloc's profiler in a
/// build with the `profiling` feature, CountingAlloc's own sampler
/// otherwise; if neither can start, says why the route will answer 501.
pub fn start_sampling() {
    if let Err(error) = crate::cli::profiling::start_sampling() {
        let error = crate::messages::profile_error(&error);
        tracing::warn!(%error, "heap profiles unavailable on the admin listener");
    }
}

fn take_pprof() -> Result<Vec<u8>, (StatusCode, String)> {
    use heapguard_alloc::profile::{self, ProfileError};
    let unavailable = |error: ProfileError| {
        let status = match error {
            ProfileError::NotCompiledIn
            | ProfileError::NotEnabled
            | ProfileError::NotJemalloc
            | ProfileError::NotSampling => StatusCode::NOT_IMPLEMENTED,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (
            status,
            format!(
                "no heap profile: {}",
                crate::messages::profile_error(&error)
            ),
        )
    };
    profile::take()
        .and_then(|taken| taken.to_pprof())
        .map_err(unavailable)
}
