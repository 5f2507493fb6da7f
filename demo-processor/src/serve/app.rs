//! The routes, the layer that sheds around them, and what a scrape reads.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, Method, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use heapguard_alloc::Account;
use heapguard_breaker::metrics::BreakerMetrics;
use heapguard_breaker::service::{
    Bypass, Estimate, Http, MemoryShed, MemoryShedLayer, RequestAdmission, ShedStats,
};
use heapguard_breaker::{BreakerConfig, Budget, ConfigError, MemoryBreaker};
use serde::Deserialize;
use tower::Layer;

use super::estimate::estimate_bytes;
use super::job::{suggest_one, Cancellation, Cancelled, RequestMemory, SuggestionsResponse};
use super::metrics::{Metrics, Readings};
use crate::config::{JobConfig, Mode};

/// The service's state: its breaker, mode, the account of the requests in
/// flight, and its metrics. Cheap to clone (an `Arc`).
#[derive(Clone, Debug)]
pub struct App {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    breaker: Arc<MemoryBreaker>,
    mode: Mode,
    requests: Account,
    shed: ShedStats,
    metrics: Metrics,
}

impl App {
    /// A service over `budget`, reading the counting allocator (which must
    /// be the global allocator) through a breaker named `requests`.
    pub fn new(budget: Budget, mode: Mode) -> Result<Self, ConfigError> {
        let breaker = MemoryBreaker::new(BreakerConfig::new(budget).name("requests"))?;
        Ok(Self::with_breaker(Arc::new(breaker), mode))
    }

    /// A service over a breaker of the caller's.
    pub fn with_breaker(breaker: Arc<MemoryBreaker>, mode: Mode) -> Self {
        let shed = ShedStats::default();
        let metrics =
            Metrics::new(BreakerMetrics::new(Arc::clone(&breaker)).shed_stats(shed.clone()));
        Self {
            inner: Arc::new(Inner {
                breaker,
                mode,
                requests: Account::new("requests"),
                shed,
                metrics,
            }),
        }
    }

    /// The parent account of every request's account: the server runs each
    /// connection's task in a child of it too, so hyper's body buffers and
    /// the requests' copies of them net out under one parent.
    pub fn requests_account(&self) -> &Account {
        &self.inner.requests
    }

    /// The breaker every request reserves in.
    pub fn breaker(&self) -> &MemoryBreaker {
        &self.inner.breaker
    }

    /// The breaker, shared (for an observer that reserves in it).
    pub(crate) fn shared_breaker(&self) -> Arc<MemoryBreaker> {
        Arc::clone(&self.inner.breaker)
    }

    /// The mode jobs run in.
    pub fn mode(&self) -> Mode {
        self.inner.mode
    }

    /// The process's heap, read now (the breaker's series are read by
    /// its own export as the scrape renders).
    pub fn readings(&self) -> Readings {
        let stats = heapguard_alloc::stats();
        Readings {
            live_bytes: stats.live_bytes,
            peak_bytes: stats.peak_bytes,
            error_bound_bytes: heapguard_alloc::live_bytes_error_bound(),
            connections_refused: super::server::connections_refused(),
        }
    }
}

/// The service [`service`] builds: the routes with the memory layer around
/// the whole router.
pub type Service = MemoryShed<Router, SuggestionsEstimate, NotShed, Http>;

/// The routes, with the memory layer around the whole router: only
/// `POST /suggestions` reserves its estimate and can be shed; `/metrics`,
/// `/healthz`, paths the router does not know (404) and methods a route
/// does not take (405) go straight through.
///
/// The layer is applied with `Layer::layer(&layer, router)`, not
/// `Router::layer`: axum's `Router::layer` wraps every route in a second
/// boxed route, which costs each request four more allocations (see
/// `heapguard_breaker::service`, "What it costs per request").
pub fn service(app: App) -> Service {
    let layer = MemoryShedLayer::new(app.inner.breaker.clone())
        .with_stats(app.inner.shed.clone())
        .estimate(SuggestionsEstimate { mode: app.mode() })
        .bypass(NotShed)
        .request_accounts(app.inner.requests.clone())
        .http();
    layer.layer(routes(app))
}

