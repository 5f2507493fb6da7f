//! Why there is no profile.

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
    /// Profiling is enabled but `prof.active` is off: call [`activate`](super::activate).
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
    /// active) nor the wrapper's ([`sampling::start`](super::sampling::start), or [`activate`](super::activate) in a
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
