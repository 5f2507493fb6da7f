//! Files replaced whole or not at all: written to a temporary file in the
//! target's directory, flushed to disk, then renamed over the target, so a
//! failed write (a full disk, a size limit, a crash) leaves the file that
//! was there before untouched.

use std::fs::{File, Permissions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Replaces `path` with what `write` writes, atomically. A file already at
/// `path` keeps its permission bits; a new one gets `0o666` less the umask.
/// An error before the rename removes the temporary file and leaves `path`
/// as it was; an error syncing the directory is returned after the rename.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let kept = match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Some(meta.permissions()),
        _ => None,
    };
    // open(2) takes the umask off the mode it is given: right for a new
    // file, while an existing file's bits are set whole below.
    let mut temp = tempfile::Builder::new()
        .prefix(".demo-processor-")
        .suffix(".tmp")
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)?;
    if let Some(permissions) = kept {
        temp.as_file().set_permissions(permissions)?;
    }
    {
        let mut out = BufWriter::new(temp.as_file_mut());
        write(&mut out)?;
        out.flush()?;
    }
    temp.as_file().sync_all()?;
    // On failure the error carries the temporary file, removed as it drops.
    temp.persist(path).map_err(|e| e.error)?;
    // The rename is durable once the directory is on disk too.
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The process's umask, from `/proc/self/status` (`umask(2)` would
    /// change it, racing other threads).
    fn umask() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
        u32::from_str_radix(line.split_whitespace().nth(1).unwrap(), 8).unwrap()
    }

    fn scratch() -> tempfile::TempDir {
        tempfile::tempdir().expect("a private scratch directory")
    }

    #[test]
    fn replaces_the_file_and_leaves_nothing_else() {
        let dir = scratch();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "old").unwrap();
        // Group- and other-writable: bits a umask of 022 would take off a
        // mode handed to open(2).
        std::fs::set_permissions(&path, Permissions::from_mode(0o666)).unwrap();
        write_atomically(&path, |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666, "the old file's mode is kept");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_removes_the_temporary() {
        let dir = scratch();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "good").unwrap();
        let error = write_atomically(&path, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(error.to_string(), "disk full");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "good");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_new_file_gets_the_umask_mode() {
        let dir = scratch();
        let path = dir.path().join("new.svg");
        write_atomically(&path, |w| w.write_all(b"<svg/>")).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask());
    }
}
