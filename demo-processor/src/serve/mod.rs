//! `demo-processor serve`: the suggestion job behind HTTP, one user per
//! request, under a memory breaker that sheds what does not fit.
//!
//! - `POST /suggestions?contacts=N&seed=S[&user=U]` (user 0 by default) runs one user's job and
//!   answers JSON: the user's suggestions and the memory the request used.
//!   The job runs on tokio's blocking pool (`spawn_blocking`), inside the
//!   request's memory account, and stops at its next chunk when the request
//!   is dropped (the client went away).
//! - Every request reserves an estimate of its memory in the breaker
//!   ([`estimate`]); one that does not fit now is answered 503 with
//!   `Retry-After`, one that could never fit 413.
//! - `GET /metrics`: Prometheus text, every value read at scrape time
//!   ([`metrics`]). `GET /healthz`: 200. Neither is ever shed.
//! - Ctrl-C or SIGTERM: stop accepting, finish the requests in flight, exit 0.

mod app;
pub mod estimate;
mod job;
pub mod metrics;

use std::net::SocketAddr;

use clap::Args;
use heapguard_breaker::Budget;

use crate::cli::{CliError, EXIT_COMPLETE};
use crate::config::Mode;

pub use app::{router, App};
pub use job::{RequestMemory, SuggestionsResponse};

/// `serve`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port; the bound address is
    /// printed as `listening on http://ADDR`).
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Memory budget of the breaker ("256MiB", "2GB", "auto", "50%").
    #[arg(long, value_name = "SIZE", default_value = "auto", value_parser = parse_budget)]
    pub budget: Budget,
    /// `naive` or `streaming`.
    #[arg(long, value_enum, default_value_t = Mode::Streaming)]
    pub mode: Mode,
}

/// Runs the service until Ctrl-C or SIGTERM; exit status 0 once drained.
pub fn serve(args: &ServeArgs) -> Result<u8, CliError> {
    let app = App::new(args.budget.clone(), args.mode)
        .map_err(|error| CliError::BadInput(error.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::Internal(format!("cannot start the tokio runtime: {error}")))?;
    runtime.block_on(run(app, args.listen))?;
    Ok(EXIT_COMPLETE)
}

async fn run(app: App, listen: SocketAddr) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| CliError::BadInput(format!("cannot listen on {listen}: {error}")))?;
    let bound = listener
        .local_addr()
        .map_err(|error| CliError::Internal(format!("no local address: {error}")))?;
    tracing::info!(
        %bound,
        budget_bytes = app.breaker().limit(),
        mode = %app.mode(),
        "serving suggestions"
    );
    print_listening(bound)?;
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|error| CliError::Internal(format!("server failed: {error}")))?;
    tracing::info!("drained; exiting");
    Ok(())
}

/// The line scripts and tests wait for, on stdout.
fn print_listening(bound: SocketAddr) -> Result<(), CliError> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{bound}")
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

/// A budget that parses and resolves on this machine.
fn parse_budget(text: &str) -> Result<Budget, String> {
    let budget: Budget = text
        .parse()
        .map_err(|error: heapguard_breaker::BudgetError| error.to_string())?;
    budget.resolve().map_err(|error| error.to_string())?;
    Ok(budget)
}
