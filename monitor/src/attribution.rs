//! Where a leak's memory went (feature `attribution`): heap profiles kept at
//! the samples the trend detector tests, diffed when a leak is suspected.
//!
//! A [`GrowthAttributor`] keeps a bounded set of jemalloc heap profiles
//! (raw addresses, no symbols), each taken at a sample the trend detector
//! sees (the quiescent ones, once the service marks any). When the
//! trend detector suspects a leak over a span of samples, the newest
//! profile is diffed against the newest one taken at or before the span's
//! start, and the growing backtraces are symbolised into allocation sites
//! ([`heapguard_alloc::profile::Site`]). With
//! [`MemoryMonitor::attribute_leaks`](crate::MemoryMonitor::attribute_leaks)
//! the monitor does this itself and follows each `LeakSuspected` event with a
//! [`MemoryEvent::LeakAttributed`].
//!
//! # Accuracy
//! jemalloc samples about one allocation per `2^lg_prof_sample` bytes, so a
//! site's growth of `G` bytes is estimated from about `G / interval`
//! samples; for allocations much smaller than the interval the count is
//! Poisson, and the relative standard error is `1 / sqrt(G / interval)`:
//! 10% at 100 intervals (50 MiB at the default 512 KiB), 3% at 1,000.
//! Growth of a few intervals is noise.
//!
//! # Cost
//! Taking a profile (`prof.dump` to a file, read back) costs milliseconds
//! (1.8 ms for 77 backtraces on the build VM, growing with their number),
//! so the monitor paces them: after a profile
//! that took `d`, the next is taken no sooner than
//! `d / `[`max_time_share`](AttributionConfig::max_time_share) later
//! (default 0.2% of one core). Samples in between are not profiled, except
//! the one that raises a `LeakSuspected` event: a profile is taken then, so
//! the attributed span always ends at the alarm.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use heapguard_alloc::profile::{self, HeapProfile, ProfileError};
use thiserror::Error;

pub use crate::attributed::{Attribution, GrowingSite};
use crate::{LeakEvidence, MemoryEvent};

/// How many profiles a [`GrowthAttributor`] keeps, and how much memory
/// they may hold.
#[derive(Clone, Debug, PartialEq)]
pub struct AttributionConfig {
    /// At most this many profiles (default 64: an hour of quiescent points a
    /// minute apart). When full, every second profile of the older half is
    /// dropped, so the kept ones always reach back to the oldest.
    pub max_profiles: usize,
    /// At most this many heap bytes in kept profiles (default 16 MiB); the
    /// same thinning applies past it.
    pub max_bytes: usize,
    /// How many sites an attribution names (default 5).
    pub top: usize,
    /// At most this share of the monitor thread's time goes to taking
    /// profiles, from 0 (exclusive) to 1 (default 0.002): after a profile
    /// that took `d`, the next is taken no sooner than `d / max_time_share`
    /// later.
    pub max_time_share: f64,
}

impl Default for AttributionConfig {
    fn default() -> Self {
        Self {
            max_profiles: 64,
            max_bytes: 16 << 20,
            top: 5,
            max_time_share: 0.002,
        }
    }
}

impl AttributionConfig {
    /// Checks every setting: at least 2 profiles (a diff needs two), at
    /// least 1 site named, and a time share in (0, 1].
    pub fn validate(&self) -> Result<(), AttributionError> {
        let bad = |name, expected, value: String| {
            Err(AttributionError::Config {
                name,
                expected,
                value,
            })
        };
        if self.max_profiles < 2 {
            return bad("max_profiles", "at least 2", self.max_profiles.to_string());
        }
        if self.top == 0 {
            return bad("top", "at least 1", self.top.to_string());
        }
        if !(self.max_time_share > 0.0 && self.max_time_share <= 1.0) {
            return bad(
                "max_time_share",
                "in (0, 1]",
                self.max_time_share.to_string(),
            );
        }
        Ok(())
    }
}

/// Why leak attribution cannot start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AttributionError {
    /// No heap profile can be taken (see [`profile::take`]).
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A setting of [`AttributionConfig`] is out of range.
    #[error("leak attribution: {name} must be {expected}, got {value}")]
    Config {
        /// The setting.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
        /// The value given.
        value: String,
    },
}

/// A kept profile and when it was taken, seconds on the monitor's clock.
pub type TimedProfile<'a> = (f64, &'a HeapProfile);

