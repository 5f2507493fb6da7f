//! `auto` falling back to physical memory because a cgroup file could not
//! be read logs a `tracing` warning naming the file and the reason.
//!
//! A binary of its own: `tracing` caches each callsite's interest the first
//! time any thread reaches it, so a test without a subscriber running
//! beside this one could hide the warning from it.

mod common;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use common::{v2_stat, Tree, MOUNTS_BASE, PHYSICAL};
use heapguard_breaker::testing::ManualSource;
use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};
use tracing::field::{Field, Visit};

/// Records each warning's fields as text.
struct Warnings(Arc<Mutex<Vec<String>>>);

struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for Warnings {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() == tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = Text(String::new());
        event.record(&mut text);
        self.0.lock().unwrap().push(text.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn auto_falling_back_because_a_file_is_unreadable_warns_naming_it() {
    let tree = Tree::new("warnings");
    tree.write("/proc/self/cgroup", "0::/app\n")
        .write(
            "/proc/self/mountinfo",
            &format!("{MOUNTS_BASE}35 24 0:30 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n"),
        )
        .dangling("/sys/fs/cgroup/app/memory.max")
        .write("/sys/fs/cgroup/app/memory.high", "max\n")
        .write("/sys/fs/cgroup/app/memory.current", "1048576\n")
        .write("/sys/fs/cgroup/app/memory.stat", &v2_stat(1 << 20, 0));
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let breaker = tracing::subscriber::with_default(Warnings(warnings.clone()), || {
        MemoryBreaker::new(
            BreakerConfig::new(Budget::Auto)
                .host(tree.host())
                .source(ManualSource::new(0)),
        )
        .unwrap()
    });
    assert_eq!(breaker.limit(), PHYSICAL);
    let warnings = warnings.lock().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = &warnings[0];
    assert!(
        warning.contains("/sys/fs/cgroup/app/memory.max"),
        "{warning}"
    );
    assert!(warning.contains("No such file"), "the reason: {warning}");
    assert!(
        warning.contains("falls back to physical memory"),
        "{warning}"
    );
}

#[test]
fn a_fixed_budget_above_the_limit_warns_naming_the_limit() {
    let tree = Tree::new("warnings-fixed");
    tree.write("/proc/self/cgroup", "0::/app\n")
        .write(
            "/proc/self/mountinfo",
            &format!("{MOUNTS_BASE}35 24 0:30 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n"),
        )
        .write("/sys/fs/cgroup/app/memory.max", "1073741824\n")
        .write("/sys/fs/cgroup/app/memory.current", "1048576\n")
        .write("/sys/fs/cgroup/app/memory.stat", &v2_stat(1 << 20, 0));
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let breaker = tracing::subscriber::with_default(Warnings(warnings.clone()), || {
        MemoryBreaker::new(
            BreakerConfig::new(Budget::Bytes(4 << 30))
                .host(tree.host())
                .source(ManualSource::new(0)),
        )
        .unwrap()
    });
    assert_eq!(breaker.limit(), 4 << 30, "accepted as given");
    let warnings = warnings.lock().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("1073741824 bytes"), "{}", warnings[0]);
    assert!(
        warnings[0].contains("/sys/fs/cgroup/app/memory.max"),
        "{}",
        warnings[0]
    );
}
