//! Whether the counting allocator is this program's global allocator.

use core::sync::atomic::{AtomicU8, Ordering::Relaxed};

const UNKNOWN: u8 = 0;
const ACTIVE: u8 = 1;
const INACTIVE: u8 = 2;
static ACTIVE_STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Whether a [`CountingAlloc`](crate::CountingAlloc) is the global allocator.
///
/// Found by allocating one block through the global allocator inside a
/// [`measure`](crate::measure) scope, once; the answer is cached. A
/// component that reads the counters (a breaker) calls it to refuse to start
/// with a clear error instead of reading zeros. The first call's probe (one
/// 8-byte allocation and its free) is counted like any other allocation,
/// also in an enclosing `measure` scope or account.
pub fn is_active() -> bool {
    match ACTIVE_STATE.load(Relaxed) {
        ACTIVE => true,
        INACTIVE => false,
        _ => {
            // Outside any account the caller has entered: the probe is
            // the allocator's own, not the account's work.
            let (_, usage) = crate::account::outside_accounts(|| {
                crate::scope::measure_or_zeros(|| {
                    let block = std::hint::black_box(Box::new(0u64));
                    drop(block);
                })
            });
            let active = usage.allocations > 0;
            ACTIVE_STATE.store(if active { ACTIVE } else { INACTIVE }, Relaxed);
            active
        }
    }
}
