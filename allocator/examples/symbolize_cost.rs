//! What taking, symbolising and writing a heap profile costs, in time and
//! in heap bytes (the counting allocator sees the symboliser's own
//! allocations). Run in release, where the binary has line tables only:
//!
//! ```text
//! cargo run --release -p heapguard-alloc --features profiling --example symbolize_cost
//! ```

use std::hint::black_box;
use std::time::Instant;

use heapguard_alloc::{profile, CountingAlloc, Jemalloc};

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);
heapguard_alloc::enable_heap_profiling!(16);

/// Allocations from many distinct backtraces, so the profile has some.
#[inline(never)]
fn spread(depth: u32, kept: &mut Vec<Vec<u8>>) {
    if depth == 0 {
        return;
    }
    kept.push(black_box(vec![depth as u8; 32 << 10]));
    spread(depth - 1, kept);
    kept.push(black_box(vec![depth as u8; 48 << 10]));
}

fn main() -> Result<(), profile::ProfileError> {
    profile::activate()?;
    let mut kept = Vec::new();
    for depth in 1..=40 {
        spread(depth, &mut kept);
    }
    let held = heapguard_alloc::stats().live_bytes;

    let start = Instant::now();
    let taken = profile::take()?;
    let take_time = start.elapsed();

    // Written before anything is symbolised: addresses and mappings only.
    let dir = tempfile::tempdir()?;
    let start = Instant::now();
    taken.write_pprof(&dir.path().join("heap.pb.gz"))?;
    let pprof_time = start.elapsed();

    heapguard_alloc::reset_peak();
    let before = heapguard_alloc::stats();
    let entries = || {
        taken
            .stacks
            .iter()
            .map(|stack| (stack.addrs.as_slice(), stack.bytes, stack.objects))
    };
    let mut symbolizer = profile::Symbolizer::new();
    let start = Instant::now();
    let sites = symbolizer.top_sites(entries(), 5);
    let first_symbolize = start.elapsed();
    let after = heapguard_alloc::stats();

    // Again, every address already resolved.
    let start = Instant::now();
    let again = symbolizer.top_sites(entries(), 5);
    let second_symbolize = start.elapsed();

    let start = Instant::now();
    taken.write_pprof_symbolized(&dir.path().join("heap-symbolized.pb.gz"), &mut symbolizer)?;
    let symbolized_time = start.elapsed();
    let before_drop = heapguard_alloc::stats().live_bytes;
    drop(symbolizer);
    let released = before_drop.saturating_sub(heapguard_alloc::stats().live_bytes);
    let rss_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.to_owned())
        })
        .unwrap_or_default();

    println!("held by the program: {} KiB", held >> 10);
    println!(
        "profile: {} backtraces, {} KiB estimated, taken in {:.1} ms, {} KiB kept",
        taken.stacks.len(),
        taken.total_bytes() as u64 >> 10,
        take_time.as_secs_f64() * 1e3,
        taken.heap_bytes() >> 10
    );
    println!(
        "top sites, first call (loads the binary's line tables): {:.1} ms, heap peak +{} KiB, kept +{} KiB",
        first_symbolize.as_secs_f64() * 1e3,
        (after.peak_bytes.saturating_sub(before.live_bytes)) >> 10,
        (after.live_bytes as i64 - before.live_bytes as i64) >> 10
    );
    println!(
        "top sites, second call: {:.1} ms",
        second_symbolize.as_secs_f64() * 1e3
    );
    println!(
        "line tables released when the symbolizer is dropped: {} KiB",
        released >> 10
    );
    println!(
        "pprof written in {:.1} ms (addresses only, before any symbolising); symbolised, once the line tables were loaded: {:.1} ms",
        pprof_time.as_secs_f64() * 1e3,
        symbolized_time.as_secs_f64() * 1e3
    );
    println!("process peak RSS: {rss_kib}");
    for site in sites.iter().chain(&again).take(2) {
        println!("  {} {:.0} bytes", site.site, site.bytes);
    }
    drop(kept);
    Ok(())
}
