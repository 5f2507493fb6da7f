//! A profile taken after sampling was switched on late says what it
//! covers: when sampling began, the live bytes then and now from the
//! counters, and the bytes it cannot see; the pprof says the same.

use std::hint::black_box;
use std::io::Read;

use heapguard_alloc::profile;

/// The pprof message types, compiled here from the crate's own source file
/// (the crate keeps them private).
#[path = "../src/profile/proto.rs"]
mod proto;
use heapguard_alloc::{CountingAlloc, Jemalloc};
use prost::Message;

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);
heapguard_alloc::enable_heap_profiling!(12);

const MIB: usize = 1 << 20;

#[inline(never)]
fn before_sampling() -> Vec<Vec<u8>> {
    (0..64).map(|_| black_box(vec![1u8; MIB / 4])).collect()
}

#[inline(never)]
fn after_sampling() -> Vec<Vec<u8>> {
    (0..1024).map(|_| black_box(vec![2u8; 4096])).collect()
}

#[test]
fn a_late_profile_reports_its_coverage_and_shares_of_the_whole_heap() {
    let early = before_sampling(); // 16 MiB, never sampled
    let at_activation = heapguard_alloc::stats().live_bytes;
    profile::activate().unwrap();
    let late = after_sampling(); // 4 MiB, sampled every 4 KiB on average
    let taken = profile::take().unwrap();
    let coverage = taken.coverage.expect("a coverage under CountingAlloc");

    assert!(coverage.active_since.is_some());
    assert_eq!(coverage.live_bytes_at_activation, at_activation);
    assert!(coverage.live_bytes_at_activation >= 16 * MIB as u64);
    assert!(coverage.live_bytes >= 20 * MIB as u64);
    // About 1,000 samples: within 25% of the 4 MiB allocated since.
    let covered = coverage.covered_bytes;
    assert!(
        (3.0 * MIB as f64..5.5 * MIB as f64).contains(&covered),
        "covered {covered}"
    );
    assert_eq!(covered, taken.total_bytes());
    let uncovered = coverage.uncovered_bytes();
    assert!(uncovered >= 14.5 * MIB as f64, "uncovered {uncovered}");
    let share = coverage.covered_share();
    assert!((0.12..0.3).contains(&share), "covered share {share}");

    // The late site holds nearly all the covered bytes, and about a fifth
    // of the heap.
    let sites = taken.top_sites(1);
    let top = &sites[0];
    assert!(top.share > 0.9, "{top:?}");
    let of_live = coverage.share_of_live(top.share);
    assert!((0.1..0.3).contains(&of_live), "share of live {of_live}");

    let gz = taken.to_pprof().unwrap();
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut bytes)
        .unwrap();
    let decoded = proto::Profile::decode(bytes.as_slice()).unwrap();
    let comments: Vec<&str> = decoded
        .comment
        .iter()
        .map(|&i| decoded.string_table[i as usize].as_str())
        .collect();
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert!(
        comments[0].contains("sampling active since unix time"),
        "{comments:?}"
    );
    assert!(
        comments[0].contains(&format!("{at_activation} bytes were live")),
        "{comments:?}"
    );
    assert!(comments[1].contains("not covered"), "{comments:?}");
    drop((early, late));
}
