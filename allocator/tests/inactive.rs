//! Without `CountingAlloc` as the global allocator, nothing is counted and
//! `is_active()` says so.

use heapguard_alloc::{is_active, measure, Usage};

#[test]
fn not_installed_means_not_active_and_nothing_measured() {
    assert!(!is_active());
    let (v, usage) = measure(|| vec![0u8; 1024]);
    assert_eq!(usage, Usage::default());
    drop(v);
    // The answer is cached and stays the same.
    assert!(!is_active());
}
