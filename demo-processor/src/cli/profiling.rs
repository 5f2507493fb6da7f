//! `--profile DIR`: jemalloc's heap profiler on, leak alarms attributed to
//! allocation sites, and the profiles written as pprof.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use heapguard_alloc::profile;
use heapguard_monitor::attribution::{AttributionConfig, GrowingSite};
use heapguard_monitor::{MemoryEvent, MemoryMonitor};

use super::error::CliError;
use crate::report::TopSite;

/// Switches sampling on and creates the profile directory (and its
/// parents) before any work, so a binary that cannot profile (not jemalloc)
/// or a path that cannot hold profiles is refused up front, the first
/// without creating anything.
pub(crate) fn check_dir(dir: &Path) -> Result<(), CliError> {
    profile::activate()
        .map_err(|e| CliError::BadInput(format!("--profile {}: {e}", dir.display())))?;
    std::fs::create_dir_all(dir).map_err(|e| {
        CliError::BadInput(format!(
            "--profile {}: cannot create it: {e}",
            dir.display()
        ))
    })
}

/// Switches the monitor's leak attribution on (sampling is on since
/// [`check_dir`]); the receiver sees the monitor's events from now on.
pub(crate) fn start(
    monitor: &MemoryMonitor,
    dir: &Path,
) -> Result<Receiver<MemoryEvent>, CliError> {
    let events = monitor.subscribe();
    monitor
        .attribute_leaks(AttributionConfig::default())
        .map_err(|e| CliError::BadInput(format!("--profile {}: {e}", dir.display())))?;
    Ok(events)
}

/// The sites holding the most memory in the profile the monitor took when
/// the breaker tripped (empty without one). Symbolised now, after the job,
/// never at the trip itself. The monitor's thread takes that profile when
/// the breaker's event reaches it, so this waits up to [`TRIP_WAIT`] for it.
pub(crate) fn trip_sites(monitor: &MemoryMonitor) -> Vec<TopSite> {
    let deadline = Instant::now() + TRIP_WAIT;
    let taken = loop {
        match monitor.trip_profile() {
            Some((_, taken)) => break taken,
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            None => return Vec::new(),
        }
    };
    taken
        .top_sites(TRIP_SITES)
        .into_iter()
        .map(|site| GrowingSite::from(site).into())
        .collect()
}

/// How many sites a trip names.
const TRIP_SITES: usize = 5;

/// How long [`trip_sites`] waits for the monitor's profile of a trip.
const TRIP_WAIT: Duration = Duration::from_secs(2);

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
        MemoryEvent::LeakAttributed { attribution, .. } => Some(attribution),
        _ => None,
    });
    if let Some(attribution) = first_leak {
        if let Some((from, to)) = monitor
            .write_leak_profiles(&attribution, dir)
            .map_err(failed)?
        {
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
