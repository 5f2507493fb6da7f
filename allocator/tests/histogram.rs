//! The `histogram` feature: allocations per power-of-two size class.
#![cfg(feature = "histogram")]

use std::alloc::System;

use heapguard_alloc::{measure, size_class, size_classes, CountingAlloc, SizeClasses};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

#[test]
fn scoped_and_process_histograms_count_each_class() {
    let before = size_classes();
    let (blocks, usage) = measure(|| {
        let mut blocks = Vec::with_capacity(8); // 8 * 24 = 192 bytes: class 256
        for size in [1usize, 2, 3, 4, 100, 128, 129, 4096] {
            blocks.push(vec![0u8; size]);
        }
        blocks[7].reserve_exact(4096); // realloc to 8192: counted by its new size
        blocks
    });
    let classes: SizeClasses = usage.size_classes;
    assert_eq!(classes.total(), usage.allocations + usage.reallocations);
    assert_eq!(classes.count(size_class(1)), 1);
    assert_eq!(classes.count(size_class(2)), 1);
    assert_eq!(
        classes.count(size_class(3)),
        2,
        "3 and 4 bytes share (2, 4]"
    );
    assert_eq!(
        classes.count(size_class(100)),
        2,
        "100 and 128 share (64, 128]"
    );
    assert_eq!(
        classes.count(size_class(129)),
        2,
        "129 shares (128, 256] with the 192-byte Vec"
    );
    assert_eq!(classes.count_for_size(192), 2);
    assert_eq!(classes.count(size_class(4096)), 1);
    assert_eq!(classes.count(size_class(8192)), 1);
    let after = size_classes();
    for class in 0..heapguard_alloc::SIZE_CLASSES {
        assert!(after.count(class) >= before.count(class) + classes.count(class));
    }
    drop(blocks);
}
