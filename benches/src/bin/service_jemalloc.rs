//! The service benchmark's server with bare jemalloc as the global allocator.
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    heapguard_benches::service::server::main("service_jemalloc", None)
}
