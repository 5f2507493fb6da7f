//! Jobs in flight: what a breaker may cancel past its cancel line, and what
//! each cancel freed.
//!
//! A job registers its memory account and a [`CancelToken`]. Past the
//! cancel line the breaker cancels the registered job whose account holds
//! the most live bytes (Envoy's overload manager resets the streams holding
//! the most memory first). A token frees nothing by itself, and a job that
//! deregisters may still hold memory (tasks it spawned and detached keep
//! running: dropping a tokio `JoinHandle` does not stop its task), so the
//! cancel is **checked**: the breaker watches the victim's account until
//! the victim has deregistered and its account holds at most half of what
//! it held at the cancel, or the grace period ends, whichever is first.
//! Then it publishes what the cancel freed (the account's bytes and the
//! reading's), or that it freed too little, with what the victim still
//! holds. The step that gives that verdict cancels nothing, so the next
//! decision rests on a fresh reading.
//!
//! After a cancel, the next one (while the level stays `Cancel`) is made
//! only if the reading is still at or past the cancel line and the next
//! candidate holds enough to bring the reading back under it on its own
//! (`total - live < cancel line`): a cancel that could not help is withheld
//! (published once per candidate), and the bytes a victim kept are not
//! counted as reclaimable. No job is cancelled twice.

use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use heapguard_alloc::Account;

use crate::cancel::CancelToken;
use crate::event::AccountBytes;
use crate::primitive::{AtomicBool, AtomicU64, AtomicUsize, Mutex};
use crate::sync::lock;

/// How many accounts an event or a refusal names.
pub(crate) const TOP_ACCOUNTS: usize = 3;

impl fmt::Debug for Jobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jobs")
            .field("registered", &self.len())
            .finish_non_exhaustive()
    }
}

/// The jobs registered with one breaker, and the other accounts it watches.
#[derive(Default)]
pub(crate) struct Jobs {
    next_id: AtomicU64,
    registered: AtomicUsize,
    /// Set while a cancel awaits its verdict (read without the lock).
    pending: AtomicBool,
    /// Set from a cancel until the level leaves `Cancel`.
    episode: AtomicBool,
    /// Set while kept accounts are listed (so ticks prune them).
    kept: AtomicBool,
    /// Admitted requests not started yet.
    waiting: AtomicUsize,
    registry: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    entries: Vec<Entry>,
    /// Accounts watched for the ledger and the top accounts, not cancellable.
    watched: Vec<(u64, Account)>,
    /// The job cancelled last, until its verdict.
    pending: Option<Pending>,
    /// Cancels made since the level last rose to `Cancel`.
    episode_cancels: u32,
    /// The candidate last withheld (published once).
    withheld: Option<u64>,
    /// Accounts of deregistered victims that freed too little: still
    /// watched (named, attributed) until they hold nothing.
    kept: Vec<Account>,
    /// Admitted requests that have not started yet.
    waiting: Vec<Waiting>,
    /// After waiting requests were shed: no job is cancelled before this.
    shed_until: Option<Duration>,
}

/// An admitted request that has not started: the first thing cancelled
/// past the cancel line.
#[cfg_attr(not(feature = "http"), allow(dead_code))] // only the http layer admits requests
struct Waiting {
    id: u64,
    account: Option<Account>,
    reserved: u64,
    token: CancelToken,
    started: Arc<StartFlag>,
}

/// Whether an admitted request has started; starting it once lowers the
/// layer's count of waiting requests.
#[derive(Debug, Default)]
pub(crate) struct StartFlag {
    started: AtomicBool,
    counter: Option<Arc<AtomicU64>>,
}

#[cfg_attr(not(feature = "http"), allow(dead_code))] // only the http layer admits requests
impl StartFlag {
    pub(crate) fn new(counter: Arc<AtomicU64>) -> Self {
        counter.fetch_add(1, Relaxed);
        Self {
            started: AtomicBool::new(false),
            counter: Some(counter),
        }
    }

    /// Marks it started (or ended); true the first time.
    pub(crate) fn start(&self) -> bool {
        let first = !self.started.swap(true, Relaxed);
        if first {
            if let Some(counter) = &self.counter {
                counter.fetch_sub(1, Relaxed);
            }
        }
        first
    }

    pub(crate) fn is_started(&self) -> bool {
        self.started.load(Relaxed)
    }
}

impl Waiting {
    /// What shedding it frees: its reservation and what its account holds
    /// (a buffered request body, say).
    fn bytes(&self) -> u64 {
        self.reserved
            .saturating_add(self.account.as_ref().map_or(0, Account::live_bytes))
    }
}

