//! Sampled heap profiles from jemalloc's own profiler (feature `profiling`).
//!
//! jemalloc samples about one allocation per `2^lg_prof_sample` bytes
//! allocated (a Poisson process over bytes: an allocation of `s` bytes is
//! sampled with probability `1 - exp(-s / interval)`) and records its
//! backtrace; a dump lists, per distinct backtrace, the sampled objects
//! still live and their bytes. Nothing of this runs in
//! [`CountingAlloc`](crate::CountingAlloc): the sampling lives inside
//! jemalloc's own `malloc`/`free`.
//!
//! # Two kinds of off
//! - **Not compiled in** (the default, no `profiling` feature): jemalloc is
//!   built without `--enable-prof`; nothing changes on any allocator call.
//! - **Compiled in but inactive**: jemalloc is built with `--enable-prof`, and
//!   the binary either does not ask for profiling or asks for it with
//!   `prof_active:false` and never calls [`activate`]. jemalloc's allocation
//!   path then tests the profiler's state on each call (see the README for
//!   the instruction counts).
//!
//! # Turning it on
//! jemalloc reads `prof:true` only when it starts, from the prefixed
//! `_rjem_malloc_conf` symbol or the `_RJEM_MALLOC_CONF` environment variable
//! (plain `MALLOC_CONF` is ignored by the prefixed build). The *binary*
//! exports the symbol with [`enable_heap_profiling!`](crate::enable_heap_profiling)
//! (a library never does: every test binary of an all-features build would
//! profile); profiling then starts inactive, and [`activate`] switches
//! `prof.active` on at run time.
//!
//! ```no_run
//! use heapguard_alloc::{profile, CountingAlloc, Jemalloc};
//!
//! #[global_allocator]
//! static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);
//! heapguard_alloc::enable_heap_profiling!(); // one sample per 512 KiB
//!
//! # fn main() -> Result<(), profile::ProfileError> {
//! profile::activate()?;
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
//! never an empty profile: jemalloc started without `prof:true`
//! ([`ProfileError::NotEnabled`]), profiling inactive
//! ([`ProfileError::Inactive`]), or a global allocator that is not jemalloc
//! ([`ProfileError::NotJemalloc`]).

mod heap;
mod pprof;
pub mod proto;
mod site;

use core::ffi::c_char;
use std::ffi::CString;
use std::io::BufReader;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use heap::{Coverage, HeapDiff, HeapProfile, StackDelta, StackSample};
pub use site::{Frame, Site, SiteBytes, Symbolizer, MAX_FRAMES_PER_STACK, MAX_STACKS_SYMBOLIZED};

/// The sampling interval [`enable_heap_profiling!`](crate::enable_heap_profiling)
/// uses when given none: `2^19` bytes = 512 KiB, jemalloc's own default.
pub const DEFAULT_LG_SAMPLE: u32 = 19;

/// Why there is no profile.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProfileError {
    /// jemalloc was built without `--enable-prof` (`config.prof` is false).
    NotCompiledIn,
    /// jemalloc started without `prof:true`: the binary does not export
    /// `_rjem_malloc_conf` with it (see
    /// [`enable_heap_profiling!`](crate::enable_heap_profiling)) and
    /// `_RJEM_MALLOC_CONF` does not set it.
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

/// Exports `_rjem_malloc_conf` from the binary so that jemalloc starts with
/// its heap profiler enabled but inactive (`prof:true,prof_active:false`),
/// sampling one allocation per `2^lg_sample` bytes (default
/// [`DEFAULT_LG_SAMPLE`]). Use it once, in the binary's crate (never in a
/// library), next to the `#[global_allocator]`; then [`profile::activate`]
/// switches sampling on.
///
/// [`profile::activate`]: crate::profile::activate
///
/// ```no_run
/// heapguard_alloc::enable_heap_profiling!(); // 512 KiB
/// ```
/// ```no_run
/// heapguard_alloc::enable_heap_profiling!(16); // 64 KiB
/// ```
#[macro_export]
macro_rules! enable_heap_profiling {
    () => {
        $crate::enable_heap_profiling!(19);
    };
    ($lg_sample:literal) => {
        /// jemalloc's start-up options: the heap profiler enabled, inactive.
        /// jemalloc reads the symbol as a `const char *`.
        #[used]
        #[unsafe(export_name = "_rjem_malloc_conf")]
        pub static HEAPGUARD_MALLOC_CONF: $crate::profile::MallocConf =
            $crate::profile::MallocConf::new(
                concat!(
                    "prof:true,prof_active:false,lg_prof_sample:",
                    $lg_sample,
                    "\0"
                )
                .as_bytes(),
            );
    };
}

