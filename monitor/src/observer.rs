//! The observer's own memory: what symbolising and encoding a heap profile
//! use, reserved in a breaker before it is used and charged to an account of
//! its own.
//!
//! Symbolising a profile loads the binary's line tables: tens of MiB of heap
//! for a few milliseconds (see [`symbolization_estimate`]). Taken
//! unannounced under a tight budget, that trips the breaker the profile was
//! meant to explain, and every check of the application is refused while it
//! lasts. An [`Observer`] reserves the expected peak first: when it does not
//! fit, the work is refused with an [`ObserverRefused`] and the breaker never
//! sees it; when it fits, the work runs inside the observer's
//! [`Account`] (its bytes reported apart, never a job a breaker cancels) and
//! the reservation settles as those bytes become real, so the breaker counts
//! them once.
//!
//! ```
//! # #[global_allocator]
//! # static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> =
//! #     heapguard_alloc::CountingAlloc::new(std::alloc::System);
//! use heapguard_breaker::{BreakerConfig, BreakerState, Budget, ManualSource, MemoryBreaker};
//! use heapguard_monitor::observer::Observer;
//! use std::sync::Arc;
//!
//! let memory = ManualSource::new(30 << 20);
//! let breaker = Arc::new(MemoryBreaker::new(
//!     BreakerConfig::new(Budget::Bytes(40 << 20)).source(memory),
//! )?);
//! let observer = Observer::new(Arc::clone(&breaker)).with_reservation(16 << 20);
//! // 30 MiB used of 40: 16 MiB more would pass the trip line (80%).
//! let refused = observer.run(|| vec![0u8; 1 << 20].len()).unwrap_err();
//! assert_eq!(refused.needed_bytes, 16 << 20);
//! assert_eq!(breaker.state(), BreakerState::Accepting, "refusing the observer trips nothing");
//! assert_eq!(breaker.reserved(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use heapguard_alloc::{Account, AccountUsage};
use heapguard_breaker::{MemoryBreaker, Tripped};
use thiserror::Error;

/// How often a running observer's reservation is settled against its
/// account: between two settles the bytes allocated count twice (as
/// reserved and as used) in a reading, except one that would trip the
/// breaker, which settles every account reservation first.
pub const OBSERVER_SETTLE_PERIOD: Duration = Duration::from_millis(1);

/// The account every [`Observer`] charges, unless given another.
pub const OBSERVER_ACCOUNT: &str = "heapguard-observer";

/// Work of the observer refused because its reservation did not fit.
#[derive(Debug, Error)]
#[error("the observer's reservation of {needed_bytes} bytes does not fit: {tripped}")]
#[non_exhaustive]
pub struct ObserverRefused {
    /// The bytes the observer asked to reserve.
    pub needed_bytes: u64,
    /// The breaker's refusal (its usage and lines at the time).
    pub tripped: Tripped,
}

/// Runs the observer's work (symbolising, encoding profiles) inside a
/// reservation of its expected peak, in an account of its own.
#[derive(Clone, Debug)]
pub struct Observer {
    breaker: Arc<MemoryBreaker>,
    account: Account,
    reservation_bytes: u64,
}

impl Observer {
    /// An observer reserving in `breaker`, charging the account
    /// [`OBSERVER_ACCOUNT`], reserving [`symbolization_estimate`] bytes.
    pub fn new(breaker: Arc<MemoryBreaker>) -> Self {
        Self {
            breaker,
            account: Account::new(OBSERVER_ACCOUNT),
            reservation_bytes: symbolization_estimate(),
        }
    }

    /// Reserves `bytes` for each run instead of the estimate.
    pub fn with_reservation(mut self, bytes: u64) -> Self {
        self.reservation_bytes = bytes;
        self
    }

    /// The bytes each run reserves.
    pub fn reservation_bytes(&self) -> u64 {
        self.reservation_bytes
    }

    /// The account the observer's bytes are charged to.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// What the observer's runs allocated, freed and held at their peak.
    pub fn usage(&self) -> AccountUsage {
        self.account.usage()
    }

