//! Memory logs through `tracing`, to stderr; `RUST_LOG` chooses what (default: errors only; `RUST_LOG=warn` shows trips and alerts, `info` the memory logs).

use tracing_subscriber::EnvFilter;

/// Installs the subscriber once; a second call does nothing.
pub(crate) fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
