//! One heap profile (jemalloc's `heap_v2` text format, parsed) and the
//! difference of two.

use std::collections::HashMap;
use std::io::BufRead;
use std::time::SystemTime;

use super::error::ProfileError;
use super::site::{SiteBytes, Symbolizer};

/// The live sampled allocations of one backtrace.
#[derive(Clone, Debug, PartialEq)]
pub struct StackSample {
    /// Return addresses, innermost frame first, as jemalloc recorded them
    /// (each points just past its call instruction).
    pub addrs: Vec<usize>,
    /// Sampled allocations still live.
    pub sampled_objects: u64,
    /// Their bytes (jemalloc's usable sizes).
    pub sampled_bytes: u64,
    /// Estimated live bytes from this backtrace: the sampled bytes
    /// unbiased as jeprof does (`AdjustSamples`): times
    /// `1 / (1 - exp(-mean_size / interval))`.
    pub bytes: f64,
    /// Estimated live allocations, unbiased with the same factor.
    pub objects: f64,
}

/// A heap profile: what jemalloc's sampled allocations say is live now, per
/// backtrace, with raw addresses (no symbols).
#[derive(Clone, Debug, PartialEq)]
pub struct HeapProfile {
    /// Mean bytes between samples: `2^lg_sample`.
    pub sample_interval: u64,
    /// One entry per distinct backtrace with live samples.
    pub stacks: Vec<StackSample>,
    /// When it was taken.
    pub taken_at: SystemTime,
    /// What it covers: jemalloc samples only while profiling is active, so
    /// a block allocated before [`activate`](super::activate) is in no
    /// profile. Set by [`take`](super::take) in a process whose global
    /// allocator is `CountingAlloc`; `None` for a parsed file.
    pub coverage: Option<Coverage>,
}

/// What a profile covers, against heapguard's exact counters.
///
/// A profile estimates the live bytes of the allocations sampled while
/// profiling was active (`covered_bytes`); the counters say what is live
/// in all (`live_bytes`). What lies between is the heap the profile cannot
/// see: blocks allocated before sampling began (jemalloc/jemalloc#2049),
/// and the estimate's error (about `1 / sqrt(bytes / interval)` relative).
/// A site's `share` in [`HeapProfile::top_sites`] is of the covered bytes;
/// [`Coverage::share_of_live`] turns it into a share of the whole heap.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coverage {
    /// When sampling was last switched on through [`activate`](super::activate)
    /// in this process; `None` when it was on from start-up
    /// (`prof_active:true`), where everything since start is covered.
    pub active_since: Option<SystemTime>,
    /// Live heap bytes, exactly, when sampling was switched on (0 from start-up).
    pub live_bytes_at_activation: u64,
    /// Live heap bytes, exactly, when the profile was taken.
    pub live_bytes: u64,
    /// The profile's estimated live bytes: what it covers.
    pub covered_bytes: f64,
}

impl Coverage {
    /// Live bytes the profile does not account for: `live_bytes` minus
    /// `covered_bytes`, at least 0.
    pub fn uncovered_bytes(&self) -> f64 {
        (self.live_bytes as f64 - self.covered_bytes).max(0.0)
    }

    /// `covered_bytes` over `live_bytes`, 0 to 1 (1 with nothing live).
    pub fn covered_share(&self) -> f64 {
        if self.live_bytes == 0 {
            1.0
        } else {
            (self.covered_bytes / self.live_bytes as f64).clamp(0.0, 1.0)
        }
    }

    /// A share of the covered bytes (a site's `share`) as a share of all
    /// live bytes.
    pub fn share_of_live(&self, share: f64) -> f64 {
        share * self.covered_share()
    }
}

