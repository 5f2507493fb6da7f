//! `GET /metrics`: Prometheus text from `metrics-exporter-prometheus`, every
//! value read when the scrape arrives (nothing sampled in between). The
//! breaker's series come from heapguard-breaker's own export
//! ([`BreakerMetrics`]: the budget and its lines, the level, trips,
//! refusals, reservations, accounts, and the layer's requests); the
//! process's heap from `heapguard_alloc::stats` at scrape time:
//!
//! | metric | type | what |
//! | --- | --- | --- |
//! | `heapguard_live_bytes` | gauge | heap bytes the process holds now (`heapguard_alloc::stats`) |
//! | `heapguard_peak_bytes` | gauge | the highest live bytes since the process started |
//! | `heapguard_live_bytes_error_bound_bytes` | gauge | how far the two above can be from the truth |
//! | `heapguard_serve_connections_refused_total` | counter | connections answered 503 (or, past [`REFUSING_MAX`](super::server::REFUSING_MAX) at once, closed) at the connection limit with every connection busy |
//! | the breaker's series | | see `heapguard_breaker::metrics` |

use heapguard_breaker::metrics::BreakerMetrics;
use metrics::{counter, describe_counter, describe_gauge, gauge, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// The process's heap, read at scrape time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Readings {
    /// Live heap bytes.
    pub live_bytes: u64,
    /// The highest live bytes since start.
    pub peak_bytes: u64,
    /// How far `live_bytes` and `peak_bytes` can be from the truth.
    pub error_bound_bytes: u64,
    /// Connections refused at the connection limit since start
    /// ([`connections_refused`](super::server::connections_refused)).
    pub connections_refused: u64,
}

/// A Prometheus recorder of its own (not the process-wide one), so that
/// several services can live in one process, with the breaker's export.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    breaker: BreakerMetrics,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A recorder with every metric described, exporting `breaker` too.
    pub fn new(breaker: BreakerMetrics) -> Self {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            describe();
            breaker.describe();
        });
        Self {
            recorder,
            handle,
            breaker,
        }
    }

    /// The Prometheus text exposition of `readings` and of the breaker,
    /// read now.
    pub fn render(&self, readings: &Readings) -> String {
        metrics::with_local_recorder(&self.recorder, || {
            record(readings);
            self.breaker.record();
        });
        self.handle.render()
    }
}

fn describe() {
    describe_gauge!(
        "heapguard_live_bytes",
        Unit::Bytes,
        "Heap bytes the process holds now."
    );
    describe_gauge!(
        "heapguard_peak_bytes",
        Unit::Bytes,
        "The highest live heap bytes since the process started."
    );
    describe_gauge!(
        "heapguard_live_bytes_error_bound_bytes",
        Unit::Bytes,
        "How far live and peak bytes can be from the truth (threads x flush threshold)."
    );
    describe_counter!(
        "heapguard_serve_connections_refused_total",
        "Connections refused at the connection limit, every connection busy: answered 503, or closed past the refusals answered at once."
    );
}

fn record(readings: &Readings) {
    gauge!("heapguard_live_bytes").set(readings.live_bytes as f64);
    gauge!("heapguard_peak_bytes").set(readings.peak_bytes as f64);
    gauge!("heapguard_live_bytes_error_bound_bytes").set(readings.error_bound_bytes as f64);
    counter!("heapguard_serve_connections_refused_total").absolute(readings.connections_refused);
}

#[cfg(test)]
mod tests {
    use super::*;
    use heapguard_breaker::service::ShedStats;
    use heapguard_breaker::{BreakerConfig, Budget, ManualSource, MemoryBreaker};
    use std::sync::Arc;

    #[test]
    fn the_heap_and_the_breaker_are_rendered_as_read_now() {
        let heap = ManualSource::new(1 << 20);
        let breaker = Arc::new(
            MemoryBreaker::new(BreakerConfig::new(Budget::Bytes(16 << 20)).source(heap.clone()))
                .unwrap(),
        );
        let metrics = Metrics::new(
            BreakerMetrics::new(Arc::clone(&breaker)).shed_stats(ShedStats::default()),
        );
        let readings = Readings {
            live_bytes: 1_234_567,
            peak_bytes: 2_345_678,
            error_bound_bytes: 65_536,
            connections_refused: 3,
        };
        let text = metrics.render(&readings);
        for line in [
            "heapguard_live_bytes 1234567",
            "heapguard_peak_bytes 2345678",
            "heapguard_serve_connections_refused_total 3",
            "heapguard_budget_bytes 16777216",
            "heapguard_breaker_trips_total 0",
            "heapguard_requests_shed_total 0",
            "heapguard_pressure_level 0",
            "# TYPE heapguard_live_bytes gauge",
            "# TYPE heapguard_breaker_trips_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
        // Read at scrape time: a trip since shows in the next scrape.
        heap.set(15 << 20);
        assert!(breaker.check().is_err());
        let later = metrics.render(&Readings {
            live_bytes: 99,
            ..readings
        });
        assert!(later.lines().any(|l| l == "heapguard_live_bytes 99"));
        assert!(later
            .lines()
            .any(|l| l == "heapguard_breaker_trips_total 1"));
        assert!(later.lines().any(|l| l == "heapguard_breaker_refusing 1"));
    }
}