impl Registry {
    /// Every account the breaker knows, each once: registered jobs, watched
    /// accounts, a deregistered victim awaiting its verdict, and kept ones.
    fn accounts(&self) -> impl Iterator<Item = &Account> {
        let pending = self
            .pending
            .as_ref()
            .filter(|pending| !self.entries.iter().any(|entry| entry.id == pending.id))
            .map(|pending| &pending.account);
        self.entries
            .iter()
            .map(|entry| &entry.account)
            .chain(self.watched.iter().map(|(_, account)| account))
            .chain(pending)
            .chain(self.kept.iter())
            .chain(
                self.waiting
                    .iter()
                    .filter_map(|waiting| waiting.account.as_ref()),
            )
    }
}

struct Entry {
    id: u64,
    name: Arc<str>,
    account: Account,
    token: CancelToken,
}

struct Pending {
    id: u64,
    name: Arc<str>,
    account: Account,
    live_at_cancel: u64,
    total_at_cancel: u64,
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

/// What a cancel freed, judged once the victim freed at least half of what
/// it held and deregistered, or its grace period ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    pub(crate) name: Arc<str>,
    /// The account's live bytes at the cancel.
    pub(crate) live_at_cancel: u64,
    /// What the account still holds.
    pub(crate) remaining: u64,
    /// How far the reading (used + reserved) fell since the cancel.
    pub(crate) reading_freed: u64,
    /// Whether the job deregistered.
    pub(crate) deregistered: bool,
}

impl Checked {
    /// Freed enough: the account holds at most half of what it held.
    pub(crate) fn enough(&self) -> bool {
        self.remaining <= self.live_at_cancel / 2
    }

    pub(crate) fn freed(&self) -> u64 {
        self.live_at_cancel.saturating_sub(self.remaining)
    }
}

/// A candidate not cancelled: it could not bring the reading under the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Withheld {
    pub(crate) name: Arc<str>,
    pub(crate) live_bytes: u64,
    /// What a cancel would have to free to bring the reading under the line.
    pub(crate) needed: u64,
}

/// What one step of the cancel policy did.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    Cancelled(Cancelled),
    Checked(Checked),
    Withheld(Withheld),
    /// Observe-only: the job a cancel would have picked (once per job).
    WouldCancel {
        name: Arc<str>,
        live_bytes: u64,
    },
    /// Waiting requests cancelled, largest first: how many, what they held
    /// (reservations and account bytes), and their tokens (callbacks to run
    /// after the lock is let go).
    ShedWaiting {
        requests: usize,
        bytes: u64,
        tokens: Vec<CancelToken>,
    },
}

