//! The HTTP/1.1 server under `serve`: hyper's connections with the limits a
//! server facing careless or hostile clients needs, and a drain that ends.
//!
//! - **Head timeout**: a connection that has not sent a whole request head
//!   within [`Limits::header_timeout`] of being opened, or of its previous
//!   response, is closed (hyper's `header_read_timeout`). This closes
//!   slowloris clients, half-sent request lines and headers, and idle
//!   keep-alive connections alike.
//! - **Body timeout**: a request body that stalls for
//!   [`Limits::body_timeout`] between frames fails the request (tower-http's
//!   `RequestBodyTimeoutLayer`, which the caller puts around its router).
//! - **Connection limit**: at [`Limits::max_connections`], a new connection
//!   is admitted by closing the connection that has been idle longest (no
//!   request in flight), a lingering one only when no other is idle (cut
//!   short, a linger resets its connection). A connection with a request
//!   on its way (a head that began arriving less than [`HEAD_GRACE`] ago,
//!   or a connection opened that recently and not yet read) is closed only
//!   when no other is idle and more than half the connections have one: a
//!   request is not cut off unanswered, and a flood of connections that
//!   each send a byte cannot hold every slot. When no connection can be
//!   closed, the new one is answered `503 Service Unavailable` with
//!   `Retry-After: 1` once hyper has read its request, and closed after a
//!   short linger, so the answer is not lost to a reset (all within 1 s;
//!   at most [`REFUSING_MAX`] such answers at once, closed unanswered
//!   beyond); each refusal is counted in [`connections_refused`] and
//!   logged (at most once a second). A 503 says the request was not processed, so
//!   a client may retry it. So thousands of idle or slow connections cannot
//!   keep `/healthz` from answering.
//! - **Lingering close**: a connection that closes after a request whose
//!   body may be unread (a refusal answered before the upload ended) closes
//!   its side first, then reads and discards what the client still sends,
//!   until the client closes too, [`LINGER_QUIET`] passes without data, or
//!   [`LINGER_MAX`] in all. Closed at once, the kernel would answer the
//!   unread bytes with a reset: the client's upload fails with a broken
//!   pipe, and the reset can destroy the response before it is read (RFC
//!   9112, section 9.6; nginx's `lingering_close`).
//! - **Drain**: on shutdown the listener closes, idle connections close,
//!   requests in flight get [`Limits::drain_timeout`] to finish; past it
//!   their connections are dropped, which cancels their jobs at the next
//!   chunk (a dropped request cancels its job), and [`serve`] returns what
//!   it cut short.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{
    AtomicBool, AtomicU64, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::http::header::{HeaderValue, CONNECTION, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{Request, Response, StatusCode};
use heapguard_alloc::Account;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Sleep;
use tower::util::Oneshot;
use tower::{Service, ServiceExt};

/// The longest a closing connection reads on after a request whose body may
/// be unread (see the module docs).
pub const LINGER_MAX: Duration = Duration::from_secs(5);

/// How long a lingering connection waits for more of the client's data
/// before it closes.
pub const LINGER_QUIET: Duration = Duration::from_secs(1);

/// How long a connection's request head may be on its way before the
/// connection counts as idle at the connection limit: a client sends a
/// head in one packet or a few, a slowloris for seconds.
pub const HEAD_GRACE: Duration = Duration::from_secs(1);

/// No head on its way (see [`ConnectionState::head_started_ms`]).
const NO_HEAD: u64 = u64::MAX;

/// Connections refused at the limit that may be answered 503 at once; a
/// refused connection beyond them is closed without an answer, so a flood
/// cannot hold more sockets than the limit and these.
pub const REFUSING_MAX: usize = 64;

/// Connections refused at the connection limit since the process started,
/// over every [`serve`] in it (exported as
/// `heapguard_serve_connections_refused_total`).
static CONNECTIONS_REFUSED: AtomicU64 = AtomicU64::new(0);

/// Connections refused at [`Limits::max_connections`] (every connection
/// busy) since the process started, over every [`serve`] in it.
pub fn connections_refused() -> u64 {
    CONNECTIONS_REFUSED.load(Relaxed)
}

/// The limits of [`serve`]; see the module docs for what each does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time a connection has to send a whole request head.
    pub header_timeout: Duration,
    /// Time a request body may stall between frames.
    pub body_timeout: Duration,
    /// Connections held at once.
    pub max_connections: usize,
    /// Time requests in flight get to finish after shutdown begins.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    /// 10 s for a head, 30 s of a stalled body, 1,024 connections, and a
    /// 20 s drain: inside the 30 s an orchestrator usually waits between
    /// SIGTERM and SIGKILL.
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            drain_timeout: Duration::from_secs(20),
        }
    }
}

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// Requests still in flight at the drain deadline, cancelled.
    pub requests_cancelled: usize,
    /// Connections still open at the drain deadline, closed.
    pub connections_closed: usize,
    /// How long the drain took.
    pub elapsed: Duration,
}

