use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::memory_source::MemorySource;
use crate::error::SourceError;

const STATM: &str = "/proc/self/statm";

/// Reads the resident set size: `/proc/self/statm`'s second field (resident
/// pages) times the page size.
///
/// Works with any allocator, counts everything the process has resident
/// (code, stacks, allocator caches), and costs a system call per reading
/// (about a microsecond, no heap allocation): use it where the counting
/// allocator is not installed. Freed memory that the allocator keeps shows
/// here until it is returned to the OS (see the breaker's purge hook).
#[derive(Debug, Clone)]
pub struct RssSource {
    path: PathBuf,
    page_size: u64,
}

impl RssSource {
    /// A source over `/proc/self/statm`; fails if it cannot be read and parsed now.
    pub fn new() -> Result<Self, SourceError> {
        Self::from_statm(STATM, page_size())
    }

    /// A source over a statm-format file at `path` with the given page size
    /// (for tests with fixture files); fails if it cannot be read and parsed now.
    pub fn from_statm(path: impl AsRef<Path>, page_size: u64) -> Result<Self, SourceError> {
        let source = Self {
            path: path.as_ref().to_path_buf(),
            page_size,
        };
        source.used_bytes()?;
        Ok(source)
    }
}

impl MemorySource for RssSource {
    fn used_bytes(&self) -> Result<u64, SourceError> {
        let io_error = |source| SourceError::io(&self.path, source);
        // A stack buffer: reading RSS allocates nothing on the heap.
        let mut buffer = [0u8; 256];
        let mut file = File::open(&self.path).map_err(io_error)?;
        let mut filled = 0;
        loop {
            let read = file.read(&mut buffer[filled..]).map_err(io_error)?;
            if read == 0 || filled + read == buffer.len() {
                filled += read;
                break;
            }
            filled += read;
        }
        let text = std::str::from_utf8(&buffer[..filled]).unwrap_or("");
        let expected = "`size resident shared ...` in pages";
        let resident = text
            .split_ascii_whitespace()
            .nth(1)
            .ok_or_else(|| SourceError::parse(&self.path, expected, text))?;
        let pages: u64 = resident
            .parse()
            .map_err(|_| SourceError::parse(&self.path, expected, text))?;
        Ok(pages.saturating_mul(self.page_size))
    }

    fn name(&self) -> &'static str {
        "rss"
    }
}

/// The kernel's page size, from `sysconf(_SC_PAGESIZE)` (4 KiB if it fails).
fn page_size() -> u64 {
    // SAFETY: `sysconf` reads a configuration value; it has no preconditions
    // and touches no memory of ours.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size)
        .ok()
        .filter(|&size| size > 0)
        .unwrap_or(4096)
}
