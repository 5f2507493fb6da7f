//! Readings without the counting allocator installed (this binary does not
//! install it).

use std::fs;

use heapguard_breaker::reading::{CountingAllocSource, RssSource};
use heapguard_breaker::{
    BreakerConfig, Budget, ConfigError, MemoryBreaker, MemorySource, SourceError,
};

#[test]
fn the_counting_source_refuses_when_the_allocator_is_not_installed() {
    let error = CountingAllocSource::new().unwrap_err();
    assert!(matches!(error, SourceError::CountingAllocNotInstalled));
    assert!(error.to_string().contains("#[global_allocator]"));
    // The default source of a breaker: building fails, rather than reading zeros.
    let error = MemoryBreaker::new(BreakerConfig::new(Budget::Bytes(1 << 30))).unwrap_err();
    assert!(matches!(
        error,
        ConfigError::Source(SourceError::CountingAllocNotInstalled)
    ));
}

#[test]
fn rss_reads_this_process() {
    let rss = RssSource::new().unwrap();
    assert_eq!(rss.name(), "rss");
    assert_eq!(rss.slack_bytes(), 0);
    let before = rss.used_bytes().unwrap();
    assert!(
        before > 1 << 20,
        "a test binary has more than 1 MiB resident: {before}"
    );
    // Touch 32 MiB: resident memory grows by about that much.
    let block = vec![1u8; 32 << 20];
    let after = rss.used_bytes().unwrap();
    assert!(after >= before + (24 << 20), "{before} -> {after}");
    drop(block);
    let breaker =
        MemoryBreaker::new(BreakerConfig::new(Budget::Bytes(u64::MAX / 2)).source(rss)).unwrap();
    assert_eq!(breaker.source_name(), Some("rss"));
    assert!(breaker.check().is_ok());
}

#[test]
fn rss_fixture_files_parse_or_fail_clearly() {
    // Removed when dropped, also when an assertion below fails.
    let tmp = tempfile::Builder::new()
        .prefix("heapguard-breaker-statm-")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let good = dir.join("statm");
    fs::write(&good, "5000 1200 300 10 0 900 0\n").unwrap();
    let rss = RssSource::from_statm(&good, 4096).unwrap();
    assert_eq!(rss.used_bytes().unwrap(), 1200 * 4096);
    let bad = dir.join("statm-bad");
    fs::write(&bad, "5000\n").unwrap();
    let error = RssSource::from_statm(&bad, 4096).unwrap_err();
    assert!(matches!(error, SourceError::Parse { .. }), "{error:?}");
    assert!(error.to_string().contains("statm-bad"));
    let error = RssSource::from_statm(dir.join("missing"), 4096).unwrap_err();
    assert!(matches!(error, SourceError::Io { .. }), "{error:?}");
}

#[cfg(feature = "jemalloc")]
#[test]
fn jemalloc_statistics_read_when_jemalloc_is_linked() {
    // jemalloc is linked by the feature but not the global allocator here:
    // its statistics still read (its own arenas), so building succeeds.
    let source = heapguard_breaker::reading::JemallocAllocatedSource::new().unwrap();
    assert_eq!(source.name(), "jemalloc-allocated");
    assert!(source.used_bytes().is_ok());
}
