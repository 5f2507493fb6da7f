//! Property test: random sequences of allocator calls against a model of
//! what `measure` must report.

use std::alloc::{alloc, alloc_zeroed, dealloc, realloc, Layout, System};

use heapguard_alloc::{measure, CountingAlloc};
use proptest::prelude::*;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

#[derive(Debug, Clone)]
enum Op {
    Alloc {
        size: usize,
        align_log2: u32,
        zeroed: bool,
    },
    Dealloc {
        pick: usize,
    },
    Realloc {
        pick: usize,
        new_size: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1usize..20_000, 0u32..=12, any::<bool>()).prop_map(|(size, align_log2, zeroed)| {
            Op::Alloc {
                size,
                align_log2,
                zeroed,
            }
        }),
        any::<usize>().prop_map(|pick| Op::Dealloc { pick }),
        (any::<usize>(), 1usize..100_000)
            .prop_map(|(pick, new_size)| Op::Realloc { pick, new_size }),
    ]
}

#[derive(Debug, Default, PartialEq)]
struct Model {
    allocations: u64,
    deallocations: u64,
    reallocations: u64,
    allocated_bytes: u64,
    freed_bytes: u64,
    net: i64,
    peak: i64,
}

impl Model {
    fn grow(&mut self, by: i64) {
        self.net += by;
        self.peak = self.peak.max(self.net);
    }
}

/// Runs `ops` through the global allocator; returns the blocks still held.
fn run(ops: &[Op], model: &mut Model) -> Vec<(*mut u8, Layout)> {
    let mut held: Vec<(*mut u8, Layout)> = Vec::with_capacity(ops.len());
    for op in ops {
        match *op {
            Op::Alloc {
                size,
                align_log2,
                zeroed,
            } => {
                let layout = Layout::from_size_align(size, 1 << align_log2).unwrap();
                // SAFETY: non-zero size.
                let ptr = unsafe {
                    if zeroed {
                        alloc_zeroed(layout)
                    } else {
                        alloc(layout)
                    }
                };
                assert!(!ptr.is_null());
                held.push((ptr, layout));
                model.allocations += 1;
                model.allocated_bytes += size as u64;
                model.grow(size as i64);
            }
            Op::Dealloc { pick } if !held.is_empty() => {
                let (ptr, layout) = held.swap_remove(pick % held.len());
                // SAFETY: allocated above with `layout`, freed once.
                unsafe { dealloc(ptr, layout) };
                model.deallocations += 1;
                model.freed_bytes += layout.size() as u64;
                model.grow(-(layout.size() as i64));
            }
            Op::Realloc { pick, new_size } if !held.is_empty() => {
                let index = pick % held.len();
                let (ptr, layout) = held[index];
                // SAFETY: `ptr` is live with `layout`; `new_size` is non-zero.
                let new_ptr = unsafe { realloc(ptr, layout, new_size) };
                assert!(!new_ptr.is_null());
                held[index] = (
                    new_ptr,
                    Layout::from_size_align(new_size, layout.align()).unwrap(),
                );
                model.reallocations += 1;
                model.allocated_bytes += new_size as u64;
                model.freed_bytes += layout.size() as u64;
                model.grow(new_size as i64 - layout.size() as i64);
            }
            _ => {}
        }
    }
    held
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn measure_matches_the_model(ops in proptest::collection::vec(op(), 1..200)) {
        let mut model = Model::default();
        // The bookkeeping vector is allocated inside the scope too: count it.
        let (held, usage) = measure(|| run(&ops, &mut model));
        let bookkeeping = (ops.len() * std::mem::size_of::<(*mut u8, Layout)>()) as u64;
        model.allocations += 1;
        model.allocated_bytes += bookkeeping;
        model.peak += bookkeeping as i64;
        model.net += bookkeeping as i64;

        prop_assert_eq!(usage.allocations, model.allocations);
        prop_assert_eq!(usage.deallocations, model.deallocations);
        prop_assert_eq!(usage.reallocations, model.reallocations);
        prop_assert_eq!(usage.allocated_bytes, model.allocated_bytes);
        prop_assert_eq!(usage.freed_bytes, model.freed_bytes);
        prop_assert_eq!(usage.net_bytes, model.net);
        prop_assert_eq!(usage.peak_bytes, model.peak as u64);

        let held_bytes: i64 = held.iter().map(|(_, l)| l.size() as i64).sum();
        let ((), cleanup) = measure(|| {
            for &(ptr, layout) in &held {
                // SAFETY: each block is live with its layout and freed once.
                unsafe { dealloc(ptr, layout) };
            }
        });
        prop_assert_eq!(cleanup.net_bytes, -held_bytes);
        drop(held);
    }
}