impl HeapProfile {
    /// Parses jemalloc's heap profile text (`heap_v2/<interval>`, then per
    /// backtrace a `@ addr...` line and a `t*: objects: bytes [...]` line;
    /// per-thread lines and the `MAPPED_LIBRARIES` section are skipped).
    pub fn parse(reader: impl BufRead) -> Result<Self, ProfileError> {
        let mut lines = reader.lines();
        let header = lines
            .next()
            .ok_or_else(|| ProfileError::Parse("empty heap profile".into()))??;
        let sample_interval: u64 = header
            .trim()
            .strip_prefix("heap_v2/")
            .and_then(|rate| rate.parse().ok())
            .filter(|&rate| rate > 0)
            .ok_or_else(|| ProfileError::Parse(format!("unexpected header {header:?}")))?;
        let mut stacks = Vec::new();
        let mut pending: Option<Vec<usize>> = None;
        for line in lines {
            let line = line?;
            let line = line.trim();
            if line == "MAPPED_LIBRARIES:" {
                break;
            }
            if let Some(rest) = line.strip_prefix('@') {
                if pending.is_some() {
                    return Err(ProfileError::Parse("backtrace without counts".into()));
                }
                let addrs = rest
                    .split_ascii_whitespace()
                    .map(|word| usize::from_str_radix(word.trim_start_matches("0x"), 16))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|error| {
                        ProfileError::Parse(format!("address in {line:?}: {error}"))
                    })?;
                pending = Some(addrs);
            } else if let Some(rest) = line.strip_prefix("t*:") {
                // The first `t*:` line (before any backtrace) is the total.
                let Some(addrs) = pending.take() else {
                    continue;
                };
                let (sampled_objects, sampled_bytes) = parse_counts(rest)
                    .ok_or_else(|| ProfileError::Parse(format!("counts in {line:?}")))?;
                if sampled_objects == 0 {
                    continue;
                }
                let scale = unbias(sampled_objects, sampled_bytes, sample_interval);
                stacks.push(StackSample {
                    addrs,
                    sampled_objects,
                    sampled_bytes,
                    bytes: sampled_bytes as f64 * scale,
                    objects: sampled_objects as f64 * scale,
                });
            }
        }
        if pending.is_some() {
            return Err(ProfileError::Parse("backtrace without counts".into()));
        }
        Ok(Self {
            sample_interval,
            stacks,
            taken_at: SystemTime::now(),
            coverage: None,
        })
    }

    /// Estimated live bytes over all backtraces.
    pub fn total_bytes(&self) -> f64 {
        self.stacks.iter().map(|stack| stack.bytes).sum()
    }

    /// Heap bytes this value holds (its backtraces), for memory caps.
    pub fn heap_bytes(&self) -> usize {
        self.stacks.capacity() * std::mem::size_of::<StackSample>()
            + self
                .stacks
                .iter()
                .map(|stack| stack.addrs.capacity() * std::mem::size_of::<usize>())
                .sum::<usize>()
    }

    /// What changed from `earlier` to `self`, per backtrace.
    pub fn growth_since(&self, earlier: &HeapProfile) -> HeapDiff {
        let mut before: HashMap<&[usize], &StackSample> = earlier
            .stacks
            .iter()
            .map(|stack| (stack.addrs.as_slice(), stack))
            .collect();
        let mut deltas = Vec::with_capacity(self.stacks.len());
        for stack in &self.stacks {
            let old = before.remove(stack.addrs.as_slice());
            deltas.push(StackDelta {
                addrs: stack.addrs.clone(),
                bytes: stack.bytes - old.map_or(0.0, |old| old.bytes),
                objects: stack.objects - old.map_or(0.0, |old| old.objects),
            });
        }
        for (addrs, old) in before {
            deltas.push(StackDelta {
                addrs: addrs.to_vec(),
                bytes: -old.bytes,
                objects: -old.objects,
            });
        }
        HeapDiff {
            sample_interval: self.sample_interval,
            deltas,
        }
    }

    /// The `n` sites holding the most bytes (see [`Symbolizer`] for what a
    /// site is and what symbolising costs).
    pub fn top_sites(&self, n: usize) -> Vec<SiteBytes> {
        Symbolizer::new().top_sites(
            self.stacks
                .iter()
                .map(|stack| (stack.addrs.as_slice(), stack.bytes, stack.objects)),
            n,
        )
    }
}

/// How one backtrace's live allocations changed between two profiles.
#[derive(Clone, Debug, PartialEq)]
pub struct StackDelta {
    /// Return addresses, innermost first.
    pub addrs: Vec<usize>,
    /// Estimated bytes gained (negative: released).
    pub bytes: f64,
    /// Estimated allocations gained (negative: released).
    pub objects: f64,
}

/// The difference of two heap profiles ([`HeapProfile::growth_since`]).
#[derive(Clone, Debug, PartialEq)]
pub struct HeapDiff {
    /// The newer profile's sampling interval, bytes.
    pub sample_interval: u64,
    /// One entry per backtrace live in either profile.
    pub deltas: Vec<StackDelta>,
}

