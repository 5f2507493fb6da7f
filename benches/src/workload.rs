//! The allocator-generic workloads every allocator is timed on.

use core::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::time::Duration;

use crate::block::{alloc_block, BlockSize};
use crate::clock::Clock;
use crate::mixed::MixedRing;
use crate::trace::Trace;

/// The first size of a realloc-growth sequence.
pub const GROWTH_FROM: usize = 16;
/// The last size of a realloc-growth sequence (doubling from [`GROWTH_FROM`]).
pub const GROWTH_TO: usize = 64 * 1024;

/// One kind of work; an iteration is the unit each reported time is per.
#[derive(Clone, Copy, Debug)]
pub enum Workload<'a> {
    /// Iteration: allocate one block of this size and free it.
    Pairs(BlockSize),
    /// Iteration: in a ring of 256 live blocks, free the oldest and
    /// allocate one of the next size (see [`mixed_layouts`](crate::mixed::mixed_layouts)).
    Mixed(&'a [Layout]),
    /// Iteration: allocate [`GROWTH_FROM`] bytes, double with `realloc` up to
    /// [`GROWTH_TO`], free: how a `Vec` grows.
    ReallocGrowth,
    /// Iteration: one replay of a recorded trace.
    Replay(&'a Trace),
}

impl Workload<'_> {
    /// Runs `iters` iterations on `alloc` and returns the time they took on
    /// `clock`, setup and teardown (filling a ring, sizing a table) excluded.
    #[inline(never)]
    pub fn timed<A: GlobalAlloc>(&self, alloc: &A, iters: u64, clock: Clock) -> Duration {
        match *self {
            Workload::Pairs(block) => {
                let layout = block.layout();
                let start = clock.start();
                for _ in 0..iters {
                    let ptr = black_box(alloc_block(alloc, layout));
                    // SAFETY: `ptr` was just allocated by `alloc` with `layout`.
                    unsafe { alloc.dealloc(ptr, layout) };
                }
                start.elapsed()
            }
            Workload::Mixed(layouts) => {
                let mut ring = MixedRing::new(alloc, layouts);
                let start = clock.start();
                ring.run(iters);
                start.elapsed()
            }
            Workload::ReallocGrowth => {
                let start = clock.start();
                for _ in 0..iters {
                    realloc_growth(alloc);
                }
                start.elapsed()
            }
            Workload::Replay(trace) => {
                let mut table = trace.new_table();
                let start = clock.start();
                for _ in 0..iters {
                    trace.replay(alloc, &mut table);
                }
                start.elapsed()
            }
        }
    }
}

#[inline]
fn realloc_growth<A: GlobalAlloc>(alloc: &A) {
    let mut layout = Layout::from_size_align(GROWTH_FROM, crate::block::BLOCK_ALIGN)
        .unwrap_or_else(|_| unreachable!("a constant, valid layout"));
    let mut ptr = alloc_block(alloc, layout);
    while layout.size() < GROWTH_TO {
        let new_size = layout.size() * 2;
        // SAFETY: `ptr` is a live block of `alloc` with `layout`; `new_size`
        // is non-zero and at most 64 KiB.
        ptr = black_box(unsafe { alloc.realloc(ptr, layout, new_size) });
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        layout = Layout::from_size_align(new_size, layout.align())
            .unwrap_or_else(|_| unreachable!("at most 64 KiB"));
    }
    // SAFETY: `ptr` is a live block of `alloc` with `layout`.
    unsafe { alloc.dealloc(ptr, layout) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contenders::COUNTING_SYSTEM;

    #[test]
    fn pairs_and_growth_make_the_calls_they_claim() {
        let block = BlockSize::new(100).expect("valid");
        let (_, usage) = heapguard_alloc::measure_or_zeros(|| {
            // COUNTING_SYSTEM is called directly, not installed as this
            // test binary's global allocator, so `measure` would refuse.
            Workload::Pairs(block).timed(&COUNTING_SYSTEM, 50, Clock::Wall)
        });
        assert_eq!((usage.allocations, usage.deallocations), (50, 50));
        assert_eq!(usage.allocated_bytes, 5000);
        assert_eq!(usage.net_bytes, 0);

        let (_, usage) = heapguard_alloc::measure_or_zeros(|| {
            Workload::ReallocGrowth.timed(&COUNTING_SYSTEM, 3, Clock::Wall)
        });
        assert_eq!((usage.allocations, usage.deallocations), (3, 3));
        assert_eq!(usage.reallocations, 3 * 12); // 16 B doubled 12 times is 64 KiB
        assert_eq!(usage.net_bytes, 0);
    }
}