/// Serves `service` (an axum `Router`, or the router with layers around
/// it, such as [`service`](super::service)) on `listener` until `shutdown`
/// completes, then drains within `limits.drain_timeout`. With `accounts`,
/// each connection's task runs in a child account of it (named
/// `connection`): what hyper allocates for a connection (its read buffers,
/// a request's body as it arrives) is charged there, beside the requests'
/// own accounts under the same parent.
pub async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    limits: Limits,
    accounts: Option<Account>,
    shutdown: impl Future<Output = ()>,
) -> Drained
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connections = Arc::new(Connections::default());
    let refusing = Arc::new(tokio::sync::Semaphore::new(REFUSING_MAX));
    let mut last_refusal_logged: Option<Instant> = None;
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                // Out of file descriptors, or a connection reset before it
                // was accepted: the listener itself is fine; pause so a
                // full descriptor table does not spin this loop.
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if connections.len() >= limits.max_connections
            && !connections.evict_oldest_idle(limits.max_connections)
        {
            refuse(
                &http,
                stream,
                &refusing,
                &mut last_refusal_logged,
                limits.max_connections,
            );
            continue;
        }
        let state = connections.open();
        let tracked = Tracked {
            service: service.clone(),
            state: Arc::clone(&state),
        };
        let stream = Lingering::new(stream, Arc::clone(&state));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), tracked));
        let connections = Arc::clone(&connections);
        let task = async move {
            tokio::select! {
                // A client that goes away or times out ends here too.
                _ = connection => {}
                () = state.evict.notified() => {}
            }
            connections.close(state.id);
        };
        match &accounts {
            Some(parent) => tokio::spawn(parent.child("connection").scope(task)),
            None => tokio::spawn(task),
        };
    }
    drop(listener);
    let started = Instant::now();
    tokio::select! {
        () = graceful.shutdown() => Drained {
            requests_cancelled: 0,
            connections_closed: 0,
            elapsed: started.elapsed(),
        },
        () = tokio::time::sleep(limits.drain_timeout) => {
            let (connections_closed, requests_cancelled) = connections.evict_all();
            Drained { requests_cancelled, connections_closed, elapsed: started.elapsed() }
        }
    }
}

/// Answers a connection refused at the limit `503` and closes it (see the
/// module docs), counts it, and logs at most once a second.
fn refuse(
    http: &hyper::server::conn::http1::Builder,
    stream: TcpStream,
    refusing: &Arc<tokio::sync::Semaphore>,
    last_logged: &mut Option<Instant>,
    max_connections: usize,
) {
    let refused = CONNECTIONS_REFUSED.fetch_add(1, Relaxed) + 1;
    if last_logged.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
        *last_logged = Some(Instant::now());
        tracing::warn!(
            max_connections,
            connections_refused = refused,
            "connection limit reached with every connection busy: refusing a new one \
             (503, or closed past the refusals answered at once)"
        );
    }
    let Ok(permit) = Arc::clone(refusing).try_acquire_owned() else {
        return; // dropped: closed without an answer
    };
    // hyper reads the request (a response before it reads as unsolicited
    // to some clients) and answers; the stream lingers at the close, as
    // after a refused upload, so the answer is not lost to a reset.
    let connection = http.serve_connection(
        TokioIo::new(Lingering::refused(stream)),
        hyper::service::service_fn(|_: Request<Incoming>| async { Ok::<_, Infallible>(refusal()) }),
    );
    tokio::spawn(async move {
        let _permit = permit;
        let _ = tokio::time::timeout(REFUSAL_TIME, connection).await;
    });
}

/// How long a refused connection is held at most: to read its request,
/// answer 503 and linger. Short, so that [`REFUSING_MAX`] answers cannot be
/// held by a few slow clients.
const REFUSAL_TIME: Duration = Duration::from_secs(1);

