//! Feature `metrics`: `BreakerMetrics::record` sets the breaker's series,
//! read at the moment it runs, rendered here by a real Prometheus recorder
//! (metrics-exporter-prometheus) as a scrape would see them.
#![cfg(feature = "metrics")]

use std::sync::Arc;

use heapguard_breaker::metrics::BreakerMetrics;
use heapguard_breaker::testing::ManualSource;
use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};
use metrics_exporter_prometheus::PrometheusBuilder;

const MIB: u64 = 1 << 20;

/// The value of an unlabelled sample `name` in Prometheus text.
fn value(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let (metric, value) = line.split_once(' ')?;
            (metric == name).then(|| value.trim().parse().ok())?
        })
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

#[test]
fn a_scrape_reads_the_budget_lines_level_trips_and_refusals_as_they_are() {
    let heap = ManualSource::new(10 * MIB);
    let breaker = Arc::new(
        MemoryBreaker::new(
            BreakerConfig::new(Budget::Bytes(100 * MIB))
                .name("requests")
                .source(heap.clone()),
        )
        .unwrap(),
    );
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let exported = BreakerMetrics::new(Arc::clone(&breaker));
    let scrape = || {
        metrics::with_local_recorder(&recorder, || exported.record());
        handle.render()
    };
    metrics::with_local_recorder(&recorder, || exported.describe());

    let text = scrape();
    assert_eq!(value(&text, "heapguard_budget_bytes"), (100 * MIB) as f64);
    assert_eq!(value(&text, "heapguard_trip_line_bytes"), (80 * MIB) as f64);
    assert_eq!(value(&text, "heapguard_warn_line_bytes"), (70 * MIB) as f64);
    assert_eq!(
        value(&text, "heapguard_cancel_line_bytes"),
        (95 * MIB) as f64
    );
    assert_eq!(value(&text, "heapguard_pressure_level"), 0.0);
    assert_eq!(value(&text, "heapguard_breaker_trips_total"), 0.0);
    assert!(text.contains("# HELP heapguard_budget_bytes"), "{text}");

    // A reservation that holds: reserved bytes show at once.
    let held = breaker.try_reserve(20 * MIB).unwrap();
    assert_eq!(
        value(&scrape(), "heapguard_reserved_bytes"),
        (20 * MIB) as f64
    );
    // One that cannot fit is refused and counted.
    assert!(breaker.try_reserve(80 * MIB).is_err());
    drop(held);
    // The heap passes the trip line: a check trips, the next scrape says so.
    heap.set(90 * MIB);
    assert!(breaker.check().is_err());
    let text = scrape();
    assert_eq!(value(&text, "heapguard_breaker_trips_total"), 1.0);
    assert!(
        value(&text, "heapguard_breaker_refusals_total") >= 2.0,
        "{text}"
    );
    assert_eq!(value(&text, "heapguard_breaker_refusing"), 1.0);
    assert_eq!(value(&text, "heapguard_pressure_level"), 2.0);
    assert_eq!(value(&text, "heapguard_reserved_bytes"), 0.0);
}
