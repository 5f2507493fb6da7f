//! `demo-processor-system`: the same program over the C allocator
//! (`CountingAlloc<System>`), so that profilers hooking `malloc`/`free`
//! (heaptrack) see its heap. `--profile` and the admin listener's profiles
//! come from CountingAlloc's own sampler, as in a jemalloc build without
//! the `profiling` feature.

use std::process::ExitCode;

/// Every allocation of the process is counted, over the C allocator.
#[global_allocator]
static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> =
    heapguard_alloc::CountingAlloc::new(std::alloc::System);

fn main() -> ExitCode {
    demo_processor::cli::main()
}