/// The answer to a connection refused at the limit.
fn refusal() -> Response<axum::body::Body> {
    let mut response = Response::new(axum::body::Body::from(
        "{\"error\":\"connection limit reached: every connection is busy\"}\n",
    ));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// One connection's state, shared by its task, its requests and the
/// registry.
#[derive(Debug)]
struct ConnectionState {
    id: u64,
    /// Requests whose response has not been written whole (or dropped).
    in_flight: AtomicUsize,
    /// The registry's epoch, for [`ConnectionState::touch`].
    epoch: Instant,
    /// When a request last started or ended, in ms since `epoch`.
    last_active_ms: AtomicU64,
    /// Chosen to be closed; not chosen twice.
    evicted: AtomicBool,
    evict: Notify,
    /// A request came with a body, which the service may have left unread:
    /// the connection lingers when it closes.
    body_seen: AtomicBool,
    /// Closing in stages: evicted only when no other idle connection is
    /// left, since cutting a linger short resets the connection.
    lingering: AtomicBool,
    /// Its task has read from it (or tried): until then a request may sit
    /// unread in the socket.
    polled: AtomicBool,
    /// When the bytes of a request head began to arrive with no request in
    /// flight, in ms since `epoch`; [`NO_HEAD`] once the request is
    /// dispatched (or before any).
    head_started_ms: AtomicU64,
}

impl ConnectionState {
    fn new(id: u64, epoch: Instant) -> Self {
        Self {
            id,
            epoch,
            in_flight: AtomicUsize::new(0),
            last_active_ms: AtomicU64::new(millis_since(epoch)),
            evicted: AtomicBool::new(false),
            evict: Notify::new(),
            body_seen: AtomicBool::new(false),
            lingering: AtomicBool::new(false),
            polled: AtomicBool::new(false),
            head_started_ms: AtomicU64::new(NO_HEAD),
        }
    }

    /// Notes activity now: a request started or ended.
    fn touch(&self) {
        self.last_active_ms.store(millis_since(self.epoch), Relaxed);
    }

    /// Notes a read: `bytes` arrived (0: none yet, or the end).
    fn note_read(&self, bytes: usize) {
        if !self.polled.load(Relaxed) {
            self.polled.store(true, Relaxed);
        }
        if bytes > 0
            && self.in_flight.load(Relaxed) == 0
            && self.head_started_ms.load(Relaxed) == NO_HEAD
        {
            self.head_started_ms
                .store(millis_since(self.epoch), Release);
        }
    }

    /// Whether the connection limit may close it: no request in flight.
    fn idle(&self) -> bool {
        // Acquire: pairs with `InFlight::begin`'s Release, so a dispatched
        // request's count shows with its head's end.
        self.in_flight.load(Acquire) == 0 && !self.evicted.load(Relaxed)
    }

    /// Whether a request may be on its way `now_ms`: a head began arriving
    /// less than [`HEAD_GRACE`] ago, or the connection, opened less than
    /// that ago, has not been read yet. Closed only when few are.
    fn arriving(&self, now_ms: u64) -> bool {
        let grace = u64::try_from(HEAD_GRACE.as_millis()).unwrap_or(u64::MAX);
        let started = match self.head_started_ms.load(Acquire) {
            NO_HEAD if self.polled.load(Relaxed) => return false,
            // Not read yet: its opening is when its head may have begun.
            NO_HEAD => self.last_active_ms.load(Relaxed),
            started => started,
        };
        now_ms.saturating_sub(started) < grace
    }
}

fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The open connections.
#[derive(Debug)]
struct Connections {
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<ConnectionState>>>,
}

impl Default for Connections {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        }
    }
}

impl Connections {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<ConnectionState>>> {
        // Nothing under this lock can panic half-way; a poisoned map is whole.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now_ms(&self) -> u64 {
        millis_since(self.epoch)
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn open(&self) -> Arc<ConnectionState> {
        let state = Arc::new(ConnectionState::new(
            self.next_id.fetch_add(1, Relaxed),
            self.epoch,
        ));
        self.lock().insert(state.id, Arc::clone(&state));
        state
    }

