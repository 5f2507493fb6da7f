//! What the breaker's tests share, written once: host trees (copies of a
//! machine's `/proc` and cgroup files under a temporary directory, read
//! through `Host::with_root`), a breaker over a manual reading and clock
//! ([`manual_breaker`]), bounded waits ([`eventually`]), and a runtime
//! and a real server on 127.0.0.1 ([`two_workers`], [`serve`]).
#![allow(dead_code, unused_imports)]

mod manual;
mod serve;
mod wait;

pub use manual::manual_breaker;
pub use serve::{serve, two_workers};
pub use wait::{eventually, eventually_async, PATIENCE};

use std::fs;
use std::path::{Path, PathBuf};

use heapguard_breaker::reading::Host;
use tempfile::TempDir;

pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;

/// `MemTotal` of the trees' `/proc/meminfo`: 64 GiB.
pub const PHYSICAL: u64 = 64 * GIB;

/// The head of a real `/proc/meminfo` (a 64 GiB node).
pub const MEMINFO: &str = "\
MemTotal:       67108864 kB
MemFree:        41234560 kB
MemAvailable:   58734592 kB
Buffers:          402116 kB
Cached:         16254124 kB
SwapCached:            0 kB
Active:          9876540 kB
Inactive:       12345678 kB
";

/// A v2 `memory.stat` as the kernel writes it, with `anon` and
/// `inactive_file` set.
pub fn v2_stat(anon: u64, inactive_file: u64) -> String {
    format!(
        "anon {anon}\nfile {file}\nkernel 1548288\nkernel_stack 245760\npagetables 364544\n\
         sec_pagetables 0\npercpu 4560\nsock 0\nvmalloc 8192\nshmem 0\nzswap 0\nzswapped 0\n\
         file_mapped 1359872\nfile_dirty 0\nfile_writeback 0\nswapcached 0\nanon_thp 0\n\
         file_thp 0\nshmem_thp 0\ninactive_anon {anon}\nactive_anon 0\n\
         inactive_file {inactive_file}\nactive_file 4096\nunevictable 0\n\
         slab_reclaimable 331792\nslab_unreclaimable 271856\nslab 603648\n\
         workingset_refault_anon 0\nworkingset_refault_file 0\npgfault 10293\npgmajfault 0\n",
        file = inactive_file + 4096,
    )
}

/// A v1 `memory.stat` as the kernel writes it, with the hierarchical limit
/// and `total_inactive_file`.
pub fn v1_stat(hierarchical_memory_limit: u64, total_inactive_file: u64) -> String {
    format!(
        "cache {total_inactive_file}\nrss 1794048\nrss_huge 0\nshmem 0\nmapped_file 0\n\
         dirty 0\nwriteback 0\nswap 0\npgpgin 29694\npgpgout 27298\npgfault 63189\n\
         pgmajfault 8\ninactive_anon 1593344\nactive_anon 8192\ninactive_file {total_inactive_file}\n\
         active_file 0\nunevictable 0\nhierarchical_memory_limit {hierarchical_memory_limit}\n\
         hierarchical_memsw_limit 9223372036854771712\ntotal_cache {total_inactive_file}\n\
         total_rss 1794048\ntotal_rss_huge 0\ntotal_shmem 0\ntotal_mapped_file 0\n\
         total_dirty 0\ntotal_writeback 0\ntotal_swap 0\ntotal_pgpgin 29694\n\
         total_pgpgout 27298\ntotal_pgfault 63189\ntotal_pgmajfault 8\n\
         total_inactive_anon 1593344\ntotal_active_anon 8192\n\
         total_inactive_file {total_inactive_file}\ntotal_active_file 0\ntotal_unevictable 0\n"
    )
}

/// The page-aligned `i64::MAX` a v1 cgroup reports for "no limit" with 4 KiB pages.
pub const V1_UNLIMITED_4K: &str = "9223372036854771712";
/// The same with 64 KiB pages (arm64, ppc64le kernels).
pub const V1_UNLIMITED_64K: &str = "9223372036854710272";

/// The mountinfo lines of a systemd host's unified hierarchy (`/` rooted).
pub const MOUNTS_BASE: &str = "\
24 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw
25 24 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 24 0:24 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw
";

/// A temporary host tree: a directory of its own, removed when the tree is
/// dropped (also when the test fails by panic).
pub struct Tree {
    root: TempDir,
}

impl Tree {
    pub fn new(name: &str) -> Self {
        let root = tempfile::Builder::new()
            .prefix(&format!("heapguard-breaker-host-{name}-"))
            .tempdir()
            .unwrap();
        let tree = Self { root };
        tree.write("/proc/meminfo", MEMINFO);
        tree
    }

    /// A copy of a tree committed under `tests/hosts/<name>`.
    pub fn copy_of(name: &str) -> Self {
        let tree = Self::new(name);
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/hosts")
            .join(name);
        copy_dir(&from, tree.root.path());
        tree
    }

    /// Writes `text` at the host path `path` (`/sys/fs/cgroup/...`).
    pub fn write(&self, path: &str, text: &str) -> &Self {
        let path = self.path(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        // Write and rename, so a refresher reading meanwhile sees old or new.
        let temporary = path.with_extension("heapguard-tmp");
        fs::write(&temporary, text).unwrap();
        fs::rename(&temporary, &path).unwrap();
        self
    }

    /// Makes a directory at the host path (a cgroup without controller files).
    pub fn dir(&self, path: &str) -> &Self {
        fs::create_dir_all(self.path(path)).unwrap();
        self
    }

    pub fn remove(&self, path: &str) -> &Self {
        let path = self.path(path);
        let _ = fs::remove_file(&path).or_else(|_| fs::remove_dir_all(&path));
        self
    }

    /// Puts a directory where a file should be: reading it fails even as root.
    pub fn unreadable(&self, path: &str) -> &Self {
        self.remove(path);
        fs::create_dir_all(self.path(path)).unwrap();
        self
    }

    /// Puts a dangling symbolic link where a file should be.
    pub fn dangling(&self, path: &str) -> &Self {
        self.remove(path);
        let path = self.path(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(self.root.path().join("nowhere"), path).unwrap();
        self
    }

    pub fn path(&self, path: &str) -> PathBuf {
        self.root.path().join(path.trim_start_matches('/'))
    }

    pub fn host(&self) -> Host {
        Host::with_root(self.root.path())
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}
