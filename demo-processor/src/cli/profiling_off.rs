//! `--profile DIR` in a build without the `profiling` feature: refused
//! before any work, with the command that builds the profiler in.

use std::path::{Path, PathBuf};

use crossbeam_channel::Receiver;
use heapguard_monitor::{MemoryEvent, MemoryMonitor};

use crate::exit::CliError;
use crate::report::TopSite;

fn refused(dir: &Path) -> CliError {
    CliError::BadInput(format!(
        "--profile {}: this build has no heap profiler; build it with \
         `cargo build --release -p demo-processor --features profiling`",
        dir.display()
    ))
}

/// Always refuses: there is no profiler to write profiles from.
pub(crate) fn check_dir(dir: &Path) -> Result<(), CliError> {
    Err(refused(dir))
}

/// Always refuses (never reached: [`check_dir`] refuses first).
pub(crate) fn start(_: &MemoryMonitor, dir: &Path) -> Result<Receiver<MemoryEvent>, CliError> {
    Err(refused(dir))
}

/// Always refuses (never reached: [`check_dir`] refuses first).
pub(crate) fn write(
    _: &MemoryMonitor,
    dir: &Path,
    _: &Receiver<MemoryEvent>,
) -> (Vec<PathBuf>, Vec<String>) {
    (Vec::new(), vec![refused(dir).to_string()])
}

/// No profiler, no sites.
pub(crate) fn trip_sites(_: &MemoryMonitor) -> Vec<TopSite> {
    Vec::new()
}
