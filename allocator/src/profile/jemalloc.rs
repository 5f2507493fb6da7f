//! jemalloc's own heap profiler (feature `profiling`): its start-up
//! options, its state through mallctl, and its dumps read as profiles.

use core::ffi::c_char;
use std::ffi::CString;
use std::io::BufReader;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

use super::error::ProfileError;
use super::heap::HeapProfile;

/// Exports `_rjem_malloc_conf` from the binary so that jemalloc starts with
/// its heap profiler enabled but inactive (`prof:true,prof_active:false`),
/// sampling one allocation per `2^lg_sample` bytes (default
/// [`DEFAULT_LG_SAMPLE`](crate::profile::DEFAULT_LG_SAMPLE)). Use it once, in the binary's crate (never in a
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

pub(super) fn require_enabled() -> Result<(), ProfileError> {
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

pub(super) fn set_active(active: bool) -> Result<(), ProfileError> {
    require_enabled()?;
    // SAFETY: `prof.active` is a NUL-terminated, writable boolean mallctl.
    unsafe { tikv_jemalloc_ctl::raw::write(b"prof.active\0", active) }
        .map_err(ctl_error("prof.active"))
}

/// Whether jemalloc's profiler is enabled and `prof.active` is on.
pub(super) fn is_active() -> bool {
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
pub(super) fn take() -> Result<HeapProfile, ProfileError> {
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
    profile.coverage = super::coverage::coverage_now(profile.total_bytes());
    Ok(profile)
}
