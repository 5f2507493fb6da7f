//! `N` allocation/free pairs of 64 bytes through `CountingAlloc<Jemalloc>`,
//! for counting instructions per pair with cachegrind:
//!
//! ```text
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/alloc_pairs 1000000
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/alloc_pairs 2000000
//! ```
//!
//! The difference of the two totals over 1,000,000 is the cost of one pair,
//! start-up excluded. Build it with `--features jemalloc` (profiler not
//! compiled in) and with `--features profiling` (compiled in; run it with
//! `_RJEM_MALLOC_CONF=prof:true,prof_active:false` for enabled but inactive,
//! `prof:true` for sampling at 512 KiB).

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;

use heapguard_alloc::{CountingAlloc, Jemalloc};

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);

fn main() {
    let pairs: u64 = match std::env::args().nth(1).map(|n| n.parse()) {
        None => 1_000_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("alloc_pairs: the argument is a count of pairs: {e}");
            std::process::exit(2);
        }
    };
    let layout = Layout::from_size_align(64, 8).expect("64-byte layout");
    for _ in 0..pairs {
        // SAFETY: the layout is non-zero; the block is freed with the layout
        // it was allocated with, and only when it is not null.
        unsafe {
            let block = GLOBAL.alloc(black_box(layout));
            if !block.is_null() {
                GLOBAL.dealloc(black_box(block), layout);
            }
        }
    }
}
