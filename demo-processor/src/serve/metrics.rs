//! `GET /metrics`: Prometheus text from `metrics-exporter-prometheus`, every
//! value read when the scrape arrives (nothing sampled in between).
//!
//! | metric | type | what |
//! | --- | --- | --- |
//! | `heapguard_live_bytes` | gauge | heap bytes the process holds now (`heapguard_alloc::stats`) |
//! | `heapguard_peak_bytes` | gauge | the highest live bytes since the process started |
//! | `heapguard_live_bytes_error_bound_bytes` | gauge | how far the two above can be from the truth |
//! | `heapguard_budget_bytes` | gauge | the breaker's budget |
//! | `heapguard_trip_line_bytes` | gauge | usage (live + reserved) at which new requests are refused |
//! | `heapguard_reserved_bytes` | gauge | bytes reserved by the requests in flight |
//! | `heapguard_in_accounts_bytes` | gauge | live bytes of the jobs' accounts (each running request's job) |
//! | `heapguard_unattributed_bytes` | gauge | live bytes no job's account holds (`live - in_accounts`): the server, buffers, anything spawned outside an account |
//! | `heapguard_jobs_registered` | gauge | jobs registered with the breaker (it may cancel them past its cancel line) |
//! | `heapguard_requests_waiting` | gauge | admitted requests whose job has not started (shed first past the cancel line) |
//! | `heapguard_requests_in_flight` | gauge | admitted requests whose response body has not ended |
//! | `heapguard_reading_age_seconds` | gauge | age of the breaker's last good reading (its refresher reads every 25 ms; grows while the source cannot be read) |
//! | `heapguard_pressure_level` | gauge | the breaker's pressure level: 0 normal, 1 warn (>= 70% of the budget), 2 refuse (>= 80%, the trip line, until back under 70%), 3 cancel (>= 95%) |
//! | `heapguard_breaker_refusing` | gauge | 1 while the breaker refuses new work |
//! | `heapguard_breaker_trips_total` | counter | times the breaker tripped |
//! | `heapguard_requests_admitted_total` | counter | requests that reserved their estimate and ran |
//! | `heapguard_requests_shed_total` | counter | requests answered 503 |
//! | `heapguard_requests_too_large_total` | counter | requests answered 413 |

use heapguard_breaker::PressureLevel;
use metrics::{counter, describe_counter, describe_gauge, gauge, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// What a scrape reports, read at scrape time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Readings {
    /// Live heap bytes.
    pub live_bytes: u64,
    /// The highest live bytes since start.
    pub peak_bytes: u64,
    /// How far `live_bytes` and `peak_bytes` can be from the truth.
    pub error_bound_bytes: u64,
    /// The breaker's budget.
    pub budget_bytes: u64,
    /// The breaker's trip line.
    pub trip_line_bytes: u64,
    /// Bytes reserved in the breaker.
    pub reserved_bytes: u64,
    /// Live bytes of the jobs' accounts.
    pub in_accounts_bytes: u64,
    /// Live bytes no job's account holds.
    pub unattributed_bytes: u64,
    /// Jobs registered with the breaker.
    pub jobs_registered: u64,
    /// Admitted requests not started.
    pub requests_waiting: u64,
    /// Admitted requests whose response has not ended.
    pub requests_in_flight: u64,
    /// Seconds since the breaker's last good reading (0 before the first).
    pub reading_age_seconds: f64,
    /// 0 normal, 1 elevated, 2 high, 3 critical.
    pub pressure_level: u8,
    /// Whether the breaker refuses new work.
    pub refusing: bool,
    /// Trips since start.
    pub trips: u64,
    /// Requests admitted.
    pub admitted: u64,
    /// Requests shed (503).
    pub shed: u64,
    /// Requests too large (413).
    pub too_large: u64,
}

/// The breaker's pressure level as the gauge's number: 0 normal, 1 warn
/// (from 70% of the budget), 2 refuse (the trip line, 80%, until usage is
/// back under 70%), 3 cancel (from 95%).
pub fn pressure_level(level: PressureLevel) -> u8 {
    match level {
        PressureLevel::Normal => 0,
        PressureLevel::Warn => 1,
        PressureLevel::Refuse => 2,
        PressureLevel::Cancel => 3,
    }
}

/// A Prometheus recorder of its own (not the process-wide one), so that
/// several services can live in one process.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A recorder with every metric described.
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, describe);
        Self { recorder, handle }
    }

    /// The Prometheus text exposition of `readings`.
    pub fn render(&self, readings: &Readings) -> String {
        metrics::with_local_recorder(&self.recorder, || record(readings));
        self.handle.render()
    }
}

