//! Jobs in flight: what a breaker may cancel past its cancel line.
//!
//! A job registers its memory account and a [`CancelToken`]. Past the
//! cancel line the breaker cancels the registered job whose account holds
//! the most live bytes (Envoy's overload manager resets the streams holding
//! the most memory first), then waits until that job deregisters or the
//! grace period ends before it reads again and cancels another: a token
//! frees nothing by itself, the job must end its work and drop what it held.
//! No job is cancelled twice.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use heapguard_alloc::Account;

use crate::cancel::CancelToken;
use crate::sync::lock;

/// The jobs registered with one breaker.
#[derive(Default)]
pub(crate) struct Jobs {
    next_id: AtomicU64,
    registered: AtomicUsize,
    registry: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    entries: Vec<Entry>,
    /// The job cancelled last and when its grace period ends.
    pending: Option<Pending>,
}

struct Entry {
    id: u64,
    name: Arc<str>,
    account: Account,
    token: CancelToken,
}

#[derive(Clone, Copy)]
struct Pending {
    id: u64,
    until: Duration,
}

/// The job a breaker cancelled, and what its account held then.
/// Its token is marked cancelled; its callbacks are the caller's to run,
/// after the registry's lock is let go.
#[derive(Debug, Clone)]
pub(crate) struct Cancelled {
    pub(crate) name: Arc<str>,
    pub(crate) live_bytes: u64,
    pub(crate) token: CancelToken,
}

impl Jobs {
    pub(crate) fn register(&self, name: Arc<str>, account: Account, token: CancelToken) -> u64 {
        let id = self.next_id.fetch_add(1, Relaxed);
        lock(&self.registry).entries.push(Entry {
            id,
            name,
            account,
            token,
        });
        self.registered.fetch_add(1, Relaxed);
        id
    }

    pub(crate) fn deregister(&self, id: u64) {
        let mut registry = lock(&self.registry);
        if let Some(index) = registry.entries.iter().position(|entry| entry.id == id) {
            registry.entries.swap_remove(index);
            self.registered.fetch_sub(1, Relaxed);
        }
    }

    /// Holds the registry's lock (a test shows checks never take it).
    #[cfg(test)]
    pub(crate) fn hold_lock(&self) -> std::sync::MutexGuard<'_, impl Sized> {
        lock(&self.registry)
    }

    /// Jobs registered now.
    pub(crate) fn len(&self) -> usize {
        self.registered.load(Relaxed)
    }

    /// One step of the cancel policy at time `now`: cancels the largest job
    /// whose token is not cancelled yet (by the breaker or by its owner), unless the last one cancelled is still registered
    /// and within its grace period. The step in which that wait ends cancels
    /// nothing, so the next decision rests on a fresh reading.
    pub(crate) fn cancel_largest(&self, now: Duration, grace: Duration) -> Option<Cancelled> {
        if self.len() == 0 {
            return None;
        }
        let mut registry = lock(&self.registry);
        if let Some(pending) = registry.pending {
            let registered = registry.entries.iter().any(|entry| entry.id == pending.id);
            registry.pending = None;
            if registered && now < pending.until {
                registry.pending = Some(pending);
            }
            return None;
        }
        let largest = registry
            .entries
            .iter()
            .filter(|entry| !entry.token.is_cancelled())
            .map(|entry| (entry.account.live_bytes(), entry))
            // The oldest registration wins a tie: ids only grow.
            .max_by(|(a, x), (b, y)| a.cmp(b).then(y.id.cmp(&x.id)))?;
        let (live_bytes, entry) = largest;
        if !entry.token.mark_cancelled() {
            // Its owner cancelled it a moment ago: it is ending already.
            return None;
        }
        let cancelled = Cancelled {
            name: entry.name.clone(),
            live_bytes,
            token: entry.token.clone(),
        };
        let id = entry.id;
        registry.pending = Some(Pending {
            id,
            until: now.saturating_add(grace),
        });
        Some(cancelled)
    }
}

/// A job's registration with a breaker, from
/// [`MemoryBreaker::register_job`](crate::MemoryBreaker::register_job);
/// dropping it deregisters the job (on any path, unwinding included).
///
/// Drop it once the job has ended and freed what it held: the breaker waits
/// for that (or its grace period) before it cancels another job.
#[must_use = "a job is deregistered as soon as its registration is dropped"]
pub struct JobRegistration {
    pub(crate) jobs: Arc<Jobs>,
    /// The breaker's name, for `Debug`.
    pub(crate) breaker: Arc<str>,
    pub(crate) id: u64,
    pub(crate) name: Arc<str>,
    pub(crate) token: CancelToken,
}

impl JobRegistration {
    /// Whether the breaker (or anyone holding the token) cancelled the job:
    /// one atomic load, cheap enough for inner loops.
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The job's token.
    pub fn token(&self) -> &CancelToken {
        &self.token
    }

    /// The job's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for JobRegistration {
    fn drop(&mut self) {
        self.jobs.deregister(self.id);
    }
}

impl fmt::Debug for JobRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobRegistration")
            .field("breaker", &self.breaker)
            .field("name", &self.name)
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}
