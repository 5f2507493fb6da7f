//! What the wrapper's sampler costs per allocator call, for cachegrind:
//! `sampling_cost INTERVAL ROUNDS` runs ROUNDS rounds of a fixed workload
//! (a ring of 256 live blocks, each step freeing one and allocating one of
//! 16 B to 4 KiB) through `CountingAlloc<System>`, sampling every INTERVAL
//! bytes on average (0: compiled in, never started), and prints the
//! allocator calls it made. Run it under cachegrind with 1 and 3 rounds,
//! with the interval and with 0: the difference of differences over the
//! calls of two rounds is what sampling on adds per call.
//!
//! ```text
//! cargo build --release -p heapguard-alloc --features sampling --example sampling_cost
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/sampling_cost 524288 3
//! ```

use std::alloc::System;
use std::hint::black_box;
use std::process::ExitCode;

use heapguard_alloc::profile::sampling;
use heapguard_alloc::{stats, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const STEPS: usize = 1_000_000;

fn round(ring: &mut [Vec<u8>], seed: &mut u64) {
    for step in 0..STEPS {
        // xorshift: sizes 16 B to 4 KiB, log-uniform-ish.
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let size = 16usize << (*seed % 9);
        let slot = step % ring.len();
        ring[slot] = black_box(vec![step as u8; size]);
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(interval), Some(rounds)) = (
        args.get(1).and_then(|a| a.parse::<u64>().ok()),
        args.get(2).and_then(|a| a.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: sampling_cost INTERVAL_BYTES ROUNDS (interval 0: not started)");
        return ExitCode::from(2);
    };
    if interval != 0 {
        if let Err(error) = sampling::start(interval) {
            eprintln!("sampling_cost: {error}");
            return ExitCode::from(2);
        }
    }
    let mut ring: Vec<Vec<u8>> = (0..256).map(|_| Vec::new()).collect();
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;
    // A warm-up round, then the measured ones.
    round(&mut ring, &mut seed);
    for _ in 0..rounds {
        let before = stats();
        round(&mut ring, &mut seed);
        let after = stats();
        let calls = (after.allocations - before.allocations)
            + (after.deallocations - before.deallocations)
            + (after.reallocations - before.reallocations);
        println!("calls\t{calls}\tsamples_live\t{}", sampling::live_samples());
    }
    println!("skipped\t{}", sampling::skipped());
    ExitCode::SUCCESS
}