/// A bounded set of heap profiles, each taken at a sample the trend detector tests.
#[derive(Debug)]
pub struct GrowthAttributor {
    config: AttributionConfig,
    profiles: VecDeque<(f64, HeapProfile)>,
}

impl GrowthAttributor {
    /// An empty set with `config`'s bounds.
    pub fn new(config: AttributionConfig) -> Self {
        Self {
            config,
            profiles: VecDeque::new(),
        }
    }

    /// Takes a profile now ([`profile::take`]) and keeps it as the one at
    /// `t_secs`.
    pub fn record(&mut self, t_secs: f64) -> Result<(), ProfileError> {
        let taken = profile::take()?;
        self.push(t_secs, taken);
        Ok(())
    }

    /// Keeps `profile` as the one at `t_secs` (later than any kept).
    pub fn push(&mut self, t_secs: f64, profile: HeapProfile) {
        self.profiles.push_back((t_secs, profile));
        while self.profiles.len() > 2
            && (self.profiles.len() > self.config.max_profiles.max(2)
                || self.heap_bytes() > self.config.max_bytes)
        {
            self.thin();
        }
    }

    /// Drops every second profile of the older half, keeping the oldest and
    /// the newest.
    fn thin(&mut self) {
        let half = self.profiles.len() / 2;
        let mut index = 0;
        self.profiles.retain(|_| {
            let keep = index == 0 || index >= half || index % 2 == 0;
            index += 1;
            keep
        });
        if self.profiles.len() > 2 && index == self.profiles.len() {
            // Nothing was dropped (a half of one): drop the second.
            self.profiles.remove(1);
        }
    }

    /// Heap bytes held by the kept profiles.
    pub fn heap_bytes(&self) -> usize {
        self.profiles
            .iter()
            .map(|(_, profile)| profile.heap_bytes())
            .sum()
    }

    /// How many profiles are kept.
    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// The newest profile and the newest one taken at or before `from_t_secs`
    /// (the oldest kept when all are later), with their times.
    pub fn span(&self, from_t_secs: f64) -> Option<(TimedProfile<'_>, TimedProfile<'_>)> {
        let (to_t, newest) = self.profiles.back()?;
        Some((self.profile_at(from_t_secs)?, (*to_t, newest)))
    }

    /// The newest profile taken at or before `t_secs` (the oldest kept when
    /// all are later), with its time.
    pub fn profile_at(&self, t_secs: f64) -> Option<TimedProfile<'_>> {
        let (t, profile) = self
            .profiles
            .iter()
            .rev()
            .find(|(t, _)| *t <= t_secs)
            .or_else(|| self.profiles.front())?;
        Some((*t, profile))
    }

    /// The growth from the profile at `from_t_secs` to the newest, by site.
    /// `None` with fewer than two profiles kept.
    pub fn attribute(&self, from_t_secs: f64) -> Option<Attribution> {
        self.growth(from_t_secs).map(|growth| growth.resolve())
    }

    /// [`attribute`](Self::attribute) without the symbolising: the diff of
    /// the two profiles, raw addresses only (cheap).
    fn growth(&self, from_t_secs: f64) -> Option<UnresolvedAttribution> {
        if self.profiles.len() < 2 {
            return None;
        }
        let ((from_t, earlier), (to_t, newest)) = self.span(from_t_secs)?;
        Some(UnresolvedAttribution {
            from_t_secs: from_t,
            to_t_secs: to_t,
            diff: newest.growth_since(earlier),
            top: self.config.top,
        })
    }

    /// The growth behind a `LeakSuspected` event: from the start of the
    /// span the trend detector tested (for the growth rule, the whole set)
    /// to the newest profile. `None` for other events.
    pub fn attribute_event(&self, event: &MemoryEvent) -> Option<Attribution> {
        self.growth_behind(event).map(|growth| growth.resolve())
    }

    fn growth_behind(&self, event: &MemoryEvent) -> Option<UnresolvedAttribution> {
        let MemoryEvent::LeakSuspected { evidence, .. } = event else {
            return None;
        };
        let from = match evidence {
            LeakEvidence::Trend(verdict) => verdict.t_secs - verdict.span_secs,
            LeakEvidence::Growth(_) => f64::NEG_INFINITY,
        };
        self.growth(from)
    }

    /// Copies of the two profiles `attribution` compared (if one was
    /// thinned out since, the newest kept before its time); `None` with no
    /// profile kept.
    pub fn span_profiles(&self, attribution: &Attribution) -> Option<(HeapProfile, HeapProfile)> {
        let (_, earlier) = self.profile_at(attribution.from_t_secs)?;
        let (_, later) = self.profile_at(attribution.to_t_secs)?;
        Some((earlier.clone(), later.clone()))
    }
}

