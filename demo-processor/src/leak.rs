//! The leak `--inject-leak` adds: a cache of full contact records that never
//! evicts, so every user processed leaves all its contacts behind (about
//! 1.3 KiB each) for as long as the job runs. This is the bug class the
//! monitor exists to catch.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::contact::Contact;

/// Full records keyed by (user, contact), with no bound and no eviction.
/// Shared by the repository thread and the job, hence the mutex.
#[derive(Debug, Default)]
pub struct UnboundedRecordCache {
    entries: Mutex<HashMap<(u32, u32), Contact>>,
}

impl UnboundedRecordCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers a copy of the record forever.
    pub fn remember(&self, user_id: u32, contact: &Contact) {
        // A poisoned lock means another thread panicked mid-insert; the map
        // is still a valid map, so keep leaking into it.
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.insert((user_id, contact.id), contact.clone());
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .map_or_else(|p| p.into_inner().len(), |e| e.len())
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::contacts;

    #[test]
    fn keeps_every_record_it_is_given() {
        let cache = UnboundedRecordCache::new();
        for user in 0..3 {
            for contact in contacts(1, user, 10) {
                cache.remember(user, &contact);
            }
        }
        assert_eq!(cache.len(), 30);
        assert!(!cache.is_empty());
    }
}
