//! Sampled heap profiles: which allocation sites hold the live heap.
//!
//! Two samplers feed the same [`HeapProfile`], `top_sites` and pprof output:
//!
//! - **The wrapper's** (feature `sampling`, any inner allocator: `System`,
//!   jemalloc without its profiler, mimalloc): [`CountingAlloc`](crate::CountingAlloc)
//!   draws a Poisson sample over allocated bytes where its counting already
//!   leaves the fast path, and records each sampled block's stack and size
//!   ([`sampling`] says how, and what it costs). [`sampling::start`] turns
//!   it on with an interval; [`activate`] does with 512 KiB in a build
//!   without `profiling`.
//! - **jemalloc's own** (feature `profiling`, which implies `sampling`):
//!   jemalloc samples one allocation per `2^lg_prof_sample` bytes in its own
//!   `malloc`/`free` and dumps its samples on request.
//!
//! [`take`] reads jemalloc's profiler where it is built in, enabled and
//! active, and the wrapper's samples otherwise.
//!
//! Both are Poisson processes over bytes: an allocation of `s` bytes is
//! sampled with probability `1 - exp(-s / interval)`, so each sample stands
//! for `s / (1 - exp(-s / interval))` bytes, the estimate jemalloc's `jeprof`
//! (`AdjustSamples`) and tcmalloc use.
//!
//! # Two kinds of off for jemalloc's profiler
//! - **Not compiled in** (no `profiling` feature): jemalloc is built
//!   without `--enable-prof`; nothing changes on any allocator call.
//! - **Compiled in but inactive**: jemalloc is built with `--enable-prof`, and
//!   the binary either does not ask for profiling or asks for it with
//!   `prof_active:false` and never calls [`activate`]. jemalloc's allocation
//!   path then tests the profiler's state on each call (see the README for
//!   the instruction counts).
//!
//! # Turning jemalloc's profiler on
//! jemalloc reads `prof:true` only when it starts, from the prefixed
//! `_rjem_malloc_conf` symbol or the `_RJEM_MALLOC_CONF` environment variable
//! (plain `MALLOC_CONF` is ignored by the prefixed build). The *binary*
//! exports the symbol with `enable_heap_profiling!`
//! (a library never does: every test binary of an all-features build would
//! profile); profiling then starts inactive, and [`activate`] switches
//! `prof.active` on at run time.
//!
//! ```no_run
//! use heapguard_alloc::{profile, CountingAlloc};
//! use std::alloc::System;
//!
//! #[global_allocator]
//! static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);
//!
//! # fn main() -> Result<(), profile::ProfileError> {
//! profile::sampling::start(profile::sampling::DEFAULT_INTERVAL)?;
//! let before = profile::take()?;
//! let kept: Vec<Vec<u8>> = (0..64).map(|_| vec![1u8; 1 << 20]).collect();
//! let after = profile::take()?;
//! let growth = after.growth_since(&before);
//! for site in growth.top_sites(3) {
//!     println!("{} {} bytes ({:.0}%)", site.site, site.bytes, site.share * 100.0);
//! }
//! after.write_pprof("heap.pb.gz".as_ref())?;
//! # drop(kept);
//! # Ok(())
//! # }
//! ```
//!
//! # Errors
//! Asking for a profile where there can be none is a [`ProfileError`],
//! never an empty profile: nothing sampling ([`ProfileError::NotSampling`]),
//! or with `profiling`, jemalloc started without `prof:true`
//! ([`ProfileError::NotEnabled`]), profiling inactive
//! ([`ProfileError::Inactive`]), or a global allocator that is not jemalloc
//! ([`ProfileError::NotJemalloc`]).

