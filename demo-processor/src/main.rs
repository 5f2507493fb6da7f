//! `demo-processor`: the suggestion job under heapguard. See `--help`, or run
//! it with no arguments for the showcase.

use std::process::ExitCode;

/// Every allocation of the process is counted, over jemalloc.
#[global_allocator]
static GLOBAL: heapguard_alloc::CountingAlloc<heapguard_alloc::Jemalloc> =
    heapguard_alloc::CountingAlloc::new(heapguard_alloc::Jemalloc);

// jemalloc's heap profiler, enabled and inactive until `--profile` (one
// sample per 512 KiB); only in builds with the `profiling` feature.
#[cfg(feature = "profiling")]
heapguard_alloc::enable_heap_profiling!();

fn main() -> ExitCode {
    demo_processor::cli::main()
}
