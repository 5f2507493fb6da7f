//! A bounded top-K: keeps the K best suggestions seen so far in O(K) memory.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::scoring::{best_first, Suggestion};

/// Wraps a suggestion so that the binary heap's maximum is the *worst* kept.
#[derive(Debug)]
struct WorstOnTop(Suggestion);

impl PartialEq for WorstOnTop {
    fn eq(&self, other: &Self) -> bool {
        best_first(&self.0, &other.0) == Ordering::Equal
    }
}

impl Eq for WorstOnTop {}

impl PartialOrd for WorstOnTop {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for WorstOnTop {
    fn cmp(&self, other: &Self) -> Ordering {
        // best_first puts the better one first (Less); the worse one is greater.
        best_first(&self.0, &other.0)
    }
}

/// The `k` best suggestions offered, in the order of [`best_first`].
#[derive(Debug)]
pub struct TopK {
    k: usize,
    heap: BinaryHeap<WorstOnTop>,
}

impl TopK {
    /// An empty top-`k`.
    pub fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    /// Whether a suggestion with this score and contact id would be kept now
    /// (lets callers skip building one that would not).
    pub fn would_keep(&self, score: u32, contact_id: u32) -> bool {
        if self.heap.len() < self.k {
            return true;
        }
        match self.heap.peek() {
            Some(worst) => {
                (score, std::cmp::Reverse(contact_id))
                    > (worst.0.score, std::cmp::Reverse(worst.0.contact_id))
            }
            None => false,
        }
    }

    /// Offers a suggestion; keeps it if it is among the `k` best so far.
    pub fn offer(&mut self, suggestion: Suggestion) {
        if self.k == 0 {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(WorstOnTop(suggestion));
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if best_first(&suggestion, &worst.0) == Ordering::Less {
                *worst = WorstOnTop(suggestion);
            }
        }
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The kept suggestions, best first.
    pub fn into_sorted(self) -> Vec<Suggestion> {
        let mut kept: Vec<Suggestion> = self.heap.into_iter().map(|w| w.0).collect();
        kept.sort_by(best_first);
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Slot;

    fn s(contact_id: u32, score: u32) -> Suggestion {
        Suggestion {
            contact_id,
            contact_name: String::new(),
            slot_index: 0,
            slot: Slot {
                day_offset: 0,
                start_minute: 0,
                duration_minutes: 30,
            },
            score,
        }
    }

    #[test]
    fn keeps_exactly_the_k_best_in_order() {
        let mut top = TopK::new(3);
        for (id, score) in [(1, 5), (2, 9), (3, 1), (4, 9), (5, 7), (6, 2)] {
            top.offer(s(id, score));
        }
        assert_eq!(top.len(), 3);
        let kept: Vec<(u32, u32)> = top
            .into_sorted()
            .iter()
            .map(|x| (x.contact_id, x.score))
            .collect();
        assert_eq!(kept, vec![(2, 9), (4, 9), (5, 7)]);
    }

    #[test]
    fn would_keep_agrees_with_offer() {
        let mut top = TopK::new(2);
        top.offer(s(1, 10));
        assert!(top.would_keep(0, 99));
        top.offer(s(2, 10));
        assert!(!top.would_keep(10, 3), "a tie with a higher id ranks below");
        assert!(top.would_keep(10, 0));
        assert!(top.would_keep(11, 99));
        let mut zero = TopK::new(0);
        zero.offer(s(1, 1));
        assert!(zero.is_empty());
    }
}
