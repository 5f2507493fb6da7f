//! The breaker's hot paths: `check()`, `pressure()` and `try_reserve` + drop, on one
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
use heapguard_breaker::{BreakerConfig, Budget, Host, MemoryBreaker};

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
        group.bench_function("pressure", |b| {
            b.iter_custom(|iters| {
                run_on_threads(threads, iters, |iters| {
                    let start = Clock::ThreadCpu.start();
                    for _ in 0..iters {
                        let _ = black_box(black_box(&breaker).pressure());
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

/// A v2 host tree whose cgroup sets a 64 GiB `memory.max`, so a breaker on
/// `Budget::Cgroup` decides on the worst of the counting allocator and the
/// cgroup's working set (published by its refresher thread). The tree lives
/// in a directory of its own, removed when the returned `TempDir` drops
/// (also when writing the tree fails or the bench panics).
fn cgroup_host() -> std::io::Result<(tempfile::TempDir, Host)> {
    let dir = tempfile::Builder::new()
        .prefix("heapguard-bench-host-")
        .tempdir()?;
    let root = dir.path();
    let app = root.join("sys/fs/cgroup/app");
    std::fs::create_dir_all(root.join("proc/self"))?;
    std::fs::create_dir_all(&app)?;
    std::fs::write(root.join("proc/self/cgroup"), "0::/app\n")?;
    std::fs::write(
        root.join("proc/self/mountinfo"),
        "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n",
    )?;
    std::fs::write(root.join("proc/meminfo"), "MemTotal:       67108864 kB\n")?;
    std::fs::write(app.join("memory.max"), format!("{}\n", 64u64 << 30))?;
    std::fs::write(app.join("memory.current"), "104857600\n")?;
    std::fs::write(
        app.join("memory.stat"),
        "anon 94371840\ninactive_file 10485760\n",
    )?;
    let host = Host::with_root(root);
    Ok((dir, host))
}

/// `check()` reading the worst of the counting allocator and the cgroup
/// working set: one more atomic load than the allocator alone, no file or
/// clock read (the refresher thread reads the files).
fn worst_of_check_bench(c: &mut Criterion) {
    let (tree, host) = match cgroup_host() {
        Ok(tree) => tree,
        Err(error) => panic!("cannot write the bench's host tree: {error}"),
    };
    let breaker = match MemoryBreaker::new(BreakerConfig::new(Budget::Cgroup).host(host)) {
        Ok(breaker) => breaker,
        Err(error) => panic!("cannot build the worst-of bench breaker: {error}"),
    };
    assert_eq!(breaker.source_name(), Some("counting-alloc+cgroup"));
    let mut group = c.benchmark_group("breaker_1t");
    group.bench_function("check_worst_of", |b| {
        b.iter_custom(|iters| {
            let start = Clock::ThreadCpu.start();
            for _ in 0..iters {
                let _ = black_box(black_box(&breaker).check());
            }
            start.elapsed()
        })
    });
    group.finish();
    // The breaker's refresher reads the tree until the breaker is dropped.
    drop(breaker);
    drop(tree);
}

criterion_group!(benches, breaker_benches, worst_of_check_bench);
criterion_main!(benches);
