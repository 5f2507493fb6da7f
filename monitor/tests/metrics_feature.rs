//! Feature `metrics`: samples set gauges and events count, through whatever
//! recorder is installed (here a small one that remembers values).
#![cfg(feature = "metrics")]

use heapguard_monitor::detect::TrendConfig;
use heapguard_monitor::{MemoryMonitor, MonitorConfig};
use heapguard_reading::ManualSource;
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString,
    Unit,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Values = Arc<Mutex<BTreeMap<String, f64>>>;

#[derive(Default)]
struct Remember(Values);

struct Cell {
    name: String,
    values: Values,
}

impl Cell {
    fn update(&self, change: impl FnOnce(&mut f64)) {
        let mut values = self.values.lock().unwrap();
        change(values.entry(self.name.clone()).or_insert(0.0));
    }
}

impl CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.update(|v| *v += value as f64);
    }
    fn absolute(&self, value: u64) {
        self.update(|v| *v = value as f64);
    }
}

impl GaugeFn for Cell {
    fn increment(&self, value: f64) {
        self.update(|v| *v += value);
    }
    fn decrement(&self, value: f64) {
        self.update(|v| *v -= value);
    }
    fn set(&self, value: f64) {
        self.update(|v| *v = value);
    }
}

impl Remember {
    fn cell(&self, key: &Key) -> Arc<Cell> {
        let labels: Vec<String> = key
            .labels()
            .map(|label| format!("{}={}", label.key(), label.value()))
            .collect();
        Arc::new(Cell {
            name: format!("{}{{{}}}", key.name(), labels.join(",")),
            values: Arc::clone(&self.0),
        })
    }
}

impl Recorder for Remember {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell(key))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

/// A monitor over a manual heap, 1000 bytes of budget, sampling only when
/// asked (its thread's interval is an hour).
fn monitor() -> (ManualSource, MemoryMonitor) {
    let heap = ManualSource::new(0);
    let config = MonitorConfig {
        interval: Duration::from_secs(3600),
        budget_bytes: Some(1000),
        ..MonitorConfig::default()
    };
    let monitor = MemoryMonitor::start_with_source(config, Arc::new(heap.clone())).unwrap();
    (heap, monitor)
}

#[test]
fn samples_set_gauges_and_events_count() {
    let (heap, monitor) = monitor();
    let recorder = Remember::default();
    metrics::with_local_recorder(&recorder, || {
        heap.set(900);
        monitor.sample_now().unwrap();
        heap.set(100);
        monitor.sample_now().unwrap();
        heap.set(950);
        monitor.sample_now().unwrap();
    });
    let values = recorder.0.lock().unwrap();
    assert_eq!(values["heapguard_live_bytes{}"], 950.0);
    assert_eq!(
        values["heapguard_memory_events_total{event=high_usage}"],
        2.0
    );
    assert_eq!(
        values["heapguard_memory_events_total{event=recovered}"],
        1.0
    );
    assert!(values["heapguard_rss_bytes{}"] > 0.0);
    // The detector's gauges, current after the last sample: warming up,
    // no leak, no level shift yet.
    for (name, value) in [
        ("heapguard_leak_suspected", 0.0),
        ("heapguard_leak_slope_bytes_per_second", 0.0),
        ("heapguard_leak_confidence", 0.0),
        ("heapguard_leak_seconds_to_budget", f64::INFINITY),
        ("heapguard_detector_warming_up", 1.0),
        ("heapguard_detector_cycling", 0.0),
        ("heapguard_level_shift_bytes", 0.0),
        ("heapguard_level_shift_timestamp_seconds", 0.0),
    ] {
        assert_eq!(values[&format!("{name}{{}}")], value, "{name}");
    }
}

#[test]
fn record_metrics_reads_the_heap_now_and_records_no_sample() {
    let (heap, monitor) = monitor();
    let events = monitor.subscribe();
    let recorder = Remember::default();
    metrics::with_local_recorder(&recorder, || {
        heap.set(300);
        monitor.sample_now().unwrap();
        let taken = monitor.samples_taken();
        // The heap moves between samples; a scrape reads it as it is now.
        heap.set(950);
        monitor.record_metrics().unwrap();
        assert_eq!(monitor.samples_taken(), taken, "no sample recorded");
    });
    let values = recorder.0.lock().unwrap();
    assert_eq!(values["heapguard_live_bytes{}"], 950.0);
    // 950 of 1000 is past the high-usage line, but only a sample decides:
    // reading for a scrape raises nothing.
    assert!(
        events.try_iter().all(|event| event.kind() != "high_usage"),
        "a scrape changed the monitor's state"
    );
}

#[test]
fn a_declared_restart_starts_a_warm_up_at_once() {
    // Without a warm-up the detector is never warming up, except from a
    // declared restart to the next sample (quiescent: each is a point of
    // the detector's).
    let heap = ManualSource::new(500);
    let config = MonitorConfig {
        interval: Duration::from_secs(3600),
        trend: Some(TrendConfig {
            warm_up_secs: 0.0,
            ..TrendConfig::default()
        }),
        ..MonitorConfig::default()
    };
    let monitor = MemoryMonitor::start_with_source(config, Arc::new(heap)).unwrap();
    let events = monitor.subscribe();
    let recorder = Remember::default();
    let warming =
        |recorder: &Remember| recorder.0.lock().unwrap()["heapguard_detector_warming_up{}"];
    metrics::with_local_recorder(&recorder, || monitor.mark_quiescent().unwrap());
    assert_eq!(warming(&recorder), 0.0);
    metrics::with_local_recorder(&recorder, || monitor.declare_restart());
    assert_eq!(warming(&recorder), 1.0);
    metrics::with_local_recorder(&recorder, || monitor.mark_quiescent().unwrap());
    assert_eq!(warming(&recorder), 0.0);
    // No leak was suspected: nothing to clear.
    assert!(events.try_recv().is_err());
}
