//! Gauges and counters through the `metrics` facade (feature `metrics`):
//! any installed recorder (Prometheus, StatsD, ...) exports them.
//!
//! | name | kind | labels |
//! | --- | --- | --- |
//! | `heapguard_live_bytes` | gauge | |
//! | `heapguard_peak_bytes` | gauge | |
//! | `heapguard_rss_bytes` | gauge | |
//! | `heapguard_memory_events_total` | counter | `event` |
//! | the detector's gauges ([`gauge_names`](crate::gauge_names)) | gauge | |

use crate::{DetectorGauges, MemoryEvent, Sample};

/// Sets the gauges from a sample.
pub(crate) fn record_sample(sample: &Sample) {
    metrics::gauge!("heapguard_live_bytes").set(sample.live_bytes as f64);
    if let Some(peak) = sample.peak_bytes {
        metrics::gauge!("heapguard_peak_bytes").set(peak as f64);
    }
    if let Some(rss) = sample.rss_bytes {
        metrics::gauge!("heapguard_rss_bytes").set(rss as f64);
    }
}

/// Counts an event by kind.
pub(crate) fn record_event(event: &MemoryEvent) {
    metrics::counter!("heapguard_memory_events_total", "event" => event.kind()).increment(1);
}

/// Sets the detector's gauges after a sample; `origin_secs` is the Unix
/// time of the monitor's start (the level shift's time is exported as Unix
/// seconds).
pub(crate) fn record_detector(gauges: &DetectorGauges, origin_secs: f64) {
    for (name, value) in gauges.values(origin_secs) {
        metrics::gauge!(name).set(value);
    }
}
