//! What running a future inside a memory account costs per poll:
//! `Account::scope(future)` enters the account before every poll and leaves
//! it after (publishing the poll's charges), against polling the same future
//! bare. An empty poll (the future does nothing), and polls that allocate
//! and free `k` 64-byte blocks.
//!
//! Polled in a loop with a no-op waker on one thread; each thread's CPU
//! time. The overhead per poll is `scoped - bare` of the same row.
//!
//! ```text
//! cargo bench -p heapguard-benches --bench account_poll
//! ```

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use heapguard_alloc::{Account, CountingAlloc, Jemalloc};
use heapguard_benches::Clock;

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);

/// A future that never completes; each poll allocates and frees `k` blocks.
struct Work {
    k: usize,
}

impl Future for Work {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        for _ in 0..self.k {
            drop(black_box(Box::new([0u8; 64])));
        }
        Poll::Pending
    }
}

/// Polls `future` `iters` times; the CPU time it took.
fn poll_times<F: Future + Unpin>(future: &mut F, iters: u64) -> std::time::Duration {
    let mut cx = Context::from_waker(Waker::noop());
    let start = Clock::ThreadCpu.start();
    for _ in 0..iters {
        let _ = black_box(Pin::new(&mut *future).poll(&mut cx));
    }
    start.elapsed()
}

fn account_poll(c: &mut Criterion) {
    let account = Account::new("request");
    let mut group = c.benchmark_group("account_poll");
    for k in [0usize, 1, 4, 16] {
        group.bench_with_input(BenchmarkId::new("bare", k), &k, |b, &k| {
            let mut future = Work { k };
            b.iter_custom(|iters| poll_times(&mut future, iters));
        });
        group.bench_with_input(BenchmarkId::new("scoped", k), &k, |b, &k| {
            let mut future = account.scope(Work { k });
            b.iter_custom(|iters| poll_times(&mut future, iters));
        });
    }
    group.finish();
}

criterion_group!(benches, account_poll);
criterion_main!(benches);
