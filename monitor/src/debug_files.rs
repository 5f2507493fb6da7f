//! The files a symbolising pass reads for the executable, found where the
//! `backtrace` crate looks (the search order of gdb's separate debug files,
//! <https://sourceware.org/gdb/onlinedocs/gdb/Separate-Debug-Files.html>):
//! the executable, or the separate debug file its build ID or
//! `.gnu_debuglink` names, with that file's supplementary file
//! (`.gnu_debugaltlink`, what `dwz` leaves); and a DWARF package beside the
//! executable (`<exe>.dwp`, from `split-debuginfo = "packed"`).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use object::read::ReadCache;
use object::{CompressionFormat, Object, ObjectSection};

/// Where distributions install separate debug files.
const DEBUG_DIR: &str = "/usr/lib/debug";

/// What the symboliser reads for an executable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DebugFiles {
    /// The files' sizes, each zlib-compressed section counted at its
    /// uncompressed size.
    pub(crate) expanded_bytes: u64,
    /// The uncompressed size of the compressed sections: the symboliser
    /// decompresses them into the heap, where a plain file is mapped.
    pub(crate) decompressed_bytes: u64,
}

/// The files read for the executable at `exe`; an error when `exe` itself
/// cannot be read. A separate debug file that is not an object file counts
/// at its size (a margin); a package that is not one is left out, as the
/// symboliser leaves it.
pub(crate) fn for_executable(exe: &Path) -> io::Result<DebugFiles> {
    let own = ElfFile::read(exe)?;
    let mut files = DebugFiles::default();
    let separate = own
        .build_id
        .as_deref()
        .and_then(build_id_path)
        .or_else(|| {
            own.debuglink
                .as_deref()
                .and_then(|name| debuglink_path(exe, name))
        })
        .and_then(|path| Some((ElfFile::read(&path).ok()?, path)));
    match separate {
        Some((debug, path)) => {
            // The debug file replaces the executable (its symbol table
            // included).
            files.add(&debug);
            if let Some(sup) = debug
                .altlink
                .as_ref()
                .and_then(|(name, id)| altlink_path(&path, name, id))
                .and_then(|sup| ElfFile::read(&sup).ok())
            {
                files.add(&sup);
            }
        }
        None => files.add(&own),
    }
    let mut dwp = OsString::from(exe.as_os_str());
    dwp.push(".dwp");
    // A package that is not an object file is ignored, as the symboliser
    // ignores it.
    if let Ok(package) = ElfFile::read(Path::new(&dwp)) {
        if package.is_object {
            files.add(&package);
        }
    }
    Ok(files)
}

impl DebugFiles {
    fn add(&mut self, file: &ElfFile) {
        self.expanded_bytes = self.expanded_bytes.saturating_add(file.expanded_bytes);
        self.decompressed_bytes = self
            .decompressed_bytes
            .saturating_add(file.decompressed_bytes);
    }
}

/// One file's sizes and the links to its debug files.
#[derive(Debug, Default)]
struct ElfFile {
    /// Whether it parsed as an object file.
    is_object: bool,
    expanded_bytes: u64,
    decompressed_bytes: u64,
    build_id: Option<Vec<u8>>,
    debuglink: Option<Vec<u8>>,
    /// The supplementary file's name and build ID.
    altlink: Option<(Vec<u8>, Vec<u8>)>,
}

