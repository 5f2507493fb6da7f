use heapguard_reading::{CountingAllocSource, MemorySource, RssSource, SourceError};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::detect::SeriesPoint;

/// One reading of the process's memory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds since the sampler was created.
    pub t_secs: f64,
    /// Wall-clock time of the reading.
    pub at: SystemTime,
    /// Bytes in use, as the monitor's [`MemorySource`] reads them (live heap
    /// bytes with the counting allocator installed).
    pub live_bytes: u64,
    /// The counting allocator's peak live bytes; `None` when it is not the
    /// global allocator.
    pub peak_bytes: Option<u64>,
    /// Resident set size from `/proc/self/statm`; `None` where unavailable.
    pub rss_bytes: Option<u64>,
    /// jemalloc's `stats.resident` (feature `jemalloc`; it describes the
    /// heap only when jemalloc is the global allocator); `None` without the
    /// feature or when the statistics cannot be read.
    pub jemalloc_resident_bytes: Option<u64>,
    /// Whether the service said it was between jobs.
    pub quiescent: bool,
}

impl Sample {
    /// The reading as a detector input.
    pub fn point(&self) -> SeriesPoint {
        SeriesPoint {
            t_secs: self.t_secs,
            bytes: self.live_bytes,
            quiescent: self.quiescent,
        }
    }
}

/// Takes [`Sample`]s: what the sampler thread runs at each tick, usable on
/// its own (benchmarks, tests, sampling at job boundaries).
///
/// ```
/// use heapguard_reading::ManualSource;
/// use heapguard_monitor::Sampler;
/// use std::sync::Arc;
/// let source = ManualSource::new(4096);
/// let sampler = Sampler::new(Arc::new(source.clone()));
/// let sample = sampler.sample(false).unwrap();
/// assert_eq!(sample.live_bytes, 4096);
/// source.set(8192);
/// assert_eq!(sampler.sample(true).unwrap().live_bytes, 8192);
/// ```
pub struct Sampler {
    source: Arc<dyn MemorySource>,
    rss: Option<RssSource>,
    started: Instant,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler")
            .field("source", &self.source.name())
            .field("rss", &self.rss.is_some())
            .finish()
    }
}

impl Sampler {
    /// A sampler reading live bytes from `source`; times count from now.
    pub fn new(source: Arc<dyn MemorySource>) -> Self {
        Self {
            source,
            rss: RssSource::new().ok(),
            started: Instant::now(),
        }
    }

    /// A sampler over the counting allocator when it is installed, else over
    /// RSS.
    pub fn with_default_source() -> Result<Self, SourceError> {
        Ok(Self::new(default_source()?))
    }

    /// The name of the source of `live_bytes`.
    pub fn source_name(&self) -> &'static str {
        self.source.name()
    }

    /// The source of `live_bytes`.
    pub fn source(&self) -> &Arc<dyn MemorySource> {
        &self.source
    }

    /// Seconds since the sampler was created.
    pub fn elapsed_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Resident set size now, if readable.
    pub fn rss_bytes(&self) -> Option<u64> {
        self.rss.as_ref().and_then(|rss| rss.used_bytes().ok())
    }

    /// Takes one sample; `quiescent` marks it as taken between jobs.
    pub fn sample(&self, quiescent: bool) -> Result<Sample, SourceError> {
        let live_bytes = self.source.used_bytes()?;
        Ok(Sample {
            t_secs: self.elapsed_secs(),
            at: SystemTime::now(),
            live_bytes,
            peak_bytes: heapguard_alloc::is_active().then(|| heapguard_alloc::stats().peak_bytes),
            rss_bytes: self.rss_bytes(),
            jemalloc_resident_bytes: jemalloc_resident(),
            quiescent,
        })
    }
}

/// The counting allocator when installed, else RSS.
pub(crate) fn default_source() -> Result<Arc<dyn MemorySource>, SourceError> {
    if heapguard_alloc::is_active() {
        Ok(Arc::new(CountingAllocSource::new()?))
    } else {
        Ok(Arc::new(RssSource::new()?))
    }
}

#[cfg(feature = "jemalloc")]
fn jemalloc_resident() -> Option<u64> {
    heapguard_alloc::jemalloc::stats()
        .ok()
        .map(|stats| stats.resident)
}

#[cfg(not(feature = "jemalloc"))]
fn jemalloc_resident() -> Option<u64> {
    None
}
