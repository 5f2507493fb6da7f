//! Events are `tracing` warnings and `track` logs structured fields, as the
//! Node service's `logMemoryUsage` did.

use heapguard_monitor::{MemoryMonitor, MonitorConfig};
use heapguard_reading::ManualSource;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// (level, target, fields) of each event.
type Logged = Arc<Mutex<Vec<(Level, String, BTreeMap<String, String>)>>>;

struct Collect(Logged);

struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Collect {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(BTreeMap::new());
        event.record(&mut fields);
        let metadata = event.metadata();
        self.0
            .lock()
            .unwrap()
            .push((*metadata.level(), metadata.target().to_owned(), fields.0));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn events_are_warnings_and_operations_are_structured_logs() {
    let heap = ManualSource::new(0);
    let config = MonitorConfig {
        interval: Duration::from_secs(3600),
        budget_bytes: Some(1000),
        ..MonitorConfig::default()
    };
    let monitor = MemoryMonitor::start_with_source(config, Arc::new(heap.clone())).unwrap();
    let logged = Logged::default();
    tracing::subscriber::with_default(Collect(Arc::clone(&logged)), || {
        heap.set(800);
        monitor.sample_now().unwrap();
        monitor.track("load", || heap.set(850));
    });
    let logged = logged.lock().unwrap();
    assert_eq!(logged.len(), 2, "{logged:?}");
    let (level, target, fields) = &logged[0];
    assert_eq!(
        (*level, target.as_str()),
        (Level::WARN, "heapguard_monitor")
    );
    assert_eq!(fields["event"], "\"high_usage\"");
    let (level, target, fields) = &logged[1];
    assert_eq!(
        (*level, target.as_str()),
        (Level::INFO, "heapguard_monitor")
    );
    assert_eq!(fields["operation"], "\"load\"");
    assert_eq!(fields["heap_used_bytes"], "850");
    assert_eq!(fields["heap_percent"], "85.0");
    // Without the counting allocator the diff comes from the source.
    assert_eq!(fields["diff_bytes"], "50");
    for name in ["diff_bytes", "peak_bytes", "rss_bytes", "duration_ms"] {
        assert!(fields.contains_key(name), "missing {name}: {fields:?}");
    }
}
