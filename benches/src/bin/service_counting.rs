//! The service benchmark's server with `CountingAlloc<Jemalloc>` as the
//! global allocator and no other part of heapguard.
use std::process::ExitCode;

use heapguard_alloc::{CountingAlloc, Jemalloc};

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);

fn main() -> ExitCode {
    heapguard_benches::service::server::main("service_counting", None)
}
