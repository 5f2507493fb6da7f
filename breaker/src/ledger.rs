//! The reserved bytes of one breaker: one atomic word, changed only by
//! compare-and-swap against the room left, so concurrent reservations never
//! pass the line together.

use std::sync::atomic::Ordering::Relaxed;

use crate::primitive::AtomicU64;

/// Set once the breaker's handle is dropped: its bytes went back to its
/// parent, and it grants nothing more.
const RELEASED: u64 = 1 << 63;
const AMOUNT: u64 = RELEASED - 1;

#[derive(Debug, Default)]
pub(crate) struct Ledger {
    word: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No room: this many bytes were reserved at the time.
    Full { reserved: u64 },
    /// The ledger was released.
    Released,
}

impl Ledger {
    #[inline]
    pub(crate) fn reserved(&self) -> u64 {
        self.word.load(Relaxed) & AMOUNT
    }

    /// Adds `bytes` if the reserved total stays below `room`; else changes nothing.
    pub(crate) fn try_add(&self, bytes: u64, room: u64) -> Result<(), Refused> {
        let mut word = self.word.load(Relaxed);
        loop {
            if word & RELEASED != 0 {
                return Err(Refused::Released);
            }
            let granted = word
                .checked_add(bytes)
                .filter(|&after| after < room && after <= AMOUNT);
            let Some(after) = granted else {
                return Err(Refused::Full { reserved: word });
            };
            match self
                .word
                .compare_exchange_weak(word, after, Relaxed, Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(current) => word = current,
            }
        }
    }

    /// Returns `bytes` (which must have been added); true if the ledger was
    /// already released, so the bytes must not be returned further up.
    #[inline]
    pub(crate) fn remove(&self, bytes: u64) -> bool {
        let before = self.word.fetch_sub(bytes, Relaxed);
        debug_assert!(before & AMOUNT >= bytes, "released more than was reserved");
        before & RELEASED != 0
    }

    /// Marks the ledger released; returns the bytes it held (0 if it already was).
    pub(crate) fn release_all(&self) -> u64 {
        let before = self.word.fetch_or(RELEASED, Relaxed);
        if before & RELEASED != 0 {
            0
        } else {
            before & AMOUNT
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_only_below_room_and_refusals_change_nothing() {
        let ledger = Ledger::default();
        assert_eq!(ledger.try_add(60, 100), Ok(()));
        assert_eq!(ledger.try_add(40, 100), Err(Refused::Full { reserved: 60 }));
        assert_eq!(ledger.reserved(), 60);
        assert_eq!(ledger.try_add(39, 100), Ok(()));
        assert_eq!(ledger.reserved(), 99);
        assert!(!ledger.remove(99));
        assert_eq!(ledger.reserved(), 0);
    }

    #[test]
    fn never_reaches_the_released_bit() {
        let ledger = Ledger::default();
        assert_eq!(
            ledger.try_add(RELEASED, u64::MAX),
            Err(Refused::Full { reserved: 0 })
        );
        assert_eq!(ledger.try_add(AMOUNT, u64::MAX), Ok(()));
        assert_eq!(
            ledger.try_add(1, u64::MAX),
            Err(Refused::Full { reserved: AMOUNT })
        );
    }

    #[test]
    fn release_all_hands_back_once_and_refuses_after() {
        let ledger = Ledger::default();
        ledger.try_add(70, 100).unwrap();
        assert_eq!(ledger.release_all(), 70);
        assert_eq!(ledger.release_all(), 0);
        assert_eq!(ledger.try_add(1, 100), Err(Refused::Released));
        assert!(ledger.remove(70), "a removal after release stops here");
        assert_eq!(ledger.reserved(), 0);
    }
}
