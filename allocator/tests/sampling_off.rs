//! Compiled in but never started, or stopped, the sampler takes no sample
//! and moves no block. Runs without libtest's harness: the sample count is
//! process-wide.

use std::alloc::System;
use std::hint::black_box;

use heapguard_alloc::profile::{self, sampling, ProfileError};
use heapguard_alloc::CountingAlloc;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

/// 64 MiB in blocks of 1 KiB: 128 samples expected at 512 KiB, if on.
fn churn() -> Vec<Vec<u8>> {
    (0..65_536).map(|_| black_box(vec![1u8; 1024])).collect()
}

fn main() {
    let kept = churn();
    assert!(kept.iter().all(|b| !sampling::is_slot_block(b.as_ptr())));
    assert_eq!(sampling::live_samples(), 0);
    assert!(!profile::is_active());
    assert!(!sampling::is_running());
    // Without jemalloc's profiler built in, nothing samples; with it, take
    // says why jemalloc's cannot (the global allocator here is System).
    #[cfg(not(feature = "profiling"))]
    assert!(matches!(profile::take(), Err(ProfileError::NotSampling)));
    #[cfg(feature = "profiling")]
    assert!(matches!(profile::take(), Err(ProfileError::NotJemalloc)));
    drop(kept);

    assert!(matches!(
        sampling::start(0),
        Err(ProfileError::InvalidInterval(0))
    ));
    assert!(matches!(
        sampling::start((1 << 40) + 1),
        Err(ProfileError::InvalidInterval(_))
    ));
    assert!(!sampling::is_running());

    sampling::start(sampling::DEFAULT_INTERVAL).unwrap();
    assert_eq!(sampling::interval(), Some(sampling::DEFAULT_INTERVAL));
    sampling::stop();
    assert_eq!(sampling::interval(), None);
    let kept = churn();
    assert_eq!(sampling::live_samples(), 0);
    assert!(kept.iter().all(|b| !sampling::is_slot_block(b.as_ptr())));
    let profile = profile::take().unwrap();
    assert!(profile.stacks.is_empty());
    drop(kept);
    println!("test no_sample_while_off ... ok");
}
