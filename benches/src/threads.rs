//! Several threads running the same work at once.

use core::alloc::GlobalAlloc;
use std::num::NonZeroUsize;
use std::sync::Barrier;
use std::time::Duration;

use crate::clock::Clock;
use crate::workload::Workload;

/// Runs `timed(iters)` on each of `threads` threads at once and returns the
/// mean of the durations they report.
///
/// `timed` runs `iters` iterations and returns how long the timed part took;
/// divided by `iters`, the result is the time per iteration per thread while
/// all threads run together. The threads start at a barrier; with one
/// thread, `timed` runs on the caller and no thread is spawned.
///
/// ```
/// use heapguard_benches::run_on_threads;
/// use std::num::NonZeroUsize;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::time::Duration;
///
/// let two = NonZeroUsize::new(2).unwrap();
/// let done = AtomicU64::new(0);
/// let mean = run_on_threads(two, 1000, |iters| {
///     for _ in 0..iters {
///         done.fetch_add(1, Ordering::Relaxed);
///     }
///     // A bench returns what its clock read (see `Clock`); a fixed 1 µs
///     // per iteration keeps this example exact.
///     Duration::from_micros(iters)
/// });
/// assert_eq!(done.load(Ordering::Relaxed), 2 * 1000);
/// assert_eq!(mean, Duration::from_millis(1));
/// ```
pub fn run_on_threads<F>(threads: NonZeroUsize, iters: u64, timed: F) -> Duration
where
    F: Fn(u64) -> Duration + Sync,
{
    let threads = threads.get();
    if threads == 1 {
        return timed(iters);
    }
    let barrier = Barrier::new(threads);
    let total: Duration = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    timed(iters)
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

/// Runs `work` for `iters` iterations on each of `threads` threads at once,
/// all on `alloc`, and returns the mean time one thread took on `clock` (see
/// [`run_on_threads`]).
pub fn per_thread_time<A: GlobalAlloc + Sync>(
    threads: NonZeroUsize,
    alloc: &A,
    work: &Workload<'_>,
    iters: u64,
    clock: Clock,
) -> Duration {
    run_on_threads(threads, iters, |iters| work.timed(alloc, iters, clock))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BlockSize;
    use crate::contenders::COUNTING_SYSTEM;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn every_thread_runs_every_iteration() {
        let work = Workload::Pairs(BlockSize::new(32).expect("valid"));
        let before = heapguard_alloc::stats();
        let threads = NonZeroUsize::new(3).expect("non-zero");
        per_thread_time(threads, &COUNTING_SYSTEM, &work, 1000, Clock::Wall);
        let after = heapguard_alloc::stats();
        // Other tests of this binary may allocate through the counting statics
        // at the same time: a lower bound is what holds.
        assert!(after.allocations - before.allocations >= 3000);
        assert!(after.deallocations - before.deallocations >= 3000);
    }

    #[test]
    fn one_thread_runs_on_the_caller_and_returns_its_duration() {
        let caller = std::thread::current().id();
        let calls = AtomicU64::new(0);
        let mean = run_on_threads(NonZeroUsize::MIN, 5, |iters| {
            assert_eq!(std::thread::current().id(), caller);
            calls.fetch_add(1, Ordering::Relaxed);
            Duration::from_nanos(iters * 3)
        });
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        assert_eq!(mean, Duration::from_nanos(15));
    }

    #[test]
    fn the_mean_of_the_threads_durations_is_returned() {
        let calls = AtomicU64::new(0);
        let threads = NonZeroUsize::new(4).expect("non-zero");
        let mean = run_on_threads(threads, 7, |iters| {
            let n = calls.fetch_add(1, Ordering::Relaxed);
            // 1, 2, 3 and 4 ms of "work" for 7 iterations each
            Duration::from_millis(iters / 7 + n)
        });
        assert_eq!(calls.load(Ordering::Relaxed), 4);
        assert_eq!(mean, Duration::from_micros(2500));
    }
}
