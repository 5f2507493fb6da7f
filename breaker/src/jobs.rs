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
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::{Arc, OnceLock, Weak};
use std::task::Waker;
use std::time::Duration;

use heapguard_alloc::Account;

use crate::cancel::CancelToken;
use crate::event::AccountBytes;
use crate::primitive::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Mutex};
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
    /// Admitted requests registered as waiting, in the order they came.
    /// A request that starts or ends leaves its entry here (starting takes
    /// no lock); entries of requests no longer waiting are pruned when a
    /// request is added and they are at least half of the list, and are
    /// skipped by every reader.
    waiting: Vec<Weak<WaitingRequest>>,
    /// After waiting requests were shed: no job is cancelled before this.
    shed_until: Option<Duration>,
}

impl Registry {
    /// Every account the breaker knows, each once: registered jobs, watched
    /// accounts, a deregistered victim awaiting its verdict, kept ones, and
    /// those of requests still waiting.
    fn for_each_account(&self, mut visit: impl FnMut(&Account)) {
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
            .for_each(&mut visit);
        for request in self.waiting_requests() {
            if let Some(account) = &request.account {
                visit(account);
            }
        }
    }

    /// The registered requests still waiting (not started, shed or ended).
    fn waiting_requests(&self) -> impl Iterator<Item = Arc<WaitingRequest>> + '_ {
        self.waiting
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|request| request.is_waiting())
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
    /// (reservations and account bytes), and the requests whose tokens were
    /// cancelled (their response futures to wake and their tokens'
    /// callbacks to run, after the lock is let go).
    ShedWaiting {
        requests: usize,
        bytes: u64,
        shed: Vec<Arc<WaitingRequest>>,
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
        let mut accounts: Vec<AccountBytes> = Vec::new();
        registry.for_each_account(|account| {
            accounts.push(AccountBytes {
                name: account.name().to_owned(),
                live_bytes: account.live_bytes(),
            });
        });
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
        let mut sum = 0u64;
        lock(&self.registry).for_each_account(|account| sum += account.live_bytes());
        sum
    }

    /// Adds an admitted request that has not started, holding `reserved`
    /// bytes and charged to `account`; `counter` is the layer's count of
    /// waiting requests, raised here and lowered once when it stops waiting.
    /// One allocation (the shared request) and one uncontended lock; the
    /// request's token is made only if someone asks for it.
    #[cfg_attr(not(feature = "http"), allow(dead_code))] // only the http layer admits requests
    pub(crate) fn add_waiting(
        self: &Arc<Self>,
        account: Option<Account>,
        reserved: u64,
        counter: Arc<AtomicU64>,
    ) -> Arc<WaitingRequest> {
        counter.fetch_add(1, Relaxed);
        self.waiting.fetch_add(1, Relaxed);
        let request = Arc::new(WaitingRequest {
            jobs: self.clone(),
            state: AtomicU8::new(WAITING),
            counter,
            account,
            reserved,
            token: OnceLock::new(),
            waker: Mutex::new(None),
        });
        let mut registry = lock(&self.registry);
        // Entries of requests that stopped waiting go once they are at least
        // half of the list: each prune is paid for by as many additions.
        let waiting = self.waiting.load(Relaxed);
        if registry.waiting.len() >= 2 * waiting + PRUNE_SLACK {
            registry
                .waiting
                .retain(|entry| entry.upgrade().is_some_and(|request| request.is_waiting()));
        }
        registry.waiting.push(Arc::downgrade(&request));
        request
    }

    /// A job registered with `token`: the waiting request holding the same
    /// token (its admission's) has started.
    pub(crate) fn start_by_token(&self, token: &CancelToken) {
        if self.waiting.load(Relaxed) == 0 {
            return;
        }
        let registry = lock(&self.registry);
        let request = registry.waiting_requests().find(|request| {
            request
                .token
                .get()
                .is_some_and(|request_token| request_token.is(token))
        });
        drop(registry);
        if let Some(request) = request {
            request.start();
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
            .waiting_requests()
            .map(|request| request.bytes())
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
        if self.waiting() > 0 && seen.enforce {
            // Queued work first: waiting requests, largest first, until
            // what they hold brings the reading under the line.
            let mut waiting: Vec<(u64, Arc<WaitingRequest>)> = registry
                .waiting_requests()
                .map(|request| (request.bytes(), request))
                .collect();
            waiting.sort_by_key(|(bytes, _)| std::cmp::Reverse(*bytes));
            let (mut freed, mut shed) = (0u64, Vec::new());
            let mut kept = Vec::with_capacity(waiting.len());
            for (bytes, request) in waiting {
                if freed < needed && request.is_waiting() && request.token().mark_cancelled() {
                    if request.shed() {
                        freed = freed.saturating_add(bytes);
                    }
                    // Started a moment ago, its token is cancelled all the
                    // same: its callbacks run.
                    shed.push(request);
                } else if request.is_waiting() {
                    kept.push(Arc::downgrade(&request));
                }
            }
            registry.waiting = kept;
            let requests = shed.iter().filter(|request| request.was_shed()).count();
            if requests > 0 {
                registry.shed_until = Some(seen.now.saturating_add(seen.grace));
                registry.episode_cancels += 1;
                self.episode.store(true, Relaxed);
                return Some(Step::ShedWaiting {
                    requests,
                    bytes: freed,
                    shed,
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

/// Entries of requests no longer waiting the registry tolerates beyond
/// twice the waiting ones before it prunes them.
const PRUNE_SLACK: usize = 8;

/// Waiting: admitted, not started.
const WAITING: u8 = 0;
/// Started by its handler, or ended (its last handle dropped).
const STARTED: u8 = 1;
/// Cancelled by the breaker while it waited.
const SHED: u8 = 2;

/// An admitted request registered as waiting, from
/// `MemoryBreaker::admit_waiting` (the http layer's `RequestAdmission`
/// shares it): the first thing cancelled past the cancel line. It stops
/// waiting when it [starts](Self::start), is shed, or its last handle is
/// dropped (the request ended), whichever is first; each lowers the
/// breaker's and the layer's counts of waiting requests once.
#[cfg_attr(not(feature = "http"), allow(dead_code))] // only the http layer admits requests
pub(crate) struct WaitingRequest {
    jobs: Arc<Jobs>,
    /// `WAITING`, then `STARTED` or `SHED` (set once, by a compare-and-swap).
    state: AtomicU8,
    /// The layer's count of waiting requests.
    counter: Arc<AtomicU64>,
    account: Option<Account>,
    reserved: u64,
    /// Made when the handler or the breaker first asks for it.
    token: OnceLock<CancelToken>,
    /// The response future's waker while the request waits, woken by a shed.
    waker: Mutex<Option<Waker>>,
}

#[cfg_attr(not(feature = "http"), allow(dead_code))] // only the http layer admits requests
impl WaitingRequest {
    /// The request's token (made on first use): cancelled when the breaker
    /// sheds the request while it waits.
    pub(crate) fn token(&self) -> &CancelToken {
        self.token.get_or_init(CancelToken::new)
    }

    /// Marks it started (or ended); a request shed first stays shed.
    pub(crate) fn start(&self) {
        self.leave(STARTED);
    }

    /// Whether its handler started it (or it ended).
    pub(crate) fn is_started(&self) -> bool {
        self.state.load(Acquire) == STARTED
    }

    fn is_waiting(&self) -> bool {
        self.state.load(Acquire) == WAITING
    }

    /// Whether the breaker shed it (the last step of a shed, under the
    /// registry's lock, after its token was cancelled).
    fn was_shed(&self) -> bool {
        self.state.load(Acquire) == SHED
    }

    /// Shed while waiting: the breaker shed it, or its token was cancelled
    /// before it started.
    pub(crate) fn is_shed(&self) -> bool {
        match self.state.load(Acquire) {
            SHED => true,
            WAITING => self.token.get().is_some_and(CancelToken::is_cancelled),
            _ => false,
        }
    }

    /// The breaker sheds it: true if it was still waiting.
    fn shed(&self) -> bool {
        self.leave(SHED)
    }

    /// Leaves `WAITING` for `to`; the first to leave lowers the counts.
    fn leave(&self, to: u8) -> bool {
        let left = self
            .state
            .compare_exchange(WAITING, to, AcqRel, Acquire)
            .is_ok();
        if left {
            self.jobs.waiting.fetch_sub(1, Relaxed);
            self.counter.fetch_sub(1, Relaxed);
        }
        left
    }

    /// What shedding it frees: its reservation and what its account holds
    /// (a buffered request body, say).
    fn bytes(&self) -> u64 {
        self.reserved
            .saturating_add(self.account.as_ref().map_or(0, Account::live_bytes))
    }

    /// Remembers the waker to wake when the request is shed.
    pub(crate) fn wake_on_shed(&self, waker: &Waker) {
        let mut slot = lock(&self.waker);
        if !slot.as_ref().is_some_and(|old| old.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    /// After a shed, with the registry's lock let go: wakes the response
    /// future and runs the token's callbacks; the first callback's panic
    /// message.
    pub(crate) fn run_cancel(&self) -> Option<String> {
        if let Some(waker) = lock(&self.waker).take() {
            waker.wake();
        }
        self.token.get().and_then(CancelToken::run_callbacks)
    }
}

impl Drop for WaitingRequest {
    fn drop(&mut self) {
        // Its last handle is gone: the request ended.
        self.leave(STARTED);
    }
}

impl fmt::Debug for WaitingRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitingRequest")
            .field("started", &self.is_started())
            .field("shed", &self.is_shed())
            .field("reserved", &self.reserved)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod waiting_tests {
    use super::*;
    use std::sync::atomic::AtomicBool as StdAtomicBool;
    use std::task::Wake;

    fn registry() -> (Arc<Jobs>, Arc<AtomicU64>) {
        (Arc::new(Jobs::default()), Arc::new(AtomicU64::new(0)))
    }

    /// The breaker's count and the layer's.
    fn counts(jobs: &Jobs, counter: &AtomicU64) -> (usize, u64) {
        (jobs.waiting(), counter.load(Relaxed))
    }

    #[test]
    fn a_request_stops_waiting_once_when_it_starts_or_its_last_handle_goes() {
        let (jobs, counter) = registry();
        let first = jobs.add_waiting(None, 10, counter.clone());
        let second = jobs.add_waiting(None, 20, counter.clone());
        assert_eq!(counts(&jobs, &counter), (2, 2));
        assert_eq!(jobs.waiting_bytes(), 30);
        first.start();
        first.start();
        assert!(first.is_started() && !first.is_shed());
        assert_eq!(counts(&jobs, &counter), (1, 1));
        assert_eq!(jobs.waiting_bytes(), 20);
        drop(first);
        assert_eq!(
            counts(&jobs, &counter),
            (1, 1),
            "started before: not counted again"
        );
        let handle = second.clone();
        drop(second);
        assert_eq!(counts(&jobs, &counter), (1, 1), "a handle is left");
        drop(handle);
        assert_eq!(counts(&jobs, &counter), (0, 0));
        assert_eq!(jobs.waiting_bytes(), 0);
    }

    #[test]
    fn entries_of_requests_no_longer_waiting_are_pruned() {
        let (jobs, counter) = registry();
        let held = jobs.add_waiting(None, 1, counter.clone());
        for _ in 0..1000 {
            drop(jobs.add_waiting(None, 1, counter.clone()));
        }
        let entries = lock(&jobs.registry).waiting.len();
        // Pruned once they reach twice the waiting ones (the held one and
        // the one being added) plus the slack.
        assert!(
            entries <= 2 * 2 + PRUNE_SLACK,
            "{entries} entries for 1 waiting"
        );
        assert_eq!(counts(&jobs, &counter), (1, 1));
        assert!(!held.is_started());
    }

    struct Woken(StdAtomicBool);

    impl Wake for Woken {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Relaxed);
        }
    }

    #[test]
    fn a_shed_cancels_a_token_made_then_and_wakes_the_response_after_the_lock() {
        let (jobs, counter) = registry();
        let large = jobs.add_waiting(None, 100, counter.clone());
        let small = jobs.add_waiting(None, 10, counter.clone());
        let woken = Arc::new(Woken(StdAtomicBool::new(false)));
        large.wake_on_shed(&Waker::from(woken.clone()));
        let seen = Seen {
            now: Duration::ZERO,
            grace: Duration::from_secs(1),
            total: 1050,
            cancel_line: 1000,
            at_cancel_level: true,
            enforce: true,
        };
        // 51 bytes must go: the largest request alone frees them.
        let Some(Step::ShedWaiting {
            requests,
            bytes,
            shed,
        }) = jobs.step(seen)
        else {
            panic!("the waiting requests are shed first");
        };
        assert_eq!((requests, bytes, shed.len()), (1, 100, 1));
        assert!(large.is_shed() && !large.is_started() && large.token().is_cancelled());
        assert!(!small.is_shed());
        assert!(
            small.token.get().is_none(),
            "no token made for a request not shed"
        );
        assert_eq!(counts(&jobs, &counter), (1, 1));
        assert!(!woken.0.load(Relaxed), "woken only once the lock is let go");
        for request in shed {
            assert_eq!(request.run_cancel(), None);
        }
        assert!(woken.0.load(Relaxed));
        large.start();
        assert!(large.is_shed(), "a shed request stays shed");
        drop(large);
        assert_eq!(counts(&jobs, &counter), (1, 1));
    }

    #[test]
    fn a_job_registered_with_the_token_starts_the_request() {
        let (jobs, counter) = registry();
        let request = jobs.add_waiting(None, 1, counter.clone());
        jobs.start_by_token(&CancelToken::new());
        assert_eq!(
            counts(&jobs, &counter),
            (1, 1),
            "another token starts nothing"
        );
        let token = request.token().clone();
        jobs.start_by_token(&token);
        assert!(request.is_started());
        assert_eq!(counts(&jobs, &counter), (0, 0));
    }
}
