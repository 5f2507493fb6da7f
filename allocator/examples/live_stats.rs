//! Prints live heap statistics around a small workload.
//!
//! `cargo run --release -p heapguard-alloc --features jemalloc --example live_stats`

use std::collections::HashMap;

use heapguard_alloc::{measure, stats, CountingAlloc};

#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: CountingAlloc<heapguard_alloc::Jemalloc> =
    CountingAlloc::new(heapguard_alloc::Jemalloc);
#[cfg(not(feature = "jemalloc"))]
#[global_allocator]
static GLOBAL: CountingAlloc<std::alloc::System> = CountingAlloc::new(std::alloc::System);

fn main() {
    let start = stats();
    println!("at start:   {start:?}");
    let (index, usage) = measure(|| {
        let mut index: HashMap<String, Vec<u32>> = HashMap::new();
        for i in 0..100_000u32 {
            index
                .entry(format!("contact-{}", i % 5_000))
                .or_default()
                .push(i);
        }
        index
    });
    println!("built an index of {} keys: {usage:?}", index.len());
    println!("while held: {:?}", stats());
    drop(index);
    let end = stats();
    println!("after drop: {end:?}");
    println!(
        "net change since start: {} bytes",
        end.live_bytes as i64 - start.live_bytes as i64
    );
    #[cfg(feature = "jemalloc")]
    if let Ok(view) = heapguard_alloc::jemalloc::compare() {
        println!(
            "requested {} B, jemalloc resident {} B, ratio {:.2}",
            view.requested_bytes,
            view.jemalloc.resident,
            view.fragmentation.unwrap_or(f64::NAN)
        );
    }
}
