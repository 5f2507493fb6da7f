//! The layout of one benchmarked block, validated once, outside the timing.

use core::alloc::{GlobalAlloc, Layout};

/// Alignment of every benchmarked block: what `Box<u64>`-like data asks for.
pub const BLOCK_ALIGN: usize = 8;

/// A block size the allocators can be asked for: non-zero and representable
/// as a [`Layout`] with [`BLOCK_ALIGN`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockSize(Layout);

/// Why a block size was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BlockSizeError {
    /// `GlobalAlloc::alloc` must not be called with a zero size.
    #[error("block size must be at least 1 byte, got 0")]
    Zero,
    /// The size does not fit a `Layout` (more than `isize::MAX` rounded up).
    #[error("block size {bytes} bytes is too large for a Layout")]
    TooLarge {
        /// The size asked for.
        bytes: usize,
    },
}

impl BlockSize {
    /// Validates `bytes` as a block size.
    pub fn new(bytes: usize) -> Result<Self, BlockSizeError> {
        if bytes == 0 {
            return Err(BlockSizeError::Zero);
        }
        Layout::from_size_align(bytes, BLOCK_ALIGN)
            .map(Self)
            .map_err(|_| BlockSizeError::TooLarge { bytes })
    }

    /// The layout passed to the allocator.
    pub const fn layout(self) -> Layout {
        self.0
    }

    /// The size in bytes.
    pub const fn bytes(self) -> usize {
        self.0.size()
    }
}

/// Allocates one block from `alloc`, aborting like `Box::new` if it fails.
#[inline(always)]
pub(crate) fn alloc_block<A: GlobalAlloc>(alloc: &A, layout: Layout) -> *mut u8 {
    debug_assert!(layout.size() != 0);
    // SAFETY: every layout reaching here comes from a `BlockSize` or a
    // recorded allocation, both non-zero in size.
    let ptr = unsafe { alloc.alloc(layout) };
    if ptr.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    ptr
}

/// Allocates one zeroed block from `alloc`, aborting like `Box::new` if it fails.
#[inline(always)]
pub(crate) fn alloc_zeroed_block<A: GlobalAlloc>(alloc: &A, layout: Layout) -> *mut u8 {
    debug_assert!(layout.size() != 0);
    // SAFETY: as in `alloc_block`, the layout is non-zero in size.
    let ptr = unsafe { alloc.alloc_zeroed(layout) };
    if ptr.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    ptr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_huge_sizes_are_refused() {
        assert_eq!(BlockSize::new(0), Err(BlockSizeError::Zero));
        assert_eq!(
            BlockSize::new(usize::MAX),
            Err(BlockSizeError::TooLarge { bytes: usize::MAX })
        );
        let block = BlockSize::new(64).expect("64 bytes is a valid block");
        assert_eq!(block.bytes(), 64);
        assert_eq!(block.layout().align(), BLOCK_ALIGN);
    }
}
