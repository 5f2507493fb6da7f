//! What a profile covers: when sampling was switched on and the bytes live
//! then, against the bytes live when the profile is taken.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::heap::Coverage;

/// Records when sampling was switched on and the live bytes then.
pub(crate) fn note_activation() {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let live = if crate::is_active() {
        crate::stats().live_bytes
    } else {
        0
    };
    ACTIVATION.live_bytes.store(live, Relaxed);
    ACTIVATION.since_unix_ns.store(since, Relaxed);
}

/// When sampling was last switched on by [`activate`](super::activate), and the live bytes
/// then (`since_unix_ns` 0: never, so on since start-up if at all).
struct Activation {
    since_unix_ns: AtomicU64,
    live_bytes: AtomicU64,
}

static ACTIVATION: Activation = Activation {
    since_unix_ns: AtomicU64::new(0),
    live_bytes: AtomicU64::new(0),
};

/// The coverage of a profile of `covered_bytes` taken now.
pub(crate) fn coverage_now(covered_bytes: f64) -> Option<Coverage> {
    if !crate::is_active() {
        return None;
    }
    let since = ACTIVATION.since_unix_ns.load(Relaxed);
    Some(Coverage {
        active_since: (since != 0).then(|| UNIX_EPOCH + Duration::from_nanos(since)),
        live_bytes_at_activation: if since != 0 {
            ACTIVATION.live_bytes.load(Relaxed)
        } else {
            0
        },
        live_bytes: crate::stats().live_bytes,
        covered_bytes,
    })
}
