//! The server side of the service benchmark, shared by the `service_*`
//! binaries: each installs its own `#[global_allocator]` and calls [`main`].
//!
//! Usage: `service_<allocator> [--parts LIST] [--workers N]`. The server
//! binds `127.0.0.1:0`, prints `port <N>` on a line of its own on stdout,
//! and serves HTTP/1.1 (keep-alive, hyper's connections, each connection's
//! task in a child of the requests' account when accounts are on, the
//! breaker's layer around the whole router when it is on) on a
//! tokio runtime of `N` worker threads (default 2; 1 runs the current-thread
//! runtime) until `POST /shutdown`.

use std::convert::Infallible;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Request, Response};
use clap::{CommandFactory, FromArgMatches, Parser};
use heapguard_alloc::Account;
use hyper::body::{Body, Incoming};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower_layer::Layer;
use tower_service::Service;

use super::app::{Parts, PartsError, Stack};

/// What a server was asked to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerArgs {
    /// The stack's parts (only `service_stack` accepts any).
    pub parts: Parts,
    /// Tokio worker threads; 1 runs the current-thread runtime.
    pub workers: usize,
}

/// A server's command line that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerArgsError {
    /// `--parts` named an unknown part.
    #[error(transparent)]
    Parts(#[from] PartsError),
    /// `--parts` given to a server without the counting allocator.
    #[error("{0} runs no heapguard parts (use service_stack for --parts)")]
    NoParts(String),
    /// An option that does not exist, lacks its value or is out of range
    /// (clap's message).
    #[error("{0}")]
    Usage(String),
}

/// The options every server takes.
#[derive(Debug, Parser)]
#[command(no_binary_name = true, disable_help_flag = true)]
struct ServerCli {
    /// The stack's parts, `+`-separated (only `service_stack` takes any).
    #[arg(long)]
    parts: Option<String>,
    /// Tokio worker threads; 1 runs the current-thread runtime.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    workers: u16,
}

/// Parses `[--parts LIST] [--workers N]`; `parts` is what a server runs
/// when `--parts` is not given, and `None` for a server that accepts none.
///
/// ```
/// use heapguard_benches::service::server::parse_args;
/// use heapguard_benches::service::Parts;
/// let args: Vec<String> = ["--parts", "layer", "--workers", "1"].map(String::from).to_vec();
/// let parsed = parse_args("service_stack", Some(Parts::ALL), &args)?;
/// assert!(parsed.parts.layer && !parsed.parts.monitor);
/// assert_eq!(parsed.workers, 1);
/// assert!(parse_args("service_jemalloc", None, &args).is_err());
/// # Ok::<(), heapguard_benches::service::server::ServerArgsError>(())
/// ```
pub fn parse_args(
    name: &str,
    parts: Option<Parts>,
    args: &[String],
) -> Result<ServerArgs, ServerArgsError> {
    let usage = |e: clap::Error| ServerArgsError::Usage(e.to_string());
    let matches = ServerCli::command()
        .bin_name(name.to_owned())
        .try_get_matches_from(args)
        .map_err(usage)?;
    let cli = ServerCli::from_arg_matches(&matches).map_err(usage)?;
    let mut parsed = ServerArgs {
        parts: parts.unwrap_or_default(),
        workers: usize::from(cli.workers),
    };
    if let Some(list) = cli.parts {
        let asked = Parts::parse(&list)?;
        if parts.is_none() && asked != Parts::default() {
            return Err(ServerArgsError::NoParts(name.to_owned()));
        }
        parsed.parts = asked;
    }
    Ok(parsed)
}

/// The server's `main`: `name` is the binary's name (for messages),
/// `parts` what it runs by default (`None`: a server without the counting
/// allocator, which accepts no parts).
pub fn main(name: &str, parts: Option<Parts>) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match parse_args(name, parts, &args) {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("{name}: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = if parsed.workers == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(parsed.workers)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{name}: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(serve(parsed.parts));
    // Connections still open (a client that did not close) end with the
    // runtime; none of them may hold the exit up.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{name}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Binds, prints the port, serves until `POST /shutdown`.
async fn serve(parts: Parts) -> Result<(), Box<dyn std::error::Error>> {
    let stack = Stack::start(parts)?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "port {port}")?;
        stdout.flush()?;
    }
    let shutdown = Arc::new(Notify::new());
    let routes = stack.routes(Arc::clone(&shutdown));
    let accounts = stack.connections_account();
    // The layer goes around the whole router, not on its routes.
    match stack.shed_layer() {
        Some(layer) => accept(listener, layer.layer(routes), &shutdown, accounts).await?,
        None => accept(listener, routes, &shutdown, accounts).await?,
    }
    Ok(())
}

/// Serves `service` on each connection `listener` accepts until `shutdown`
/// is notified; with `accounts`, each connection's task runs in a child of
/// it.
async fn accept<S, B>(
    listener: TcpListener,
    service: S,
    shutdown: &Notify,
    accounts: Option<&Account>,
) -> std::io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let http = hyper::server::conn::http1::Builder::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                // A connection reset before it was accepted: go on.
                Err(_) => continue,
            },
            () = shutdown.notified() => break,
        };
        // Each answer is one small write: no need to wait for more.
        stream.set_nodelay(true)?;
        let service = TowerToHyperService::new(service.clone());
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let task = async move {
            // A client that goes away ends its connection: not an error here.
            let _ = connection.await;
        };
        match accounts {
            Some(parent) => tokio::spawn(parent.child("connection").scope(task)),
            None => tokio::spawn(task),
        };
    }
    Ok(())
}