/// The routes alone, without the memory layer: `POST /suggestions`,
/// `GET /metrics`, `GET /healthz`.
pub fn routes(app: App) -> Router {
    Router::new()
        .route(SUGGESTIONS_PATH, post(suggestions))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(app)
}

/// The path of the one route that runs a job.
const SUGGESTIONS_PATH: &str = "/suggestions";

/// Whether the router hands `request` to the suggestions handler: `POST
/// /suggestions`, the only request that runs a job. The memory layer sees
/// requests before the router does, so it must ask the router's own
/// question: another method on the path (answered 405) or another path
/// (404, `/metrics`, `/healthz`) holds no job, and an estimate or a
/// refusal for it would answer 413 or 503 in the router's place.
fn runs_a_job<B>(request: &Request<B>) -> bool {
    request.method() == Method::POST && request.uri().path() == SUGGESTIONS_PATH
}

/// The memory layer's estimator: a `POST /suggestions` request's job
/// ([`estimate_bytes`](super::estimate::estimate_bytes) of the contacts its
/// query asks for, in the service's mode); 0 for anything else.
#[derive(Debug, Clone, Copy)]
pub struct SuggestionsEstimate {
    mode: Mode,
}

impl<B> Estimate<Request<B>> for SuggestionsEstimate {
    fn estimate(&self, request: &Request<B>) -> u64 {
        request_estimate(self.mode, request)
    }
}

/// The memory layer's bypass: every request but `POST /suggestions`, the
/// only one that does work worth shedding (a `GET /suggestions` gets the
/// router's 405, never a 413 or a 503).
#[derive(Debug, Clone, Copy)]
pub struct NotShed;

impl<B> Bypass<Request<B>> for NotShed {
    fn bypass(&self, request: &Request<B>) -> bool {
        !runs_a_job(request)
    }
}

/// The estimate of a `POST /suggestions` request, from the parameters its
/// handler will run with, decoded by the same parser ([`parse_query`]), so
/// a percent-encoded `contacts` is estimated as the plain one is. 0 for
/// anything else: a request without valid parameters is answered 400 by the
/// handler and reserves nothing, nor does a request the handler never
/// sees (another method or path).
fn request_estimate<B>(mode: Mode, request: &Request<B>) -> u64 {
    if !runs_a_job(request) {
        return 0;
    }
    parse_query(request.uri()).map_or(0, |(_, config)| {
        estimate_bytes(mode, config.contacts_per_user())
    })
}

/// `POST /suggestions`'s parameters.
#[derive(Debug, Deserialize)]
struct SuggestionsQuery {
    contacts: u32,
    seed: u64,
    #[serde(default = "default_user")]
    user: u32,
}

/// User 0: the user `demo-processor run --users 1` runs.
fn default_user() -> u32 {
    0
}

/// The one parser of `POST /suggestions`'s query, for the layer's estimate
/// and for the handler: percent-decoded (`application/x-www-form-urlencoded`,
/// as axum's `Query` decodes), validated into the job's configuration.
fn parse_query(uri: &Uri) -> Result<(SuggestionsQuery, JobConfig), String> {
    let Query(query) = Query::<SuggestionsQuery>::try_from_uri(uri)
        .map_err(|rejection| format!("{rejection}; expected ?contacts=N&seed=S[&user=U]"))?;
    let config = JobConfig::new(query.contacts, 1)
        .map_err(|error| error.to_string())?
        .with_seed(query.seed);
    Ok((query, config))
}

