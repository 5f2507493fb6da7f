//! The wrapper's sampler keeps exact books: a sampled block lives in a slot
//! (or, larger than a slot, in the large blocks' table) exactly while it is
//! allocated, moves with `realloc`, is zeroed for `alloc_zeroed`, and the
//! counters count it as any other block. Runs without libtest's harness (see
//! Cargo.toml): the sample count is process-wide, and at an interval of one
//! byte every allocation of any thread would be sampled.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;

use heapguard_alloc::profile::sampling;
use heapguard_alloc::{measure, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

fn main() {
    // One byte: a block of 8 bytes or more is sampled with probability
    // 1 - e^-8 or more; of 64 bytes or more, 1 - e^-64 (certain in f64).
    sampling::start(1).unwrap();
    sampled_block_lives_in_a_slot_until_freed();
    println!("test sampled_block_lives_in_a_slot_until_freed ... ok");
    alloc_zeroed_slot_blocks_are_zeroed();
    println!("test alloc_zeroed_slot_blocks_are_zeroed ... ok");
    realloc_moves_a_sampled_block_and_keeps_its_bytes();
    println!("test realloc_moves_a_sampled_block_and_keeps_its_bytes ... ok");
    large_sampled_blocks_are_forgotten_when_freed();
    println!("test large_sampled_blocks_are_forgotten_when_freed ... ok");
    counters_count_sampled_blocks_exactly();
    println!("test counters_count_sampled_blocks_exactly ... ok");
    sampling::stop();
    assert_eq!(sampling::skipped(), 0);
}

fn sampled_block_lives_in_a_slot_until_freed() {
    let before = sampling::live_samples();
    let block = black_box(vec![7u8; 1000]);
    assert!(sampling::is_slot_block(block.as_ptr()));
    assert_eq!(sampling::live_samples(), before + 1);
    assert!(block.iter().all(|&b| b == 7));
    drop(block);
    assert_eq!(sampling::live_samples(), before);
}

fn alloc_zeroed_slot_blocks_are_zeroed() {
    let layout = Layout::from_size_align(4096, 64).unwrap();
    let before = sampling::live_samples();
    // Dirty every slot the next blocks can land in, then free them.
    let dirty: Vec<*mut u8> = (0..256)
        .map(|_| {
            // SAFETY: `layout` has a nonzero size.
            let ptr = unsafe { GLOBAL.alloc(layout) };
            assert!(!ptr.is_null() && sampling::is_slot_block(ptr));
            assert_eq!(ptr as usize % 64, 0);
            // SAFETY: `ptr` holds 4096 writable bytes.
            unsafe { ptr.write_bytes(0xAA, 4096) };
            ptr
        })
        .collect();
    for ptr in dirty {
        // SAFETY: allocated above with `layout`.
        unsafe { GLOBAL.dealloc(ptr, layout) };
    }
    assert_eq!(sampling::live_samples(), before);
    let mut zeroed: Vec<*mut u8> = Vec::with_capacity(256);
    // The Vec's own block is a sample too.
    let before = sampling::live_samples();
    zeroed.extend((0..256).map(|_| {
        // SAFETY: `layout` has a nonzero size.
        let ptr = unsafe { GLOBAL.alloc_zeroed(layout) };
        assert!(!ptr.is_null() && sampling::is_slot_block(ptr));
        // SAFETY: `ptr` holds 4096 initialised bytes.
        let bytes = unsafe { std::slice::from_raw_parts(ptr, 4096) };
        assert!(bytes.iter().all(|&b| b == 0));
        ptr
    }));
    assert_eq!(sampling::live_samples(), before + 256);
    for &ptr in &zeroed {
        // SAFETY: allocated above with `layout`.
        unsafe { GLOBAL.dealloc(ptr, layout) };
    }
    assert_eq!(sampling::live_samples(), before);
    drop(zeroed);
    assert_eq!(sampling::live_samples(), before - 1);
}

fn realloc_moves_a_sampled_block_and_keeps_its_bytes() {
    let before = sampling::live_samples();
    let pattern = |len: usize| (0..len).map(|i| (i % 251) as u8).collect::<Vec<u8>>();
    let mut block = black_box(pattern(1000));
    assert!(sampling::is_slot_block(block.as_ptr()));
    // Grow within a slot's size: moved out of its slot, sampled again into
    // another; one sample live throughout.
    block.reserve_exact(5000 - block.len());
    assert!(sampling::is_slot_block(block.as_ptr()));
    assert_eq!(sampling::live_samples(), before + 1);
    assert_eq!(block[..], pattern(1000)[..]);
    // Grow past a slot: the block leaves the region, its sample the table.
    block.extend(pattern(300_000 - 1000).iter().map(|b| b.wrapping_add(1)));
    block.shrink_to_fit();
    assert!(!sampling::is_slot_block(block.as_ptr()));
    assert!(block.capacity() > sampling::SLOT_SIZE);
    assert_eq!(sampling::live_samples(), before + 1);
    assert_eq!(block[..1000], pattern(1000)[..]);
    // Shrink back under a slot's size: into a slot again.
    block.truncate(100);
    block.shrink_to_fit();
    assert!(sampling::is_slot_block(block.as_ptr()));
    assert_eq!(sampling::live_samples(), before + 1);
    assert_eq!(block[..], pattern(100)[..]);
    drop(block);
    assert_eq!(sampling::live_samples(), before);
}

fn large_sampled_blocks_are_forgotten_when_freed() {
    let before = sampling::live_samples();
    let large: Vec<Vec<u8>> = (0..8).map(|_| black_box(vec![1u8; 1 << 20])).collect();
    assert!(large.iter().all(|b| !sampling::is_slot_block(b.as_ptr())));
    // The 8 blocks and the Vec holding them (a slot block).
    assert_eq!(sampling::live_samples(), before + 9);
    drop(large);
    assert_eq!(sampling::live_samples(), before);
}

fn counters_count_sampled_blocks_exactly() {
    let (blocks, usage) = measure(|| {
        (0..32)
            .map(|i| black_box(vec![0u8; 100 + i * 1000]))
            .collect::<Vec<_>>()
    });
    let expected: usize =
        (0..32).map(|i| 100 + i * 1000).sum::<usize>() + 32 * std::mem::size_of::<Vec<u8>>();
    assert_eq!(usage.net_bytes, expected as i64);
    assert_eq!(usage.allocations, 33);
    let ((), freed) = measure(|| drop(blocks));
    assert_eq!(freed.net_bytes, -(expected as i64));
    assert_eq!(freed.deallocations, 33);
}
