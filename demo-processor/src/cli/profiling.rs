//! `--profile DIR`: heap profiling on (CountingAlloc's own sampler, or
//! jemalloc's profiler in a build with the `profiling` feature), leak alarms
//! attributed to allocation sites, and the profiles written as pprof.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use heapguard_alloc::profile;
use heapguard_monitor::attribution::{AttributionConfig, GrowingSite};
use heapguard_monitor::{MemoryEvent, MemoryMonitor};

use crate::exit::CliError;
use crate::messages::{attribution_error, profile_error};
use crate::report::TopSite;

/// Switches sampling on and creates the profile directory (and its
/// parents) before any work, so a binary that cannot profile or a path that
/// cannot hold profiles is refused up front, the first without creating
/// anything. The directory must be writable and have room
/// for a first profile: [`FIRST_PROFILE_BYTES`] are written and synced
/// there (and removed), the same rule as `--json` and `--chart`, so a
/// read-only or full filesystem costs no work.
pub(crate) fn check_dir(dir: &Path) -> Result<(), CliError> {
    let bad = |why: String| CliError::BadInput(format!("--profile {}: {why}", dir.display()));
    start_sampling().map_err(|e| bad(profile_error(&e)))?;
    std::fs::create_dir_all(dir).map_err(|e| bad(format!("cannot create it: {e}")))?;
    let mut probe = tempfile::Builder::new()
        .prefix(".demo-processor-check-")
        .tempfile_in(dir)
        .map_err(|e| bad(format!("cannot write: the directory is not writable ({e})")))?;
    probe
        .write_all(&[0; FIRST_PROFILE_BYTES])
        .and_then(|()| probe.as_file().sync_all())
        .map_err(|e| {
            bad(format!(
                "cannot write: no room for a heap profile ({} KiB): {e}",
                FIRST_PROFILE_BYTES / 1024
            ))
        })
}

/// Switches heap sampling on: jemalloc's profiler where this build has it
/// and jemalloc is the global allocator with its profiler enabled,
/// CountingAlloc's own sampler (one sample per 512 KiB) otherwise.
pub(crate) fn start_sampling() -> Result<(), profile::ProfileError> {
    match profile::activate() {
        #[cfg(feature = "profiling")]
        Err(
            profile::ProfileError::NotJemalloc
            | profile::ProfileError::NotEnabled
            | profile::ProfileError::NotCompiledIn,
        ) => profile::sampling::start(profile::sampling::DEFAULT_INTERVAL),
        other => other,
    }
}

/// Room a first profile needs: the demo's `heap-end.pb.gz` is 10 to 40 KiB
/// (addresses and mappings, no symbols); a full disk is found with this
/// much to spare.
pub(crate) const FIRST_PROFILE_BYTES: usize = 64 * 1024;

/// Switches the monitor's leak attribution on (sampling is on since
/// [`check_dir`]); the receiver sees the monitor's events from now on.
pub(crate) fn start(
    monitor: &MemoryMonitor,
    dir: &Path,
) -> Result<Receiver<MemoryEvent>, CliError> {
    let events = monitor.subscribe();
    monitor
        .attribute_leaks(AttributionConfig::default())
        .map_err(|e| {
            CliError::BadInput(format!(
                "--profile {}: {}",
                dir.display(),
                attribution_error(&e)
            ))
        })?;
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
/// (`heap-end.pb.gz`). Returns the paths written and, for each profile that
/// could not be taken or written (a disk that filled during the job), a
/// warning: the job and its report are never lost to a profile.
pub(crate) fn write(
    monitor: &MemoryMonitor,
    dir: &Path,
    events: &Receiver<MemoryEvent>,
) -> (Vec<PathBuf>, Vec<String>) {
    let mut written = Vec::new();
    let mut warnings = Vec::new();
    let mut failed = |what: &str, e: profile::ProfileError| {
        warnings.push(format!(
            "--profile {}: cannot write {what}: {}",
            dir.display(),
            profile_error(&e)
        ));
    };
    let first_leak = events.try_iter().find_map(|event| match event {
        MemoryEvent::LeakAttributed { attribution, .. } => Some(attribution),
        _ => None,
    });
    if let Some(attribution) = first_leak {
        match monitor.write_leak_profiles(&attribution, dir) {
            Ok(Some((from, to))) => written.extend([from, to]),
            Ok(None) => {}
            Err(e) => failed("the leak's profiles", e),
        }
    }
    let at_breaker = [
        (monitor.trip_profile(), "trip.pb.gz"),
        (monitor.cancel_line_profile(), "cancel-line.pb.gz"),
    ];
    for (taken, name) in at_breaker {
        if let Some((_, taken)) = taken {
            let path = dir.join(name);
            match taken.write_pprof(&path) {
                Ok(()) => written.push(path),
                Err(e) => failed(name, e),
            }
        }
    }
    let path = dir.join("heap-end.pb.gz");
    match profile::take().and_then(|taken| taken.write_pprof(&path)) {
        Ok(()) => written.push(path),
        Err(e) => failed("heap-end.pb.gz", e),
    }
    (written, warnings)
}
