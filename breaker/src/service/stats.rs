//! Counts of what the layer decided, shared by every service it built.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// What a [`MemoryShedLayer`](super::MemoryShedLayer) and the services it
/// built decided, since the layer was made. Cheap to clone (an `Arc`);
/// every clone reads the same counters.
#[derive(Debug, Clone, Default)]
pub struct ShedStats {
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    admitted: AtomicU64,
    shed: AtomicU64,
    too_large: AtomicU64,
    bypassed: AtomicU64,
    in_flight: AtomicU64,
    reserved_bytes: AtomicU64,
    waiting: Arc<AtomicU64>,
}

impl ShedStats {
    /// Requests passed to the inner service after the breaker admitted them.
    pub fn admitted(&self) -> u64 {
        self.counters.admitted.load(Relaxed)
    }

    /// Requests refused as overloaded (HTTP 503).
    pub fn shed(&self) -> u64 {
        self.counters.shed.load(Relaxed)
    }

    /// Requests refused as too large to ever fit (HTTP 413).
    pub fn too_large(&self) -> u64 {
        self.counters.too_large.load(Relaxed)
    }

    /// Requests the bypass predicate let through without asking the breaker.
    pub fn bypassed(&self) -> u64 {
        self.counters.bypassed.load(Relaxed)
    }

    /// Admitted requests not finished yet: with
    /// [`http`](super::MemoryShedLayer::http), until the response body has
    /// ended or been dropped; otherwise until the response future completed
    /// or was dropped.
    pub fn in_flight(&self) -> u64 {
        self.counters.in_flight.load(Relaxed)
    }

    /// Admitted requests that have not started (with
    /// [`http`](super::MemoryShedLayer::http)): a request starts when its
    /// handler calls [`RequestAdmission::start`](super::RequestAdmission::start)
    /// or registers a job with its admission's token. Past the breaker's
    /// cancel line these are cancelled first (answered 503).
    pub fn waiting(&self) -> u64 {
        self.counters.waiting.load(Relaxed)
    }

    #[cfg(feature = "http")]
    pub(crate) fn waiting_counter(&self) -> Arc<AtomicU64> {
        self.counters.waiting.clone()
    }

    /// Bytes the requests in flight hold reserved in the breaker (their
    /// estimates), released when each finishes as [`in_flight`](Self::in_flight) says.
    /// With request accounts, a reservation settles as its account grows;
    /// this figure follows at the end of each of the request's polls, so
    /// what the breaker settled itself (before a reading that would trip
    /// it) shows here once the request is next polled.
    pub fn reserved_bytes(&self) -> u64 {
        self.counters.reserved_bytes.load(Relaxed)
    }

    /// Counts an admission; the returned guard counts the request as in
    /// flight, holding `reserved` bytes, until it is dropped.
    pub(crate) fn count_admitted(&self, reserved: u64) -> InFlight {
        self.counters.admitted.fetch_add(1, Relaxed);
        self.counters.in_flight.fetch_add(1, Relaxed);
        self.counters.reserved_bytes.fetch_add(reserved, Relaxed);
        InFlight {
            stats: self.clone(),
            reserved,
        }
    }

    pub(crate) fn count_shed(&self) {
        self.counters.shed.fetch_add(1, Relaxed);
    }

    pub(crate) fn count_too_large(&self) {
        self.counters.too_large.fetch_add(1, Relaxed);
    }

    pub(crate) fn count_bypassed(&self) {
        self.counters.bypassed.fetch_add(1, Relaxed);
    }
}

/// A request in flight in [`ShedStats`]: uncounted when dropped.
#[derive(Debug)]
pub(crate) struct InFlight {
    stats: ShedStats,
    reserved: u64,
}

impl InFlight {
    /// Its reservation settled to `bytes` (by the request, or by the
    /// breaker before a reading that would trip it); a reservation never
    /// grows back.
    pub(crate) fn settled_to(&mut self, bytes: u64) {
        let given_back = self.reserved.saturating_sub(bytes);
        self.reserved -= given_back;
        self.stats
            .counters
            .reserved_bytes
            .fetch_sub(given_back, Relaxed);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let counters = &self.stats.counters;
        counters.in_flight.fetch_sub(1, Relaxed);
        counters.reserved_bytes.fetch_sub(self.reserved, Relaxed);
    }
}
