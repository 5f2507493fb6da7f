//! The end-to-end workloads with `ThreadCells<Jemalloc>` (plain thread-local
//! counters, the reference point) as the global allocator.
use std::process::ExitCode;

use heapguard_alloc::Jemalloc;
use heapguard_benches::thread_cells::ThreadCells;

#[global_allocator]
static GLOBAL: ThreadCells<Jemalloc> = ThreadCells::new(Jemalloc);

fn main() -> ExitCode {
    heapguard_benches::e2e::main("ThreadCells<Jemalloc>")
}