    fn close(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Closes the connection idle longest, a lingering one only when no
    /// other is idle, one with a request on its way only when no other is
    /// idle and more than half the `limit` have one (so a flood of
    /// connections that each send a byte cannot hold every slot); false
    /// when none may be closed.
    fn evict_oldest_idle(&self, limit: usize) -> bool {
        let now_ms = self.now_ms();
        let open = self.lock();
        let arriving = open.values().filter(|c| c.arriving(now_ms)).count();
        let oldest = open
            .values()
            .filter(|c| c.idle())
            .map(|c| (c.arriving(now_ms), c))
            .filter(|(arriving_here, _)| !arriving_here || arriving > limit / 2)
            .min_by_key(|(arriving_here, c)| {
                (
                    *arriving_here,
                    c.lingering.load(Relaxed),
                    c.last_active_ms.load(Relaxed),
                )
            });
        match oldest {
            Some((_, connection)) => {
                connection.evicted.store(true, Relaxed);
                connection.evict.notify_one();
                true
            }
            None => false,
        }
    }

    /// Closes every connection; returns how many, and the requests they had
    /// in flight.
    fn evict_all(&self) -> (usize, usize) {
        let open = self.lock();
        let mut requests = 0;
        for connection in open.values() {
            requests += connection.in_flight.load(Relaxed);
            connection.evicted.store(true, Relaxed);
            connection.evict.notify_one();
        }
        (open.len(), requests)
    }
}

/// The service, counting each request in flight on its connection until
/// its response body has been written whole or dropped.
#[derive(Clone)]
struct Tracked<S> {
    service: S,
    state: Arc<ConnectionState>,
}

impl<S, B> hyper::service::Service<Request<Incoming>> for Tracked<S>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible> + Clone,
{
    type Response = Response<TrackedBody<B>>;
    type Error = Infallible;
    type Future = TrackedFuture<S, B>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        if !request.body().is_end_stream() {
            self.state.body_seen.store(true, Relaxed);
        }
        // A tower service is called through `&mut`: each request its clone
        // (hyper-util's `TowerToHyperService` does the same).
        TrackedFuture {
            future: self.service.clone().oneshot(request),
            guard: Some(InFlight::begin(Arc::clone(&self.state))),
        }
    }
}

pin_project_lite::pin_project! {
    /// The service's response future, holding its request's [`InFlight`]
    /// until it hands it to the response body.
    struct TrackedFuture<S, B>
    where
        S: Service<Request<Incoming>, Response = Response<B>>,
    {
        #[pin]
        future: Oneshot<S, Request<Incoming>>,
        guard: Option<InFlight>,
    }
}

impl<S, B> Future for TrackedFuture<S, B>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>,
{
    type Output = Result<Response<TrackedBody<B>>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = std::task::ready!(this.future.poll(cx))?;
        let guard = this.guard.take();
        Poll::Ready(Ok(response.map(|body| TrackedBody {
            body,
            _guard: guard,
        })))
    }
}

/// One request in flight on a connection.
struct InFlight(Arc<ConnectionState>);

impl InFlight {
    fn begin(state: Arc<ConnectionState>) -> Self {
        state.head_started_ms.store(NO_HEAD, Relaxed);
        // Release: the limit that sees no head on its way sees this request.
        state.in_flight.fetch_add(1, Release);
        state.touch();
        Self(state)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

pin_project_lite::pin_project! {
    /// A response body that ends its request's [`InFlight`] when dropped.
    struct TrackedBody<B> {
        #[pin]
        body: B,
        _guard: Option<InFlight>,
    }
}

impl<B: hyper::body::Body> hyper::body::Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection's socket, closed in stages when a request's body may be
/// unread: the write side first, then the client's data read and discarded
/// until it closes, [`LINGER_QUIET`] passes without data, or [`LINGER_MAX`]
/// in all (see the module docs). hyper closes through `poll_shutdown`.
struct Lingering {
    stream: TcpStream,
    state: Arc<ConnectionState>,
    write_closed: bool,
    linger: Option<Linger>,
}

/// A linger's two deadlines.
struct Linger {
    /// The whole linger's, [`LINGER_MAX`] from its start.
    total: Pin<Box<Sleep>>,
    /// The wait for the client's next data, [`LINGER_QUIET`].
    quiet: Pin<Box<Sleep>>,
}

impl Lingering {
    /// A connection refused at the limit: in no registry, and lingering at
    /// its close (its request may be unread).
    fn refused(stream: TcpStream) -> Self {
        let state = ConnectionState::new(u64::MAX, Instant::now());
        state.body_seen.store(true, Relaxed);
        Self::new(stream, Arc::new(state))
    }

    fn new(stream: TcpStream, state: Arc<ConnectionState>) -> Self {
        Self {
            stream,
            state,
            write_closed: false,
            linger: None,
        }
    }

    /// Reads and discards the client's data until it closes or a deadline
    /// passes; errors end it as the close does.
    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Linger { total, quiet } = self.linger.get_or_insert_with(|| Linger {
            total: Box::pin(tokio::time::sleep(LINGER_MAX)),
            quiet: Box::pin(tokio::time::sleep(LINGER_QUIET)),
        });
        let mut scratch = [0u8; 8192];
        loop {
            if total.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.stream).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(()),
                Poll::Ready(Ok(())) => {
                    quiet
                        .as_mut()
                        .reset(tokio::time::Instant::now() + LINGER_QUIET);
                }
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Pending => {
                    return match quiet.as_mut().poll(cx) {
                        Poll::Ready(()) => Poll::Ready(()),
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
    }
}

impl AsyncRead for Lingering {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        self.state.note_read(buf.filled().len() - before);
        read
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if !this.write_closed {
            std::task::ready!(Pin::new(&mut this.stream).poll_shutdown(cx))?;
            this.write_closed = true;
        }
        if this.state.body_seen.load(Relaxed) {
            this.state.lingering.store(true, Relaxed);
            std::task::ready!(this.poll_linger(cx));
        }
        Poll::Ready(Ok(()))
    }
}
