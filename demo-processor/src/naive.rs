//! The crash-prone original: load every contact of the batch in full, build
//! every (contact, slot) candidate with copies of the fields it shows, sort
//! them all, keep each contact's best, truncate to 50.
//!
//! Memory grows with contacts x users in the batch x slots: at 100,000
//! contacts a user holds ~120 MB of records and ~150 MB of candidates.
//! [`NaiveEstimate`](crate::estimate::NaiveEstimate) bounds a user's peak
//! from its contact and slot counts, so the job can reserve it first.

use std::collections::HashSet;

use crate::calendar::{Slot, UserProfile};
use crate::contact::{Contact, ContactSignals};
use crate::generate::{company, contacts, TODAY};
use crate::leak::UnboundedRecordCache;
use crate::scoring::{contact_score, slot_fit, Suggestion, MAX_SUGGESTIONS_PER_USER};
use crate::stop::Refused;

/// One candidate, built for every contact and every slot.
#[derive(Debug)]
struct Candidate {
    contact_id: u32,
    contact_name: String,
    /// Copied for display, as the original did; scoring never reads it.
    #[expect(
        dead_code,
        reason = "the copy is the point: it is what the original paid for"
    )]
    email: String,
    /// Copied for display, as the original did; scoring never reads it.
    #[expect(
        dead_code,
        reason = "the copy is the point: it is what the original paid for"
    )]
    company: String,
    slot_index: u16,
    slot: Slot,
    score: u32,
}

/// Loads all of a user's contacts in full, calling `check` between chunks
/// of `chunk_size` contacts; stops (dropping what it loaded) when it refuses.
pub(crate) fn load_contacts(
    seed: u64,
    user_id: u32,
    count: u32,
    chunk_size: usize,
    check: &mut dyn FnMut() -> Result<(), Refused>,
) -> Result<Vec<Contact>, Refused> {
    let mut loaded = Vec::new();
    for contact in contacts(seed, user_id, count) {
        if !loaded.is_empty() && loaded.len() % chunk_size == 0 {
            check()?;
        }
        loaded.push(contact);
    }
    Ok(loaded)
}

/// Bytes of one candidate in the candidates' vector (its strings aside).
pub(crate) const CANDIDATE_BYTES: usize = std::mem::size_of::<Candidate>();

/// Builds every candidate for the user, sorts them, keeps each contact's best
/// slot and the 50 best contacts. Calls `check` before each chunk of
/// `chunk_size` contacts and before the sort; stops (dropping the
/// candidates) when it refuses.
pub(crate) fn suggest(
    seed: u64,
    profile: &UserProfile,
    loaded: &[Contact],
    chunk_size: usize,
    check: &mut dyn FnMut() -> Result<(), Refused>,
    leak: Option<&UnboundedRecordCache>,
) -> Result<Vec<Suggestion>, Refused> {
    let mut candidates = Vec::new();
    for (index, contact) in loaded.iter().enumerate() {
        if index % chunk_size.max(1) == 0 {
            check()?;
        }
        // One directory query per contact: no cache in the original.
        let company = company(seed, contact.company_id);
        let signals = ContactSignals::project(contact, TODAY);
        if let Some(leak) = leak {
            leak.remember(profile.user_id, contact);
        }
        let base = contact_score(&signals, profile, company.industry, TODAY);
        for (slot_index, slot) in profile.slots.iter().enumerate() {
            candidates.push(Candidate {
                contact_id: contact.id,
                contact_name: signals.name.clone(),
                email: contact.emails.first().cloned().unwrap_or_default(),
                company: company.name.clone(),
                slot_index: slot_index as u16,
                slot: *slot,
                score: base + slot_fit(&signals, slot),
            });
        }
    }
    check()?; // the sort's scratch is half the candidates again
    candidates.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.contact_id.cmp(&b.contact_id))
            .then(a.slot_index.cmp(&b.slot_index))
    });
    // Collected into a fresh vector: `into_iter().filter().map().collect()`
    // would reuse the candidates' buffer in place (std's in-place collect)
    // and keep all of its capacity alive behind 50 suggestions.
    let mut seen = HashSet::new();
    let mut suggestions = Vec::with_capacity(MAX_SUGGESTIONS_PER_USER);
    for candidate in candidates {
        if suggestions.len() == MAX_SUGGESTIONS_PER_USER {
            break;
        }
        if seen.insert(candidate.contact_id) {
            suggestions.push(Suggestion {
                contact_id: candidate.contact_id,
                contact_name: candidate.contact_name,
                slot_index: candidate.slot_index,
                slot: candidate.slot,
                score: candidate.score,
            });
        }
    }
    Ok(suggestions)
}