/// jemalloc's `malloc_conf`: a `const char *`, exactly (a thin pointer to
/// a NUL-terminated string with static lifetime), for
/// [`enable_heap_profiling!`](crate::enable_heap_profiling).
#[doc(hidden)]
#[repr(transparent)]
pub struct MallocConf(*const core::ffi::c_char);

// SAFETY: the pointer is to immutable static bytes, never written.
unsafe impl Sync for MallocConf {}

impl MallocConf {
    /// A pointer to `conf`, which must end in its only NUL (checked at
    /// compile time where the macro uses it).
    pub const fn new(conf: &'static [u8]) -> Self {
        let mut i = 0;
        while i + 1 < conf.len() {
            assert!(conf[i] != 0, "malloc_conf holds a NUL before its end");
            i += 1;
        }
        assert!(
            !conf.is_empty() && conf[conf.len() - 1] == 0,
            "malloc_conf must end in NUL"
        );
        Self(conf.as_ptr().cast())
    }
}

fn ctl_error(what: &'static str) -> impl Fn(tikv_jemalloc_ctl::Error) -> ProfileError {
    move |error| ProfileError::Ctl {
        what,
        detail: error.to_string(),
    }
}

fn read_bool(name: &'static [u8], what: &'static str) -> Result<bool, ProfileError> {
    // SAFETY: every name passed here is a NUL-terminated boolean mallctl
    // (`config.prof`, `opt.prof`, `prof.active`), read as `bool`.
    unsafe { tikv_jemalloc_ctl::raw::read::<bool>(name) }.map_err(ctl_error(what))
}

/// Whether jemalloc was built with its profiler (`config.prof`).
pub fn is_compiled_in() -> bool {
    read_bool(b"config.prof\0", "config.prof").unwrap_or(false)
}

/// Whether jemalloc started with `prof:true` (`opt.prof`).
pub fn is_enabled() -> bool {
    is_compiled_in() && read_bool(b"opt.prof\0", "opt.prof").unwrap_or(false)
}

fn require_enabled() -> Result<(), ProfileError> {
    if !is_compiled_in() {
        return Err(ProfileError::NotCompiledIn);
    }
    if !global_is_jemalloc()? {
        return Err(ProfileError::NotJemalloc);
    }
    if !is_enabled() {
        return Err(ProfileError::NotEnabled);
    }
    Ok(())
}

/// Whether allocations through the global allocator reach jemalloc, found
/// once ([`probe_global_is_jemalloc`]) and cached: the global allocator
/// cannot change while the process runs.
fn global_is_jemalloc() -> Result<bool, ProfileError> {
    const UNKNOWN: u8 = 0;
    const YES: u8 = 1;
    const NO: u8 = 2;
    static ANSWER: AtomicU8 = AtomicU8::new(UNKNOWN);
    match ANSWER.load(Relaxed) {
        YES => Ok(true),
        NO => Ok(false),
        _ => {
            let answer = probe_global_is_jemalloc()?;
            ANSWER.store(if answer { YES } else { NO }, Relaxed);
            Ok(answer)
        }
    }
}

/// This thread's `thread.allocated` moves when a block is allocated
/// through the global allocator.
fn probe_global_is_jemalloc() -> Result<bool, ProfileError> {
    fn allocated() -> Result<u64, ProfileError> {
        // SAFETY: `thread.allocated` is a NUL-terminated `uint64_t` mallctl.
        unsafe { tikv_jemalloc_ctl::raw::read::<u64>(b"thread.allocated\0") }
            .map_err(ctl_error("thread.allocated"))
    }
    let before = allocated()?;
    let probe = std::hint::black_box(vec![0u8; 4096]);
    let after = allocated()?;
    drop(probe);
    Ok(after >= before + 4096)
}

