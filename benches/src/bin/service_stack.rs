//! The service benchmark's server with the whole stack: `CountingAlloc<Jemalloc>`
//! as the global allocator, the breaker's layer with request accounts, the
//! breaker's refresher and a monitor sampling (`--parts` picks a subset).
use std::process::ExitCode;

use heapguard_alloc::{CountingAlloc, Jemalloc};
use heapguard_benches::service::Parts;

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);

fn main() -> ExitCode {
    heapguard_benches::service::server::main("service_stack", Some(Parts::ALL))
}
