use crate::budget::BudgetError;
use crate::cgroup::Cgroup;
use crate::host::Host;

use super::{MemorySource, SourceError};

/// Reads the process's cgroup working set (`memory.current - inactive_file`
/// on v2): what the container's OOM killer judges by, page cache that can be
/// dropped excluded. Two small file reads per reading.
#[derive(Debug, Clone)]
pub struct CgroupSource {
    cgroup: Cgroup,
}

impl CgroupSource {
    /// A source over this process's cgroup on `host`; fails if it cannot be
    /// found or read now.
    pub fn new(host: &Host) -> Result<Self, BudgetError> {
        Self::from_cgroup(Cgroup::detect(host)?)
    }

    /// A source over the given cgroup; fails if it cannot be read now.
    pub fn from_cgroup(cgroup: Cgroup) -> Result<Self, BudgetError> {
        let source = Self { cgroup };
        source
            .cgroup
            .working_set()
            .map_err(|error| BudgetError::Unknown {
                what: "cgroup working set",
                path: source.cgroup.dir().to_path_buf(),
                reason: error.to_string(),
            })?;
        Ok(source)
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
