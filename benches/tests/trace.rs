//! The churn trace, recorded through `TraceRecorder` as the global allocator,
//! replays with exactly the calls and bytes the real code made.

use std::alloc::System;

use heapguard_benches::contenders::COUNTING_SYSTEM;
use heapguard_benches::trace::{record, Op, TraceError, TraceRecorder};

#[global_allocator]
static GLOBAL: TraceRecorder<System> = TraceRecorder::new(System);

#[test]
fn a_recorded_churn_replays_exactly() {
    let (checksum, trace) =
        record(|| heapguard_benches::churn::churn(200)).expect("churn(200) fits a trace");
    assert_eq!(checksum, heapguard_benches::churn::churn(200));
    let ops = trace.ops();
    let allocs = trace.allocations();
    let frees = ops
        .iter()
        .filter(|op| matches!(op, Op::Dealloc { .. }))
        .count();
    let reallocs = ops
        .iter()
        .filter(|op| matches!(op, Op::Realloc { .. }))
        .count();
    assert!(
        allocs >= 600,
        "200 names, 200 keys, 200 upper-cased copies: {allocs}"
    );
    assert!(reallocs > 0);
    assert_eq!(frees, allocs, "every block is freed by the replay");

    let mut table = trace.new_table();
    // COUNTING_SYSTEM is called directly (the global allocator here is the
    // recorder), so the form of `measure` that does not require it installed.
    let ((), usage) =
        heapguard_alloc::measure_or_zeros(|| trace.replay(&COUNTING_SYSTEM, &mut table));
    assert_eq!(usage.allocations, allocs as u64);
    assert_eq!(usage.deallocations, frees as u64);
    assert_eq!(usage.reallocations, reallocs as u64);
    assert_eq!(usage.net_bytes, 0);
    // A second replay into the same table makes the same calls.
    let ((), again) =
        heapguard_alloc::measure_or_zeros(|| trace.replay(&COUNTING_SYSTEM, &mut table));
    assert_eq!(again, usage);
}

#[test]
fn two_recordings_are_identical_and_other_threads_are_not_recorded() {
    let (_, first) = record(|| heapguard_benches::churn::churn(50)).expect("fits");
    let (_, second) = record(|| {
        std::thread::spawn(|| drop(vec![0u8; 100])).join().ok();
        heapguard_benches::churn::churn(50)
    })
    .expect("fits");
    // Spawning a thread allocates on this thread too (its handle); strip
    // nothing, only check the churn's own calls are all there.
    assert!(second.ops().len() >= first.ops().len());
    let (_, third) = record(|| heapguard_benches::churn::churn(50)).expect("fits");
    assert_eq!(first.ops().len(), third.ops().len());
    assert_eq!(first.allocations(), third.allocations());
}

#[test]
fn too_many_calls_and_nothing_recorded_are_errors() {
    let calls = heapguard_benches::trace::TRACE_CAPACITY + 10;
    let result = record(|| {
        for _ in 0..calls / 2 + 1 {
            drop(Box::new(1u64));
        }
    });
    assert!(matches!(
        result,
        Err(TraceError::TooManyCalls { calls: made, .. }) if made >= calls
    ));
    assert_eq!(
        record(|| 1 + 1).map(|(n, _)| n),
        Err(TraceError::NothingRecorded)
    );
}