    /// Runs `work` inside a reservation of [`reservation_bytes`](Self::reservation_bytes)
    /// and the observer's account, or refuses it (nothing run, nothing
    /// reserved, the breaker unchanged) when the reservation does not fit.
    ///
    /// While `work` runs, a scoped thread settles the reservation every
    /// [`OBSERVER_SETTLE_PERIOD`], so what `work` holds is counted once. The
    /// reservation is released when `work` returns.
    pub fn run<R>(&self, work: impl FnOnce() -> R) -> Result<R, ObserverRefused> {
        let mut reservation = self
            .breaker
            .try_reserve_in(&self.account, self.reservation_bytes)
            .map_err(|tripped| ObserverRefused {
                needed_bytes: self.reservation_bytes,
                tripped,
            })?;
        let done = AtomicBool::new(false);
        let result = std::thread::scope(|scope| {
            scope.spawn(|| {
                while !done.load(Ordering::Acquire) {
                    reservation.settle();
                    std::thread::park_timeout(OBSERVER_SETTLE_PERIOD);
                }
            });
            let result = {
                let _inside = self.account.enter();
                work()
            };
            done.store(true, Ordering::Release);
            result
        });
        drop(reservation);
        Ok(result)
    }
}

/// The heap a symbolising pass is expected to reach: 1.5 times the size of
/// the files it reads for the running executable, plus what it decompresses,
/// at least 8 MiB; 64 MiB when the executable cannot be read.
///
/// The files are those the `backtrace` crate reads: the executable, or the
/// separate debug file its build ID or `.gnu_debuglink` names under
/// `/usr/lib/debug` (a distribution's debug package) with that file's
/// supplementary file, and a DWARF package `<exe>.dwp`. A zlib-compressed
/// debug section (`--compress-debug-sections`, Debian's debug packages)
/// counts at its uncompressed size, and again for the copy it is
/// decompressed into (zstd sections are not read by this build's
/// `backtrace`).
/// Only the executable's debug information is read: frames in shared
/// libraries are named from their exported symbols (see
/// `heapguard_alloc::profile::Symbolizer`).
///
/// Measured on the build VM (2-vCPU AMD EPYC), symbolising a 30 MiB heap's
/// profile in the test `observer_reservation`: 0.49 to 0.55 times the file
/// for its debug build in a workspace build with every feature (18.0 to
/// 20.2 MB peak, 36.8 MB file), 0.59 times in release with line tables
/// (14.5 MB, 25.0 MB) and 0.71 times in release with full debug information
/// (31.3 MB, 44.3 MB). Naming an address in every KiB of a debug build's
/// code, as no profile does, peaked at 1.19 times its file (35.3 MB, 29.7
/// MB, line tables only). With the debug sections compressed
/// (`-C link-arg=-Wl,--compress-debug-sections=zlib`), the same debug build
/// peaked at 45.3 MB on a 19.5 MB file, 2.3 times, within the 86.3 MB this
/// gives (1.5 times the file alone would give 29.2). The test asserts the
/// peak stays within this estimate.
pub fn symbolization_estimate() -> u64 {
    const FLOOR: u64 = 8 << 20;
    const UNKNOWN: u64 = 64 << 20;
    let Ok(exe) = std::env::current_exe() else {
        return UNKNOWN;
    };
    expected_peak(&exe).map_or(UNKNOWN, |bytes| bytes.max(FLOOR))
}

/// 1.5 times the files read for `exe`, plus what is decompressed.
#[cfg(unix)]
fn expected_peak(exe: &std::path::Path) -> std::io::Result<u64> {
    let files = crate::debug_files::for_executable(exe)?;
    Ok((files.expanded_bytes.saturating_mul(3) / 2).saturating_add(files.decompressed_bytes))
}

#[cfg(not(unix))]
fn expected_peak(exe: &std::path::Path) -> std::io::Result<u64> {
    Ok(std::fs::metadata(exe)?.len().saturating_mul(3) / 2)
}
