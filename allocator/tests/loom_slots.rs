//! Loom models of the slot registry: the crate's own `Registry` code, built
//! on loom's atomics and mutex (the `primitive` facade), under every
//! interleaving loom explores within its preemption bound.
//!
//! Run with (CI's command, in a target directory of its own so that the
//! normal build is not rebuilt):
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p heapguard-alloc --release --test loom_slots`.
//! In a normal build this file compiles to nothing.
//!
//! Each thread's amounts are chosen so that every sum of prefixes of the
//! threads' histories is distinct from any sum in which a thread is counted
//! twice: thread one counts in thousands, thread two in units. A reading is
//! valid when it is such a sum (no thread counted twice, none torn between
//! its slot and the retired totals) and no smaller than the reader's
//! previous reading (no thread lost on its way from its slot to the
//! retired totals).

#![cfg(loom)]

use heapguard_alloc::loom_model::{Block, Reading, Registry};
use loom::model::Builder;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

/// The registry and, per slot, how many threads hold it.
struct Shared<const N: usize> {
    registry: Registry<N>,
    holders: [AtomicUsize; N],
}

impl<const N: usize> Shared<N> {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            registry: Registry::new(),
            holders: std::array::from_fn(|_| AtomicUsize::new(0)),
        })
    }

    /// Runs `history`'s thread life on a new thread.
    fn spawn(
        shared: &Arc<Self>,
        history: &'static History,
        take_slot: fn(&Registry<N>, &Block) -> usize,
    ) -> thread::JoinHandle<usize> {
        let shared = Arc::clone(shared);
        thread::spawn(move || history.live(&shared.registry, &shared.holders, take_slot))
    }
}

/// What one thread counts, in order. The first allocation is counted before
/// the thread takes its slot, as the allocator counts the event whose slow
/// path registers the thread.
struct History {
    allocations: &'static [u64],
    frees: &'static [u64],
}

const ONE: History = History {
    allocations: &[1000, 2000],
    frees: &[500],
};
const TWO: History = History {
    allocations: &[1, 2],
    frees: &[5],
};

impl History {
    fn allocated(&self) -> u64 {
        self.allocations.iter().sum()
    }

    fn freed(&self) -> u64 {
        self.frees.iter().sum()
    }

    /// Counts the first allocation, takes a slot (`take_slot` decides how),
    /// counts the rest, and gives the slot back, as a thread's life does.
    /// `holders` counts the threads holding each slot: a thread that finds
    /// its slot held by another fails the model.
    fn live<const N: usize>(
        &self,
        registry: &Registry<N>,
        holders: &[AtomicUsize; N],
        take_slot: impl Fn(&Registry<N>, &Block) -> usize,
    ) -> usize {
        let block = Block::new();
        let (first, rest) = self.allocations.split_first().unwrap();
        block.allocate(*first);
        let slot = take_slot(registry, &block);
        let others = holders[slot].fetch_add(1, SeqCst);
        assert_eq!(others, 0, "two threads hold slot {slot} at once");
        for bytes in rest {
            block.allocate(*bytes);
        }
        for bytes in self.frees {
            block.free(*bytes);
        }
        holders[slot].fetch_sub(1, SeqCst);
        registry.retire(slot, &block);
        slot
    }
}

/// Every value a thread's running total of `amounts` takes.
fn prefix_sums(amounts: &[u64]) -> Vec<u64> {
    let mut sums = vec![0];
    for amount in amounts {
        sums.push(sums.last().unwrap() + amount);
    }
    sums
}

/// Whether `total` is one thread's running total plus the other's: no
/// thread counted twice, none half-moved.
fn is_sum_of_prefixes(total: u64, one: &[u64], two: &[u64]) -> bool {
    prefix_sums(one)
        .iter()
        .any(|a| prefix_sums(two).iter().any(|b| a + b == total))
}

fn assert_valid(reading: Reading, previous: Reading) {
    assert!(
        is_sum_of_prefixes(reading.allocated_bytes, ONE.allocations, TWO.allocations),
        "allocated bytes torn or counted twice: {reading:?}"
    );
    assert!(
        is_sum_of_prefixes(reading.freed_bytes, ONE.frees, TWO.frees),
        "freed bytes torn or counted twice: {reading:?}"
    );
    let most = (ONE.allocations.len() + TWO.allocations.len()) as u64;
    assert!(
        reading.allocations <= most,
        "allocations counted twice: {reading:?}"
    );
    assert!(
        reading.allocations >= previous.allocations
            && reading.deallocations >= previous.deallocations
            && reading.allocated_bytes >= previous.allocated_bytes
            && reading.freed_bytes >= previous.freed_bytes,
        "a thread's counts were lost: {previous:?} then {reading:?}"
    );
}

/// Once every thread is joined the reading is exact: live bytes are
/// allocated minus freed, to the byte, with each thread counted once.
fn assert_exact<const N: usize>(registry: &Registry<N>) {
    let reading = registry.sum();
    assert_eq!(reading.allocated_bytes, ONE.allocated() + TWO.allocated());
    assert_eq!(reading.freed_bytes, ONE.freed() + TWO.freed());
    assert_eq!(
        reading.allocated_bytes - reading.freed_bytes,
        ONE.allocated() + TWO.allocated() - ONE.freed() - TWO.freed()
    );
    assert_eq!(
        reading.allocations,
        (ONE.allocations.len() + TWO.allocations.len()) as u64
    );
    assert_eq!(
        reading.deallocations,
        (ONE.frees.len() + TWO.frees.len()) as u64
    );
    assert_eq!(registry.in_use(), 0, "a slot still taken");
}

/// Loom's settings from the environment (`LOOM_MAX_PREEMPTIONS`, ...), with
/// a preemption bound of 4 where none is given, which keeps both models to
/// seconds in a release build.
fn builder() -> Builder {
    let mut builder = Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(4);
    }
    builder
}

/// Two threads are born (take a slot) and exit (give it back) while a
/// third reads the totals twice: no two hold one slot at once, each reading is
/// a sum of the threads' running totals with none counted twice or lost,
/// and once both are joined the totals are exact and no slot is held.
#[test]
fn birth_and_exit_with_a_concurrent_reader() {
    builder().check(|| {
        let shared = Shared::<2>::new();
        // Two slots, two threads: always one free.
        let take: fn(&Registry<2>, &Block) -> usize =
            |registry, block| registry.register(block).expect("a free slot");
        let one = Shared::spawn(&shared, &ONE, take);
        let two = Shared::spawn(&shared, &TWO, take);
        let registry = &shared.registry;
        let first = registry.sum();
        assert_valid(first, Reading::default());
        assert_valid(registry.sum(), first);
        one.join().unwrap();
        two.join().unwrap();
        assert!(registry.high_water() <= 2);
        assert_exact(registry);
    });
}

/// One slot for two threads: the second takes it once the first gave it
/// back (a reused slot), while a reader reads. The first thread's totals
/// stay counted, in the retired totals, after its slot goes to the second;
/// no reading counts either twice or loses one; at the end the totals are
/// exact and the slot was the only one ever claimed.
#[test]
fn a_reused_slot_keeps_the_retired_totals() {
    builder().check(|| {
        let shared = Shared::<1>::new();
        let take: fn(&Registry<1>, &Block) -> usize = |registry, block| loop {
            // Past the last slot the allocator falls back to shared
            // counters; here the thread waits for the slot to come back.
            match registry.register(block) {
                Some(slot) => break slot,
                None => thread::yield_now(),
            }
        };
        let one = Shared::spawn(&shared, &ONE, take);
        let two = Shared::spawn(&shared, &TWO, take);
        let registry = &shared.registry;
        let first = registry.sum();
        assert_valid(first, Reading::default());
        assert_valid(registry.sum(), first);
        assert_eq!((one.join().unwrap(), two.join().unwrap()), (0, 0));
        assert_eq!(registry.high_water(), 1, "the slot was not reused");
        assert_exact(registry);
    });
}
