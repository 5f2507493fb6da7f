//! The layer, its builder, the service it makes, and the admission decision.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use heapguard_alloc::Account;
use tower_layer::Layer;
use tower_service::Service;

use super::error::{BoxError, Refused};
use super::future::{Admitted, ResponseFuture};
use super::hold::{Admission, Hold, Reserved};
use super::stats::ShedStats;
use crate::MemoryBreaker;

/// The `Retry-After` a refusal carries unless told otherwise: 1 second, the
/// breaker's default least time in a state.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// How many bytes a request will need: see [`MemoryShedLayer::estimate`].
///
/// Implemented for every `Fn(&Req) -> u64`.
pub trait Estimate<Req> {
    /// The bytes `request` is expected to allocate while it is served.
    fn estimate(&self, request: &Req) -> u64;
}

impl<Req, F: Fn(&Req) -> u64> Estimate<Req> for F {
    fn estimate(&self, request: &Req) -> u64 {
        self(request)
    }
}

/// No estimator: every request is estimated at 0 bytes, so admission is a
/// [`MemoryBreaker::check`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEstimate;

impl<Req> Estimate<Req> for NoEstimate {
    fn estimate(&self, _request: &Req) -> u64 {
        0
    }
}

/// Which requests are never shed: see [`MemoryShedLayer::bypass`].
///
/// Implemented for every `Fn(&Req) -> bool`.
pub trait Bypass<Req> {
    /// True for a request that goes straight to the inner service.
    fn bypass(&self, request: &Req) -> bool;
}

impl<Req, F: Fn(&Req) -> bool> Bypass<Req> for F {
    fn bypass(&self, request: &Req) -> bool {
        self(request)
    }
}

/// No bypass: every request is decided by the breaker.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBypass;

impl<Req> Bypass<Req> for NoBypass {
    fn bypass(&self, _request: &Req) -> bool {
        false
    }
}

/// Refusals are errors (a [`Refused`] in a [`BoxError`]): the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Errors;

/// Refusals are HTTP responses (503 or 413): see [`MemoryShedLayer::http`].
#[cfg(feature = "http")]
#[derive(Debug, Clone, Copy, Default)]
pub struct Http;

/// A tower layer that sheds requests under memory pressure: see the
/// [module docs](super).
pub struct MemoryShedLayer<E = NoEstimate, B = NoBypass, M = Errors> {
    breaker: Arc<MemoryBreaker>,
    estimate: E,
    bypass: B,
    retry_after: Duration,
    accounts: Option<Account>,
    stats: ShedStats,
    _refusals: PhantomData<fn() -> M>,
}

impl MemoryShedLayer {
    /// A layer over `breaker`: no estimator (admission is a check), no
    /// bypass, `Retry-After` of [`DEFAULT_RETRY_AFTER`], no request accounts,
    /// refusals as errors.
    pub fn new(breaker: Arc<MemoryBreaker>) -> Self {
        Self {
            breaker,
            estimate: NoEstimate,
            bypass: NoBypass,
            retry_after: DEFAULT_RETRY_AFTER,
            accounts: None,
            stats: ShedStats::default(),
            _refusals: PhantomData,
        }
    }
}

impl<E, B, M> MemoryShedLayer<E, B, M> {
    /// Reserves `estimate(&request)` bytes for each request until it ends
    /// (with [`http`](Self::http), its response body's end). With
    /// [`request_accounts`](Self::request_accounts) the reservation is tied
    /// to the request's account and settles as the account grows (see
    /// [`AccountReservation`](crate::AccountReservation)), on every poll of
    /// the response future and body, so the request's real bytes are not
    /// counted twice. Estimate high rather than low: the reservation is what
    /// keeps a burst of requests from passing the budget together.
    /// A closure needs its argument's type: `|req: &Request<Body>| ...`.
    pub fn estimate<E2>(self, estimate: E2) -> MemoryShedLayer<E2, B, M> {
        MemoryShedLayer {
            breaker: self.breaker,
            estimate,
            bypass: self.bypass,
            retry_after: self.retry_after,
            accounts: self.accounts,
            stats: self.stats,
            _refusals: PhantomData,
        }
    }

