//! Writing a heap profile as pprof: `pprof_util` encodes the backtraces,
//! mappings and symbols; this adds the second value column.

use std::io::{Read, Write};
use std::path::Path;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use prost::Message;

use super::heap::HeapProfile;
use super::proto;
use super::ProfileError;

impl HeapProfile {
    /// The profile in pprof's format: a gzip-compressed `perftools.profiles`
    /// protobuf with two sample types, `inuse_space` (bytes) and
    /// `inuse_objects` (count), period type `space`/`bytes` and the sampling
    /// interval as period. It carries this process's mappings (with build
    /// ids) and file-relative addresses, so `pprof` can symbolise it offline
    /// from the binary; each location is also symbolised here, inlined
    /// frames included, with this process's own debug information.
    pub fn to_pprof(&self) -> Result<Vec<u8>, ProfileError> {
        let mut stacks = pprof_util::StackProfile::default();
        for stack in &self.stacks {
            stacks.push_stack(
                pprof_util::WeightedStack {
                    addrs: stack.addrs.clone(),
                    weight: stack.bytes,
                },
                None,
            );
        }
        if let Some(mappings) = mappings::MAPPINGS.as_ref() {
            for mapping in mappings {
                stacks.push_mapping(mapping.clone());
            }
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
        profile.period = self.sample_interval as i64;
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&profile.encode_to_vec())?;
        Ok(gz.finish()?)
    }

    /// Writes [`to_pprof`](Self::to_pprof) to `path` atomically: a temporary
    /// file beside it, renamed over it once complete.
    pub fn write_pprof(&self, path: &Path) -> Result<(), ProfileError> {
        let bytes = self.to_pprof()?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        file.write_all(&bytes)?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|error| error.error)?;
        Ok(())
    }
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
