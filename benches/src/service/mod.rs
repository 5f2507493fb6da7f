//! The service benchmark: what heapguard costs an HTTP service per request.
//!
//! One small axum service ([`app`]) is built three ways, each its own
//! binary with its own `#[global_allocator]`: `service_jemalloc` (bare
//! jemalloc), `service_counting` (`CountingAlloc<Jemalloc>`) and
//! `service_stack` (`CountingAlloc<Jemalloc>` with the breaker's tower layer
//! and request accounts, the breaker's refresher and a [`MemoryMonitor`]
//! sampling; `--parts` picks a subset, to tell what each part costs).
//! Each server ([`server`]) listens on an ephemeral port of 127.0.0.1,
//! prints it, and reports its own CPU time (`getrusage(RUSAGE_SELF)`) on
//! `GET /cpu`.
//!
//! The driver `service_load` ([`load`], [`report`]) starts each server as a
//! child process, warms it up, sends a fixed number of requests over a
//! bounded number of keep-alive connections with hyper's HTTP/1.1 client,
//! and takes the server's CPU time across the measured requests only, so
//! start-up, warm-up and the load generator's own CPU never enter the
//! figure. `benches/service.sh` runs it; `benches/service_instructions.sh`
//! counts instructions per request under cachegrind.
//!
//! [`MemoryMonitor`]: heapguard_monitor::MemoryMonitor

pub mod app;
pub mod driver;
pub mod load;
pub mod report;
pub mod server;

pub use app::{document, Parts, PartsError, DEFAULT_ITEMS, MAX_ITEMS};
