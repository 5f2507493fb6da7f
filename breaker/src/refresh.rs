//! An action run on every refresh of a breaker's readings.

use std::fmt;
use std::sync::Arc;

use heapguard_reading::{Action, Refresher};

/// An action registered with [`MemoryBreaker::on_refresh`](crate::MemoryBreaker::on_refresh):
/// it runs on the refresher thread after every refresh until this guard is
/// dropped.
#[must_use = "the action stops as soon as this is dropped"]
pub struct RefreshAction {
    _action: Arc<Action>,
    _refresher: Arc<Refresher>,
}

impl RefreshAction {
    pub(crate) fn new(action: Arc<Action>, refresher: Arc<Refresher>) -> Self {
        Self {
            _action: action,
            _refresher: refresher,
        }
    }
}

impl fmt::Debug for RefreshAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshAction").finish_non_exhaustive()
    }
}
