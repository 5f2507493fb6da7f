//! Profiles from the wrapper's own sampler over `System`: sites named,
//! estimated bytes within bounds, pprof written with its coverage, and a
//! profile read while another thread allocates and frees. The tests share
//! the process's sampler (each starts it at the same interval) and assert
//! only on their own sites.

use std::alloc::System;
use std::hint::black_box;
use std::io::Read;

use heapguard_alloc::profile::{self, sampling};
use heapguard_alloc::CountingAlloc;
use prost::Message;

/// The pprof message types, compiled here from the crate's own source file
/// (the crate keeps them private).
#[path = "../src/profile/proto.rs"]
mod proto;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const INTERVAL: u64 = 64 * 1024;
const MIB: usize = 1 << 20;

#[inline(never)]
fn hold_small_blocks() -> Vec<Vec<u8>> {
    let mut kept = Vec::with_capacity(1024);
    for i in 0..1024 {
        kept.push(black_box(vec![i as u8; 16 * 1024]));
    }
    kept
}

#[inline(never)]
fn hold_large_blocks() -> Vec<Vec<u8>> {
    let mut kept = Vec::with_capacity(16);
    for i in 0..16 {
        kept.push(black_box(vec![i as u8; MIB]));
    }
    kept
}

#[test]
fn sites_are_named_with_their_estimated_bytes() {
    sampling::start(INTERVAL).unwrap();
    let small = hold_small_blocks(); // 16 MiB in 16 KiB blocks, slots
    let large = hold_large_blocks(); // 16 MiB in 1 MiB blocks, the table
    let taken = profile::take().unwrap();
    let sites = taken.top_sites(usize::MAX);
    let bytes_of = |name: &str| -> f64 {
        sites
            .iter()
            .filter(|s| s.site.function.contains(name))
            .map(|s| s.bytes)
            .sum()
    };
    // 1 MiB blocks are sampled with probability 1 - e^-16: 16 MiB, each
    // weighted 1 / (1 - e^-16) = 1 + 1.1e-7 (and the holding Vec, 384
    // bytes, sampled with probability 0.006: 64 KiB if it was).
    let large_bytes = bytes_of("hold_large_blocks");
    let extra = large_bytes - 16.0 * MIB as f64;
    assert!(
        (0.0..2.0).contains(&extra) || (65_000.0..67_000.0).contains(&extra),
        "{large_bytes} {sites:#?}"
    );
    // 16 KiB blocks with probability 0.22: about 230 samples, a relative
    // standard deviation of 6%; bound: 30% (5 deviations).
    let small_bytes = bytes_of("hold_small_blocks");
    assert!(
        (small_bytes / (16.0 * MIB as f64) - 1.0).abs() < 0.3,
        "{small_bytes} {sites:#?}"
    );
    let coverage = taken
        .coverage
        .expect("CountingAlloc is the global allocator");
    assert!(coverage.active_since.is_some());
    assert!(coverage.live_bytes >= 32 * MIB as u64);
    drop((small, large));
    // Freed: their samples are gone.
    let after = profile::take().unwrap().top_sites(usize::MAX);
    assert!(
        !after
            .iter()
            .any(|s| s.site.function.contains("hold_large_blocks")),
        "{after:#?}"
    );
    assert!(
        !after
            .iter()
            .any(|s| s.site.function.contains("hold_small_blocks")),
        "{after:#?}"
    );
}

/// A frame in a shared library is named from the library's dynamic symbols,
/// without reading its debug information: with Debian's `libc6-dbg`
/// installed, naming one address in libc through it held 32.5 MB of heap
/// (its separate debug file's compressed sections, decompressed and
/// parsed), beyond the observer's estimate, which covers the executable.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn a_frame_in_a_shared_library_is_named_without_its_debug_information() {
    let account = heapguard_alloc::Account::new("symbolizer");
    let frames = {
        let _inside = account.enter();
        let mut symbolizer = profile::Symbolizer::new();
        // As a return address: the symboliser looks one byte back.
        symbolizer
            .frames(libc::malloc as *const () as usize + 1)
            .to_vec()
    };
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert!(frames[0].function.ends_with("malloc"), "{frames:?}");
    assert_eq!((frames[0].file.as_deref(), frames[0].line), (None, None));
    let peak = account.usage().peak_bytes;
    assert!(peak < 16 << 10, "naming it held {peak} bytes");
}

