//! Allocation sites: backtraces symbolised, with the allocator's own frames
//! skipped.

use std::collections::HashMap;
use std::fmt;

use super::loaded::{self, Object};

/// At most this many backtraces are symbolised per call, the ones with the
/// most bytes first: the time and memory of symbolising stay bounded
/// whatever the profile's size.
pub const MAX_STACKS_SYMBOLIZED: usize = 256;

/// At most this many frames of one backtrace are looked at for its site.
pub const MAX_FRAMES_PER_STACK: usize = 64;

/// One frame of a backtrace, inlined frames being frames of their own.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    /// The demangled function name without its hash
    /// (`my_crate::cache::Cache::insert`).
    pub function: String,
    /// The source file, when the binary has line tables.
    pub file: Option<String>,
    /// The line, when the binary has line tables.
    pub line: Option<u32>,
}

/// Where memory was allocated: the first frame of a backtrace outside the
/// allocation machinery (`alloc`, `core`, `std`, `hashbrown`, heapguard,
/// jemalloc and the C runtime), inlined frames included; without inlined
/// frames nearly every site would be `alloc::raw_vec::finish_grow`.
pub type Site = Frame;

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.function)?;
        if let Some(file) = &self.file {
            write!(f, " at {file}")?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
        }
        Ok(())
    }
}

/// A site and the bytes it holds (or gained).
#[derive(Clone, Debug, PartialEq)]
pub struct SiteBytes {
    /// The site.
    pub site: Site,
    /// Estimated bytes (held, or gained in a diff).
    pub bytes: f64,
    /// Estimated allocations.
    pub objects: f64,
    /// `bytes` over the bytes of all sites with positive bytes, 0 to 1.
    pub share: f64,
}

/// Symbolises return addresses of this process with its own debug
/// information (the `backtrace` crate: `.symtab` names and DWARF line tables,
/// inlined frames included) and turns backtraces into [`Site`]s.
///
/// Only addresses in the object heapguard is linked into (the executable)
/// are read from debug information; a frame in a shared library (libc, the
/// vDSO) is named from that library's exported symbols when one covers it,
/// without file or line, and left out otherwise, and reads no file: a
/// library's separate debug information (a distribution's `-dbg` package)
/// can take several times the heap of the executable's.
///
/// Cost: the first use maps and parses the binary's line tables (tens of
/// MiB of heap and tens to hundreds of milliseconds for a large binary; see
/// the README for figures). They stay loaded while the `Symbolizer` lives,
/// so keep one for a batch of work, and are released when it is dropped
/// (`backtrace::clear_symbol_cache`), so a process does not hold them for
/// good after one leak alarm. Each address is resolved once per
/// `Symbolizer`. Never symbolise inside the allocator or a breaker check:
/// take the profile there, symbolise later.
#[derive(Debug, Default)]
pub struct Symbolizer {
    frames: HashMap<usize, Vec<Frame>>,
}

impl Drop for Symbolizer {
    fn drop(&mut self) {
        if !self.frames.is_empty() {
            // The line tables the resolutions loaded are the `backtrace`
            // crate's, process-wide; another live `Symbolizer` reloads what
            // it needs on its next resolution.
            backtrace::clear_symbol_cache();
        }
    }
}

impl Symbolizer {
    /// An empty cache of resolved addresses.
    pub fn new() -> Self {
        Self::default()
    }

    /// The frames at return address `addr`, innermost (inlined) first.
    pub fn frames(&mut self, addr: usize) -> &[Frame] {
        self.frames.entry(addr).or_insert_with(|| resolve(addr))
    }

    /// The site of a backtrace (innermost return address first): its first
    /// frame outside the allocation machinery, or `None` when every frame is
    /// inside it or unknown.
    pub fn site(&mut self, addrs: &[usize]) -> Option<Site> {
        for &addr in addrs.iter().take(MAX_FRAMES_PER_STACK) {
            if let Some(frame) = self.frames(addr).iter().find(|frame| !is_machinery(frame)) {
                return Some(frame.clone());
            }
        }
        None
    }

