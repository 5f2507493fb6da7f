//! `--profile DIR`: jemalloc's heap profiler on, leak alarms attributed to
//! allocation sites, and the profiles written as pprof.

use std::path::{Path, PathBuf};

use crossbeam_channel::Receiver;
use heapguard_alloc::profile;
use heapguard_monitor::attribution::AttributionConfig;
use heapguard_monitor::{MemoryEvent, MemoryMonitor};

use super::error::CliError;

/// Creates the profile directory (and its parents) before any work, so a
/// path that cannot hold profiles is refused up front.
pub(crate) fn check_dir(dir: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        CliError::BadInput(format!(
            "--profile {}: cannot create it: {e}",
            dir.display()
        ))
    })
}

/// Switches sampling on and the monitor's leak attribution with it; the
/// receiver sees the monitor's events from now on.
pub(crate) fn start(
    monitor: &MemoryMonitor,
    dir: &Path,
) -> Result<Receiver<MemoryEvent>, CliError> {
    let refused =
        |e: profile::ProfileError| CliError::BadInput(format!("--profile {}: {e}", dir.display()));
    profile::activate().map_err(refused)?;
    let events = monitor.subscribe();
    monitor
        .attribute_leaks(AttributionConfig::default())
        .map_err(|e| CliError::BadInput(format!("--profile {}: {e}", dir.display())))?;
    Ok(events)
}

/// Writes the profiles: both ends of the first leak alarm's span
/// (`leak-from.pb.gz`, `leak-to.pb.gz`), the ones taken at a breaker trip
/// (`trip.pb.gz`) and at its cancel line (`cancel-line.pb.gz`), and one now
/// (`heap-end.pb.gz`).
pub(crate) fn write(
    monitor: &MemoryMonitor,
    dir: &Path,
    events: &Receiver<MemoryEvent>,
) -> Result<Vec<PathBuf>, CliError> {
    let failed =
        |e: profile::ProfileError| CliError::Internal(format!("--profile {}: {e}", dir.display()));
    let mut written = Vec::new();
    let first_leak = events.try_iter().find_map(|event| match event {
        MemoryEvent::LeakAttributed { attribution, .. } => Some(attribution.from_t_secs),
        _ => None,
    });
    if let Some(from) = first_leak {
        if let Some((from, to)) = monitor.write_leak_profiles(from, dir).map_err(failed)? {
            written.extend([from, to]);
        }
    }
    let at_breaker = [
        (monitor.trip_profile(), "trip.pb.gz"),
        (monitor.cancel_line_profile(), "cancel-line.pb.gz"),
    ];
    for (taken, name) in at_breaker {
        if let Some((_, taken)) = taken {
            let path = dir.join(name);
            taken.write_pprof(&path).map_err(failed)?;
            written.push(path);
        }
    }
    let path = dir.join("heap-end.pb.gz");
    profile::take()
        .map_err(failed)?
        .write_pprof(&path)
        .map_err(failed)?;
    written.push(path);
    Ok(written)
}
