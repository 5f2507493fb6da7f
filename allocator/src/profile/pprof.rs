//! Writing a heap profile as pprof: `pprof_util` encodes the backtraces
//! and mappings; this adds the second value column and, when asked, the
//! symbols.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use prost::Message;

use super::error::ProfileError;
use super::heap::HeapProfile;
use super::proto;
use super::site::Symbolizer;

impl HeapProfile {
    /// The profile in pprof's format: a gzip-compressed `perftools.profiles`
    /// protobuf with two sample types, `inuse_space` (bytes) and
    /// `inuse_objects` (count), period type `space`/`bytes` and the sampling
    /// interval as period. Each sample's locations run leaf first. It
    /// carries this process's mappings (path and build id) and each
    /// location's address within its object (the ELF virtual address, as
    /// symbolisers take it) but no symbols: `pprof` symbolises it offline
    /// from the binary (`pprof -top <binary> <profile>`), so writing it costs
    /// milliseconds and loads no debug information here.
    pub fn to_pprof(&self) -> Result<Vec<u8>, ProfileError> {
        self.encode(None)
    }

    /// [`to_pprof`](Self::to_pprof) with each location symbolised here,
    /// inlined frames included (innermost first), with this process's own
    /// debug information: a file that reads without the binary. The first
    /// symbolisation in a process loads the binary's line tables (tens of
    /// MiB and a fraction of a second for a large binary; the README has
    /// figures), so never do it where memory is short.
    pub fn to_pprof_symbolized(
        &self,
        symbolizer: &mut Symbolizer,
    ) -> Result<Vec<u8>, ProfileError> {
        self.encode(Some(symbolizer))
    }

    /// Writes [`to_pprof`](Self::to_pprof) to `path` atomically: a temporary
    /// file beside it, synced and renamed over it once complete, then the
    /// directory synced. A file already at `path` keeps its permission
    /// bits; a new one gets `0o666` less the umask. An error before the
    /// rename leaves `path` as it was and no temporary file; an error
    /// syncing the directory is returned after the rename.
    pub fn write_pprof(&self, path: &Path) -> Result<(), ProfileError> {
        write_atomically(path, &self.to_pprof()?)
    }

    /// Writes [`to_pprof_symbolized`](Self::to_pprof_symbolized) to `path`
    /// atomically.
    pub fn write_pprof_symbolized(
        &self,
        path: &Path,
        symbolizer: &mut Symbolizer,
    ) -> Result<(), ProfileError> {
        write_atomically(path, &self.to_pprof_symbolized(symbolizer)?)
    }

    fn encode(&self, symbolizer: Option<&mut Symbolizer>) -> Result<Vec<u8>, ProfileError> {
        let mut stacks = pprof_util::StackProfile::default();
        for stack in &self.stacks {
            stacks.push_stack(
                pprof_util::WeightedStack {
                    // pprof_util takes the outermost frame first (it writes
                    // them in reverse, leaf first, as pprof wants); jemalloc
                    // recorded the innermost first.
                    addrs: stack.addrs.iter().rev().copied().collect(),
                    weight: stack.bytes,
                },
                None,
            );
        }
        let mappings = mappings::MAPPINGS.as_deref().unwrap_or_default();
        for mapping in mappings {
            stacks.push_mapping(mapping.clone());
        }
        let gzipped = stacks.to_pprof(("inuse_space", "bytes"), ("space", "bytes"), None);
        let mut encoded = Vec::new();
        GzDecoder::new(gzipped.as_slice()).read_to_end(&mut encoded)?;
        let mut profile = proto::Profile::decode(encoded.as_slice())
            .map_err(|error| ProfileError::Parse(format!("pprof_util's output: {error}")))?;
        if profile.sample.len() != self.stacks.len() {
            return Err(ProfileError::Parse(format!(
                "pprof_util wrote {} samples for {} backtraces",
                profile.sample.len(),
                self.stacks.len()
            )));
        }
        let objects = intern(&mut profile.string_table, "inuse_objects");
        let count = intern(&mut profile.string_table, "count");
        profile.sample_type.push(proto::ValueType {
            r#type: objects,
            unit: count,
        });
        for (sample, stack) in profile.sample.iter_mut().zip(&self.stacks) {
            sample.value.push(stack.objects.round() as i64);
        }
        // pprof shows the last sample type unless told: bytes, as `go tool
        // pprof` does for Go's heap profiles.
        profile.default_sample_type = intern(&mut profile.string_table, "inuse_space");
        profile.period = self.sample_interval as i64;
        if let Some(coverage) = &self.coverage {
            for line in coverage_comments(coverage) {
                let index = intern(&mut profile.string_table, &line);
                profile.comment.push(index);
            }
        }
        if let Some(symbolizer) = symbolizer {
            symbolize(&mut profile, mappings, symbolizer);
        }
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&profile.encode_to_vec())?;
        Ok(gz.finish()?)
    }
}