/// An error answered as JSON: `{"error": "..."}`.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response();
        if self.0 == StatusCode::SERVICE_UNAVAILABLE {
            // A job the breaker cancelled is answered like a request the
            // layer shed: the client may retry after the same pause.
            let seconds = heapguard_breaker::service::DEFAULT_RETRY_AFTER.as_secs();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

async fn suggestions(
    State(app): State<App>,
    admission: Option<Extension<RequestAdmission>>,
    uri: Uri,
) -> Result<Json<SuggestionsResponse>, ApiError> {
    let (query, config) =
        parse_query(&uri).map_err(|error| ApiError(StatusCode::BAD_REQUEST, error))?;
    let config = config.with_mode(app.mode());
    // The layer runs this handler in the request's account; the job runs in
    // it too, on the blocking pool.
    let account = Account::current().unwrap_or_else(|| app.inner.requests.child("request"));
    // The admission's token: registering the job with it starts the
    // request (until then, past the cancel line, the layer sheds it first).
    let cancellation = admission.map_or_else(Cancellation::default, |Extension(admission)| {
        Cancellation::with_token(admission.token().clone())
    });
    let cancel_on_drop = cancellation.guard();
    // Registered with the breaker: past its cancel line it may cancel this
    // job (the largest first), which then answers 503.
    let registration =
        app.inner
            .breaker
            .register_job("suggestions", &account, cancellation.token().clone());
    let user_id = query.user;
    let job = {
        let cancellation = cancellation.clone();
        let config = config.clone();
        account.bind(move || suggest_one(&config, user_id, &cancellation))
    };
    let outcome = tokio::task::spawn_blocking(job).await;
    drop(registration);
    cancel_on_drop.disarm();
    let (suggestions, elapsed_ms) = match outcome {
        Ok(Ok(done)) => done,
        Ok(Err(Cancelled)) => {
            return Err(ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                "the job was cancelled".to_owned(),
            ))
        }
        Err(error) => {
            tracing::error!(%error, "a suggestion job failed");
            return Err(ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the job failed".to_owned(),
            ));
        }
    };
    let usage = account.usage();
    Ok(Json(SuggestionsResponse {
        user_id,
        mode: app.mode(),
        contacts: config.contacts_per_user(),
        seed: config.seed(),
        suggestions,
        memory: RequestMemory {
            estimate_bytes: estimate_bytes(app.mode(), config.contacts_per_user()),
            peak_bytes: usage.peak_bytes,
            allocated_bytes: usage.allocated_bytes,
            allocations: usage.allocations,
        },
        elapsed_ms,
    }))
}

async fn metrics(State(app): State<App>) -> impl IntoResponse {
    let text = app.inner.metrics.render(&app.readings());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn post(query: &str) -> Request<Body> {
        Request::post(format!("/suggestions?{query}"))
            .body(Body::empty())
            .unwrap()
    }

    fn request(method: Method, path: &str) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap()
    }

    #[test]
    fn only_post_suggestions_passes_through_the_breaker() {
        assert!(!NotShed.bypass(&post("contacts=10&seed=1")));
        assert!(!NotShed.bypass(&request(Method::POST, "/suggestions")));
        for path in ["/metrics", "/healthz", "/", "/nowhere", "/suggestions/x"] {
            assert!(NotShed.bypass(&request(Method::GET, path)), "{path}");
            assert!(NotShed.bypass(&request(Method::POST, path)), "{path}");
        }
        // The router answers these 405: the layer must let it.
        for method in [
            Method::GET,
            Method::HEAD,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
            Method::OPTIONS,
        ] {
            let wrong = request(method.clone(), "/suggestions?contacts=100000&seed=1");
            assert!(NotShed.bypass(&wrong), "{method}");
            assert_eq!(request_estimate(Mode::Naive, &wrong), 0, "{method}");
        }
    }

    #[test]
    fn a_percent_encoded_query_is_estimated_as_the_plain_one() {
        for mode in [Mode::Naive, Mode::Streaming] {
            let plain = request_estimate(mode, &post("contacts=100000&seed=1"));
            assert_eq!(plain, estimate_bytes(mode, 100_000));
            for encoded in [
                "contacts=%31%30%30%30%30%30&seed=1",
                "%63ontacts=100000&seed=1",
                "seed=1&contacts=10%30000",
            ] {
                assert_eq!(request_estimate(mode, &post(encoded)), plain, "{encoded}");
            }
            // What the handler would refuse reserves nothing.
            for bad in [
                "contacts=0&seed=1",
                "contacts=x&seed=1",
                "seed=1",
                "contacts=2000000&seed=1",
            ] {
                assert_eq!(request_estimate(mode, &post(bad)), 0, "{bad}");
            }
        }
    }
}
