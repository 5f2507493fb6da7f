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

mod coverage;
mod error;
mod heap;
#[cfg(feature = "profiling")]
mod jemalloc;
mod loaded;
mod pprof;
mod proto;
pub mod sampling;
mod site;

pub use error::ProfileError;
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
            coverage::note_activation();
        }
        Ok(())
    }
    #[cfg(not(feature = "profiling"))]
    sampling::start(sampling::DEFAULT_INTERVAL)
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
