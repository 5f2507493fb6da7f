use heapguard_alloc::Account;

use super::memory_source::MemorySource;
use crate::error::SourceError;

/// Reads one memory [`Account`]'s live bytes: the source of a per-job
/// breaker, so one job (one user's processing, one request) can have its own
/// limit under the process budget.
///
/// Its slack is [`heapguard_alloc::live_bytes_error_bound`]: each thread
/// inside the account publishes its charges in batches of at most
/// [`heapguard_alloc::FLUSH_THRESHOLD`] bytes.
///
/// ```
/// # #[global_allocator]
/// # static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> =
/// #     heapguard_alloc::CountingAlloc::new(std::alloc::System);
/// use heapguard_alloc::Account;
/// use heapguard_reading::{AccountSource, MemorySource};
///
/// let job = Account::new("user-7");
/// let source = AccountSource::new(job.clone())?;
/// let rows = job.bind(|| vec![0u8; 1 << 20])();
/// assert_eq!(source.used_bytes()?, 1 << 20);
/// # drop(rows);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct AccountSource {
    account: Account,
}

impl AccountSource {
    /// A source over `account`; fails with
    /// [`SourceError::CountingAllocNotInstalled`] when `CountingAlloc` is not
    /// the global allocator (accounts are charged by it).
    pub fn new(account: Account) -> Result<Self, SourceError> {
        if heapguard_alloc::is_active() {
            Ok(Self { account })
        } else {
            Err(SourceError::CountingAllocNotInstalled)
        }
    }

    /// The account read.
    pub fn account(&self) -> &Account {
        &self.account
    }
}

impl MemorySource for AccountSource {
    #[inline]
    fn used_bytes(&self) -> Result<u64, SourceError> {
        Ok(self.account.live_bytes())
    }

    fn slack_bytes(&self) -> u64 {
        heapguard_alloc::live_bytes_error_bound()
    }

    fn name(&self) -> &'static str {
        "account"
    }
}
