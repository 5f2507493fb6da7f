//! Waiting, bounded, for what another thread does.

use std::time::{Duration, Instant};

/// How long a test waits for another thread before it fails: far longer
/// than any refresh period, so a wait that ends is the other thread's
/// doing, and one that times out fails the test.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// How often a waiting test looks again.
const POLL: Duration = Duration::from_millis(2);

/// Polls `done` until it holds; fails the test naming `what` after
/// [`PATIENCE`].
pub fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < PATIENCE,
            "{what}: not within {PATIENCE:?}"
        );
        std::thread::sleep(POLL);
    }
}

/// [`eventually`] inside a tokio runtime: sleeps on tokio's timer, so the
/// runtime's other tasks run while it waits.
pub async fn eventually_async(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < PATIENCE,
            "{what}: not within {PATIENCE:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}