mod heap;
#[cfg(feature = "profiling")]
mod jemalloc;
mod pprof;
mod proto;
pub mod sampling;
mod site;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use heap::{Coverage, HeapDiff, HeapProfile, StackDelta, StackSample};
#[cfg(feature = "profiling")]
#[doc(hidden)]
pub use jemalloc::MallocConf;
#[cfg(feature = "profiling")]
pub use jemalloc::{is_compiled_in, is_enabled, lg_sample, reset};
pub use site::{Frame, Site, SiteBytes, Symbolizer, MAX_FRAMES_PER_STACK, MAX_STACKS_SYMBOLIZED};

/// The sampling interval `enable_heap_profiling!` uses when given none:
/// `2^19` bytes = 512 KiB, jemalloc's own default.
pub const DEFAULT_LG_SAMPLE: u32 = 19;

/// Whether jemalloc was built with its profiler: never, in a build without
/// the `profiling` feature (the wrapper's sampler is always there).
#[cfg(not(feature = "profiling"))]
pub fn is_compiled_in() -> bool {
    false
}

/// Whether jemalloc started with its profiler enabled: never, in a build
/// without the `profiling` feature.
#[cfg(not(feature = "profiling"))]
pub fn is_enabled() -> bool {
    false
}

/// Why there is no profile.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProfileError {
    /// jemalloc was built without `--enable-prof` (`config.prof` is false).
    NotCompiledIn,
    /// jemalloc started without `prof:true`: the binary does not export
    /// `_rjem_malloc_conf` with it (see `enable_heap_profiling!`, feature
    /// `profiling`) and `_RJEM_MALLOC_CONF` does not set it.
    NotEnabled,
    /// Profiling is enabled but `prof.active` is off: call [`activate`].
    Inactive,
    /// The global allocator is not jemalloc (a `CountingAlloc<System>`, for
    /// one): jemalloc sees none of the program's allocations.
    NotJemalloc,
    /// A mallctl call failed.
    Ctl {
        /// The mallctl name.
        what: &'static str,
        /// jemalloc's error.
        detail: String,
    },
    /// Reading or writing a profile file failed.
    Io(std::io::Error),
    /// jemalloc's dump was not in the heap profile format this module reads.
    Parse(String),
    /// No heap profiler is sampling: neither jemalloc's (built in and
    /// active) nor the wrapper's ([`sampling::start`], or [`activate`] in a
    /// build without `profiling`) has been started.
    NotSampling,
    /// A sampling interval outside `1..=2^40` bytes.
    InvalidInterval(u64),
}

impl core::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ProfileError::NotCompiledIn => {
                f.write_str("jemalloc was built without its heap profiler (--enable-prof)")
            }
            ProfileError::NotEnabled => f.write_str(
                "jemalloc's heap profiler is off: the binary must export _rjem_malloc_conf \
                 with prof:true (heapguard_alloc::enable_heap_profiling!) or run with \
                 _RJEM_MALLOC_CONF=prof:true",
            ),
            ProfileError::Inactive => {
                f.write_str("jemalloc's heap profiler is inactive (prof.active is false)")
            }
            ProfileError::NotJemalloc => {
                f.write_str("the global allocator is not jemalloc: jemalloc sees no allocations")
            }
            ProfileError::Ctl { what, detail } => {
                write!(f, "jemalloc mallctl `{what}` failed: {detail}")
            }
            ProfileError::Io(error) => write!(f, "heap profile file: {error}"),
            ProfileError::Parse(detail) => write!(f, "heap profile format: {detail}"),
            ProfileError::NotSampling => f.write_str(
                "no heap profiler is sampling: start one with \
                 heapguard_alloc::profile::activate or profile::sampling::start",
            ),
            ProfileError::InvalidInterval(interval) => {
                write!(f, "sampling interval {interval} bytes is outside 1..=2^40")
            }
        }
    }
}

impl std::error::Error for ProfileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProfileError::Io(error) => Some(error),
            _ => None,
        }
    }
}

impl From<std::io::Error> for ProfileError {
    fn from(error: std::io::Error) -> Self {
        ProfileError::Io(error)
    }
}

