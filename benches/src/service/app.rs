//! The benchmarked service: its one route, and the parts of heapguard's
//! stack a configuration turns on.
//!
//! `GET /work?items=K&seed=S` parses its query, builds a JSON document of
//! `K` records with `serde_json` (about 150 bytes each: 3.6 KB at the
//! default 24) and answers it. `GET /cpu` answers the process's CPU time
//! and the allocator calls counted,
//! `POST /shutdown` stops the server; both bypass the layer, as a service's
//! health and metrics routes do.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use heapguard_alloc::Account;
use heapguard_breaker::service::{Bypass, Estimate, Http, MemoryShedLayer, RequestAdmission};
use heapguard_breaker::{BreakerConfig, Budget, ConfigError, MemoryBreaker};
use heapguard_monitor::{MemoryMonitor, MonitorConfig, MonitorError};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Notify;

/// Records in a `/work` answer when the query does not say.
pub const DEFAULT_ITEMS: u32 = 24;
/// The most records a `/work` request may ask for (larger is answered 400).
pub const MAX_ITEMS: u32 = 10_000;
/// The breaker's budget and the monitor's: far above what the service
/// holds, so nothing is ever refused and the figures are the cost of
/// watching, not of shedding.
pub const BUDGET_BYTES: u64 = 1 << 30;
/// What the layer reserves per request until its response body ends.
pub const ESTIMATE_BYTES: u64 = 64 << 10;
/// The monitor's sampling interval (its default is 60 s; 1 s samples 60
/// times as often, so its share here is an upper bound).
pub const MONITOR_INTERVAL: Duration = Duration::from_secs(1);

/// Which parts of heapguard's stack a server runs, beside the counting
/// allocator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Parts {
    /// The breaker's tower layer (`MemoryShedLayer::http`) with a
    /// reservation per request (and the handler starting its
    /// `RequestAdmission`).
    pub layer: bool,
    /// Memory accounts: each connection's task runs in a child of a
    /// `requests` account and, with the layer, each request in its own
    /// account under it (`MemoryShedLayer::request_accounts`).
    pub accounts: bool,
    /// The breaker's refresher thread (the breaker's state refreshed every
    /// 25 ms, `BreakerConfig::watch_cancel_line`); off, the breaker is
    /// read only by the layer's reservations.
    pub refresher: bool,
    /// A `MemoryMonitor` sampling every [`MONITOR_INTERVAL`] with the leak
    /// detector on.
    pub monitor: bool,
}

impl Parts {
    /// Every part: the whole stack.
    pub const ALL: Parts = Parts {
        layer: true,
        accounts: true,
        refresher: true,
        monitor: true,
    };

    /// Parses a comma- or plus-separated list of `layer`, `accounts`,
    /// `refresher`, `monitor`, or `all` or `none`.
    ///
    /// ```
    /// use heapguard_benches::service::Parts;
    /// let parts = Parts::parse("layer,monitor")?;
    /// assert!(parts.layer && parts.monitor && !parts.refresher);
    /// assert_eq!(Parts::parse("all")?, Parts::ALL);
    /// assert_eq!(parts.to_string(), "layer+monitor");
    /// assert!(Parts::parse("layer,cache").is_err());
    /// # Ok::<(), heapguard_benches::service::PartsError>(())
    /// ```
    pub fn parse(list: &str) -> Result<Parts, PartsError> {
        let mut parts = Parts::default();
        for name in list.split([',', '+']).filter(|name| !name.is_empty()) {
            match name {
                "layer" => parts.layer = true,
                "accounts" => parts.accounts = true,
                "refresher" => parts.refresher = true,
                "monitor" => parts.monitor = true,
                "all" => parts = Parts::ALL,
                "none" => {}
                other => return Err(PartsError(other.to_owned())),
            }
        }
        Ok(parts)
    }

    /// Whether a breaker is built (for the layer or the refresher).
    pub fn breaker(self) -> bool {
        self.layer || self.refresher
    }
}

impl fmt::Display for Parts {
    /// `layer+accounts+refresher+monitor`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            (self.layer, "layer"),
            (self.accounts, "accounts"),
            (self.refresher, "refresher"),
            (self.monitor, "monitor"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if names.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&names.join("+"))
        }
    }
}

/// A part name that is not one of `layer`, `accounts`, `refresher`,
/// `monitor`, `all`, `none`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown part {0:?} (expected layer, accounts, refresher, monitor, all or none)")]
pub struct PartsError(pub String);

/// The heapguard objects a server keeps alive while it serves.
#[derive(Debug)]
pub struct Stack {
    parts: Parts,
    breaker: Option<Arc<MemoryBreaker>>,
    requests: Account,
    _monitor: Option<MemoryMonitor>,
}

