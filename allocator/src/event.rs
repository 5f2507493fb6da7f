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

impl Event {
    /// The change in live bytes.
    #[inline(always)]
    pub(crate) fn net(self) -> i64 {
        match self {
            Event::Alloc(size) => size as i64,
            Event::Dealloc(size) => -(size as i64),
            Event::Realloc { old, new } => (new as i64).wrapping_sub(old as i64),
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
