//! When something else is mapped in the sampled blocks' fixed address
//! range, sampling refuses to start with a clear error, and blocks the
//! inner allocator hands out from that range, which `dealloc`'s first test
//! cannot tell from slot blocks, still go back to the inner allocator,
//! counted exactly. Runs without libtest's harness: the global allocator's
//! counters and the mapping are process-wide. Linux only: the range is
//! another one elsewhere.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::ErrorKind;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use heapguard_alloc::profile::{sampling, ProfileError};
use heapguard_alloc::CountingAlloc;

/// Inside the range the region is mapped at on Linux (256 MiB to 768 MiB).
const FOREIGN: usize = 0x1800_0000;
/// The foreign mapping's size: one block of it is handed out at a time.
const FOREIGN_LEN: usize = 1 << 20;
/// The request size the inner allocator serves from the foreign mapping.
const MARKER: usize = 4000;

/// `System`, except that a block of `MARKER` bytes comes from the foreign
/// mapping (one at a time), and its free is counted.
struct InRange {
    frees_in_range: AtomicUsize,
    taken: AtomicUsize,
}

// SAFETY: blocks of the foreign mapping are handed out one at a time and
// taken back only by `dealloc`; everything else is `System`'s.
unsafe impl GlobalAlloc for InRange {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = MAPPED.load(Relaxed);
        if layout.size() == MARKER
            && layout.align() <= 4096
            && base != 0
            && self.taken.compare_exchange(0, 1, Relaxed, Relaxed).is_ok()
        {
            return base as *mut u8;
        }
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr as usize == MAPPED.load(Relaxed) {
            self.frees_in_range.fetch_add(1, Relaxed);
            self.taken.store(0, Relaxed);
            return;
        }
        // SAFETY: not the foreign block, so `System`'s.
        unsafe { System.dealloc(ptr, layout) }
    }
}

static MAPPED: AtomicUsize = AtomicUsize::new(0);

#[global_allocator]
static GLOBAL: CountingAlloc<InRange> = CountingAlloc::new(InRange {
    frees_in_range: AtomicUsize::new(0),
    taken: AtomicUsize::new(0),
});

#[cfg(not(target_os = "linux"))]
fn main() {}

#[cfg(target_os = "linux")]
fn main() {
    // SAFETY: an anonymous mapping at a hint where nothing of this process
    // is mapped; the result is checked.
    let mapped = unsafe {
        libc::mmap(
            FOREIGN as *mut libc::c_void,
            FOREIGN_LEN,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_eq!(
        mapped as usize, FOREIGN,
        "the test's own mapping landed elsewhere"
    );
    MAPPED.store(FOREIGN, Relaxed);

    match sampling::start(sampling::DEFAULT_INTERVAL) {
        Err(ProfileError::Io(error)) => {
            assert_eq!(error.kind(), ErrorKind::AddrInUse);
            let message = error.to_string();
            assert!(
                message.contains("0x10000000..0x30000000") && message.contains("taken"),
                "{message}"
            );
        }
        other => panic!("sampling started over a foreign mapping: {other:?}"),
    }
    assert!(!sampling::is_running());

    // A block of the inner allocator inside the range: freed by it, counted.
    let before = heapguard_alloc::stats();
    let block: Vec<u8> = Vec::with_capacity(MARKER);
    assert_eq!(block.as_ptr() as usize, FOREIGN);
    assert!(!sampling::is_slot_block(block.as_ptr()));
    drop(block);
    assert_eq!(GLOBAL.inner().frees_in_range.load(Relaxed), 1);
    let after = heapguard_alloc::stats();
    assert_eq!(after.allocations - before.allocations, 1);
    assert_eq!(after.deallocations - before.deallocations, 1);

    // Grown in place of a realloc: moved out by the inner allocator.
    let mut grown: Vec<u8> = Vec::with_capacity(MARKER);
    assert_eq!(grown.as_ptr() as usize, FOREIGN);
    grown.extend_from_slice(&[7u8; MARKER]);
    grown.push(8);
    assert_ne!(grown.as_ptr() as usize, FOREIGN);
    assert_eq!(grown[MARKER - 1], 7);
    assert_eq!(grown[MARKER], 8);
    assert_eq!(GLOBAL.inner().frees_in_range.load(Relaxed), 2);
    drop(grown);
    println!("test a_foreign_mapping_in_the_range_refuses_sampling_and_keeps_its_blocks ... ok");
}
