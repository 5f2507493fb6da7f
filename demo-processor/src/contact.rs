//! A contact as the repository stores it (the full record), and the few
//! fields scoring needs (the projection the streaming mode moves around).

use crate::tags::tag_mask;

/// What kind of interaction a history entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InteractionKind {
    /// An email thread.
    Email,
    /// A phone call.
    Call,
    /// A meeting in person or by video.
    Meeting,
    /// A chat message.
    Message,
}

/// One entry of a contact's interaction history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Interaction {
    /// Day of the interaction, in days since 1970-01-01.
    pub day: u32,
    /// Minute of the day it started (0..1440).
    pub minute_of_day: u16,
    /// How long it lasted, in minutes.
    pub duration_minutes: u16,
    /// Its kind.
    pub kind: InteractionKind,
}

/// A full contact record: what the original job loaded for every contact
/// (roughly 0.5 to 2 KiB on the heap each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// Identifier, unique within one user's contacts.
    pub id: u32,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Email addresses, the primary first (at least one).
    pub emails: Vec<String>,
    /// Phone numbers (possibly none).
    pub phones: Vec<String>,
    /// Identifier of the contact's company in the company directory.
    pub company_id: u32,
    /// The company's name, as stored on the contact.
    pub company: String,
    /// Job title.
    pub title: String,
    /// Free-form tags (a subset of [`crate::tags::TAGS`]).
    pub tags: Vec<String>,
    /// Free-form notes.
    pub notes: String,
    /// Interaction history, oldest first.
    pub interactions: Vec<Interaction>,
}

impl Contact {
    /// "First Last".
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// How many days back an interaction counts toward a contact's frequency.
pub const FREQUENCY_WINDOW_DAYS: u32 = 365;

/// The fields scoring needs, projected from a [`Contact`]: about 60 bytes
/// plus the name, instead of a kilobyte or two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactSignals {
    /// The contact's identifier.
    pub id: u32,
    /// "First Last", for the suggestion shown to the user.
    pub name: String,
    /// The contact's company in the directory.
    pub company_id: u32,
    /// The contact's tags as a bit set over [`crate::tags::TAGS`].
    pub tag_mask: u32,
    /// Day of the last interaction, if any.
    pub last_day: Option<u32>,
    /// Interactions in the [`FREQUENCY_WINDOW_DAYS`] before `today`.
    pub recent_interactions: u16,
    /// Average start minute of past interactions (noon when none).
    pub preferred_minute: u16,
    /// Average duration of past interactions in minutes (30 when none).
    pub typical_minutes: u16,
}

impl ContactSignals {
    /// Projects a full record to its scoring fields, as of day `today`.
    pub fn project(contact: &Contact, today: u32) -> Self {
        let history = &contact.interactions;
        let since = today.saturating_sub(FREQUENCY_WINDOW_DAYS);
        let recent = history
            .iter()
            .filter(|i| i.day >= since && i.day <= today)
            .count();
        let (preferred_minute, typical_minutes) = if history.is_empty() {
            (12 * 60, 30)
        } else {
            let n = history.len() as u64;
            let minutes: u64 = history.iter().map(|i| u64::from(i.minute_of_day)).sum();
            let duration: u64 = history.iter().map(|i| u64::from(i.duration_minutes)).sum();
            ((minutes / n) as u16, (duration / n) as u16)
        };
        Self {
            id: contact.id,
            name: contact.display_name(),
            company_id: contact.company_id,
            tag_mask: tag_mask(contact.tags.iter().map(String::as_str)),
            last_day: history.iter().map(|i| i.day).max(),
            recent_interactions: recent.min(usize::from(u16::MAX)) as u16,
            preferred_minute,
            typical_minutes,
        }
    }
}