impl ElfFile {
    /// Reads the headers of the file at `path` (only what parsing them
    /// needs, not the whole file). A file that is not an object file counts
    /// at its size, with no links.
    fn read(path: &Path) -> io::Result<ElfFile> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut read = ElfFile {
            expanded_bytes: len,
            ..ElfFile::default()
        };
        let cache = ReadCache::new(file);
        let Ok(object) = object::File::parse(&cache) else {
            return Ok(read);
        };
        read.is_object = true;
        for section in object.sections() {
            let Ok(range) = section.compressed_file_range() else {
                continue;
            };
            // zlib only: the `backtrace` crate reads zstd sections only with
            // its `ruzstd` feature, which this build does not turn on, and
            // skips them (they stay mapped, counted at their size).
            if range.format == CompressionFormat::Zlib {
                read.expanded_bytes = read
                    .expanded_bytes
                    .saturating_sub(range.compressed_size)
                    .saturating_add(range.uncompressed_size);
                read.decompressed_bytes = read
                    .decompressed_bytes
                    .saturating_add(range.uncompressed_size);
            }
        }
        read.build_id = object.build_id().ok().flatten().map(<[u8]>::to_vec);
        read.debuglink = object
            .gnu_debuglink()
            .ok()
            .flatten()
            .map(|(name, _crc)| name.to_vec());
        read.altlink = object
            .gnu_debugaltlink()
            .ok()
            .flatten()
            .map(|(name, id)| (name.to_vec(), id.to_vec()));
        Ok(read)
    }
}

/// `/usr/lib/debug/.build-id/ab/cdef….debug`, if that file exists.
fn build_id_path(build_id: &[u8]) -> Option<PathBuf> {
    build_id_candidate(build_id).filter(|path| path.is_file())
}

/// Where the debug file of `build_id` would be.
fn build_id_candidate(build_id: &[u8]) -> Option<PathBuf> {
    let (first, rest) = build_id.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let hex: String = rest.iter().map(|byte| format!("{byte:02x}")).collect();
    Some(PathBuf::from(format!(
        "{DEBUG_DIR}/.build-id/{first:02x}/{hex}.debug"
    )))
}

/// The file a `.gnu_debuglink` names: beside the executable, in `.debug`
/// beside it, or under `/usr/lib/debug` at the executable's directory.
fn debuglink_path(exe: &Path, name: &[u8]) -> Option<PathBuf> {
    let exe = exe.canonicalize().ok()?;
    let dir = exe.parent()?;
    let name = Path::new(OsStr::from_bytes(name));
    let beside = dir.join(name);
    if beside != exe && beside.is_file() {
        return Some(beside);
    }
    [
        dir.join(".debug").join(name),
        Path::new(DEBUG_DIR)
            .join(dir.strip_prefix("/").unwrap_or(dir))
            .join(name),
    ]
    .into_iter()
    .find(|path| path.is_file())
}