    /// Sums `(backtrace, bytes, objects)` entries by site and returns the `n`
    /// sites with the most bytes. Only the [`MAX_STACKS_SYMBOLIZED`] entries
    /// with the most bytes are symbolised; the shares are of the positive
    /// bytes of all entries, symbolised or not.
    pub fn top_sites<'a>(
        &mut self,
        entries: impl Iterator<Item = (&'a [usize], f64, f64)>,
        n: usize,
    ) -> Vec<SiteBytes> {
        let mut entries: Vec<_> = entries.collect();
        let positive: f64 = entries.iter().map(|e| e.1.max(0.0)).sum();
        entries.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut by_site: HashMap<Site, (f64, f64)> = HashMap::new();
        for (addrs, bytes, objects) in entries.into_iter().take(MAX_STACKS_SYMBOLIZED) {
            let site = self.site(addrs).unwrap_or_else(|| Frame {
                function: "[unknown]".into(),
                file: None,
                line: None,
            });
            let sum = by_site.entry(site).or_default();
            sum.0 += bytes;
            sum.1 += objects;
        }
        let mut sites: Vec<SiteBytes> = by_site
            .into_iter()
            .map(|(site, (bytes, objects))| SiteBytes {
                site,
                bytes,
                objects,
                share: if positive > 0.0 {
                    bytes / positive
                } else {
                    0.0
                },
            })
            .collect();
        sites.sort_by(|a, b| b.bytes.total_cmp(&a.bytes));
        sites.truncate(n);
        sites
    }
}

fn resolve(addr: usize) -> Vec<Frame> {
    let mut frames = Vec::new();
    // A return address points past its call; one byte back lies inside it.
    let pc = addr.saturating_sub(1) as *mut core::ffi::c_void;
    if loaded::object_of(pc) == Object::Other {
        // Another object's debug information is not read (see `loaded`).
        frames.extend(loaded::dynamic_symbol(pc).map(|function| Frame {
            function,
            file: None,
            line: None,
        }));
        return frames;
    }
    backtrace::resolve(pc, |symbol| {
        let Some(name) = symbol.name() else { return };
        frames.push(Frame {
            function: format!("{name:#}"),
            file: symbol.filename().map(|path| path.display().to_string()),
            line: symbol.lineno(),
        });
    });
    frames
}

/// Crates whose frames are never a site.
const MACHINERY_CRATES: &[&str] = &[
    "alloc",
    "core",
    "std",
    "hashbrown",
    "__rustc",
    // The unwinder's Rust side, in the stacks the wrapper's sampler walks.
    "backtrace",
    "heapguard_alloc",
    "heapguard_breaker",
    "heapguard_monitor",
    "tikv_jemallocator",
    "tikv_jemalloc_sys",
    "tikv_jemalloc_ctl",
];

fn is_machinery(frame: &Frame) -> bool {
    let name = frame.function.as_str();
    if let Some(file) = &frame.file {
        // The standard library's sources (`/rustc/<commit>/library/...`) and
        // its vendored hashbrown: demangled trait paths there do not always
        // start with the crate (`<u8 as <[_]>::to_vec_in::ConvertVec>::to_vec`).
        if file.starts_with("/rustc/")
            || file.contains("/library/alloc/")
            || file.contains("/library/core/")
            || file.contains("/library/std/")
            || file.contains("/hashbrown-")
            // The unwinder's Rust side (the wrapper's sampler walks with
            // it): its inlined frames carry bare names (`trace`).
            || file.contains("/backtrace-0.")
            || (file.contains("jemalloc") && !name.contains("::"))
        {
            return true;
        }
    }
    if let Some(file) = &frame.file {
        if is_heapguard_source(file) {
            return true;
        }
    }
    if !name.contains("::") {
        // Inlined frames of a binary with line tables only carry bare names
        // (`spread`, `realloc<A>`): their file says whose they are, and the
        // standard library's and heapguard's were skipped above. Without a
        // file: C symbols (jemalloc's `_rjem_*` and static functions, the
        // unwinder, libc: no Rust file) and Rust's allocator shims
        // (`__rust_alloc`).
        return !frame
            .file
            .as_deref()
            .is_some_and(|file| file.ends_with(".rs"))
            || name.starts_with("__r");
    }
    MACHINERY_CRATES.contains(&crate_of(name))
}

/// Whether `file` is a source of heapguard's own crates: this crate's
/// directory, its workspace siblings, or a registry copy (`heapguard-*`).
fn is_heapguard_source(file: &str) -> bool {
    let alloc_dir = env!("CARGO_MANIFEST_DIR");
    if file.starts_with(&format!("{alloc_dir}/src/")) || file.contains("/heapguard-") {
        return true;
    }
    match alloc_dir.rsplit_once('/') {
        Some((workspace, _)) => ["/breaker/src/", "/monitor/src/"]
            .iter()
            .any(|crate_dir| file.starts_with(&format!("{workspace}{crate_dir}"))),
        None => false,
    }
}

