//! What a naive user holds at its peak, estimated from its contact count
//! and its calendar's slot count before any of it is allocated (estimate,
//! then break, as Elasticsearch's request breakers do).
//!
//! # Derivation
//! A naive user's peak is reached in the sort, with everything alive at once:
//! - **records**: `Vec<Contact>` grown by doubling, so its buffer is the
//!   next power of two of `n` contacts, times `size_of::<Contact>()`; plus
//!   each record's own heap (names, emails, phones, tags, notes, history):
//!   [`CONTACT_HEAP_BYTES`] per contact;
//! - **candidates**: `m = n x slots` candidates in a doubling `Vec`, plus
//!   three copied strings each (name, email, company):
//!   [`CANDIDATE_HEAP_BYTES`] per candidate;
//! - **sort scratch**: std's stable sort allocates `max(m / 2, min(m, 8 MB /
//!   size))` candidates of scratch;
//! - [`FIXED_BYTES`] for the profile, the deduplication set and the 50
//!   suggestions.
//!
//! The per-item figures are upper bounds of the means measured over seeds
//! and users (the generator draws each record's sizes independently, so a
//! user's mean converges on them as `n` grows); `tests/naive_budget.rs` (`the_estimate_bounds_each_users_measured_peak`) checks
//! the estimate against the peak of the user's memory account: never
//! below it, and within 25% above it from 10,000 contacts.

use crate::contact::Contact;
use crate::naive::CANDIDATE_BYTES;

/// Heap bytes of one contact record's own fields, an upper bound of the
/// measured mean.
pub const CONTACT_HEAP_BYTES: u64 = 1_150;

/// Heap bytes of one candidate's three copied strings, an upper bound of
/// the measured mean.
pub const CANDIDATE_HEAP_BYTES: u64 = 64;

/// Bytes a user holds besides its records and candidates.
pub const FIXED_BYTES: u64 = 256 * 1024;

/// std's stable sort allocates at most this many bytes of scratch before
/// it falls back to half the input (`MAX_FULL_ALLOC_BYTES` in driftsort).
const SORT_FULL_ALLOC_BYTES: u64 = 8_000_000;

/// A naive user's expected memory, by phase, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NaiveEstimate {
    /// The loaded records.
    pub load_bytes: u64,
    /// The candidates and their strings.
    pub candidate_bytes: u64,
    /// The sort's scratch.
    pub sort_bytes: u64,
}

impl NaiveEstimate {
    /// The estimate for a user with `contacts` contacts and `slots` free slots.
    pub fn for_user(contacts: u32, slots: usize) -> Self {
        let n = u64::from(contacts);
        let m = n.saturating_mul(slots as u64);
        let candidate = CANDIDATE_BYTES as u64;
        let scratch = (m / 2).max(m.min(SORT_FULL_ALLOC_BYTES / candidate.max(1)));
        Self {
            load_bytes: doubled(n, std::mem::size_of::<Contact>() as u64)
                .saturating_add(n.saturating_mul(CONTACT_HEAP_BYTES)),
            candidate_bytes: doubled(m, candidate)
                .saturating_add(m.saturating_mul(CANDIDATE_HEAP_BYTES)),
            sort_bytes: scratch.saturating_mul(candidate),
        }
    }

    /// The user's peak: everything at once, plus [`FIXED_BYTES`].
    pub fn peak_bytes(&self) -> u64 {
        self.load_bytes
            .saturating_add(self.candidate_bytes)
            .saturating_add(self.sort_bytes)
            .saturating_add(FIXED_BYTES)
    }

    /// What `chunk` more contacts add at most, records and candidates
    /// (the step by which a user outgrowing its estimate grows its reservation).
    pub fn chunk_bytes(chunk: usize, slots: usize) -> u64 {
        let chunk = chunk as u64;
        let per_contact = CONTACT_HEAP_BYTES
            + 2 * std::mem::size_of::<Contact>() as u64
            + slots as u64 * (CANDIDATE_HEAP_BYTES + 2 * CANDIDATE_BYTES as u64);
        chunk.saturating_mul(per_contact)
    }
}

/// Bytes of a doubling vector's buffer once it holds `len` items of `size` bytes.
fn doubled(len: u64, size: u64) -> u64 {
    if len == 0 {
        return 0;
    }
    len.max(4)
        .checked_next_power_of_two()
        .unwrap_or(u64::MAX)
        .saturating_mul(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_estimated_at_their_doubled_capacity() {
        assert_eq!(doubled(0, 10), 0);
        assert_eq!(doubled(1, 10), 40);
        assert_eq!(doubled(5, 10), 80);
        assert_eq!(doubled(1024, 10), 10_240);
        assert_eq!(doubled(1025, 10), 20_480);
    }

    #[test]
    fn the_peak_adds_every_phase() {
        let estimate = NaiveEstimate::for_user(1_000, 10);
        assert_eq!(
            estimate.peak_bytes(),
            estimate.load_bytes + estimate.candidate_bytes + estimate.sort_bytes + FIXED_BYTES
        );
        assert_eq!(NaiveEstimate::for_user(0, 10).peak_bytes(), FIXED_BYTES);
    }
}