/// The supplementary file a debug file's `.gnu_debugaltlink` names: the
/// path as written (relative to the debug file's directory), or by its
/// build ID.
fn altlink_path(debug_file: &Path, name: &[u8], build_id: &[u8]) -> Option<PathBuf> {
    let name = Path::new(OsStr::from_bytes(name));
    let named = if name.is_absolute() {
        Some(name.to_path_buf())
    } else {
        debug_file
            .canonicalize()
            .ok()
            .and_then(|path| Some(path.parent()?.join(name)))
    };
    named
        .filter(|path| path.is_file())
        .or_else(|| build_id_path(build_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(path: &Path) -> u64 {
        std::fs::metadata(path).unwrap().len()
    }

    /// This test binary's size with its zlib-compressed sections (if it
    /// was built with any) at their uncompressed size, from its section
    /// headers, and their uncompressed total.
    fn expanded(path: &Path) -> (u64, u64) {
        let bytes = std::fs::read(path).unwrap();
        let object = object::File::parse(&*bytes).unwrap();
        let (mut expanded, mut decompressed) = (bytes.len() as u64, 0);
        for section in object.sections() {
            let range = section.compressed_file_range().unwrap();
            if range.format == CompressionFormat::Zlib {
                expanded = expanded - range.compressed_size + range.uncompressed_size;
                decompressed += range.uncompressed_size;
            }
        }
        (expanded, decompressed)
    }

    #[test]
    fn an_executable_is_read_at_its_size() {
        let exe = std::env::current_exe().unwrap();
        let (expanded_bytes, decompressed_bytes) = expanded(&exe);
        assert_eq!(
            for_executable(&exe).unwrap(),
            DebugFiles {
                expanded_bytes,
                decompressed_bytes
            }
        );
    }

    /// A real object file (the host's `true`) as the package, and a file
    /// that is not one, which the symboliser would not read either.
    #[test]
    fn a_dwarf_package_beside_the_executable_is_read_too() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("service");
        std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        let alone = for_executable(&exe).unwrap();
        let package = dir.path().join("service.dwp");
        std::fs::write(&package, vec![0u8; 12_345]).unwrap();
        assert_eq!(for_executable(&exe).unwrap(), alone, "not an object file");
        std::fs::copy("/bin/true", &package).expect("the host's /bin/true");
        let files = for_executable(&exe).unwrap();
        assert_eq!(files.expanded_bytes, alone.expanded_bytes + size(&package));
        assert_eq!(files.decompressed_bytes, alone.decompressed_bytes);
    }

    #[test]
    fn a_debuglink_beside_the_executable_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let debug = dir.path().join("service.debug");
        std::fs::write(&debug, vec![0u8; 4_321]).unwrap();
        assert_eq!(
            debuglink_path(&dir.path().join("service"), b"service.debug"),
            None,
            "the executable must exist to be canonicalised"
        );
        let exe = dir.path().join("service");
        std::fs::write(&exe, b"not an object file").unwrap();
        assert_eq!(
            debuglink_path(&exe, b"service.debug"),
            Some(debug.canonicalize().unwrap())
        );
        std::fs::create_dir(dir.path().join(".debug")).unwrap();
        std::fs::rename(&debug, dir.path().join(".debug/service.debug")).unwrap();
        assert_eq!(
            debuglink_path(&exe, b"service.debug"),
            Some(
                dir.path()
                    .canonicalize()
                    .unwrap()
                    .join(".debug/service.debug")
            )
        );
        assert_eq!(debuglink_path(&exe, b"missing.debug"), None);
    }

    #[test]
    fn a_build_id_names_its_file_under_usr_lib_debug() {
        assert_eq!(
            build_id_candidate(&[0x93, 0xac, 0x61, 0x0e]),
            Some(PathBuf::from("/usr/lib/debug/.build-id/93/ac610e.debug"))
        );
        assert_eq!(build_id_candidate(&[0x93]), None);
        assert_eq!(build_id_candidate(&[]), None);
    }

    /// A copy of this test binary with its debug sections compressed by
    /// binutils' `objcopy`, as `--compress-debug-sections` and Debian's
    /// debug packages leave them.
    #[test]
    fn a_compressed_section_counts_at_its_uncompressed_size_and_again_decompressed() {
        let original = std::env::current_exe().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("service");
        let status = std::process::Command::new("objcopy")
            .arg("--compress-debug-sections=zlib")
            .arg(&original)
            .arg(&exe)
            .status()
            .expect("objcopy (binutils) runs");
        assert!(status.success(), "objcopy: {status}");

        let read = |path: &Path| std::fs::read(path).unwrap();
        let (original_bytes, copy_bytes) = (read(&original), read(&exe));
        let original_object = object::File::parse(&*original_bytes).unwrap();
        let copy_object = object::File::parse(&*copy_bytes).unwrap();
        let (mut uncompressed, mut compressed) = (0, 0);
        for section in copy_object.sections() {
            let range = section.compressed_file_range().unwrap();
            if range.format == CompressionFormat::None {
                continue;
            }
            let name = section.name().unwrap();
            let before = original_object.section_by_name(name).unwrap();
            uncompressed += before.size();
            compressed += range.compressed_size;
        }
        assert!(
            uncompressed > compressed,
            "objcopy compressed the debug sections"
        );

        let files = for_executable(&exe).unwrap();
        assert_eq!(files.decompressed_bytes, uncompressed);
        assert_eq!(files.expanded_bytes, size(&exe) - compressed + uncompressed);
    }

    #[test]
    fn a_file_that_is_not_an_object_counts_at_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("script");
        std::fs::write(&exe, b"#!/bin/sh\n").unwrap();
        assert_eq!(
            for_executable(&exe).unwrap(),
            DebugFiles {
                expanded_bytes: 10,
                decompressed_bytes: 0
            }
        );
        assert!(for_executable(&dir.path().join("missing")).is_err());
    }
}