    /// Requests for which `bypass(&request)` is true are never shed, never
    /// estimated and run outside any request account: health checks,
    /// metrics scrapes, anything that must answer while the service sheds.
    pub fn bypass<B2>(self, bypass: B2) -> MemoryShedLayer<E, B2, M> {
        MemoryShedLayer {
            breaker: self.breaker,
            estimate: self.estimate,
            bypass,
            retry_after: self.retry_after,
            accounts: self.accounts,
            stats: self.stats,
            _refusals: PhantomData,
        }
    }

    /// The `Retry-After` of an overloaded refusal (sent in whole seconds,
    /// rounded up; default [`DEFAULT_RETRY_AFTER`]).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Runs each admitted request in its own account, a
    /// [child](Account::child) of `parent` named `"request"`: the inner
    /// service's `call` and every poll and the drop of its response future
    /// are charged to it, and so `parent` holds the memory of every request
    /// in flight. Inside, [`Account::current`] is the request's account.
    pub fn request_accounts(mut self, parent: Account) -> Self {
        self.accounts = Some(parent);
        self
    }

    /// Answers refusals as HTTP responses instead of errors: 503 (Service
    /// Unavailable) with `Retry-After`, or 413 (Content Too Large), each with
    /// an empty body (`Default` of the inner service's body type). The
    /// service then works on `http::Request`s, and its error is the inner
    /// service's.
    ///
    /// With axum, put it around the whole router rather than in
    /// `Router::layer`, which costs each request four allocations more (see
    /// the [module docs](super)): served by hyper, the requests are
    /// `Request<hyper::body::Incoming>`.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use axum::http::{Method, Request};
    /// use axum::{routing::get, Router};
    /// use heapguard_breaker::service::MemoryShedLayer;
    /// use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};
    /// use hyper::body::Incoming;
    /// use hyper_util::rt::TokioIo;
    /// use hyper_util::service::TowerToHyperService;
    /// use tower_layer::Layer;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let breaker = Arc::new(MemoryBreaker::new(BreakerConfig::new(Budget::Auto))?);
    /// let router = Router::new()
    ///     .route("/work", get(|| async { "done" }))
    ///     .route("/healthz", get(|| async { "ok" }));
    /// let layer = MemoryShedLayer::new(breaker)
    ///     .estimate(|_: &Request<Incoming>| 64 << 10)
    ///     // Only `GET /work` reserves: other paths (404) and methods (405)
    ///     // reach the router untouched.
    ///     .bypass(|request: &Request<Incoming>| {
    ///         !(request.method() == Method::GET && request.uri().path() == "/work")
    ///     })
    ///     .http();
    /// let service = layer.layer(router); // not `router.layer(layer)`
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    /// loop {
    ///     let (stream, _) = listener.accept().await?;
    ///     let connection = hyper::server::conn::http1::Builder::new()
    ///         .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service.clone()));
    ///     tokio::spawn(connection);
    /// }
    /// # }
    /// ```
    #[cfg(feature = "http")]
    pub fn http(self) -> MemoryShedLayer<E, B, Http> {
        MemoryShedLayer {
            breaker: self.breaker,
            estimate: self.estimate,
            bypass: self.bypass,
            retry_after: self.retry_after,
            accounts: self.accounts,
            stats: self.stats,
            _refusals: PhantomData,
        }
    }

    /// Counts its decisions into `stats` (shared with whoever reads them,
    /// or with another layer) instead of counters of its own.
    pub fn with_stats(mut self, stats: ShedStats) -> Self {
        self.stats = stats;
        self
    }

    /// The counts of what this layer and the services it built decided.
    pub fn stats(&self) -> ShedStats {
        self.stats.clone()
    }

    /// The breaker it asks.
    pub fn breaker(&self) -> &Arc<MemoryBreaker> {
        &self.breaker
    }
}

impl<E: Clone, B: Clone, M> Clone for MemoryShedLayer<E, B, M> {
    fn clone(&self) -> Self {
        Self {
            breaker: self.breaker.clone(),
            estimate: self.estimate.clone(),
            bypass: self.bypass.clone(),
            retry_after: self.retry_after,
            accounts: self.accounts.clone(),
            stats: self.stats.clone(),
            _refusals: PhantomData,
        }
    }
}

