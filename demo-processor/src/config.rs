//! What a job runs: workload size, mode, seed and options, validated.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The most contacts per user a job accepts (a naive user this size holds ~1.2 GB).
pub const MAX_CONTACTS_PER_USER: u32 = 1_000_000;

/// The most users a job accepts.
pub const MAX_USERS: u32 = 1_000_000;

/// Users per batch unless told otherwise (the Node service's batch of 50).
pub const DEFAULT_BATCH_SIZE: u32 = 50;

/// Contacts across all users when the user count is not given: keeps a naive
/// batch at 100,000 contacts per user near 1 GB at its peak.
pub const DEFAULT_TOTAL_CONTACTS: u32 = 400_000;

/// How the job generates suggestions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Load the batch in full, build every candidate, sort, truncate.
    Naive,
    /// Stream projected contacts through a bounded channel into a top-K.
    Streaming,
}

impl Mode {
    /// Both modes, naive first.
    pub const ALL: [Mode; 2] = [Mode::Naive, Mode::Streaming];

    /// The mode's name as the CLI and the report spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Naive => "naive",
            Mode::Streaming => "streaming",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A configuration a job refuses, with the numbers at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Contacts per user must be between 1 and [`MAX_CONTACTS_PER_USER`].
    #[error("contacts per user must be between 1 and {max}, got {got}")]
    Contacts {
        /// What was asked for.
        got: u32,
        /// The most accepted.
        max: u32,
    },
    /// Users must be between 1 and [`MAX_USERS`].
    #[error("users must be between 1 and {max}, got {got}")]
    Users {
        /// What was asked for.
        got: u32,
        /// The most accepted.
        max: u32,
    },
    /// A batch holds at least one user.
    #[error("batch size must be at least 1, got 0")]
    ZeroBatchSize,
    /// The streaming pipeline needs chunks of at least one contact.
    #[error("chunk size must be at least 1, got 0")]
    ZeroChunkSize,
}

/// A validated job configuration. Build with [`JobConfig::new`], adjust with
/// the `with_*` methods.
///
/// ```
/// use demo_processor::{JobConfig, Mode};
/// let config = JobConfig::new(1_300, 4)?.with_mode(Mode::Naive).with_seed(9);
/// assert_eq!(config.batch_size(), 50);
/// assert!(JobConfig::new(0, 4).is_err());
/// # Ok::<(), demo_processor::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobConfig {
    contacts_per_user: u32,
    users: u32,
    batch_size: u32,
    mode: Mode,
    seed: u64,
    inject_leak: bool,
    purge: bool,
    chunk_size: usize,
    channel_chunks: usize,
    cache_bytes: usize,
    timeline_interval: Option<Duration>,
}

impl JobConfig {
    /// `users` users with `contacts_per_user` contacts each; streaming mode,
    /// seed 42, batches of 50, no leak, no purge, no timeline.
    pub fn new(contacts_per_user: u32, users: u32) -> Result<Self, ConfigError> {
        if contacts_per_user == 0 || contacts_per_user > MAX_CONTACTS_PER_USER {
            return Err(ConfigError::Contacts {
                got: contacts_per_user,
                max: MAX_CONTACTS_PER_USER,
            });
        }
        if users == 0 || users > MAX_USERS {
            return Err(ConfigError::Users {
                got: users,
                max: MAX_USERS,
            });
        }
        Ok(Self {
            contacts_per_user,
            users,
            batch_size: DEFAULT_BATCH_SIZE,
            mode: Mode::Streaming,
            seed: 42,
            inject_leak: false,
            purge: false,
            chunk_size: 1_024,
            channel_chunks: 4,
            cache_bytes: 256 * 1024,
            timeline_interval: None,
        })
    }

