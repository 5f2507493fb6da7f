//! The breaker's hot paths: `check()` and `try_reserve` + drop, on one
//! thread and on two threads hammering the same breaker at once.
//!
//! The breaker reads its default source, the counting allocator, installed
//! here as the global allocator; the budget is far above what the process
//! uses, so every call takes the accepting fast path. Times are each
//! thread's CPU time.

use std::hint::black_box;
use std::num::NonZeroUsize;

use criterion::{criterion_group, criterion_main, Criterion};
use heapguard_alloc::{CountingAlloc, Jemalloc};
use heapguard_benches::{run_on_threads, Clock};
use heapguard_breaker::{BreakerConfig, Budget, MemoryBreaker};

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);

fn breaker_benches(c: &mut Criterion) {
    let breaker = match MemoryBreaker::new(BreakerConfig::new(Budget::Bytes(1 << 40)).name("bench"))
    {
        Ok(breaker) => breaker,
        Err(error) => panic!("cannot build the bench breaker: {error}"),
    };
    for threads in [1usize, 2] {
        let threads = NonZeroUsize::new(threads).unwrap_or(NonZeroUsize::MIN);
        let mut group = c.benchmark_group(format!("breaker_{threads}t"));
        group.bench_function("check", |b| {
            b.iter_custom(|iters| {
                run_on_threads(threads, iters, |iters| {
                    let start = Clock::ThreadCpu.start();
                    for _ in 0..iters {
                        let _ = black_box(black_box(&breaker).check());
                    }
                    start.elapsed()
                })
            })
        });
        group.bench_function("try_reserve+drop", |b| {
            b.iter_custom(|iters| {
                run_on_threads(threads, iters, |iters| {
                    let start = Clock::ThreadCpu.start();
                    for _ in 0..iters {
                        drop(black_box(black_box(&breaker).try_reserve(black_box(4096))));
                    }
                    start.elapsed()
                })
            })
        });
        group.finish();
    }
}

criterion_group!(benches, breaker_benches);
criterion_main!(benches);
