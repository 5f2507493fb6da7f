//! The leak `--inject-leak` adds: a cache of contact signals that never
//! evicts, so every user processed leaves its contacts behind for as long as
//! the job runs. This is the bug class the monitor exists to catch.

use std::collections::HashMap;

use crate::contact::ContactSignals;

/// A memo of every contact's signals, keyed by (user, contact), with no bound
/// and no eviction: it grows by about 100 bytes per contact processed.
#[derive(Debug, Default)]
pub struct UnboundedSignalsCache {
    entries: HashMap<(u32, u32), ContactSignals>,
}

impl UnboundedSignalsCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers a contact's signals forever.
    pub fn remember(&mut self, user_id: u32, signals: &ContactSignals) {
        self.entries.insert((user_id, signals.id), signals.clone());
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