    /// The user count used when none is given: [`DEFAULT_TOTAL_CONTACTS`]
    /// spread over users, between 1 and 100 users (100 at 1,300 contacts,
    /// 40 at 10,000, 4 at 100,000).
    pub fn default_users(contacts_per_user: u32) -> u32 {
        (DEFAULT_TOTAL_CONTACTS / contacts_per_user.max(1)).clamp(1, 100)
    }

    /// Users per batch (at least 1).
    pub fn with_batch_size(mut self, batch_size: u32) -> Result<Self, ConfigError> {
        if batch_size == 0 {
            return Err(ConfigError::ZeroBatchSize);
        }
        self.batch_size = batch_size;
        Ok(self)
    }

    /// Contacts per streamed chunk (at least 1; default 1,024).
    pub fn with_chunk_size(mut self, chunk_size: usize) -> Result<Self, ConfigError> {
        if chunk_size == 0 {
            return Err(ConfigError::ZeroChunkSize);
        }
        self.chunk_size = chunk_size;
        Ok(self)
    }

    /// The mode.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The seed all data derives from.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether to add the never-evicting cache (a real leak).
    pub fn with_inject_leak(mut self, inject_leak: bool) -> Self {
        self.inject_leak = inject_leak;
        self
    }

    /// Whether to purge jemalloc after each batch and record RSS around it.
    pub fn with_purge(mut self, purge: bool) -> Self {
        self.purge = purge;
        self
    }

    /// Byte bound of streaming's company cache (default 256 KiB).
    pub fn with_cache_bytes(mut self, cache_bytes: usize) -> Self {
        self.cache_bytes = cache_bytes;
        self
    }

    /// Record live bytes every `interval` for the report's timeline (off by
    /// default; needs the counting allocator installed to record anything).
    pub fn with_timeline(mut self, interval: Option<Duration>) -> Self {
        self.timeline_interval = interval.filter(|i| !i.is_zero());
        self
    }

    /// Contacts per user.
    pub fn contacts_per_user(&self) -> u32 {
        self.contacts_per_user
    }

    /// Users.
    pub fn users(&self) -> u32 {
        self.users
    }

    /// Users per batch.
    pub fn batch_size(&self) -> u32 {
        self.batch_size
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Whether the leak is injected.
    pub fn inject_leak(&self) -> bool {
        self.inject_leak
    }

    /// Whether jemalloc is purged after each batch.
    pub fn purge(&self) -> bool {
        self.purge
    }

    /// Contacts per streamed chunk.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// Chunks the streaming channel holds.
    pub fn channel_chunks(&self) -> usize {
        self.channel_chunks
    }

    /// Byte bound of the company cache.
    pub fn cache_bytes(&self) -> usize {
        self.cache_bytes
    }

    /// The timeline's sampling interval, if recording.
    pub fn timeline_interval(&self) -> Option<Duration> {
        self.timeline_interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_sizes_with_the_numbers() {
        assert_eq!(
            JobConfig::new(0, 1).unwrap_err(),
            ConfigError::Contacts {
                got: 0,
                max: MAX_CONTACTS_PER_USER
            }
        );
        assert_eq!(
            JobConfig::new(10, 0).unwrap_err(),
            ConfigError::Users {
                got: 0,
                max: MAX_USERS
            }
        );
        let config = JobConfig::new(10, 1).unwrap();
        assert_eq!(
            config.clone().with_batch_size(0).unwrap_err(),
            ConfigError::ZeroBatchSize
        );
        assert_eq!(
            config.with_chunk_size(0).unwrap_err(),
            ConfigError::ZeroChunkSize
        );
        assert!(ConfigError::ZeroBatchSize
            .to_string()
            .contains("batch size"));
    }

    #[test]
    fn default_users_keep_the_total_bounded() {
        assert_eq!(JobConfig::default_users(1_300), 100);
        assert_eq!(JobConfig::default_users(10_000), 40);
        assert_eq!(JobConfig::default_users(100_000), 4);
        assert_eq!(JobConfig::default_users(1_000_000), 1);
    }
}
