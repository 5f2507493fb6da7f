//! A heap profile written as pprof parses back with a protobuf reader:
//! both sample types, the sampling period, this binary's mapping with its
//! build id, and locations leaf first: symbolisable from the mapping's file
//! and the file-relative address, or symbolised when asked.

use std::hint::black_box;
use std::io::Read;

use heapguard_alloc::profile::{self, ProfileError};

/// The pprof message types, compiled here from the crate's own source file
/// (the crate keeps them private).
#[path = "../src/profile/proto.rs"]
mod proto;
use heapguard_alloc::{CountingAlloc, Jemalloc};
use prost::Message;

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);
heapguard_alloc::enable_heap_profiling!(12);

/// The blocks, and the line that allocates them: in a release build the
/// allocating frame is the inlined closure, whose bare name (`{closure#0}`)
/// does not say whose it is, but its file and line do.
#[inline(never)]
fn hold_pprof_blocks() -> (Vec<Vec<u8>>, u32) {
    let block = || (black_box(vec![1u8; 2048]), line!());
    let line = block().1;
    ((0..2048).map(|_| block().0).collect(), line)
}

fn string(profile: &proto::Profile, index: i64) -> &str {
    &profile.string_table[index as usize]
}

#[test]
fn inactive_profiler_is_an_error_and_pprof_parses_back() {
    assert!(profile::is_compiled_in());
    assert!(profile::is_enabled());
    assert!(!profile::is_active());
    assert!(matches!(profile::take(), Err(ProfileError::Inactive)));
    profile::activate().unwrap();
    assert_eq!(profile::lg_sample().unwrap(), 12);
    let (held, line) = hold_pprof_blocks();
    let taken = profile::take().unwrap();
    assert_eq!(taken.sample_interval, 4096);
    // 4 MiB held: about 1,000 sampling intervals.
    let sites = taken.top_sites(3);
    let top = &sites[0].site;
    assert!(
        top.function.contains("hold_pprof_blocks")
            || (top.line == Some(line)
                && top
                    .file
                    .as_deref()
                    .is_some_and(|f| f.ends_with("profile_pprof.rs"))),
        "{sites:#?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("heap.pb.gz");
    taken.write_pprof(&plain).unwrap();
    let decoded = decode(&plain);
    check_values(&decoded, &taken);
    let exe = std::env::current_exe().unwrap();
    let binary = binary_mappings(&decoded, &exe.to_string_lossy());

    // Without symbols, but symbolisable: each location in this binary's
    // mapping holds the binary's own (ELF virtual) address, which the load
    // address maps back to the return address jemalloc recorded (one byte
    // back into the call), leaf first, as pprof reads them.
    assert!(decoded.function.is_empty());
    assert!(decoded.location.iter().all(|l| l.line.is_empty()));
    let base = load_address(&exe.to_string_lossy());
    let mut checked = 0;
    for (sample, stack) in decoded.sample.iter().zip(&taken.stacks) {
        assert_eq!(sample.location_id.len(), stack.addrs.len());
        for (id, &addr) in sample.location_id.iter().zip(&stack.addrs) {
            let location = &decoded.location[*id as usize - 1];
            if !binary.contains(&location.mapping_id) {
                continue;
            }
            assert_eq!(base + location.address, addr as u64 - 1);
            checked += 1;
        }
    }
    assert!(checked > 0, "locations in the binary");

    // Symbolised here: the stack that holds the blocks names the holding
    // function before its caller, this test.
    let symbolized = dir.path().join("heap-symbolized.pb.gz");
    let mut symbolizer = profile::Symbolizer::new();
    taken
        .write_pprof_symbolized(&symbolized, &mut symbolizer)
        .unwrap();
    let decoded = decode(&symbolized);
    check_values(&decoded, &taken);
    let binary = binary_mappings(&decoded, &exe.to_string_lossy());
    let names: Vec<Vec<&str>> = decoded
        .sample
        .iter()
        .map(|s| {
            s.location_id
                .iter()
                .flat_map(|id| &decoded.location[*id as usize - 1].line)
                .map(|line| {
                    let function = &decoded.function[line.function_id as usize - 1];
                    string(&decoded, function.name)
                })
                .collect()
        })
        .collect();
    let holding = (0..names.len())
        .filter(|&i| names[i].iter().any(|f| f.contains("hold_pprof_blocks")))
        .max_by_key(|&i| decoded.sample[i].value[0])
        .expect("a symbolised stack through hold_pprof_blocks");
    let sample = &decoded.sample[holding];
    assert!(sample.value[0] > 1 << 20, "{:?}", sample.value);
    let position = |name: &str| names[holding].iter().position(|f| f.ends_with(name));
    let (callee, caller) = (
        position("hold_pprof_blocks").expect("the holding function"),
        position("inactive_profiler_is_an_error_and_pprof_parses_back").expect("this test"),
    );
    assert!(callee < caller, "leaf first: {:#?}", names[holding]);
    let located = sample
        .location_id
        .iter()
        .map(|id| &decoded.location[*id as usize - 1])
        .find(|l| binary.contains(&l.mapping_id))
        .expect("a location in the binary");
    assert!(located.address > 0);
    drop(held);
}

fn decode(path: &std::path::Path) -> proto::Profile {
    let mut encoded = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut encoded)
        .unwrap();
    proto::Profile::decode(encoded.as_slice()).unwrap()
}

/// Both sample types, the period, and the bytes of the profile.
fn check_values(decoded: &proto::Profile, taken: &profile::HeapProfile) {
    let types: Vec<(&str, &str)> = decoded
        .sample_type
        .iter()
        .map(|t| (string(decoded, t.r#type), string(decoded, t.unit)))
        .collect();
    assert_eq!(
        types,
        [("inuse_space", "bytes"), ("inuse_objects", "count")]
    );
    assert_eq!(decoded.period, 4096);
    assert_eq!(decoded.sample.len(), taken.stacks.len());
    assert!(decoded.sample.iter().all(|s| s.value.len() == 2));
    let space: i64 = decoded.sample.iter().map(|s| s.value[0]).sum();
    assert!((space as f64 - taken.total_bytes()).abs() <= decoded.sample.len() as f64);
}

/// The ids of this binary's mappings; each carries a build id.
fn binary_mappings(decoded: &proto::Profile, exe: &str) -> Vec<u64> {
    let binary: Vec<u64> = decoded
        .mapping
        .iter()
        .filter(|m| string(decoded, m.filename) == exe)
        .inspect(|m| assert_ne!(m.build_id, 0, "build id"))
        .map(|m| m.id)
        .collect();
    assert!(!binary.is_empty(), "the binary's mapping");
    binary
}

/// Where the binary is loaded: the start of its mapping at file offset 0
/// in /proc/self/maps (a position-independent executable's ELF addresses
/// start at 0).
fn load_address(exe: &str) -> u64 {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter(|line| line.ends_with(exe))
        .find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let offset = u64::from_str_radix(fields[2], 16).ok()?;
            let (start, _) = fields[0].split_once('-')?;
            (offset == 0).then(|| u64::from_str_radix(start, 16).unwrap())
        })
        .expect("the binary's first mapping")
}
