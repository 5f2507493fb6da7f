//! Several threads running the same workload on the same allocator at once.

use core::alloc::GlobalAlloc;
use std::num::NonZeroUsize;
use std::sync::Barrier;
use std::time::Duration;

use crate::workload::Workload;

/// Runs `work` for `iters` iterations on each of `threads` threads at once,
/// all on `alloc`, and returns the mean time one thread took.
///
/// Divided by `iters`, that is the time per iteration per thread while all
/// threads hammer the allocator together. One thread runs on the caller.
pub fn per_thread_time<A: GlobalAlloc + Sync>(
    threads: NonZeroUsize,
    alloc: &A,
    work: &Workload<'_>,
    iters: u64,
) -> Duration {
    let threads = threads.get();
    if threads == 1 {
        return work.timed(alloc, iters);
    }
    let barrier = Barrier::new(threads);
    let total: Duration = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    work.timed(alloc, iters)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .sum()
    });
    total / threads as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BlockSize;
    use crate::contenders::COUNTING_SYSTEM;

    #[test]
    fn every_thread_runs_every_iteration() {
        let work = Workload::Pairs(BlockSize::new(32).expect("valid"));
        let before = heapguard_alloc::stats();
        let threads = NonZeroUsize::new(3).expect("non-zero");
        per_thread_time(threads, &COUNTING_SYSTEM, &work, 1000);
        let after = heapguard_alloc::stats();
        // Other tests of this binary may allocate through the counting statics
        // at the same time: a lower bound is what holds.
        assert!(after.allocations - before.allocations >= 3000);
        assert!(after.deallocations - before.deallocations >= 3000);
    }
}