fn describe() {
    let gauges = [
        ("heapguard_live_bytes", "Heap bytes the process holds now."),
        (
            "heapguard_peak_bytes",
            "The highest live heap bytes since the process started.",
        ),
        (
            "heapguard_live_bytes_error_bound_bytes",
            "How far live and peak bytes can be from the truth (threads x flush threshold).",
        ),
        ("heapguard_budget_bytes", "The memory breaker's budget."),
        (
            "heapguard_trip_line_bytes",
            "Usage (live + reserved) at which new requests are refused.",
        ),
        (
            "heapguard_reserved_bytes",
            "Bytes reserved by the requests in flight.",
        ),
        (
            "heapguard_in_accounts_bytes",
            "Live bytes of the running jobs' memory accounts.",
        ),
        (
            "heapguard_unattributed_bytes",
            "Live bytes no job's account holds (live minus the accounts).",
        ),
    ];
    for (name, help) in gauges {
        describe_gauge!(name, Unit::Bytes, help);
    }
    describe_gauge!(
        "heapguard_pressure_level",
        "0 normal (<70% of the budget), 1 elevated (>=70%), 2 high (>=80%), 3 critical (>=95%)."
    );
    describe_gauge!(
        "heapguard_requests_waiting",
        "Admitted requests whose job has not started: shed first past the cancel line."
    );
    describe_gauge!(
        "heapguard_reading_age_seconds",
        Unit::Seconds,
        "Age of the memory breaker's last good reading."
    );
    describe_gauge!(
        "heapguard_requests_in_flight",
        "Admitted requests whose response body has not ended."
    );
    describe_gauge!(
        "heapguard_jobs_registered",
        "Jobs registered with the memory breaker, which may cancel them."
    );
    describe_gauge!(
        "heapguard_breaker_refusing",
        "1 while the memory breaker refuses new work."
    );
    describe_counter!(
        "heapguard_breaker_trips_total",
        "Times the memory breaker tripped."
    );
    describe_counter!(
        "heapguard_requests_admitted_total",
        "Requests that reserved their memory estimate and ran."
    );
    describe_counter!(
        "heapguard_requests_shed_total",
        "Requests refused with 503 under memory pressure."
    );
    describe_counter!(
        "heapguard_requests_too_large_total",
        "Requests refused with 413: their estimate could never fit the budget."
    );
}

fn record(readings: &Readings) {
    let bytes = [
        ("heapguard_live_bytes", readings.live_bytes),
        ("heapguard_peak_bytes", readings.peak_bytes),
        (
            "heapguard_live_bytes_error_bound_bytes",
            readings.error_bound_bytes,
        ),
        ("heapguard_budget_bytes", readings.budget_bytes),
        ("heapguard_trip_line_bytes", readings.trip_line_bytes),
        ("heapguard_reserved_bytes", readings.reserved_bytes),
        ("heapguard_in_accounts_bytes", readings.in_accounts_bytes),
        ("heapguard_unattributed_bytes", readings.unattributed_bytes),
    ];
    for (name, value) in bytes {
        gauge!(name).set(value as f64);
    }
    gauge!("heapguard_pressure_level").set(f64::from(readings.pressure_level));
    gauge!("heapguard_jobs_registered").set(readings.jobs_registered as f64);
    gauge!("heapguard_requests_waiting").set(readings.requests_waiting as f64);
    gauge!("heapguard_requests_in_flight").set(readings.requests_in_flight as f64);
    gauge!("heapguard_reading_age_seconds").set(readings.reading_age_seconds);
    gauge!("heapguard_breaker_refusing").set(if readings.refusing { 1.0 } else { 0.0 });
    counter!("heapguard_breaker_trips_total").absolute(readings.trips);
    counter!("heapguard_requests_admitted_total").absolute(readings.admitted);
    counter!("heapguard_requests_shed_total").absolute(readings.shed);
    counter!("heapguard_requests_too_large_total").absolute(readings.too_large);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_numbered_in_order_of_pressure() {
        let levels: Vec<u8> = [
            PressureLevel::Normal,
            PressureLevel::Warn,
            PressureLevel::Refuse,
            PressureLevel::Cancel,
        ]
        .into_iter()
        .map(pressure_level)
        .collect();
        assert_eq!(levels, [0, 1, 2, 3]);
    }

    #[test]
    fn every_reading_is_rendered_with_its_value() {
        let metrics = Metrics::new();
        let readings = Readings {
            live_bytes: 1_234_567,
            peak_bytes: 2_345_678,
            budget_bytes: 16 << 20,
            trips: 3,
            shed: 17,
            pressure_level: 2,
            refusing: true,
            unattributed_bytes: 4096,
            jobs_registered: 2,
            requests_waiting: 5,
            reading_age_seconds: 0.025,
            ..Readings::default()
        };
        let text = metrics.render(&readings);
        for line in [
            "heapguard_live_bytes 1234567",
            "heapguard_peak_bytes 2345678",
            "heapguard_budget_bytes 16777216",
            "heapguard_breaker_trips_total 3",
            "heapguard_requests_shed_total 17",
            "heapguard_pressure_level 2",
            "heapguard_breaker_refusing 1",
            "heapguard_unattributed_bytes 4096",
            "heapguard_jobs_registered 2",
            "heapguard_requests_waiting 5",
            "heapguard_reading_age_seconds 0.025",
            "# TYPE heapguard_live_bytes gauge",
            "# TYPE heapguard_breaker_trips_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
        // Read at scrape time: a second scrape shows the new values.
        let later = metrics.render(&Readings {
            live_bytes: 99,
            trips: 4,
            ..readings
        });
        assert!(later.lines().any(|l| l == "heapguard_live_bytes 99"));
        assert!(later
            .lines()
            .any(|l| l == "heapguard_breaker_trips_total 4"));
    }
}
