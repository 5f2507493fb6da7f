//! The service benchmark's driver; see `heapguard_benches::service::driver`.
use std::process::ExitCode;

fn main() -> ExitCode {
    heapguard_benches::service::driver::main()
}
