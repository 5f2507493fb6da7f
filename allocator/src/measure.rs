//! `measure`: what this thread allocated inside a closure, refusing to
//! report zeros when nothing can be counted.

use crate::scope::{measure_or_zeros, Usage};

/// Runs `work` and returns what **this thread** allocated inside it.
///
/// Exact: every allocator call this thread makes inside `work` is counted,
/// and nothing other threads do is. Scopes nest (an outer scope includes its
/// inner scopes), and a panic inside `work` propagates after the scope is
/// closed, leaving any enclosing scope correct.
///
/// Allocations made by threads that `work` spawns are not included: measure
/// inside those threads, or read the process-wide [`stats`](crate::stats).
///
/// # Panics
///
/// When [`CountingAlloc`](crate::CountingAlloc) is not this program's
/// `#[global_allocator]` (checked once, then one relaxed load): without it
/// nothing is counted, and every "must not allocate" assertion would pass
/// whatever the code does. Test binaries install it themselves:
/// `#[global_allocator] static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);`.
///
/// The optimiser may remove an allocation whose block is never read (Rust
/// allows allocator calls to be elided), so a test that counts allocations
/// it does not otherwise use passes them through [`std::hint::black_box`]:
///
/// ```
/// # #[global_allocator]
/// # static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> =
/// #     heapguard_alloc::CountingAlloc::new(std::alloc::System);
/// use std::hint::black_box;
/// let ((), usage) = heapguard_alloc::measure(|| drop(black_box(Box::new(7u64))));
/// assert_eq!((usage.allocations, usage.deallocations), (1, 1));
/// assert_eq!(usage.peak_bytes, 8);
/// ```
///
/// ```
/// # #[global_allocator]
/// # static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> =
/// #     heapguard_alloc::CountingAlloc::new(std::alloc::System);
/// let (v, usage) = heapguard_alloc::measure(|| Vec::<u8>::with_capacity(1000));
/// assert_eq!(usage.allocations, 1);
/// assert_eq!(usage.net_bytes, 1000);
/// assert_eq!(usage.peak_bytes, 1000);
/// drop(v);
/// ```
pub fn measure<R>(work: impl FnOnce() -> R) -> (R, Usage) {
    assert!(
        crate::active::is_active(),
        "heapguard_alloc::measure: CountingAlloc is not the #[global_allocator] of this program, \
         so nothing can be counted; add \
         `#[global_allocator] static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> = \
         heapguard_alloc::CountingAlloc::new(std::alloc::System);` to this binary"
    );
    measure_or_zeros(work)
}