impl<E, B, M> fmt::Debug for MemoryShedLayer<E, B, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryShedLayer")
            .field("breaker", &self.breaker.name())
            .field("retry_after", &self.retry_after)
            .field(
                "request_accounts",
                &self.accounts.as_ref().map(Account::name),
            )
            .finish_non_exhaustive()
    }
}

impl<S, E: Clone, B: Clone, M> Layer<S> for MemoryShedLayer<E, B, M> {
    type Service = MemoryShed<S, E, B, M>;

    fn layer(&self, inner: S) -> Self::Service {
        MemoryShed {
            inner,
            policy: Arc::new(Policy {
                breaker: self.breaker.clone(),
                estimate: self.estimate.clone(),
                bypass: self.bypass.clone(),
                retry_after: self.retry_after,
                accounts: self.accounts.clone(),
                stats: self.stats.clone(),
            }),
            _refusals: PhantomData,
        }
    }
}

/// The service [`MemoryShedLayer`] makes. Cloning it is one `Arc` clone
/// plus the inner service's clone.
pub struct MemoryShed<S, E = NoEstimate, B = NoBypass, M = Errors> {
    pub(crate) inner: S,
    pub(crate) policy: Arc<Policy<E, B>>,
    _refusals: PhantomData<fn() -> M>,
}

impl<S: Clone, E, B, M> Clone for MemoryShed<S, E, B, M> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            policy: self.policy.clone(),
            _refusals: PhantomData,
        }
    }
}

impl<S: fmt::Debug, E, B, M> fmt::Debug for MemoryShed<S, E, B, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryShed")
            .field("inner", &self.inner)
            .field("breaker", &self.policy.breaker.name())
            .finish_non_exhaustive()
    }
}

/// What every clone of one service shares.
pub(crate) struct Policy<E, B> {
    pub(super) breaker: Arc<MemoryBreaker>,
    estimate: E,
    bypass: B,
    pub(super) retry_after: Duration,
    accounts: Option<Account>,
    pub(super) stats: ShedStats,
}

impl<E, B> Policy<E, B> {
    /// Decides on `request`: through (bypassed or admitted) or refused.
    pub(crate) fn decide<Req>(&self, request: &Req) -> Result<Admission, Refused>
    where
        E: Estimate<Req>,
        B: Bypass<Req>,
    {
        if self.bypass.bypass(request) {
            self.stats.count_bypassed();
            return Ok(Admission {
                account: None,
                hold: Hold::default(),
            });
        }
        let estimate = self.estimate.estimate(request);
        let breaker = &*self.breaker;
        // Observing only, the breaker grants everything; so does the layer.
        if estimate >= breaker.trip_bytes() && breaker.enforcing() {
            self.stats.count_too_large();
            return Err(Refused::too_large(estimate, breaker));
        }
        let account = self.accounts.as_ref().map(|parent| parent.child("request"));
        let reservation = match (estimate, &account) {
            (0, _) => breaker.check().map(|_| None),
            (_, Some(account)) => breaker
                .try_reserve_in(account, estimate)
                .map(|reservation| Some(Reserved::InAccount(reservation))),
            (_, None) => breaker
                .try_reserve(estimate)
                .map(|reservation| Some(Reserved::Plain(reservation))),
        };
        match reservation {
            Ok(reservation) => {
                let in_flight = self.stats.count_admitted(estimate);
                Ok(Admission {
                    account,
                    hold: Hold {
                        reservation,
                        _in_flight: Some(in_flight),
                    },
                })
            }
            Err(tripped) => {
                self.stats.count_shed();
                Err(Refused::overloaded(estimate, self.retry_after, tripped))
            }
        }
    }
}

impl<S, E, B, Req> Service<Req> for MemoryShed<S, E, B, Errors>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    E: Estimate<Req>,
    B: Bypass<Req>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    /// The inner service's readiness; never waits on memory.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        match self.policy.decide(&request) {
            Ok(admission) => {
                ResponseFuture::admitted(Admitted::call(&mut self.inner, request, admission))
            }
            Err(refused) => ResponseFuture::refused(refused),
        }
    }
}
