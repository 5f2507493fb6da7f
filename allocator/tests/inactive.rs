//! Without `CountingAlloc` as the global allocator nothing is counted:
//! `is_active()` says so, `measure` refuses to report zeros that would make
//! every "must not allocate" assertion pass, and the library form
//! `measure_or_zeros` reports zeros.

use heapguard_alloc::{is_active, measure, measure_or_zeros, Usage};

#[test]
fn not_installed_means_not_active_and_measure_or_zeros_reports_zeros() {
    assert!(!is_active());
    let (v, usage) = measure_or_zeros(|| vec![0u8; 1024]);
    assert_eq!(usage, Usage::default());
    drop(v);
    // The answer is cached and stays the same.
    assert!(!is_active());
}

#[test]
fn measure_without_the_counting_allocator_panics_naming_global_allocator() {
    let panic = std::panic::catch_unwind(|| measure(|| vec![0u8; 16]))
        .expect_err("measure must panic when nothing can be counted");
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .expect("a text panic message");
    assert!(message.contains("#[global_allocator]"), "{message}");
    assert!(message.contains("CountingAlloc"), "{message}");
}