/// Why the stack could not start.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The breaker refused its configuration (or cannot read the counting
    /// allocator: it is not the global allocator).
    #[error("breaker: {0}")]
    Breaker(#[from] ConfigError),
    /// The monitor could not start.
    #[error("monitor: {0}")]
    Monitor(#[from] MonitorError),
}

impl Stack {
    /// Starts the parts asked for. The breaker and the monitor read the
    /// counting allocator, which must then be the global allocator.
    pub fn start(parts: Parts) -> Result<Stack, StackError> {
        let breaker = if parts.breaker() {
            let config = BreakerConfig::new(Budget::Bytes(BUDGET_BYTES))
                .name("requests")
                .watch_cancel_line(parts.refresher);
            Some(Arc::new(MemoryBreaker::new(config)?))
        } else {
            None
        };
        let monitor = if parts.monitor {
            Some(MemoryMonitor::start(MonitorConfig {
                interval: MONITOR_INTERVAL,
                budget_bytes: Some(BUDGET_BYTES),
                ..MonitorConfig::default()
            })?)
        } else {
            None
        };
        Ok(Stack {
            parts,
            breaker,
            requests: Account::new("requests"),
            _monitor: monitor,
        })
    }

    /// The parent account each connection's task runs in a child of, when
    /// accounts are on (as `demo-processor serve` and the README advise).
    pub fn connections_account(&self) -> Option<&Account> {
        self.parts.accounts.then_some(&self.requests)
    }

    /// The service's routes, without the layer: [`Stack::shed_layer`]
    /// goes around the whole router, not on its routes.
    pub fn routes(&self, shutdown: Arc<Notify>) -> Router {
        Router::new()
            .route("/work", get(work))
            .route("/cpu", get(cpu))
            .route("/shutdown", post(stop))
            .with_state(shutdown)
    }

    /// The breaker's layer when it is on: reserving [`ESTIMATE_BYTES`] per
    /// `/work` request (the other routes bypass it), with request accounts
    /// when they are on. The server puts it around the whole router
    /// (`Layer::layer(&layer, router)`), as the breaker's docs advise:
    /// axum's `Router::layer` would wrap each route in a second boxed route,
    /// which costs four more allocations per request.
    pub fn shed_layer(
        &self,
    ) -> Option<
        MemoryShedLayer<
            impl Estimate<Request<Incoming>> + Clone,
            impl Bypass<Request<Incoming>> + Clone,
            Http,
        >,
    > {
        let breaker = self.breaker.as_ref().filter(|_| self.parts.layer)?;
        let layer = MemoryShedLayer::new(Arc::clone(breaker))
            .estimate(|_: &Request<Incoming>| ESTIMATE_BYTES)
            .bypass(|request: &Request<Incoming>| {
                !(request.method() == Method::GET && request.uri().path() == "/work")
            });
        let layer = if self.parts.accounts {
            layer.request_accounts(self.requests.clone())
        } else {
            layer
        };
        Some(layer.http())
    }
}

/// `/work`'s query.
#[derive(Debug, Deserialize)]
struct WorkQuery {
    #[serde(default = "default_items")]
    items: u32,
    #[serde(default)]
    seed: u64,
}

fn default_items() -> u32 {
    DEFAULT_ITEMS
}

async fn work(
    Query(query): Query<WorkQuery>,
    admission: Option<Extension<RequestAdmission>>,
) -> Response {
    // The handler starts its work at once: the request no longer waits.
    if let Some(Extension(admission)) = admission {
        admission.start();
    }
    if query.items > MAX_ITEMS {
        let message = format!("items: at most {MAX_ITEMS}, not {}\n", query.items);
        return (StatusCode::BAD_REQUEST, message).into_response();
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        document(query.items, query.seed),
    )
        .into_response()
}

/// The JSON text `/work?items=K&seed=S` answers: `K` records built as a
/// `serde_json::Value` (strings, numbers, an array and an object each), then
/// written out. Deterministic in its arguments, and of the same length for
/// every seed (numbers of fixed width), so requests with different seeds do
/// the same work.
///
/// ```
/// use heapguard_benches::service::document;
/// let text = document(2, 7);
/// let value: serde_json::Value = serde_json::from_str(&text)?;
/// assert_eq!(value["items"].as_array().map(Vec::len), Some(2));
/// assert_eq!(value["items"][1]["name"], "item-000007-001");
/// assert_eq!(document(24, 3).len(), document(24, 987_654).len());
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn document(items: u32, seed: u64) -> String {
    let seed = seed % 1_000_000;
    let records: Vec<Value> = (0..items)
        .map(|i| {
            // Nine digits whatever the seed.
            let id = 100_000_000 + (seed * 1_000_003 + u64::from(i)) % 100_000_000;
            json!({
                "id": id,
                "name": format!("item-{seed:06}-{i:03}"),
                "email": format!("user{:04}@example.com", id % 9973),
                "score": 100.0 + f64::from(i % 400) * 0.25,
                "tags": ["alpha", "beta", format!("t{:02}", id % 17)],
                "owner": { "id": 100 + id % 900, "active": i % 3 != 0 },
            })
        })
        .collect();
    json!({ "seed": 1_000_000 + seed, "count": items, "items": records }).to_string()
}

/// `GET /cpu`: `user_ns sys_ns allocator_calls`: the whole process's CPU
/// time (every thread) and the allocator calls heapguard counted
/// (allocations, deallocations and reallocations; 0 without the counting
/// allocator).
async fn cpu() -> Response {
    let stats = heapguard_alloc::stats();
    let calls = stats.allocations + stats.deallocations + stats.reallocations;
    match crate::clock::process_user_system_time() {
        Some((user, sys)) => {
            format!("{} {} {calls}\n", user.as_nanos(), sys.as_nanos()).into_response()
        }
        None => (StatusCode::INTERNAL_SERVER_ERROR, "getrusage failed\n").into_response(),
    }
}

/// `POST /shutdown`: the server stops accepting and exits.
async fn stop(State(shutdown): State<Arc<Notify>>) -> &'static str {
    shutdown.notify_one();
    "stopping\n"
}
