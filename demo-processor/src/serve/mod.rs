//! `demo-processor serve`: the suggestion job behind HTTP, one user per
//! request, under a memory breaker that sheds what does not fit.
//!
//! - `POST /suggestions?contacts=N&seed=S[&user=U]` (user 0 by default) runs one user's job and
//!   answers JSON: the user's suggestions and the memory the request used.
//!   The job runs on tokio's blocking pool (`spawn_blocking`), inside the
//!   request's memory account, and stops at its next chunk when the request
//!   is dropped (the client went away).
//! - Every `POST /suggestions` reserves an estimate of its memory in the
//!   breaker ([`estimate`]); one that does not fit now is answered 503 with
//!   `Retry-After`, one that could never be admitted (its estimate at or
//!   past the breaker's trip line) 413. Any other request (another method
//!   on `/suggestions`: 405; an unknown path: 404) runs no job and passes
//!   the breaker untouched.
//! - `GET /metrics`: Prometheus text, every value read at scrape time
//!   ([`metrics`]). `GET /healthz`: 200. Neither is ever shed.
//! - Ctrl-C or SIGTERM: stop accepting, close idle connections, give the
//!   requests in flight `--drain-timeout` to finish, cancel what is left,
//!   exit 0 ([`server`]).
//! - Slow and idle clients are closed: a request head must arrive within
//!   `--header-timeout`, a body may not stall for `--body-timeout`, and at
//!   `--max-connections` the connection idle longest makes room (one
//!   lingering after a refused upload only when no other is idle); with
//!   every connection busy, a new one is answered 503 with `Retry-After`.

pub mod admin;
mod app;
pub mod estimate;
mod job;
pub mod listen;
pub mod metrics;
pub mod server;

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use heapguard_breaker::Budget;
use tower::Layer;

use crate::budget_arg::parse_budget;
use crate::config::Mode;
use crate::exit::{CliError, EXIT_COMPLETE};
use crate::messages::breaker_error;

pub use app::{routes, service, App, NotShed, Service, SuggestionsEstimate};
pub use job::{RequestMemory, SuggestionsResponse};
pub use listen::ListenAddr;

/// `serve`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on: HOST:PORT, HOST a name (`localhost:8080`) or
    /// an IP address (port 0: any free port; the bound address is printed
    /// as `listening on http://ADDR`).
    #[arg(long, value_name = "ADDR", value_parser = ListenAddr::parse)]
    pub listen: ListenAddr,
    /// Memory budget of the breaker ("256MiB", "2GB", "auto", "50%").
    #[arg(long, value_name = "SIZE", default_value = "auto", value_parser = parse_budget)]
    pub budget: Budget,
    /// `naive` or `streaming`.
    #[arg(long, value_enum, default_value_t = Mode::Streaming)]
    pub mode: Mode,
    /// Seconds a connection has to send a whole request head, after it
    /// opens or after its previous response; also how long an idle
    /// keep-alive connection is kept.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    pub header_timeout: Duration,
    /// Seconds a request body may stall between two reads.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
    pub body_timeout: Duration,
    /// Connections held at once; at the limit the connection idle longest
    /// is closed to admit a new one (one lingering after a refused upload
    /// only when no other is idle, one whose request head is still
    /// arriving only when more than half are); with every connection busy,
    /// a new one is answered 503 with `Retry-After: 1` and closed.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Seconds the requests in flight get to finish after SIGTERM or
    /// Ctrl-C; what is still running then is cancelled and the process
    /// exits 0.
    #[arg(long, value_name = "SECS", default_value = "20", value_parser = parse_seconds)]
    pub drain_timeout: Duration,
    /// A second listener for operators: `/metrics`, `/healthz` and
    /// `/debug/pprof/heap` (a gzip pprof of the live heap, for `go tool
    /// pprof`, Parca or Pyroscope), at HOST:PORT as `--listen` takes it.
    /// Without it there is no profile route.
    #[arg(long, value_name = "ADDR", value_parser = ListenAddr::parse)]
    pub admin_listen: Option<ListenAddr>,
}

impl ServeArgs {
    /// The server's limits, from the options.
    pub fn limits(&self) -> server::Limits {
        server::Limits {
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            max_connections: self.max_connections as usize,
            drain_timeout: self.drain_timeout,
        }
    }
}