/// Writes a span's two profiles as pprof, `leak-from.pb.gz` and
/// `leak-to.pb.gz` in `dir`; returns their paths.
pub fn write_span(
    (earlier, later): &(HeapProfile, HeapProfile),
    dir: &Path,
) -> Result<(PathBuf, PathBuf), ProfileError> {
    let from = dir.join("leak-from.pb.gz");
    let to = dir.join("leak-to.pb.gz");
    earlier.write_pprof(&from)?;
    later.write_pprof(&to)?;
    Ok((from, to))
}

/// An attribution before symbolising: the diff of its two profiles.
#[derive(Debug)]
pub(crate) struct UnresolvedAttribution {
    from_t_secs: f64,
    to_t_secs: f64,
    diff: profile::HeapDiff,
    top: usize,
}

impl UnresolvedAttribution {
    /// Symbolises the sites that grew most (loads the binary's line
    /// tables; see [`profile::Symbolizer`]).
    pub(crate) fn resolve(&self) -> Attribution {
        Attribution {
            top_sites: self
                .diff
                .top_sites(self.top)
                .into_iter()
                .filter(|site| site.bytes > 0.0)
                .map(GrowingSite::from)
                .collect(),
            ..self.unsymbolized(None)
        }
    }

    /// The attribution without its sites: symbolising them was refused for
    /// `reason` (see [`crate::observer::Observer`]), or not done yet.
    pub(crate) fn unsymbolized(&self, reason: Option<String>) -> Attribution {
        Attribution {
            from_t_secs: self.from_t_secs,
            to_t_secs: self.to_t_secs,
            growth_bytes: self.diff.net_bytes().round() as i64,
            top_sites: Vec::new(),
            symbolization_refused: reason,
        }
    }
}

/// What a monitor with leak attribution keeps: the profile set, the
/// profiles taken when a watched breaker last tripped and last reached its
/// cancel line, and the pacing of profiles.
#[derive(Debug)]
pub(crate) struct MonitorAttribution {
    set: GrowthAttributor,
    trip: Option<(f64, HeapProfile)>,
    cancel_line: Option<(f64, HeapProfile)>,
    /// No profile at a sample before this instant (pacing).
    next_due: Option<Instant>,
    /// Whether the service marks quiescent samples: from the first one on,
    /// the trend detector (and so the profile set) sees only those.
    quiescent_mode: bool,
    /// The newest sample the detector sees, when pacing left it without a
    /// profile; cleared by any later sample.
    unprofiled: Option<f64>,
}

impl MonitorAttribution {
    /// Attribution with `config` (validated), its first profile taken now
    /// at `t_secs`.
    pub(crate) fn start(config: AttributionConfig, t_secs: f64) -> Result<Self, AttributionError> {
        config.validate()?;
        let mut attribution = Self {
            set: GrowthAttributor::new(config),
            trip: None,
            cancel_line: None,
            next_due: None,
            quiescent_mode: false,
            unprofiled: None,
        };
        attribution.take_into_set(t_secs)?;
        Ok(attribution)
    }

    /// Takes a profile into the set, and sets when the next may be taken.
    fn take_into_set(&mut self, t_secs: f64) -> Result<(), ProfileError> {
        let started = Instant::now();
        let result = self.set.record(t_secs);
        let took = started.elapsed().as_secs_f64();
        // At most about 30 years, so a tiny share cannot overflow a Duration.
        let wait = Duration::from_secs_f64((took / self.set.config.max_time_share).min(1e9));
        self.next_due = started.checked_add(wait);
        self.unprofiled = None;
        result
    }

    /// Takes a profile at a sample the trend detector sees (every sample
    /// until the first quiescent one, then the quiescent ones), paced.
    pub(crate) fn on_sample(&mut self, t_secs: f64, quiescent: bool) {
        self.quiescent_mode |= quiescent;
        if self.quiescent_mode && !quiescent {
            self.unprofiled = None;
            return;
        }
        if self.next_due.is_some_and(|due| Instant::now() < due) {
            self.unprofiled = Some(t_secs);
            return;
        }
        if let Err(error) = self.take_into_set(t_secs) {
            tracing::warn!(target: "heapguard_monitor", %error, "heap profile failed");
        }
    }

