//! One user's job for one request: the demo's naive or streaming code for a
//! single user, stopped between chunks when the request is cancelled.

use std::time::Instant;

use heapguard_breaker::CancelToken;

use serde::{Deserialize, Serialize};

use crate::company::CompanyCache;
use crate::config::{JobConfig, Mode};
use crate::generate::user_profile;
use crate::scoring::Suggestion;
use crate::stop::Refused;
use crate::streaming::Pipeline;
use crate::{naive, streaming};

/// The answer to `POST /suggestions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestionsResponse {
    /// The user whose suggestions these are.
    pub user_id: u32,
    /// The mode the job ran in.
    pub mode: Mode,
    /// Contacts the user has.
    pub contacts: u32,
    /// Seed of the generated data.
    pub seed: u64,
    /// The user's best suggestions, best first (at most 50).
    pub suggestions: Vec<Suggestion>,
    /// The memory the request used.
    pub memory: RequestMemory,
    /// Time the job took, in milliseconds.
    pub elapsed_ms: u64,
}

/// What the request's memory account was charged while the job ran (its
/// threads included), and what the breaker reserved for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestMemory {
    /// The bytes reserved in the breaker for the request (its estimate).
    pub estimate_bytes: u64,
    /// The highest live bytes of the request's account.
    pub peak_bytes: u64,
    /// Bytes allocated in all.
    pub allocated_bytes: u64,
    /// Allocator calls.
    pub allocations: u64,
}

/// Set when the request is gone (its future dropped) or the breaker
/// cancelled the job past its cancel line: the job stops at its next chunk.
/// One [`CancelToken`], so the job registered with the breaker and the
/// request's own cancellation are the same flag.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cancellation {
    token: CancelToken,
}

impl Cancellation {
    /// A cancellation through `token` (the request's admission token, so
    /// the job registered with it starts the request: see
    /// `heapguard_breaker::service::RequestAdmission`).
    pub(crate) fn with_token(token: CancelToken) -> Self {
        Self { token }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The token the breaker cancels the job through.
    pub(crate) fn token(&self) -> &CancelToken {
        &self.token
    }

    /// Cancels when dropped, unless disarmed: held by the request's future.
    pub(crate) fn guard(&self) -> CancelOnDrop {
        CancelOnDrop {
            cancellation: Some(self.clone()),
        }
    }
}

/// Cancels the job when the request's future is dropped before it finished.
pub(crate) struct CancelOnDrop {
    cancellation: Option<Cancellation>,
}

impl CancelOnDrop {
    /// The job finished: nothing to cancel.
    pub(crate) fn disarm(mut self) {
        self.cancellation = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(cancellation) = &self.cancellation {
            cancellation.token.cancel();
        }
    }
}

/// The job was cancelled before it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cancelled;

/// Runs one user's job on this thread, checking `cancellation` between
/// chunks. Returns the suggestions and the time it took.
pub(crate) fn suggest_one(
    config: &JobConfig,
    user_id: u32,
    cancellation: &Cancellation,
) -> Result<(Vec<Suggestion>, u64), Cancelled> {
    let started = Instant::now();
    let seed = config.seed();
    let profile = user_profile(seed, user_id);
    let mut between_chunks = || {
        if cancellation.is_cancelled() {
            Err(Refused)
        } else {
            Ok(())
        }
    };
    let suggestions = match config.mode() {
        Mode::Naive => {
            let contacts = naive::load_contacts(
                seed,
                user_id,
                config.contacts_per_user(),
                config.chunk_size(),
                &mut between_chunks,
            )
            .map_err(|Refused| Cancelled)?;
            naive::suggest(
                seed,
                &profile,
                &contacts,
                config.chunk_size(),
                &mut between_chunks,
                None,
            )
            .map_err(|Refused| Cancelled)?
        }
        Mode::Streaming => {
            let mut cache = CompanyCache::new(config.cache_bytes());
            let pipeline = Pipeline {
                chunk_size: config.chunk_size(),
                channel_chunks: config.channel_chunks(),
            };
            streaming::suggest(
                seed,
                &profile,
                config.contacts_per_user(),
                pipeline,
                &mut cache,
                &mut between_chunks,
                None,
            )
            .map_err(|Refused| Cancelled)?
        }
    };
    Ok((suggestions, started.elapsed().as_millis() as u64))
}
