//! `demo-processor-system`: the same program over the C allocator
//! (`CountingAlloc<System>`), so that profilers hooking `malloc`/`free`
//! (heaptrack) see its heap. `--profile` is refused here: jemalloc's
//! profiler sees nothing of it.

use std::process::ExitCode;

/// Every allocation of the process is counted, over the C allocator.
#[global_allocator]
static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> =
    heapguard_alloc::CountingAlloc::new(std::alloc::System);

fn main() -> ExitCode {
    demo_processor::cli::main()
}
