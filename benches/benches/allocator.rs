//! Allocator overhead: every compared allocator on the same workloads, in one
//! run, as plain `GlobalAlloc` calls on statics (none of them is the global
//! allocator here; the global allocator only records the churn trace).
//!
//! `cargo bench -p heapguard-benches --bench allocator` compares all six
//! allocators, plus `ThreadCells<Jemalloc>`, the cheapest counting there is
//! (a reference point, see `heapguard_benches::thread_cells`). `cargo bench -p heapguard-benches --bench allocator --features
//! histogram,limit` rebuilds heapguard-alloc with its optional features and
//! compares `Jemalloc`, `CountingAlloc<Jemalloc>` and `CountingAlloc<System>`
//! (plus `CountingAlloc<Jemalloc>` with a limit set) in groups suffixed
//! `+histogram+limit`, so both runs' results sit side by side.

use core::alloc::GlobalAlloc;
use std::alloc::System;
use std::num::NonZeroUsize;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use heapguard_benches::contenders::{
    features_label, for_each_contender, ContenderVisitor, BASELINE, COUNTING_JEMALLOC_NAME,
};
use heapguard_benches::mixed::{mixed_layouts, MIXED_SIZES};
use heapguard_benches::trace::{record, Trace, TraceRecorder};
use heapguard_benches::{per_thread_time, BlockSize, Clock, Workload};

#[global_allocator]
static GLOBAL: TraceRecorder<System> = TraceRecorder::new(System);

const SIZES: [usize; 6] = [16, 64, 256, 1024, 4096, 65536];
/// Records in the recorded churn: a few thousand allocator calls.
const CHURN_RECORDS: usize = 1000;
/// The name of `CountingAlloc<Jemalloc>` measured while a limit is set.
const LIMIT_SET_NAME: &str = "CountingAlloc<Jemalloc> limit set";
/// The allocators a features run (`--features histogram,limit`) compares.
const FEATURE_RUN: [&str; 4] = [
    BASELINE,
    COUNTING_JEMALLOC_NAME,
    "CountingAlloc<System>",
    LIMIT_SET_NAME,
];

struct Contenders<'g, 'c, 'w> {
    group: &'g mut BenchmarkGroup<'c, WallTime>,
    work: Workload<'w>,
    threads: NonZeroUsize,
    parameter: String,
}

impl ContenderVisitor for Contenders<'_, '_, '_> {
    fn visit<A: GlobalAlloc + Sync + 'static>(&mut self, name: &'static str, alloc: &'static A) {
        if !features_label().is_empty() && !FEATURE_RUN.contains(&name) {
            return;
        }
        let (threads, work) = (self.threads, self.work);
        self.group
            .bench_function(BenchmarkId::new(name, &self.parameter), |b| {
                b.iter_custom(|iters| {
                    per_thread_time(threads, alloc, &work, iters, Clock::ThreadCpu)
                })
            });
    }
}

/// Benches every allocator on `work` with `threads` threads at once.
fn compare(
    c: &mut Criterion,
    group: &str,
    parameter: &str,
    threads: usize,
    works: &[(String, Workload<'_>)],
) {
    let threads = NonZeroUsize::new(threads).unwrap_or(NonZeroUsize::MIN);
    let mut group = c.benchmark_group(format!("{group}_{threads}t{}", features_label()));
    for (parameter_value, work) in works {
        let parameter = if parameter.is_empty() {
            parameter_value.clone()
        } else {
            format!("{parameter}{parameter_value}")
        };
        let mut visitor = Contenders {
            group: &mut group,
            work: *work,
            threads,
            parameter,
        };
        for_each_contender(&mut visitor);
        #[cfg(feature = "limit")]
        {
            // A limit far above anything reached: the cost of checking it.
            heapguard_alloc::set_limit(Some(u64::MAX / 4));
            visitor.visit(
                LIMIT_SET_NAME,
                &heapguard_benches::contenders::COUNTING_JEMALLOC,
            );
            heapguard_alloc::set_limit(None);
        }
    }
    group.finish();
}

/// `CountingAlloc<Jemalloc>` with a memory account entered on the measuring
/// thread, against none (issue: accounts within 1.05x).
fn account_bench(c: &mut Criterion, works: &[(String, Workload<'_>)]) {
    use heapguard_benches::contenders::COUNTING_JEMALLOC;
    let mut group = c.benchmark_group(format!("account_1t{}", features_label()));
    let account = heapguard_alloc::Account::new("bench");
    for (parameter, work) in works {
        group.bench_function(BenchmarkId::new(COUNTING_JEMALLOC_NAME, parameter), |b| {
            b.iter_custom(|iters| work.timed(&COUNTING_JEMALLOC, iters, Clock::ThreadCpu))
        });
        group.bench_function(
            BenchmarkId::new("CountingAlloc<Jemalloc> in an account", parameter),
            |b| {
                b.iter_custom(|iters| {
                    let _inside = account.enter();
                    work.timed(&COUNTING_JEMALLOC, iters, Clock::ThreadCpu)
                })
            },
        );
    }
    group.finish();
}

fn allocator_benches(c: &mut Criterion) {
    let pairs: Vec<(String, Workload<'_>)> = SIZES
        .iter()
        .filter_map(|&size| BlockSize::new(size).ok())
        .map(|block| (block.bytes().to_string(), Workload::Pairs(block)))
        .collect();
    let layouts = mixed_layouts(0x5EED, MIXED_SIZES);
    let trace: Trace = match record(|| heapguard_benches::churn::churn(CHURN_RECORDS)) {
        Ok((_, trace)) => trace,
        Err(error) => panic!("cannot record the churn trace: {error}"),
    };
    account_bench(c, &pairs);
    for threads in [1, 2] {
        compare(c, "pairs", "bytes=", threads, &pairs);
        compare(
            c,
            "mixed",
            "",
            threads,
            &[("8B-16KiB".to_owned(), Workload::Mixed(&layouts))],
        );
        compare(
            c,
            "realloc_growth",
            "",
            threads,
            &[("16B-64KiB".to_owned(), Workload::ReallocGrowth)],
        );
        compare(
            c,
            "churn_replay",
            "",
            threads,
            &[(
                format!("{}calls", trace.ops().len()),
                Workload::Replay(&trace),
            )],
        );
    }
}

criterion_group!(benches, allocator_benches);
criterion_main!(benches);
