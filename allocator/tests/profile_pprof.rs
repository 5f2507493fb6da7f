//! A heap profile written as pprof parses back with a protobuf reader:
//! both sample types, the sampling period, this binary's mapping, and
//! locations symbolised (or symbolisable from the mapping's file and the
//! file-relative address).

use std::hint::black_box;
use std::io::Read;

use heapguard_alloc::profile::{self, proto, ProfileError};
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
    let path = dir.path().join("heap.pb.gz");
    taken.write_pprof(&path).unwrap();
    let mut encoded = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_end(&mut encoded)
        .unwrap();
    let decoded = proto::Profile::decode(encoded.as_slice()).unwrap();

    let types: Vec<(&str, &str)> = decoded
        .sample_type
        .iter()
        .map(|t| (string(&decoded, t.r#type), string(&decoded, t.unit)))
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

    // This test binary is one of the mappings, with its build id.
    let exe = std::env::current_exe().unwrap();
    let exe = exe.to_string_lossy();
    let binary: Vec<u64> = decoded
        .mapping
        .iter()
        .filter(|m| string(&decoded, m.filename) == exe)
        .inspect(|m| assert_ne!(m.build_id, 0, "build id"))
        .map(|m| m.id)
        .collect();
    assert!(!binary.is_empty(), "the binary's mapping");

    // The stack that holds the blocks: every location in the binary's
    // mapping, with a file-relative address, and one of them symbolised as
    // the holding function.
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
    let located = sample
        .location_id
        .iter()
        .map(|id| &decoded.location[*id as usize - 1])
        .find(|l| binary.contains(&l.mapping_id))
        .expect("a location in the binary");
    assert!(located.address > 0 && located.address < std::fs::metadata(&*exe).unwrap().len());
    drop(held);
}
