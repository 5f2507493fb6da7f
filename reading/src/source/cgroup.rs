use crate::cgroup::Cgroup;
use crate::host::Host;

use super::memory_source::MemorySource;
use crate::error::SourceError;

/// Reads the process's cgroup working set: usage minus inactive file pages
/// (`memory.current - inactive_file` on v2, `memory.usage_in_bytes -
/// total_inactive_file` on v1), what the container's OOM killer judges by,
/// page cache that can be dropped excluded.
///
/// It reads the process's own cgroup or, where that directory has no memory
/// files (the controller is not enabled at its level), the nearest ancestor
/// that has them: the one the kernel charges. Each `used_bytes` reads two
/// files; a breaker given this source reads them on its shared refresher
/// thread instead, never on `check()`.
#[derive(Debug, Clone)]
pub struct CgroupSource {
    cgroup: Cgroup,
}

impl CgroupSource {
    /// A source over this process's cgroup on `host`; fails if it cannot be
    /// found or read now.
    pub fn new(host: &Host) -> Result<Self, SourceError> {
        Self::from_cgroup(Cgroup::detect(host)?)
    }

    /// A source over the given cgroup; fails if it cannot be read now.
    pub fn from_cgroup(cgroup: Cgroup) -> Result<Self, SourceError> {
        cgroup.working_set()?;
        Ok(Self { cgroup })
    }

    /// The cgroup read.
    pub fn cgroup(&self) -> &Cgroup {
        &self.cgroup
    }
}

impl MemorySource for CgroupSource {
    fn used_bytes(&self) -> Result<u64, SourceError> {
        self.cgroup.working_set()
    }

    fn name(&self) -> &'static str {
        "cgroup"
    }
}
