//! Every `GlobalAlloc` method, counted exactly, at alignments up to 4096.

use std::alloc::{alloc, alloc_zeroed, dealloc, realloc, Layout, System};

use heapguard_alloc::{measure, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const ALIGNMENTS: [usize; 7] = [1, 8, 16, 64, 256, 1024, 4096];

#[test]
fn alloc_and_dealloc_count_requested_bytes_at_every_alignment() {
    for align in ALIGNMENTS {
        let layout = Layout::from_size_align(1000, align).unwrap();
        let (ptr, usage) = measure(|| {
            // SAFETY: the layout has a non-zero size.
            unsafe { alloc(layout) }
        });
        assert!(!ptr.is_null());
        assert_eq!(ptr as usize % align, 0);
        assert_eq!(
            (
                usage.allocations,
                usage.allocated_bytes,
                usage.net_bytes,
                usage.peak_bytes
            ),
            (1, 1000, 1000, 1000),
            "align {align}"
        );
        // SAFETY: allocated just above with this layout.
        let ((), usage) = measure(|| unsafe { dealloc(ptr, layout) });
        assert_eq!(
            (
                usage.deallocations,
                usage.freed_bytes,
                usage.net_bytes,
                usage.peak_bytes
            ),
            (1, 1000, -1000, 0)
        );
    }
}

#[test]
fn alloc_zeroed_counts_as_an_allocation_and_zeroes() {
    for align in ALIGNMENTS {
        let layout = Layout::from_size_align(3000, align).unwrap();
        let (ptr, usage) = measure(|| {
            // SAFETY: the layout has a non-zero size.
            unsafe { alloc_zeroed(layout) }
        });
        assert!(!ptr.is_null());
        // SAFETY: `ptr` points to 3000 initialised (zeroed) bytes.
        let bytes = unsafe { std::slice::from_raw_parts(ptr, 3000) };
        assert!(bytes.iter().all(|&b| b == 0));
        assert_eq!(
            (usage.allocations, usage.allocated_bytes, usage.net_bytes),
            (1, 3000, 3000)
        );
        // SAFETY: allocated just above with this layout.
        unsafe { dealloc(ptr, layout) };
    }
}

#[test]
fn realloc_grow_and_shrink_count_old_and_new_sizes() {
    for align in ALIGNMENTS {
        let layout = Layout::from_size_align(100, align).unwrap();
        // SAFETY: non-zero size.
        let ptr = unsafe { alloc(layout) };
        assert!(!ptr.is_null());
        // SAFETY: `ptr` holds 100 bytes.
        unsafe { ptr.write_bytes(7, 100) };

        // SAFETY: `ptr` came from the global allocator with `layout`.
        let (grown, usage) = measure(|| unsafe { realloc(ptr, layout, 5000) });
        assert!(!grown.is_null());
        assert_eq!(grown as usize % align, 0);
        assert_eq!(
            (usage.reallocations, usage.allocations, usage.deallocations),
            (1, 0, 0)
        );
        assert_eq!((usage.allocated_bytes, usage.freed_bytes), (5000, 100));
        // Live bytes move by new - old, never old + new at any instant.
        assert_eq!((usage.net_bytes, usage.peak_bytes), (4900, 4900));
        // SAFETY: the first 100 bytes were preserved by realloc.
        assert!(unsafe { std::slice::from_raw_parts(grown, 100) }
            .iter()
            .all(|&b| b == 7));

        let grown_layout = Layout::from_size_align(5000, align).unwrap();
        // SAFETY: `grown` came from the global allocator with `grown_layout`.
        let (shrunk, usage) = measure(|| unsafe { realloc(grown, grown_layout, 10) });
        assert!(!shrunk.is_null());
        assert_eq!(
            (
                usage.reallocations,
                usage.allocated_bytes,
                usage.freed_bytes
            ),
            (1, 10, 5000)
        );
        assert_eq!((usage.net_bytes, usage.peak_bytes), (-4990, 0));
        // SAFETY: `shrunk` holds 10 bytes with this alignment.
        unsafe { dealloc(shrunk, Layout::from_size_align(10, align).unwrap()) };
    }
}

#[test]
fn collections_count_what_they_request() {
    let (v, usage) = measure(|| {
        let mut v: Vec<u64> = Vec::with_capacity(4);
        v.extend(0..4);
        v.reserve_exact(12); // realloc 32 -> 128 bytes
        v
    });
    assert_eq!(usage.allocations, 1);
    assert_eq!(usage.reallocations, 1);
    assert_eq!(usage.allocated_bytes, 32 + 128);
    assert_eq!(usage.freed_bytes, 32);
    assert_eq!(usage.net_bytes, 128);
    assert_eq!(usage.peak_bytes, 128);
    let ((), usage) = measure(|| drop(v));
    assert_eq!(
        (usage.deallocations, usage.freed_bytes, usage.net_bytes),
        (1, 128, -128)
    );
}

#[test]
fn zero_sized_values_never_reach_the_allocator() {
    let (v, usage) = measure(|| {
        let v: Vec<()> = vec![(); 1000];
        (v, Box::new(()))
    });
    drop(v);
    assert_eq!(usage, heapguard_alloc::Usage::default());
}
