//! What the allocator tells the counters.

/// One successful allocator call, in requested bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    /// `alloc` or `alloc_zeroed` of this many bytes.
    Alloc(u64),
    /// `dealloc` of this many bytes.
    Dealloc(u64),
    /// `realloc` from `old` to `new` bytes.
    Realloc { old: u64, new: u64 },
}

/// Which call an [`Event`] reports, for [`Event::into_parts`].
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Alloc,
    Dealloc,
    Realloc,
}

impl Event {
    /// The event as scalars. A cold function that takes these receives them
    /// in registers; one that took the 24-byte enum would receive a pointer,
    /// and the fast path would store the event to the stack on every call
    /// just in case.
    #[inline(always)]
    pub(crate) fn into_parts(self) -> (Kind, u64, u64) {
        match self {
            Event::Alloc(size) => (Kind::Alloc, size, 0),
            Event::Dealloc(size) => (Kind::Dealloc, size, 0),
            Event::Realloc { old, new } => (Kind::Realloc, old, new),
        }
    }

    /// The inverse of [`into_parts`](Self::into_parts).
    #[inline(always)]
    pub(crate) fn from_parts(kind: Kind, first: u64, second: u64) -> Self {
        match kind {
            Kind::Alloc => Event::Alloc(first),
            Kind::Dealloc => Event::Dealloc(first),
            Kind::Realloc => Event::Realloc {
                old: first,
                new: second,
            },
        }
    }

    /// The change in live bytes.
    #[inline(always)]
    pub(crate) fn net(self) -> i64 {
        match self {
            Event::Alloc(size) => size as i64,
            Event::Dealloc(size) => -(size as i64),
            Event::Realloc { old, new } => (new as i64).wrapping_sub(old as i64),
        }
    }

    /// The bytes this event allocates (a realloc's new size).
    #[cfg(feature = "sampling")]
    #[inline(always)]
    pub(crate) fn allocated(self) -> u64 {
        match self {
            Event::Alloc(size) => size,
            Event::Dealloc(_) => 0,
            Event::Realloc { new, .. } => new,
        }
    }

    /// The size the histogram counts, if this event is counted there.
    #[cfg(feature = "histogram")]
    #[inline(always)]
    pub(crate) fn classified_size(self) -> Option<u64> {
        match self {
            Event::Alloc(size) => Some(size),
            Event::Dealloc(_) => None,
            Event::Realloc { new, .. } => Some(new),
        }
    }
}
