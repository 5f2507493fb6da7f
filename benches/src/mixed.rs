//! Mixed sizes: a ring of live blocks where each step frees the oldest block
//! and allocates one of a new, pseudo-random size.

use core::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;

use crate::block::{alloc_block, BLOCK_ALIGN};

/// Blocks kept alive at once by a [`MixedRing`].
pub const RING_BLOCKS: usize = 256;
/// How many sizes the mixed workload cycles through.
pub const MIXED_SIZES: usize = 4096;

/// `count` sizes, log-uniform from 8 B to 16 KiB: a size class `2^k` with `k`
/// uniform in 3..=13, then a size uniform inside the class. Deterministic for
/// a given `seed`, so every allocator sees the same sequence.
pub fn mixed_layouts(seed: u64, count: usize) -> Vec<Layout> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            let random = splitmix64(&mut state);
            let class = 3 + (random % 11) as u32;
            let low = 1usize << class;
            let size = low + ((random >> 8) as usize % low);
            Layout::from_size_align(size, BLOCK_ALIGN)
                .unwrap_or_else(|_| unreachable!("sizes stay below 16 KiB"))
        })
        .collect()
}

/// The splitmix64 generator (Steele, Lea, Flood 2014): enough to spread sizes.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// [`RING_BLOCKS`] live blocks from one allocator, freed on drop.
pub struct MixedRing<'a, A: GlobalAlloc> {
    alloc: &'a A,
    layouts: &'a [Layout],
    live: Vec<(*mut u8, Layout)>,
    next: usize,
}

impl<'a, A: GlobalAlloc> MixedRing<'a, A> {
    /// Fills the ring from `alloc` with the first sizes of `layouts`.
    ///
    /// An empty `layouts` gives a ring that does nothing.
    pub fn new(alloc: &'a A, layouts: &'a [Layout]) -> Self {
        let mut ring = Self {
            alloc,
            layouts,
            live: Vec::with_capacity(RING_BLOCKS),
            next: 0,
        };
        if !layouts.is_empty() {
            for _ in 0..RING_BLOCKS {
                let layout = ring.next_layout();
                ring.live.push((alloc_block(alloc, layout), layout));
            }
        }
        ring
    }

    fn next_layout(&mut self) -> Layout {
        let layout = self.layouts[self.next % self.layouts.len()];
        self.next = self.next.wrapping_add(1);
        layout
    }

    /// `steps` times: frees the oldest block and allocates the next size.
    #[inline]
    pub fn run(&mut self, steps: u64) {
        if self.live.is_empty() {
            return;
        }
        for step in 0..steps {
            let index = step as usize % RING_BLOCKS;
            let layout = self.next_layout();
            let (old, old_layout) = self.live[index];
            // SAFETY: `old` was allocated by `self.alloc` with `old_layout`
            // and is replaced in the ring right below, so freed once.
            unsafe { self.alloc.dealloc(old, old_layout) };
            self.live[index] = (black_box(alloc_block(self.alloc, layout)), layout);
        }
    }
}

impl<A: GlobalAlloc> Drop for MixedRing<'_, A> {
    fn drop(&mut self) {
        for &(ptr, layout) in &self.live {
            // SAFETY: every ring entry is a live block from `self.alloc`.
            unsafe { self.alloc.dealloc(ptr, layout) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contenders::COUNTING_SYSTEM;

    #[test]
    fn sizes_are_deterministic_and_in_range() {
        let a = mixed_layouts(7, 1000);
        assert_eq!(a, mixed_layouts(7, 1000));
        assert_ne!(a, mixed_layouts(8, 1000));
        assert!(a.iter().all(|l| (8..16 * 1024).contains(&l.size())));
        assert!(a.iter().any(|l| l.size() < 16) && a.iter().any(|l| l.size() >= 8192));
    }

    #[test]
    fn ring_frees_everything_it_allocated() {
        let layouts = mixed_layouts(1, 100);
        let ((), usage) = heapguard_alloc::measure_or_zeros(|| {
            // COUNTING_SYSTEM is called directly, not installed as this
            // test binary's global allocator, so `measure` would refuse.
            let mut ring = MixedRing::new(&COUNTING_SYSTEM, &layouts);
            ring.run(1000);
        });
        assert_eq!(usage.allocations, (RING_BLOCKS + 1000) as u64);
        assert_eq!(usage.deallocations, usage.allocations);
        assert_eq!(usage.net_bytes, 0);
    }
}
