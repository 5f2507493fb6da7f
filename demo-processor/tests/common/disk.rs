//! Small filesystems for the tests of outputs that must not lose data: a
//! tmpfs of a few KiB (a disk that fills), mounted read-only or not.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted on a private directory, unmounted when dropped.
pub struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// A writable tmpfs of `size` (`mount`'s syntax: "16k"). `None` (after
    /// saying why) where mounting is not permitted, unless `CI=true`: CI
    /// runs as root, so there it fails.
    pub fn mount(size: &str) -> Option<Self> {
        Self::mount_with(&format!("size={size}"))
    }

    /// A read-only tmpfs holding one empty directory, `name`: a read-only
    /// disk (root, which ignores mode bits, cannot write there either).
    pub fn read_only_with_dir(name: &str) -> Option<Self> {
        let disk = Self::mount("16k")?;
        std::fs::create_dir(disk.path().join(name)).expect("a directory on the tmpfs");
        let remounted = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(disk.path())
            .status()
            .expect("run mount");
        assert!(remounted.success(), "remount read-only");
        Some(disk)
    }

    fn mount_with(options: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(Self { dir }),
            other => {
                let why = match other {
                    Ok(output) => String::from_utf8_lossy(&output.stderr).into_owned(),
                    Err(error) => error.to_string(),
                };
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "CI must be able to mount a tmpfs (it runs as root): {why}"
                );
                eprintln!("SKIPPED: cannot mount a tmpfs (needs root): {why}");
                None
            }
        }
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Puts a good file of `bytes` bytes at `name`, leaving the rest free.
    pub fn good_file(&self, name: &str, bytes: usize) -> (PathBuf, Vec<u8>) {
        let path = self.path().join(name);
        let content: Vec<u8> = b"good ".iter().copied().cycle().take(bytes).collect();
        std::fs::write(&path, &content).expect("the good file fits");
        (path, content)
    }

    /// Fills what is left with one file, `name`, so the next write fails
    /// with ENOSPC.
    pub fn fill(&self, name: &str) {
        use std::io::Write;
        let mut file = std::fs::File::create(self.path().join(name)).expect("a filler file");
        let block = [0u8; 1024];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}
