//! The allocators compared, as statics that are not the global allocator.
//!
//! Every bench and the sweep call `GlobalAlloc::alloc`/`dealloc` on these
//! statics directly. The two `CountingAlloc` values count into heapguard's one
//! process-wide accounting domain, exactly as they would as the global
//! allocator; the peers keep their own counters.

use core::alloc::GlobalAlloc;
use std::alloc::System;

use cap::Cap;
use heapguard_alloc::{CountingAlloc, Jemalloc};
use stats_alloc::StatsAlloc;

use crate::thread_cells::ThreadCells;

/// heapguard's counting wrapper over jemalloc: the configuration we ship.
pub static COUNTING_JEMALLOC: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);
/// Bare jemalloc: the baseline every ratio is taken against.
pub static JEMALLOC: Jemalloc = Jemalloc;
/// The platform allocator (glibc malloc on Linux).
pub static SYSTEM: System = System;
/// heapguard's counting wrapper over the platform allocator.
pub static COUNTING_SYSTEM: CountingAlloc<System> = CountingAlloc::new(System);
/// Peer: `stats_alloc`, which counts in shared atomics, over jemalloc.
pub static STATS_ALLOC_JEMALLOC: StatsAlloc<Jemalloc> = StatsAlloc::new(Jemalloc);
/// Peer: `cap`, which keeps a shared allocated-bytes atomic, over jemalloc
/// (with no effective limit).
pub static CAP_JEMALLOC: Cap<Jemalloc> = Cap::new(Jemalloc, usize::MAX);

/// Reference point: plain thread-local cells over jemalloc, the cheapest
/// counting there is (unreadable from other threads, so not a product).
pub static THREAD_CELLS_JEMALLOC: ThreadCells<Jemalloc> = ThreadCells::new(Jemalloc);

/// The name of the baseline allocator, as reported.
pub const BASELINE: &str = "Jemalloc";
/// The name of heapguard's shipped configuration, as reported.
pub const COUNTING_JEMALLOC_NAME: &str = "CountingAlloc<Jemalloc>";

/// Something run once per allocator, monomorphised for each allocator type so
/// that no dynamic dispatch sits between the workload and the allocator.
pub trait ContenderVisitor {
    /// Called once per allocator with its reported name.
    fn visit<A: GlobalAlloc + Sync + 'static>(&mut self, name: &'static str, alloc: &'static A);
}

/// Calls `visitor` for each compared allocator, the baseline first.
pub fn for_each_contender(visitor: &mut impl ContenderVisitor) {
    visitor.visit(BASELINE, &JEMALLOC);
    visitor.visit(COUNTING_JEMALLOC_NAME, &COUNTING_JEMALLOC);
    visitor.visit("System", &SYSTEM);
    visitor.visit("CountingAlloc<System>", &COUNTING_SYSTEM);
    visitor.visit("StatsAlloc<Jemalloc>", &STATS_ALLOC_JEMALLOC);
    visitor.visit("Cap<Jemalloc>", &CAP_JEMALLOC);
    visitor.visit("ThreadCells<Jemalloc>", &THREAD_CELLS_JEMALLOC);
}

/// The heapguard-alloc features this build was compiled with, as a label
/// suffix (`""`, `"+histogram"`, `"+limit"` or `"+histogram+limit"`).
///
/// The features are compile-time, so a build with them is a second run of
/// the bench (`--features histogram,limit`); its groups carry this suffix so
/// both runs' results stay side by side.
pub const fn features_label() -> &'static str {
    match (cfg!(feature = "histogram"), cfg!(feature = "limit")) {
        (false, false) => "",
        (true, false) => "+histogram",
        (false, true) => "+limit",
        (true, true) => "+histogram+limit",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Names(Vec<&'static str>);

    impl ContenderVisitor for Names {
        fn visit<A: GlobalAlloc + Sync + 'static>(&mut self, name: &'static str, _: &'static A) {
            self.0.push(name);
        }
    }

    #[test]
    fn seven_contenders_baseline_first_names_unique() {
        let mut names = Names(Vec::new());
        for_each_contender(&mut names);
        assert_eq!(names.0.len(), 7);
        assert_eq!(names.0[0], BASELINE);
        let mut sorted = names.0.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 7);
    }
}