/// Switches sampling on. With `profiling`, jemalloc's profiler
/// (`prof.active`; its errors as before when jemalloc cannot profile: use
/// [`sampling::start`] for the wrapper's sampler in such a build); without
/// it, the wrapper's sampler at [`sampling::DEFAULT_INTERVAL`]. Allocations
/// from now on are sampled; a profile shows the sampled ones still live, and
/// its [`Coverage`] says when sampling began and how much was live then.
pub fn activate() -> Result<(), ProfileError> {
    #[cfg(feature = "profiling")]
    {
        let was_active = jemalloc::is_active();
        jemalloc::set_active(true)?;
        if !was_active {
            note_activation();
        }
        Ok(())
    }
    #[cfg(not(feature = "profiling"))]
    sampling::start(sampling::DEFAULT_INTERVAL)
}

/// Records when sampling was switched on and the live bytes then.
pub(crate) fn note_activation() {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let live = if crate::is_active() {
        crate::stats().live_bytes
    } else {
        0
    };
    ACTIVATION.live_bytes.store(live, Relaxed);
    ACTIVATION.since_unix_ns.store(since, Relaxed);
}

/// When sampling was last switched on by [`activate`], and the live bytes
/// then (`since_unix_ns` 0: never, so on since start-up if at all).
struct Activation {
    since_unix_ns: AtomicU64,
    live_bytes: AtomicU64,
}

static ACTIVATION: Activation = Activation {
    since_unix_ns: AtomicU64::new(0),
    live_bytes: AtomicU64::new(0),
};

/// The coverage of a profile of `covered_bytes` taken now.
pub(crate) fn coverage_now(covered_bytes: f64) -> Option<Coverage> {
    if !crate::is_active() {
        return None;
    }
    let since = ACTIVATION.since_unix_ns.load(Relaxed);
    Some(Coverage {
        active_since: (since != 0).then(|| UNIX_EPOCH + Duration::from_nanos(since)),
        live_bytes_at_activation: if since != 0 {
            ACTIVATION.live_bytes.load(Relaxed)
        } else {
            0
        },
        live_bytes: crate::stats().live_bytes,
        covered_bytes,
    })
}

/// Switches sampling off: the wrapper's sampler, and with `profiling`
/// jemalloc's (whose errors it returns). Samples already taken stay in
/// profiles until their blocks are freed (or, for jemalloc's, `reset`
/// drops them).
pub fn deactivate() -> Result<(), ProfileError> {
    sampling::stop();
    #[cfg(feature = "profiling")]
    jemalloc::set_active(false)?;
    Ok(())
}

/// Whether sampling is on now: jemalloc's profiler or the wrapper's.
pub fn is_active() -> bool {
    #[cfg(feature = "profiling")]
    if jemalloc::is_active() {
        return true;
    }
    sampling::is_running()
}

/// Takes a heap profile now, with raw return addresses; symbolise later,
/// away from hot paths ([`HeapProfile::top_sites`],
/// [`HeapProfile::write_pprof`]).
///
/// With `profiling`, where jemalloc's profiler is enabled and active,
/// jemalloc dumps its samples to a private temporary file (`prof.dump`),
/// read back and removed: a walk over jemalloc's sampled backtraces under
/// its profiler's locks (allocations being sampled wait meanwhile) and a
/// file write and read, 1.8 ms for 77 backtraces on the build VM
/// (`examples/symbolize_cost.rs`). Otherwise the wrapper's live samples
/// ([`sampling::take`]): a pass over its fixed records, no lock, no file.
/// Not for hot paths.
pub fn take() -> Result<HeapProfile, ProfileError> {
    #[cfg(feature = "profiling")]
    {
        let jemalloc_error = match jemalloc::require_enabled() {
            Ok(()) if jemalloc::is_active() => return jemalloc::take(),
            Ok(()) => ProfileError::Inactive,
            Err(error) => error,
        };
        if sampling::has_samples() {
            return sampling::take();
        }
        Err(jemalloc_error)
    }
    #[cfg(not(feature = "profiling"))]
    sampling::take()
}
