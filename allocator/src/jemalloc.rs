//! The jemalloc bridge (feature `jemalloc`): what the allocator holds, beside
//! what the program asked for.
//!
//! The counters report *requested* bytes. jemalloc rounds each request up to
//! a size class and keeps freed pages around for reuse, so what the process
//! holds is larger; [`JemallocStats`] reads jemalloc's own view and
//! [`Comparison`] sets the two side by side.

use core::ffi::c_char;

/// `MALLCTL_ARENAS_ALL`: addresses every arena in an `arena.<i>.*` key.
const ALL_ARENAS_PURGE: &[u8] = b"arena.4096.purge\0";

/// jemalloc's statistics, in bytes (see jemalloc's `stats.*` mallctls).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JemallocStats {
    /// Bytes in allocations handed to the application (usable sizes).
    pub allocated: u64,
    /// Bytes in active pages: `allocated` plus the unused parts of those pages.
    pub active: u64,
    /// Bytes in physically resident data pages mapped by the allocator.
    pub resident: u64,
    /// Bytes in active extents mapped by the allocator.
    pub mapped: u64,
    /// Bytes in virtual memory retained for later reuse (not returned to the OS).
    pub retained: u64,
    /// Bytes dedicated to jemalloc's own metadata.
    pub metadata: u64,
}

/// An error from jemalloc's control interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JemallocError {
    what: &'static str,
    detail: String,
}

impl core::fmt::Display for JemallocError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "jemalloc mallctl `{}` failed: {}",
            self.what, self.detail
        )
    }
}

impl std::error::Error for JemallocError {}

fn ctl_error(what: &'static str) -> impl Fn(tikv_jemalloc_ctl::Error) -> JemallocError {
    move |error| JemallocError {
        what,
        detail: error.to_string(),
    }
}

/// Reads jemalloc's statistics, advancing its epoch first so they are fresh.
///
/// ```
/// let stats = heapguard_alloc::jemalloc::stats().expect("jemalloc stats");
/// assert!(stats.resident >= stats.active || stats.resident == 0);
/// ```
pub fn stats() -> Result<JemallocStats, JemallocError> {
    use tikv_jemalloc_ctl::{epoch, stats};
    epoch::advance().map_err(ctl_error("epoch"))?;
    Ok(JemallocStats {
        allocated: stats::allocated::read().map_err(ctl_error("stats.allocated"))? as u64,
        active: stats::active::read().map_err(ctl_error("stats.active"))? as u64,
        resident: stats::resident::read().map_err(ctl_error("stats.resident"))? as u64,
        mapped: stats::mapped::read().map_err(ctl_error("stats.mapped"))? as u64,
        retained: stats::retained::read().map_err(ctl_error("stats.retained"))? as u64,
        metadata: stats::metadata::read().map_err(ctl_error("stats.metadata"))? as u64,
    })
}

/// Returns every arena's dirty pages to the operating system now.
///
/// The Rust counterpart of the Node service's forced `global.gc()`: nothing is
/// collected (Rust frees eagerly), but pages jemalloc kept for reuse stop
/// counting in RSS. Costs a system call per dirty extent; call it between
/// units of work, not on a hot path.
pub fn purge() -> Result<(), JemallocError> {
    // SAFETY: `arena.<i>.purge` is a write-only, void mallctl: it takes no old
    // value and no new value, so null pointers and zero lengths are what it
    // expects; the name is NUL-terminated.
    let code = unsafe {
        tikv_jemalloc_sys::mallctl(
            ALL_ARENAS_PURGE.as_ptr() as *const c_char,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            0,
        )
    };
    if code == 0 {
        Ok(())
    } else {
        Err(JemallocError {
            what: "arena.<all>.purge",
            detail: format!("error code {code}"),
        })
    }
}

/// Requested bytes (the counters) beside what jemalloc holds.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Comparison {
    /// Live requested bytes from the counters.
    pub requested_bytes: u64,
    /// jemalloc's view at the same moment.
    pub jemalloc: JemallocStats,
    /// `jemalloc.resident / requested_bytes`: how much memory each requested
    /// byte costs (size-class rounding, dirty pages, metadata). `None` when
    /// nothing is requested.
    pub fragmentation: Option<f64>,
}

/// Reads the counters and jemalloc's statistics together.
pub fn compare() -> Result<Comparison, JemallocError> {
    let jemalloc = stats()?;
    let requested_bytes = crate::stats().live_bytes;
    Ok(Comparison {
        requested_bytes,
        jemalloc,
        fragmentation: (requested_bytes > 0)
            .then(|| jemalloc.resident as f64 / requested_bytes as f64),
    })
}
