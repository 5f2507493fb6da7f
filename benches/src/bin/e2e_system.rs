//! The end-to-end workloads with `System` as the global allocator.
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: std::alloc::System = std::alloc::System;

fn main() -> ExitCode {
    heapguard_benches::e2e::main("System")
}
