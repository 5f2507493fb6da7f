//! The end-to-end workloads with `CountingAlloc<Jemalloc>` as the global allocator.
use std::process::ExitCode;

use heapguard_alloc::{CountingAlloc, Jemalloc};

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);

fn main() -> ExitCode {
    heapguard_benches::e2e::main("CountingAlloc<Jemalloc>")
}