/// How long the jobs of requests cancelled at the drain deadline get to
/// reach their next chunk and stop, before the process exits regardless.
const JOB_STOP_GRACE: Duration = Duration::from_secs(2);

/// Runs the service until Ctrl-C or SIGTERM; exit status 0 once drained.
pub fn serve(args: &ServeArgs) -> Result<u8, CliError> {
    // Exit status 2 for each, as before; the wording is the command line's.
    let app = App::new(args.budget.clone(), args.mode).map_err(|error| {
        CliError::BadInput(match &error {
            heapguard_breaker::ConfigError::Budget(_) => {
                format!("--budget {}: {}", args.budget, breaker_error(&error))
            }
            other => breaker_error(other),
        })
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::Internal(format!("cannot start the tokio runtime: {error}")))?;
    let served = runtime.block_on(run(
        app,
        &args.listen,
        args.admin_listen.as_ref(),
        args.limits(),
    ));
    // Jobs run on tokio's blocking pool, which a runtime's drop waits for
    // without end; a cancelled job stops at its next chunk, well inside this.
    runtime.shutdown_timeout(JOB_STOP_GRACE);
    served?;
    Ok(EXIT_COMPLETE)
}

async fn run(
    app: App,
    listen: &ListenAddr,
    admin_listen: Option<&ListenAddr>,
    limits: server::Limits,
) -> Result<(), CliError> {
    let (listener, bound) = listen::bind(listen).await?;
    let admin = match admin_listen {
        Some(addr) => Some(listen::bind(addr).await?),
        None => None,
    };
    tracing::info!(
        %bound,
        budget_bytes = app.breaker().limit(),
        mode = %app.mode(),
        "serving suggestions"
    );
    print_listening("", bound)?;
    // One signal stops both listeners.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let admin_task = match admin {
        Some((admin_listener, admin_bound)) => {
            admin::start_sampling();
            print_listening("admin ", admin_bound)?;
            let mut stopped = stopped.clone();
            let admin_limits = server::Limits {
                max_connections: ADMIN_MAX_CONNECTIONS,
                ..limits
            };
            Some(tokio::spawn(server::serve(
                admin_listener,
                admin::admin_router(app.clone()),
                admin_limits,
                None,
                async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                },
            )))
        }
        None => None,
    };
    let shutdown = async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    let accounts = Some(app.requests_account().clone());
    // Both layers around the whole router (not `Router::layer`, which would
    // box every route a second time): the body timeout outermost, so it
    // times the body the handler reads.
    let service =
        tower_http::timeout::RequestBodyTimeoutLayer::new(limits.body_timeout).layer(service(app));
    let drained = server::serve(listener, service, limits, accounts, shutdown).await;
    if let Some(task) = admin_task {
        let _ = task.await;
    }
    if drained.requests_cancelled > 0 || drained.connections_closed > 0 {
        tracing::warn!(
            requests_cancelled = drained.requests_cancelled,
            connections_closed = drained.connections_closed,
            drain_timeout_secs = limits.drain_timeout.as_secs_f64(),
            "drain deadline passed: cancelled what was still running; exiting"
        );
    } else {
        tracing::info!(
            elapsed_ms = drained.elapsed.as_millis() as u64,
            "drained; exiting"
        );
    }
    Ok(())
}

/// Connections the admin listener holds at once.
const ADMIN_MAX_CONNECTIONS: usize = 64;

/// The lines scripts and tests wait for, on stdout: `listening on
/// http://ADDR`, and `admin listening on http://ADDR` with `--admin-listen`.
fn print_listening(prefix: &str, bound: SocketAddr) -> Result<(), CliError> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{prefix}listening on http://{bound}")
        .and_then(|()| stdout.flush())
        .map_err(|error| CliError::Output(format!("cannot write to stdout: {error}")))
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: draining"),
        () = terminate => tracing::info!("SIGTERM: draining"),
    }
}

/// Seconds, whole or not, more than 0 and at most a day.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!("{text} s: must be more than 0 and at most 86400"));
    }
    Ok(Duration::from_secs_f64(seconds))
}