/// The reading a policy step sees.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen {
    pub(crate) now: Duration,
    pub(crate) grace: Duration,
    /// used + reserved.
    pub(crate) total: u64,
    pub(crate) cancel_line: u64,
    /// Whether the pressure level is `Cancel`.
    pub(crate) at_cancel_level: bool,
    /// Whether the breaker enforces; observing only, it names the job it
    /// would cancel and cancels nothing.
    pub(crate) enforce: bool,
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

    /// Watches an account that is not a job (requests, connections) for
    /// the ledger and the top accounts; returns its id for [`unwatch`](Self::unwatch).
    pub(crate) fn watch(&self, account: Account) -> u64 {
        let id = self.next_id.fetch_add(1, Relaxed);
        lock(&self.registry).watched.push((id, account));
        id
    }

    pub(crate) fn unwatch(&self, id: u64) {
        lock(&self.registry)
            .watched
            .retain(|(watched, _)| *watched != id);
    }

    /// The accounts holding the most live bytes, most first (jobs and
    /// watched accounts; at most [`TOP_ACCOUNTS`]).
    pub(crate) fn top_accounts(&self) -> Vec<AccountBytes> {
        let registry = lock(&self.registry);
        let mut accounts: Vec<AccountBytes> = registry
            .accounts()
            .map(|account| AccountBytes {
                name: account.name().to_owned(),
                live_bytes: account.live_bytes(),
            })
            .collect();
        drop(registry);
        accounts.sort_by_key(|account| std::cmp::Reverse(account.live_bytes));
        accounts.truncate(TOP_ACCOUNTS);
        accounts
    }

    /// The live bytes of every account the breaker knows (jobs, watched
    /// accounts, victims that kept memory); each registered account is
    /// counted once, so disjoint accounts sum exactly (see
    /// `MemoryBreaker::watch_account`).
    pub(crate) fn attributed_bytes(&self) -> u64 {
        lock(&self.registry)
            .accounts()
            .map(Account::live_bytes)
            .sum()
    }

    /// Adds an admitted request that has not started.
    #[cfg_attr(not(feature = "http"), allow(dead_code))] // only the http layer admits requests
    pub(crate) fn add_waiting(
        &self,
        account: Option<Account>,
        reserved: u64,
        token: CancelToken,
        started: Arc<StartFlag>,
    ) -> u64 {
        let id = self.next_id.fetch_add(1, Relaxed);
        lock(&self.registry).waiting.push(Waiting {
            id,
            account,
            reserved,
            token,
            started,
        });
        self.waiting.fetch_add(1, Relaxed);
        id
    }

    /// The request `id` started or ended: no longer waiting.
    #[cfg_attr(not(feature = "http"), allow(dead_code))] // only the http layer admits requests
    pub(crate) fn remove_waiting(&self, id: u64) {
        let mut registry = lock(&self.registry);
        if let Some(index) = registry.waiting.iter().position(|waiting| waiting.id == id) {
            registry.waiting.swap_remove(index);
            self.waiting.fetch_sub(1, Relaxed);
        }
    }

    /// A job registered with `token`: the waiting request holding the same
    /// token (its admission's) has started.
    pub(crate) fn start_by_token(&self, token: &CancelToken) {
        if self.waiting.load(Relaxed) == 0 {
            return;
        }
        let mut registry = lock(&self.registry);
        if let Some(index) = registry
            .waiting
            .iter()
            .position(|waiting| waiting.token.is(token))
        {
            let waiting = registry.waiting.swap_remove(index);
            waiting.started.start();
            self.waiting.fetch_sub(1, Relaxed);
        }
    }

    /// Admitted requests not started yet.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Relaxed)
    }

    /// What the waiting requests hold: their reservations and their
    /// accounts' live bytes.
    pub(crate) fn waiting_bytes(&self) -> u64 {
        if self.waiting() == 0 {
            return 0;
        }
        lock(&self.registry)
            .waiting
            .iter()
            .map(Waiting::bytes)
            .sum()
    }

    /// Holds the registry's lock (a test shows checks never take it).
    #[cfg(test)]
    pub(crate) fn hold_lock(&self) -> crate::primitive::MutexGuard<'_, impl Sized> {
        lock(&self.registry)
    }

    /// Jobs registered now.
    pub(crate) fn len(&self) -> usize {
        self.registered.load(Relaxed)
    }

    /// Whether a step could do anything: a verdict is pending, or jobs are
    /// registered at the cancel level, or an episode must end. Lock-free.
    pub(crate) fn has_work(&self, at_cancel_level: bool) -> bool {
        self.pending.load(Relaxed)
            || self.kept.load(Relaxed)
            || (at_cancel_level && (self.len() > 0 || self.waiting() > 0))
            || (!at_cancel_level && self.episode.load(Relaxed))
    }

    /// One step of the cancel policy (see the module docs).
    pub(crate) fn step(&self, seen: Seen) -> Option<Step> {
        let mut registry = lock(&self.registry);
        registry.kept.retain(|account| account.live_bytes() > 0);
        self.kept.store(!registry.kept.is_empty(), Relaxed);
        if let Some(pending) = &registry.pending {
            let registered = registry.entries.iter().any(|entry| entry.id == pending.id);
            let checked = Checked {
                name: pending.name.clone(),
                live_at_cancel: pending.live_at_cancel,
                remaining: pending.account.live_bytes(),
                reading_freed: pending.total_at_cancel.saturating_sub(seen.total),
                deregistered: !registered,
            };
            let settled = checked.deregistered && checked.enough();
            if seen.now < pending.until && !settled {
                return None;
            }
            if let Some(pending) = registry.pending.take() {
                if checked.deregistered && !checked.enough() {
                    registry.kept.push(pending.account);
                    self.kept.store(true, Relaxed);
                }
            }
            self.pending.store(false, Relaxed);
            return Some(Step::Checked(checked));
        }
        if !seen.at_cancel_level {
            registry.episode_cancels = 0;
            registry.withheld = None;
            registry.shed_until = None;
            self.episode.store(false, Relaxed);
            return None;
        }
        if seen.total < seen.cancel_line {
            return None;
        }
        let needed = seen.total - seen.cancel_line + 1;
        if !registry.waiting.is_empty() && seen.enforce {
            // Queued work first: waiting requests, largest first, until
            // what they hold brings the reading under the line.
            let mut waiting = std::mem::take(&mut registry.waiting);
            waiting.sort_by_key(|waiting| std::cmp::Reverse(waiting.bytes()));
            let (mut freed, mut shed) = (0u64, Vec::new());
            let mut kept = Vec::new();
            for request in waiting {
                if freed < needed && !request.started.is_started() && request.token.mark_cancelled()
                {
                    freed = freed.saturating_add(request.bytes());
                    shed.push(request.token);
                } else {
                    kept.push(request);
                }
            }
            self.waiting.store(kept.len(), Relaxed);
            registry.waiting = kept;
            if !shed.is_empty() {
                registry.shed_until = Some(seen.now.saturating_add(seen.grace));
                registry.episode_cancels += 1;
                self.episode.store(true, Relaxed);
                return Some(Step::ShedWaiting {
                    requests: shed.len(),
                    bytes: freed,
                    tokens: shed,
                });
            }
        }
        if registry.shed_until.is_some_and(|until| seen.now < until) {
            // The shed requests' memory goes as their futures are dropped:
            // give it the grace period before a job is cancelled.
            return None;
        }
        let (live_bytes, entry) = registry
            .entries
            .iter()
            .filter(|entry| !entry.token.is_cancelled())
            .map(|entry| (entry.account.live_bytes(), entry))
            // The oldest registration wins a tie: ids only grow.
            .max_by(|(a, x), (b, y)| a.cmp(b).then(y.id.cmp(&x.id)))?;
        if registry.episode_cancels > 0 && live_bytes < needed {
            let id = entry.id;
            let withheld = Withheld {
                name: entry.name.clone(),
                live_bytes,
                needed,
            };
            return (registry.withheld.replace(id) != Some(id)).then_some(Step::Withheld(withheld));
        }
        if !seen.enforce {
            let id = entry.id;
            let name = entry.name.clone();
            return (registry.withheld.replace(id) != Some(id))
                .then_some(Step::WouldCancel { name, live_bytes });
        }
        if !entry.token.mark_cancelled() {
            // Its owner cancelled it a moment ago: it is ending already.
            return None;
        }
        let cancelled = Cancelled {
            name: entry.name.clone(),
            live_bytes,
            token: entry.token.clone(),
        };
        let pending = Pending {
            id: entry.id,
            name: entry.name.clone(),
            account: entry.account.clone(),
            live_at_cancel: live_bytes,
            total_at_cancel: seen.total,
            until: seen.now.saturating_add(seen.grace),
        };
        registry.pending = Some(pending);
        registry.episode_cancels += 1;
        self.pending.store(true, Relaxed);
        self.episode.store(true, Relaxed);
        Some(Step::Cancelled(cancelled))
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

/// An account a breaker watches, from
/// [`MemoryBreaker::watch_account`](crate::MemoryBreaker::watch_account);
/// dropping it stops the watch.
#[must_use = "the account is no longer watched once this is dropped"]
pub struct WatchedAccount {
    pub(crate) jobs: Arc<Jobs>,
    pub(crate) id: u64,
}

impl Drop for WatchedAccount {
    fn drop(&mut self) {
        self.jobs.unwatch(self.id);
    }
}

impl fmt::Debug for WatchedAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchedAccount")
            .field("id", &self.id)
            .finish()
    }
}

/// An admitted request registered as waiting, from
/// `MemoryBreaker::admit_waiting`. [`start`](Self::start) it, or drop it
/// (the request ended), and it is no longer waiting.
#[cfg_attr(not(feature = "http"), allow(dead_code))] // only the http layer admits requests
#[derive(Debug)]
pub(crate) struct WaitingTicket {
    pub(crate) jobs: Arc<Jobs>,
    pub(crate) id: u64,
    pub(crate) started: Arc<StartFlag>,
}

#[cfg_attr(not(feature = "http"), allow(dead_code))] // only the http layer admits requests
impl WaitingTicket {
    pub(crate) fn start(&self) {
        if self.started.start() {
            self.jobs.remove_waiting(self.id);
        }
    }

    pub(crate) fn is_started(&self) -> bool {
        self.started.is_started()
    }
}

#[cfg_attr(not(feature = "http"), allow(dead_code))] // only the http layer admits requests
impl Drop for WaitingTicket {
    fn drop(&mut self) {
        self.start();
    }
}