#[inline(never)]
fn hold_pprof_blocks() -> Vec<Vec<u8>> {
    let mut kept = Vec::with_capacity(64);
    for _ in 0..64 {
        kept.push(black_box(vec![3u8; 200_000]));
    }
    kept
}

#[test]
fn pprof_carries_samples_coverage_and_symbols() {
    sampling::start(INTERVAL).unwrap();
    let kept = hold_pprof_blocks();
    let taken = profile::take().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("heap.pb.gz");
    let mut symbolizer = profile::Symbolizer::new();
    taken
        .write_pprof_symbolized(&path, &mut symbolizer)
        .unwrap();
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    let decoded = proto::Profile::decode(bytes.as_slice()).unwrap();
    assert_eq!(decoded.sample.len(), taken.stacks.len());
    assert_eq!(decoded.period, INTERVAL as i64);
    let strings = &decoded.string_table;
    assert!(
        strings.iter().any(|s| s.contains("hold_pprof_blocks")),
        "no function named in the symbolised pprof"
    );
    let comments: Vec<&str> = decoded
        .comment
        .iter()
        .map(|&i| strings[i as usize].as_str())
        .collect();
    assert!(
        comments
            .iter()
            .any(|c| c.contains("sampling active since unix time")),
        "{comments:?}"
    );
    drop(kept);
}

/// The process's umask, from `/proc/self/status` (`umask(2)` would change
/// it under the other tests' feet).
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line.split_whitespace().nth(1).unwrap(), 8).unwrap()
}

#[test]
fn a_written_profile_gets_the_mode_of_any_new_file_or_keeps_the_old_one() {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o7777;
    sampling::start(INTERVAL).unwrap();
    let taken = profile::take().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.pb.gz");
    taken.write_pprof(&fresh).unwrap();
    // Not the temporary file's 0o600: readable as any file this process
    // creates (`go tool pprof` run by another user of the group).
    assert_eq!(mode(&fresh), 0o666 & !umask());
    let kept = dir.path().join("kept.pb.gz");
    std::fs::write(&kept, b"an older profile").unwrap();
    // Group- and other-writable: bits a umask of 022 would take off a mode
    // handed to open(2).
    std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o666)).unwrap();
    taken.write_pprof(&kept).unwrap();
    assert_eq!(mode(&kept), 0o666);
    assert_ne!(std::fs::read(&kept).unwrap(), b"an older profile");
    // Nothing but the two profiles: no temporary file left beside them.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["fresh.pb.gz", "kept.pb.gz"]);
}

#[inline(never)]
fn churn_on_another_thread(rounds: usize) {
    let mut ring: Vec<Vec<u8>> = (0..64).map(|_| Vec::new()).collect();
    for round in 0..rounds {
        ring[round % 64] = black_box(vec![round as u8; 1000 + round % 5000]);
        if round % 7 == 0 {
            let slot = &mut ring[(round * 13) % 64];
            slot.resize(slot.len() + 100, 1);
        }
    }
}

#[test]
fn a_profile_read_while_another_thread_allocates() {
    sampling::start(INTERVAL).unwrap();
    let worker = std::thread::spawn(|| churn_on_another_thread(200_000));
    let mut reads = 0;
    // Bounded: at most 200 profiles, until the worker ends.
    while !worker.is_finished() && reads < 200 {
        let taken = profile::take().unwrap();
        assert!(taken.stacks.iter().all(|s| s.sampled_objects > 0));
        assert!(taken.stacks.iter().all(|s| !s.addrs.is_empty()));
        reads += 1;
    }
    worker.join().unwrap();
    // The worker freed all it allocated: none of its samples is live.
    let after = profile::take().unwrap().top_sites(usize::MAX);
    assert!(
        !after
            .iter()
            .any(|s| s.site.function.contains("churn_on_another_thread")),
        "{after:#?}"
    );
}
