//! Locking without poisoning: every critical section in the breaker leaves
//! its data consistent, so a panic elsewhere (a callback's, caught) must
//! not make the next lock fail.

use std::sync::PoisonError;

use crate::primitive::{Mutex, MutexGuard};

/// Locks, ignoring poisoning.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
