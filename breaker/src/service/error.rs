//! What a refused request gets: [`Refused`], and the codes it maps to.

use std::fmt;
use std::time::Duration;

use bytesize::ByteSize;

use crate::Tripped;

/// The error type of [`MemoryShed`](super::MemoryShed): boxed, as tower's
/// own middleware does, so the inner service's errors pass through unchanged.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// gRPC's `RESOURCE_EXHAUSTED` status code (8), the code a gRPC service
/// answers a [`Refused`] with.
pub const GRPC_RESOURCE_EXHAUSTED: i32 = 8;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// The breaker is refusing, or the request's estimate does not fit in
    /// the room left now: retry later (HTTP 503 with `Retry-After`).
    Overloaded,
    /// The request's estimate is at or above the trip line: it could never
    /// be admitted, however idle the service (HTTP 413; do not retry as is).
    TooLarge,
}

/// A request refused by [`MemoryShed`](super::MemoryShed), before the inner
/// service saw it.
#[derive(Debug)]
pub struct Refused {
    kind: RefusalKind,
    estimate: u64,
    retry_after: Duration,
    detail: Detail,
}

#[derive(Debug)]
enum Detail {
    Tripped(Tripped),
    TooLarge {
        breaker: String,
        trip_bytes: u64,
        limit: u64,
    },
}

impl Refused {
    pub(crate) fn overloaded(estimate: u64, retry_after: Duration, tripped: Tripped) -> Self {
        Self {
            kind: RefusalKind::Overloaded,
            estimate,
            retry_after,
            detail: Detail::Tripped(tripped),
        }
    }

    pub(crate) fn too_large(estimate: u64, breaker: &crate::MemoryBreaker) -> Self {
        Self {
            kind: RefusalKind::TooLarge,
            estimate,
            retry_after: Duration::ZERO,
            detail: Detail::TooLarge {
                breaker: breaker.name().to_owned(),
                trip_bytes: breaker.trip_bytes(),
                limit: breaker.limit(),
            },
        }
    }

    /// Overloaded (retry later) or too large (never fits).
    pub fn kind(&self) -> RefusalKind {
        self.kind
    }

    /// The request's estimate, in bytes (0 without an estimator).
    pub fn estimate(&self) -> u64 {
        self.estimate
    }

    /// When to retry: the layer's `retry_after` for an overloaded refusal,
    /// `None` for a request too large to ever fit.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.kind {
            RefusalKind::Overloaded => Some(self.retry_after),
            RefusalKind::TooLarge => None,
        }
    }

    /// The breaker's refusal, for an overloaded request.
    pub fn tripped(&self) -> Option<&Tripped> {
        match &self.detail {
            Detail::Tripped(tripped) => Some(tripped),
            Detail::TooLarge { .. } => None,
        }
    }

    /// The HTTP status that says this: 503 (Service Unavailable) or 413
    /// (Content Too Large).
    pub fn http_status(&self) -> u16 {
        match self.kind {
            RefusalKind::Overloaded => 503,
            RefusalKind::TooLarge => 413,
        }
    }

    /// The gRPC status code that says this: [`GRPC_RESOURCE_EXHAUSTED`] for
    /// both kinds (gRPC's own code for a message too large, too).
    pub fn grpc_code(&self) -> i32 {
        GRPC_RESOURCE_EXHAUSTED
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Detail::Tripped(tripped) => write!(
                f,
                "request shed under memory pressure (estimate {}): {tripped}",
                ByteSize(self.estimate)
            ),
            Detail::TooLarge {
                breaker,
                trip_bytes,
                limit,
            } => write!(
                f,
                "request refused: its estimate of {} is at or above memory breaker `{breaker}`'s \
                 trip line of {} ({} budget), so it could never be admitted",
                ByteSize(self.estimate),
                ByteSize(*trip_bytes),
                ByteSize(*limit)
            ),
        }
    }
}

impl std::error::Error for Refused {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.detail {
            Detail::Tripped(tripped) => Some(tripped),
            Detail::TooLarge { .. } => None,
        }
    }
}