/// What the profile covers, as pprof comments (`pprof -comments` prints
/// them): when sampling began, the live bytes then and now from
/// heapguard's counters, and the bytes the profile cannot see.
fn coverage_comments(coverage: &super::Coverage) -> Vec<String> {
    let since = match coverage.active_since {
        Some(at) => {
            let unix = at
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            format!(
                "sampling active since unix time {unix:.3} s, when {} bytes were live",
                coverage.live_bytes_at_activation
            )
        }
        None => "sampling active since start-up".to_owned(),
    };
    vec![
        format!("heapguard coverage: {since}"),
        format!(
            "heapguard coverage: {} bytes live when taken; this profile covers about {:.0} \
             ({:.1}%); {:.0} bytes live are not covered (allocated before sampling began)",
            coverage.live_bytes,
            // + 0.0: an empty profile's sum is -0.0, printed "-0".
            coverage.covered_bytes + 0.0,
            coverage.covered_share() * 100.0,
            coverage.uncovered_bytes()
        ),
    ]
}

/// Adds functions and lines to every location, from the runtime address
/// its mapping gives back.
fn symbolize(
    profile: &mut proto::Profile,
    mappings: &[pprof_util::Mapping],
    symbolizer: &mut Symbolizer,
) {
    let mut functions: HashMap<(String, String), u64> = HashMap::new();
    let mut locations = std::mem::take(&mut profile.location);
    for location in &mut locations {
        // pprof_util numbers mappings from 1 in the order pushed and made
        // the address the object's own (one byte back into the call); a
        // location outside every mapping (id 0) keeps its runtime address.
        let runtime = match location.mapping_id {
            0 => Some(location.address as usize),
            id => mappings.get(id as usize - 1).and_then(|mapping| {
                (location.address as usize)
                    .checked_sub(mapping.memory_offset)
                    .map(|relative| relative + mapping.memory_start)
            }),
        };
        let Some(runtime) = runtime else { continue };
        // The symboliser takes return addresses and steps one byte back.
        let frames = symbolizer.frames(runtime + 1);
        for frame in frames {
            let file = frame.file.clone().unwrap_or_default();
            let key = (frame.function.clone(), file);
            let function_id = match functions.get(&key) {
                Some(&id) => id,
                None => {
                    let id = profile.function.len() as u64 + 1;
                    let name = intern(&mut profile.string_table, &key.0);
                    let filename = intern(&mut profile.string_table, &key.1);
                    profile.function.push(proto::Function {
                        id,
                        name,
                        system_name: name,
                        filename,
                        start_line: 0,
                    });
                    functions.insert(key, id);
                    id
                }
            };
            location.line.push(proto::Line {
                function_id,
                line: frame.line.map_or(0, i64::from),
            });
        }
        let described = (location.mapping_id as usize)
            .checked_sub(1)
            .and_then(|index| profile.mapping.get_mut(index));
        if let Some(described) = described {
            described.has_functions |= !frames.is_empty();
            described.has_filenames |= frames.iter().any(|frame| frame.file.is_some());
            described.has_line_numbers |= frames.iter().any(|frame| frame.line.is_some());
            described.has_inline_frames |= frames.len() > 1;
        }
    }
    profile.location = locations;
}

/// Writes `bytes` to `path` through a temporary file beside it, synced and
/// renamed over it once complete, then syncs the directory so that the
/// rename survives a crash. A file already at `path` keeps its permission
/// bits; a new one gets `0o666` less the umask, as any file the process
/// creates (the temporary file alone would be `0o600`).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ProfileError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".heapguard-profile-").suffix(".tmp");
    #[cfg(unix)]
    let kept_mode = {
        use std::os::unix::fs::PermissionsExt;
        // open(2) takes the umask off the mode it is given: right for a new
        // file, while an existing file's bits are set whole below.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => Some(meta.permissions()),
            _ => None,
        }
    };
    let mut file = builder.tempfile_in(dir)?;
    #[cfg(unix)]
    if let Some(permissions) = kept_mode {
        file.as_file().set_permissions(permissions)?;
    }
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    // On failure the error carries the temporary file, removed as it drops.
    file.persist(path).map_err(|error| error.error)?;
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

fn intern(strings: &mut Vec<String>, value: &str) -> i64 {
    match strings.iter().position(|s| s == value) {
        Some(index) => index as i64,
        None => {
            strings.push(value.to_owned());
            (strings.len() - 1) as i64
        }
    }
}
