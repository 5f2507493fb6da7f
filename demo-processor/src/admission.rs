//! Where the job asks the breaker for permission, and what it remembers of a refusal.

use std::time::Instant;

use crate::report::TripRecord;
use crate::stop::Refused;

/// Where a check happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Checkpoint {
    /// Before the job starts.
    Job,
    /// Before a user.
    User,
    /// Between chunks of a user's contacts.
    Chunk,
}

impl Checkpoint {
    fn as_str(self) -> &'static str {
        match self {
            Checkpoint::Job => "job",
            Checkpoint::User => "user",
            Checkpoint::Chunk => "chunk",
        }
    }
}

/// The job's side of the breaker.
pub(crate) struct Admission<'a> {
    origin: Instant,
    trips: u64,
    trip: Option<TripRecord>,
    _breaker: Option<&'a ()>,
}

impl<'a> Admission<'a> {
    pub(crate) fn new(origin: Instant) -> Self {
        Self { origin, trips: 0, trip: None, _breaker: None }
    }

    /// Asks whether the job may go on.
    pub(crate) fn check(&mut self, at: Checkpoint, user_id: Option<u32>) -> Result<(), Refused> {
        let _ = (at.as_str(), user_id, self.origin);
        Ok(())
    }

    /// Tells the monitor the job is between users.
    pub(crate) fn between_users(&mut self) {}

    pub(crate) fn trips(&self) -> u64 {
        self.trips
    }

    pub(crate) fn budget_bytes(&self) -> Option<u64> {
        None
    }

    pub(crate) fn trip_threshold_bytes(&self) -> Option<u64> {
        None
    }

    pub(crate) fn into_trip(self) -> Option<TripRecord> {
        self.trip
    }
}
