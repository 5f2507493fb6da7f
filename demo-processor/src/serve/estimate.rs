//! How much memory one request's job needs: what the service reserves in
//! its breaker before it runs the job (estimate, then break).
//!
//! The figures come from the jobs' own accounts (`demo-processor run
//! --users 1 --json`, the user's `peak_bytes`): a naive user peaked at
//! 3.2 KB per contact at 1,000 contacts, 3.8 KB at 5,000 and 3.5 KB at
//! 20,000 (its records, every candidate and the sort's buffer); a streaming
//! user at 0.36 MB at 1,000 contacts and 0.67 MB at 5,000 and 20,000
//! (bounded by the channel, the 256 KiB company cache and the top-K). The
//! estimates lie above every one of them; the service tests check each
//! answered request's peak against its estimate.

use crate::config::Mode;

/// A naive request's fixed part: profile, result, buffers' slack.
pub const NAIVE_BASE_BYTES: u64 = 1 << 20;
/// A naive request's bytes per contact.
pub const NAIVE_BYTES_PER_CONTACT: u64 = 4096;
/// A streaming request's fixed part: channel, company cache, top-K.
pub const STREAMING_BASE_BYTES: u64 = 2 << 20;
/// A streaming request's bytes per contact (what grows with the count:
/// the cache's and the channel's share is bounded).
pub const STREAMING_BYTES_PER_CONTACT: u64 = 16;

/// The bytes one user's job with `contacts` contacts is expected to need.
///
/// ```
/// use demo_processor::serve::estimate::estimate_bytes;
/// use demo_processor::Mode;
/// assert_eq!(estimate_bytes(Mode::Naive, 1_000), (1 << 20) + 4_096_000);
/// assert_eq!(estimate_bytes(Mode::Streaming, 1_000), (2 << 20) + 16_000);
/// ```
pub fn estimate_bytes(mode: Mode, contacts: u32) -> u64 {
    let contacts = u64::from(contacts);
    match mode {
        Mode::Naive => NAIVE_BASE_BYTES + NAIVE_BYTES_PER_CONTACT * contacts,
        Mode::Streaming => STREAMING_BASE_BYTES + STREAMING_BYTES_PER_CONTACT * contacts,
    }
}