/// Switches sampling on (`prof.active`). Allocations from now on are
/// sampled; a profile shows the sampled ones still live, and its
/// [`Coverage`] says when sampling began and how much was live then.
pub fn activate() -> Result<(), ProfileError> {
    let was_active = is_active();
    set_active(true)?;
    if !was_active {
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
    Ok(())
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
fn coverage_now(covered_bytes: f64) -> Option<Coverage> {
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

/// Switches sampling off. Samples already taken stay in profiles until
/// their blocks are freed or [`reset`] drops them.
pub fn deactivate() -> Result<(), ProfileError> {
    set_active(false)
}

fn set_active(active: bool) -> Result<(), ProfileError> {
    require_enabled()?;
    // SAFETY: `prof.active` is a NUL-terminated, writable boolean mallctl.
    unsafe { tikv_jemalloc_ctl::raw::write(b"prof.active\0", active) }
        .map_err(ctl_error("prof.active"))
}

/// Whether sampling is on now.
pub fn is_active() -> bool {
    is_enabled() && read_bool(b"prof.active\0", "prof.active").unwrap_or(false)
}

/// The sampling interval now in force, as a base-2 logarithm of bytes.
pub fn lg_sample() -> Result<u32, ProfileError> {
    require_enabled()?;
    // SAFETY: `prof.lg_sample` is a NUL-terminated `size_t` mallctl.
    let lg = unsafe { tikv_jemalloc_ctl::raw::read::<usize>(b"prof.lg_sample\0") }
        .map_err(ctl_error("prof.lg_sample"))?;
    Ok(lg as u32)
}

/// Drops every sample taken so far and sets a new sampling interval,
/// `2^lg_sample` bytes (jemalloc's `prof.reset`; at most 62).
pub fn reset(lg_sample: u32) -> Result<(), ProfileError> {
    require_enabled()?;
    if lg_sample > 62 {
        return Err(ProfileError::Ctl {
            what: "prof.reset",
            detail: format!("lg_sample {lg_sample} is above 62"),
        });
    }
    // SAFETY: `prof.reset` is a NUL-terminated, writable `size_t` mallctl.
    unsafe { tikv_jemalloc_ctl::raw::write(b"prof.reset\0", lg_sample as usize) }
        .map_err(ctl_error("prof.reset"))
}

/// Takes a heap profile now: jemalloc dumps its samples to a private
/// temporary file (`prof.dump`), which is read back and removed. The
/// profile holds raw return addresses; symbolise later, away from hot
/// paths ([`HeapProfile::top_sites`], [`HeapProfile::write_pprof`]).
///
/// Costs a walk over jemalloc's sampled backtraces under its profiler's
/// locks (allocations being sampled wait meanwhile) and a file write and
/// read: 1.8 ms for 77 backtraces on the build VM (`examples/symbolize_cost.rs`),
/// growing with their number. Not for hot paths.
pub fn take() -> Result<HeapProfile, ProfileError> {
    require_enabled()?;
    if !is_active() {
        return Err(ProfileError::Inactive);
    }
    let file = tempfile::Builder::new()
        .prefix("heapguard-heap-")
        .suffix(".heap")
        .tempfile()?;
    let path = CString::new(file.path().as_os_str().as_encoded_bytes())
        .map_err(|_| ProfileError::Parse("temporary path holds a NUL byte".into()))?;
    let name: *const c_char = path.as_ptr();
    // SAFETY: `prof.dump` is a NUL-terminated, writable `const char *`
    // mallctl; `name` points at a NUL-terminated path that outlives the call.
    unsafe { tikv_jemalloc_ctl::raw::write(b"prof.dump\0", name) }
        .map_err(ctl_error("prof.dump"))?;
    let reader = BufReader::new(file.reopen()?);
    let mut profile = HeapProfile::parse(reader)?;
    profile.coverage = coverage_now(profile.total_bytes());
    Ok(profile)
}
