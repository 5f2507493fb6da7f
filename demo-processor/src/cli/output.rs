//! Where the command line writes, checked before any work is done, and
//! written so that nothing is lost: files are replaced atomically, and a
//! full or closed stdout is an error with a message, never a panic.

use std::fs::Metadata;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::args::WorkloadArgs;
use crate::exit::CliError;

/// A file output, checked: its directory exists and is writable, and the
/// file, if it exists, is a regular file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileTarget {
    /// The path as given, for messages.
    pub given: PathBuf,
    /// The canonical directory the file is written in.
    pub dir: PathBuf,
    /// Where the file is written: the canonical directory and the file name
    /// (for an existing file, a symbolic link resolved to its target).
    pub path: PathBuf,
    /// `(device, inode)` of the file, if it exists.
    identity: Option<(u64, u64)>,
}

/// Where `--json` goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JsonTarget {
    /// `--json -`: the report on stdout, instead of the summary.
    Stdout,
    /// A file.
    File(FileTarget),
}

/// The outputs of one command, checked.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outputs {
    pub json: Option<JsonTarget>,
    pub chart: Option<FileTarget>,
}

impl Outputs {
    /// Whether the report goes to stdout (so the summary does not).
    pub(crate) fn json_on_stdout(&self) -> bool {
        self.json == Some(JsonTarget::Stdout)
    }
}

/// Checks `--json` and `--chart` before the job starts.
pub(crate) fn check_outputs(args: &WorkloadArgs) -> Result<Outputs, CliError> {
    let chart = match &args.chart {
        Some(chart) => {
            if !crate::chart::is_supported(chart) {
                return Err(CliError::BadInput(format!(
                    "--chart {}: only .svg charts are supported",
                    chart.display()
                )));
            }
            Some(check_file("--chart", chart)?)
        }
        None => None,
    };
    let json = match &args.json {
        Some(json) if json.as_os_str() == "-" => Some(JsonTarget::Stdout),
        Some(json) => Some(JsonTarget::File(check_file("--json", json)?)),
        None => None,
    };
    if let (Some(JsonTarget::File(json)), Some(chart)) = (&json, &chart) {
        let same_inode = json.identity.is_some() && json.identity == chart.identity;
        if json.path == chart.path || same_inode {
            return Err(CliError::BadInput(format!(
                "--json {} and --chart {} name the same file ({})",
                json.given.display(),
                chart.given.display(),
                json.path.display()
            )));
        }
    }
    Ok(Outputs { json, chart })
}