impl HeapDiff {
    /// Net estimated bytes gained over all backtraces.
    pub fn net_bytes(&self) -> f64 {
        self.deltas.iter().map(|delta| delta.bytes).sum()
    }

    /// The `n` sites that gained the most bytes; each site's `share` is its
    /// part of the bytes gained by all growing sites.
    pub fn top_sites(&self, n: usize) -> Vec<SiteBytes> {
        Symbolizer::new().top_sites(
            self.deltas
                .iter()
                .map(|delta| (delta.addrs.as_slice(), delta.bytes, delta.objects)),
            n,
        )
    }
}

/// `objects: bytes [...]` after `t*:`.
fn parse_counts(rest: &str) -> Option<(u64, u64)> {
    let mut words = rest.split_ascii_whitespace();
    let objects = words.next()?.trim_end_matches(':').parse().ok()?;
    let bytes = words.next()?.parse().ok()?;
    Some((objects, bytes))
}

/// jeprof's `AdjustSamples` for one backtrace: an allocation of mean size
/// `s` is sampled with probability `1 - exp(-s / interval)`.
fn unbias(objects: u64, bytes: u64, interval: u64) -> f64 {
    let mean = bytes as f64 / objects as f64;
    let probability = 1.0 - (-mean / interval as f64).exp();
    if probability > 0.0 {
        1.0 / probability
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::HeapProfile;

    const DUMP: &str = "heap_v2/524288
  t*: 3: 1572864 [0: 0]
  t0: 3: 1572864 [0: 0]
@ 0x10 0x20 0x30
  t*: 2: 1048576 [0: 0]
  t0: 2: 1048576 [0: 0]
@ 0x11 0x20
  t*: 1: 524288 [0: 0]
  t0: 1: 524288 [0: 0]

MAPPED_LIBRARIES:
55d0-55e0 r-xp 00000000 08:01 1 /bin/x
";

    #[test]
    fn parses_backtraces_and_unbiases_as_jeprof() {
        let profile = HeapProfile::parse(DUMP.as_bytes()).unwrap();
        assert_eq!(profile.sample_interval, 524288);
        assert_eq!(profile.stacks.len(), 2);
        assert_eq!(profile.stacks[0].addrs, vec![0x10, 0x20, 0x30]);
        assert_eq!(profile.stacks[0].sampled_objects, 2);
        assert_eq!(profile.stacks[0].sampled_bytes, 1048576);
        // Mean size = interval: each sampled with probability 1 - 1/e.
        let scale = 1.0 / (1.0 - (-1.0f64).exp());
        assert!((profile.stacks[0].bytes - 1048576.0 * scale).abs() < 1e-6);
        assert!((profile.stacks[1].objects - scale).abs() < 1e-9);
    }

    #[test]
    fn diff_pairs_backtraces_and_keeps_released_ones() {
        let before = HeapProfile::parse(DUMP.as_bytes()).unwrap();
        let after = HeapProfile::parse(
            "heap_v2/524288\n t*: 4: 0 [0: 0]\n@ 0x10 0x20 0x30\n t*: 4: 2097152 [0: 0]\n"
                .as_bytes(),
        )
        .unwrap();
        let diff = after.growth_since(&before);
        assert_eq!(diff.deltas.len(), 2);
        let grown = &diff.deltas[0];
        assert_eq!(grown.addrs, vec![0x10, 0x20, 0x30]);
        assert!((grown.bytes - before.stacks[0].bytes).abs() < 1e-6);
        let released = &diff.deltas[1];
        assert_eq!(released.addrs, vec![0x11, 0x20]);
        assert!((released.bytes + before.stacks[1].bytes).abs() < 1e-6);
    }

    #[test]
    fn rejects_what_is_not_a_heap_profile() {
        assert!(HeapProfile::parse("".as_bytes()).is_err());
        assert!(HeapProfile::parse("heap_v2/0\n".as_bytes()).is_err());
        assert!(HeapProfile::parse("heap_v2/8\n@ 0xzz\n t*: 1: 8 [0: 0]\n".as_bytes()).is_err());
        assert!(HeapProfile::parse("heap_v2/8\n@ 0x10\n".as_bytes()).is_err());
    }
}