    /// The growth behind a `LeakSuspected` event, to be symbolised into its
    /// `LeakAttributed` companion outside the monitor's lock (after a
    /// profile of the alarm's own sample, when pacing skipped it); at a
    /// breaker trip, takes the profile (addresses only: symbolised when
    /// asked for).
    pub(crate) fn on_event(&mut self, event: &MemoryEvent) -> Option<UnresolvedAttribution> {
        match event {
            MemoryEvent::LeakSuspected { .. } => {
                if let Some(at) = self.unprofiled {
                    if let Err(error) = self.take_into_set(at) {
                        tracing::warn!(target: "heapguard_monitor", %error, "heap profile failed");
                    }
                }
                self.set.growth_behind(event)
            }
            MemoryEvent::BreakerTripped { t_secs, .. } => {
                self.trip = take_labelled(*t_secs, "trip").or(self.trip.take());
                None
            }
            _ => None,
        }
    }

    /// A watched breaker reached its cancel line: takes the profile
    /// (addresses only).
    pub(crate) fn on_cancel_line(&mut self, t_secs: f64) {
        self.cancel_line = take_labelled(t_secs, "cancel line").or(self.cancel_line.take());
    }

    pub(crate) fn profiles(&self) -> &GrowthAttributor {
        &self.set
    }

    pub(crate) fn trip_profile(&self) -> Option<&(f64, HeapProfile)> {
        self.trip.as_ref()
    }

    pub(crate) fn cancel_line_profile(&self) -> Option<&(f64, HeapProfile)> {
        self.cancel_line.as_ref()
    }
}

/// A profile now, or `None` with a warning naming `what`.
fn take_labelled(t_secs: f64, what: &'static str) -> Option<(f64, HeapProfile)> {
    match profile::take() {
        Ok(taken) => Some((t_secs, taken)),
        Err(error) => {
            tracing::warn!(target: "heapguard_monitor", %error, at = what, "heap profile failed");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{AttributionConfig, GrowthAttributor};
    use heapguard_alloc::profile::HeapProfile;

    fn profile(bytes: u64) -> HeapProfile {
        let dump = format!("heap_v2/1\n@ 0x10 0x20\n t*: 1: {bytes} [0: 0]\n");
        HeapProfile::parse(dump.as_bytes()).unwrap()
    }

    #[test]
    fn keeps_the_oldest_and_newest_within_the_count() {
        let mut set = GrowthAttributor::new(AttributionConfig {
            max_profiles: 8,
            ..AttributionConfig::default()
        });
        for t in 0..100 {
            set.push(t as f64, profile(1000 + t));
            assert!(set.len() <= 8);
        }
        let ((from, _), (to, _)) = set.span(f64::NEG_INFINITY).unwrap();
        assert_eq!((from, to), (0.0, 99.0));
        // The profile at or before t = 50 is the newest such one kept.
        let ((from, _), _) = set.span(50.0).unwrap();
        let next = set
            .profiles
            .iter()
            .map(|(t, _)| *t)
            .find(|&t| t > from)
            .unwrap();
        assert!(from <= 50.0 && next > 50.0, "{from} {next}");
    }

    #[test]
    fn a_span_is_written_from_its_own_two_profiles_not_the_newest() {
        let mut set = GrowthAttributor::new(AttributionConfig::default());
        for t in 0..10 {
            set.push(t as f64, profile(1000 * (t + 1)));
        }
        // The profiles write_span writes for an attribution from 2 s to 5 s.
        let at = |t: f64| {
            let (t, taken) = set.profile_at(t).unwrap();
            (t, taken.total_bytes().round())
        };
        assert_eq!(at(2.0), (2.0, 3000.0));
        assert_eq!(at(5.0), (5.0, 6000.0));
        assert_eq!(at(5.5), (5.0, 6000.0));
        assert_eq!(at(-1.0), (0.0, 1000.0));
    }

    #[test]
    fn keeps_within_the_memory_cap() {
        let one = profile(1).heap_bytes();
        let mut set = GrowthAttributor::new(AttributionConfig {
            max_bytes: 5 * one,
            ..AttributionConfig::default()
        });
        for t in 0..50 {
            set.push(t as f64, profile(t + 1));
            assert!(set.heap_bytes() <= 5 * one);
        }
        assert!(set.len() >= 3);
    }
}