/// What kind of thing `meta` describes, for a refusal.
fn kind(meta: &Metadata) -> &'static str {
    let file_type = meta.file_type();
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_char_device() || file_type.is_block_device() {
        "a device"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Checks one output path; see [`FileTarget`].
pub(crate) fn check_file(flag: &str, given: &Path) -> Result<FileTarget, CliError> {
    let bad = |why: String| CliError::BadInput(format!("{flag} {}: {why}", given.display()));
    let trailing_slash = given.as_os_str().as_encoded_bytes().ends_with(b"/");
    let Some(name) = given.file_name().filter(|_| !trailing_slash) else {
        return Err(bad("names a directory, not a file".to_owned()));
    };
    let (dir, path, identity) = match std::fs::metadata(given) {
        Ok(meta) if meta.is_file() => {
            let path = std::fs::canonicalize(given).map_err(|e| bad(e.to_string()))?;
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            (dir, path, Some((meta.dev(), meta.ino())))
        }
        Ok(meta) => {
            return Err(bad(format!(
                "exists and is {}, not a regular file: refusing to replace it",
                kind(&meta)
            )))
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            if std::fs::symlink_metadata(given).is_ok() {
                return Err(bad("is a symbolic link to nothing".to_owned()));
            }
            let parent = given
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let dir = std::fs::canonicalize(parent).map_err(|e| {
                bad(if e.kind() == io::ErrorKind::NotFound {
                    format!(
                        "cannot write: directory {} does not exist",
                        parent.display()
                    )
                } else {
                    format!("cannot write in {}: {e}", parent.display())
                })
            })?;
            let path = dir.join(name);
            (dir, path, None)
        }
        Err(error) => return Err(bad(format!("cannot write: {error}"))),
    };
    // Writable: a file can be created there (as the temporary of the
    // atomic write will be), and is removed again as it drops.
    tempfile::Builder::new()
        .prefix(".demo-processor-check-")
        .tempfile_in(&dir)
        .map_err(|e| {
            bad(format!(
                "cannot write: directory {} is not writable ({e})",
                dir.display()
            ))
        })?;
    Ok(FileTarget {
        given: given.to_path_buf(),
        dir,
        path,
        identity,
    })
}

/// One output that could not be written: what, and why.
#[derive(Debug)]
pub(crate) struct WriteFailure(pub String);

impl WriteFailure {
    fn new(what: &dyn std::fmt::Display, error: &dyn std::fmt::Display) -> Self {
        Self(format!("cannot write {what}: {error}"))
    }
}

/// Replaces the target with what `write` writes, atomically.
pub(crate) fn write_file(
    target: &FileTarget,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), WriteFailure> {
    crate::atomic::write_atomically(&target.path, write)
        .map_err(|e| WriteFailure::new(&target.given.display(), &e))
}

/// Writes `text` to stdout and flushes it.
pub(crate) fn print(text: &str) -> Result<(), WriteFailure> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| WriteFailure::new(&"to stdout", &e))
}

/// Writes `write`'s output to stdout and flushes it.
pub(crate) fn print_with(
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), WriteFailure> {
    let mut stdout = io::stdout().lock();
    write(&mut stdout)
        .and_then(|()| stdout.flush())
        .map_err(|e| WriteFailure::new(&"to stdout", &e))
}

/// A line on stderr; a failing stderr is ignored (there is nowhere left to
/// say so), where `eprintln!` would panic.
pub(crate) fn warn(line: &str) {
    let _ = writeln!(io::stderr().lock(), "demo-processor: {line}");
}

/// The exit status after the outputs: the job's own status when every
/// output was written; otherwise each failure is said on stderr, a fault
/// of the program keeps its 1 and a partial or cancelled job its 3 (each
/// says so), and a complete one exits 2.
pub(crate) fn conclude(code: u8, failures: &[WriteFailure]) -> u8 {
    use crate::exit::{EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_PARTIAL};
    if failures.is_empty() {
        return code;
    }
    for failure in failures {
        warn(&failure.0);
    }
    match code {
        EXIT_INTERNAL => {
            warn("the run found a fault of the program (said above): exit status 1 all the same");
            EXIT_INTERNAL
        }
        EXIT_PARTIAL => {
            warn("the job did not complete (partial or cancelled): exit status 3 all the same");
            EXIT_PARTIAL
        }
        _ => EXIT_BAD_INPUT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{EXIT_BAD_INPUT, EXIT_COMPLETE, EXIT_INTERNAL, EXIT_PARTIAL};

    #[test]
    fn a_failed_output_keeps_a_fault_and_a_partial_run_and_fails_a_complete_one() {
        let failure = || {
            vec![WriteFailure::new(
                &"chart.svg",
                &io::Error::other("disk full"),
            )]
        };
        assert_eq!(conclude(EXIT_COMPLETE, &[]), EXIT_COMPLETE);
        assert_eq!(conclude(EXIT_INTERNAL, &[]), EXIT_INTERNAL);
        assert_eq!(conclude(EXIT_COMPLETE, &failure()), EXIT_BAD_INPUT);
        assert_eq!(conclude(EXIT_PARTIAL, &failure()), EXIT_PARTIAL);
        assert_eq!(conclude(EXIT_INTERNAL, &failure()), EXIT_INTERNAL);
    }
}