/// The crate a demangled path belongs to: its first segment, or for
/// `<Type as Trait>::f` the type's crate, the trait's when the type is not a
/// path (`[T]`, `&T`, `u8`, a generic parameter).
fn crate_of(name: &str) -> &str {
    if let Some(inner) = name.strip_prefix('<') {
        if let Some((self_type, rest)) = inner.split_once(" as ") {
            let self_crate = first_segment(self_type);
            if self_type.contains("::") && !self_type.starts_with(['&', '[', '(', '*']) {
                return self_crate;
            }
            return first_segment(rest);
        }
        return first_segment(inner);
    }
    first_segment(name)
}

fn first_segment(path: &str) -> &str {
    let path = path.trim_start_matches(['<', '&', '*']);
    let path = path.strip_prefix("mut ").unwrap_or(path);
    let path = path.strip_prefix("dyn ").unwrap_or(path);
    let end = path.find(['<', ':', '>', ' ']).unwrap_or(path.len());
    &path[..end]
}

#[cfg(test)]
mod tests {
    use super::{crate_of, is_machinery, Frame};

    fn frame(name: &str) -> Frame {
        Frame {
            function: name.into(),
            file: None,
            line: None,
        }
    }

    #[test]
    fn crate_of_paths_and_trait_impls() {
        assert_eq!(crate_of("alloc::raw_vec::finish_grow"), "alloc");
        assert_eq!(
            crate_of("<demo::contact::Contact as core::clone::Clone>::clone"),
            "demo"
        );
        assert_eq!(
            crate_of("<T as alloc::vec::spec_from_elem::SpecFromElem>::from_elem"),
            "alloc"
        );
        assert_eq!(
            crate_of("<[T] as alloc::slice::hack::ConvertVec>::to_vec"),
            "alloc"
        );
        assert_eq!(
            crate_of("<u8 as alloc::vec::SpecFromElem>::from_elem"),
            "alloc"
        );
        assert_eq!(
            crate_of(
                "<heapguard_alloc::CountingAlloc<A> as core::alloc::global::GlobalAlloc>::alloc"
            ),
            "heapguard_alloc"
        );
        assert_eq!(
            crate_of("hashbrown::raw::RawTable<T,A>::reserve_rehash"),
            "hashbrown"
        );
    }

    #[test]
    fn standard_library_sources_are_machinery_whatever_the_name() {
        let frame = Frame {
            function: "<u8 as <[_]>::to_vec_in::ConvertVec>::to_vec::<alloc::alloc::Global>".into(),
            file: Some(
                "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/alloc/src/slice.rs".into(),
            ),
            line: Some(448),
        };
        assert!(is_machinery(&frame));
        let user = Frame {
            file: Some("/src/app/src/cache.rs".into()),
            ..super::tests::frame("app::cache::Cache::insert")
        };
        assert!(!is_machinery(&user));
        // Bare names of inlined frames (line tables only): by file.
        let bare = Frame {
            function: "spread".into(),
            file: Some("/src/app/src/main.rs".into()),
            line: Some(3),
        };
        assert!(!is_machinery(&bare));
        // The unwinder's inlined frames, in the wrapper's sampled stacks.
        let unwinder = Frame {
            function: "trace".into(),
            file: Some(
                "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/backtrace-0.3.77/src/backtrace/mod.rs"
                    .into(),
            ),
            line: Some(53),
        };
        assert!(is_machinery(&unwinder));
        let ours = Frame {
            function: "realloc<tikv_jemallocator::Jemalloc>".into(),
            file: Some(format!(
                "{}/src/counting_alloc.rs",
                env!("CARGO_MANIFEST_DIR")
            )),
            line: Some(113),
        };
        assert!(is_machinery(&ours));
    }

    #[test]
    fn machinery_frames_are_skipped_and_user_frames_kept() {
        for name in [
            "__rust_alloc",
            "__rustc::__rust_alloc",
            "_rjem_je_prof_backtrace",
            "imalloc_body",
            "std::collections::hash::map::HashMap<K,V,S>::insert",
            "<alloc::string::String as core::clone::Clone>::clone",
        ] {
            assert!(is_machinery(&frame(name)), "{name}");
        }
        for name in [
            "demo_processor::leak::UnboundedRecordCache::remember",
            "<demo_processor::contact::Contact as core::clone::Clone>::clone",
            "leaky::grow",
        ] {
            assert!(!is_machinery(&frame(name)), "{name}");
        }
    }
}
