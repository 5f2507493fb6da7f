//! How a contact and a free slot are scored: integer arithmetic only, so
//! both modes rank exactly alike.
//!
//! A suggestion pairs a contact with the slot that fits them best. Its score
//! is the contact's score (recency, frequency, tags, company) plus the slot's
//! fit (time of day, length, how soon). Ties rank by contact id, then by slot
//! position, so the order is total and every mode returns the same list.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::calendar::{Slot, UserProfile};
use crate::contact::ContactSignals;
use crate::tags::VIP;

/// The most suggestions kept per user (the Node service's `MAX_SUGGESTIONS_PER_USER`).
pub const MAX_SUGGESTIONS_PER_USER: usize = 50;

/// One suggestion: meet this contact in this slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The contact's identifier.
    pub contact_id: u32,
    /// The contact's name.
    pub contact_name: String,
    /// Position of the slot in the user's calendar.
    pub slot_index: u16,
    /// The slot.
    pub slot: Slot,
    /// The score (higher is better).
    pub score: u32,
}

/// Orders suggestions best first: higher score, then lower contact id, then
/// earlier slot. A total order over distinct (contact, slot) pairs.
pub fn best_first(a: &Suggestion, b: &Suggestion) -> Ordering {
    b.score
        .cmp(&a.score)
        .then(a.contact_id.cmp(&b.contact_id))
        .then(a.slot_index.cmp(&b.slot_index))
}

/// The part of the score that depends on the contact alone.
pub fn contact_score(
    contact: &ContactSignals,
    profile: &UserProfile,
    industry: u8,
    today: u32,
) -> u32 {
    let recency = match contact.last_day {
        None => 0,
        Some(day) => {
            let days = today.saturating_sub(day);
            match days {
                0..=13 => 20,    // seen very recently: no need
                14..=120 => 200, // time to reconnect
                _ => 200u32.saturating_sub((days - 120) / 2),
            }
        }
    };
    let frequency = 10 * u32::from(contact.recent_interactions.min(30));
    let tags = 40 * (contact.tag_mask & profile.priority_tags).count_ones();
    let vip = if contact.tag_mask & VIP != 0 { 100 } else { 0 };
    let focus = if profile.focus_industries & (1 << industry) != 0 {
        60
    } else {
        0
    };
    recency + frequency + tags + vip + focus
}

/// How well a slot suits a contact's habits.
pub fn slot_fit(contact: &ContactSignals, slot: &Slot) -> u32 {
    let hour_gap = u32::from(contact.preferred_minute.abs_diff(slot.start_minute)) / 5;
    let time_of_day = 120u32.saturating_sub(hour_gap);
    let long_enough = if slot.duration_minutes >= contact.typical_minutes {
        40
    } else {
        0
    };
    let soon = 3 * (14 - u32::from(slot.day_offset.min(14)));
    time_of_day + long_enough + soon
}

/// The contact's best slot and the suggestion's total score, or `None` when
/// the user has no free slot. Ties go to the earliest slot.
pub fn best_slot(contact: &ContactSignals, slots: &[Slot], base: u32) -> Option<(u16, u32)> {
    let mut best: Option<(u16, u32)> = None;
    for (index, slot) in slots.iter().enumerate() {
        let score = base + slot_fit(contact, slot);
        if best.is_none_or(|(_, top)| score > top) {
            best = Some((index as u16, score));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signals(last_day: Option<u32>, recent: u16, tags: u32) -> ContactSignals {
        ContactSignals {
            id: 1,
            name: "Ada Lovelace".into(),
            company_id: 0,
            tag_mask: tags,
            last_day,
            recent_interactions: recent,
            preferred_minute: 9 * 60,
            typical_minutes: 45,
        }
    }

    fn profile() -> UserProfile {
        UserProfile {
            user_id: 0,
            slots: vec![
                Slot {
                    day_offset: 1,
                    start_minute: 15 * 60,
                    duration_minutes: 30,
                },
                Slot {
                    day_offset: 2,
                    start_minute: 9 * 60,
                    duration_minutes: 60,
                },
            ],
            priority_tags: 0b110,
            focus_industries: 1 << 3,
        }
    }

    #[test]
    fn scores_add_up_as_documented() {
        let today = 1_000;
        let c = signals(Some(today - 30), 12, VIP | 0b10);
        // recency 200 + frequency 120 + one priority tag 40 + vip 100 + focus 60
        assert_eq!(contact_score(&c, &profile(), 3, today), 520);
        assert_eq!(contact_score(&c, &profile(), 4, today), 460);
        let never = signals(None, 0, 0);
        assert_eq!(contact_score(&never, &profile(), 0, today), 0);
        let long_ago = signals(Some(today - 520), 0, 0);
        assert_eq!(contact_score(&long_ago, &profile(), 0, today), 0);
    }

    #[test]
    fn picks_the_slot_that_fits_the_contacts_habits() {
        let c = signals(None, 0, 0);
        // slot 1: same time as usual (120), long enough (40), in 2 days (36)
        assert_eq!(slot_fit(&c, &profile().slots[1]), 196);
        assert_eq!(best_slot(&c, &profile().slots, 10), Some((1, 206)));
        assert_eq!(best_slot(&c, &[], 10), None);
    }

    #[test]
    fn best_first_is_score_then_contact_then_slot() {
        let s = |contact_id, slot_index, score| Suggestion {
            contact_id,
            contact_name: String::new(),
            slot_index,
            slot: profile().slots[0],
            score,
        };
        let mut list = [s(5, 0, 10), s(2, 1, 10), s(9, 0, 30), s(2, 0, 10)];
        list.sort_by(best_first);
        let order: Vec<(u32, u16)> = list.iter().map(|x| (x.contact_id, x.slot_index)).collect();
        assert_eq!(order, vec![(9, 0), (2, 0), (2, 1), (5, 0)]);
    }
}
