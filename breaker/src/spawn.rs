//! Spawned work stays in its account (feature `tokio`).
//!
//! **A plain `tokio::spawn` or `tokio::task::spawn_blocking` is charged to
//! no account.** An account is entered per thread and per poll
//! ([`Account::scope`] enters it around each poll of one future); a task
//! spawned from inside it is a new future, polled on whichever worker picks
//! it up, outside the account. Its memory then shows in the process's live
//! bytes and in no job's account, so cancel-the-largest can pick the wrong
//! job, and [`MemoryBreaker::ledger`](crate::MemoryBreaker::ledger) reports
//! it as unattributed.
//!
//! The functions here spawn in the account current on the calling thread
//! ([`Account::current`]), so the task's allocations are charged to the job
//! that spawned it, and a cancel's check sees what the task still holds:
//!
//! ```
//! # #[global_allocator]
//! # static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> =
//! #     heapguard_alloc::CountingAlloc::new(std::alloc::System);
//! use heapguard_alloc::Account;
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let job = Account::new("job-7");
//! let bytes = runtime.block_on(job.scope(async {
//!     // Inside the job's account: the task is charged to it too.
//!     heapguard_breaker::spawn::spawn(async { vec![0u8; 4096] }).await
//! }))?;
//! assert!(job.live_bytes() >= 4096);
//! # drop(bytes);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::future::Future;

use heapguard_alloc::Account;
use tokio::task::JoinHandle;

/// Spawns `future` on the current tokio runtime inside the account current
/// on this thread (a plain `tokio::spawn` when none is). Panics as
/// `tokio::spawn` does outside a runtime.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match Account::current() {
        Some(account) => spawn_in(&account, future),
        None => tokio::spawn(future),
    }
}

/// Spawns `future` on the current tokio runtime inside `account`: every
/// poll runs in it, on whichever worker polls.
pub fn spawn_in<F>(account: &Account, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(account.scope(future))
}

/// Runs `work` on tokio's blocking pool inside the account current on this
/// thread (a plain `spawn_blocking` when none is).
pub fn spawn_blocking<F, R>(work: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match Account::current() {
        Some(account) => spawn_blocking_in(&account, work),
        None => tokio::task::spawn_blocking(work),
    }
}

/// Runs `work` on tokio's blocking pool inside `account`.
pub fn spawn_blocking_in<F, R>(account: &Account, work: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    tokio::task::spawn_blocking(account.bind(work))
}
