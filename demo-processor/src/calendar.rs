//! A user's calendar (its free slots) and what the user cares about.

use serde::{Deserialize, Serialize};

/// A free slot in a user's calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Slot {
    /// Days from today (0..14).
    pub day_offset: u8,
    /// Minute of the day the slot starts.
    pub start_minute: u16,
    /// Length of the slot in minutes.
    pub duration_minutes: u16,
}

/// One user: free slots and scoring preferences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserProfile {
    /// The user's identifier.
    pub user_id: u32,
    /// Free slots over the next two weeks, soonest first.
    pub slots: Vec<Slot>,
    /// Tags the user wants to see more of, as a mask over [`crate::tags::TAGS`].
    pub priority_tags: u32,
    /// Industries the user focuses on, as a mask over industry numbers.
    pub focus_industries: u16,
}
