//! Allocation counts per power-of-two size class (feature `histogram`).
//!
//! Class `k` holds requests of `(2^(k-1), 2^k]` bytes; class 0 holds 0 and 1
//! byte; the last class also holds everything larger than its lower bound.
//! Each `alloc`, `alloc_zeroed` and `realloc` counts once, by its requested
//! (new) size.

/// Number of size classes: up to 2^46 bytes, the last class open-ended.
pub const SIZE_CLASSES: usize = 48;

/// Index of the size class of a request of `size` bytes.
#[inline(always)]
pub const fn size_class(size: usize) -> usize {
    if size <= 1 {
        return 0;
    }
    let class = (usize::BITS - (size - 1).leading_zeros()) as usize;
    if class < SIZE_CLASSES {
        class
    } else {
        SIZE_CLASSES - 1
    }
}

/// Allocation counts per power-of-two size class.
///
/// ```
/// use heapguard_alloc::SizeClasses;
/// let classes = SizeClasses::default();
/// assert_eq!(classes.total(), 0);
/// assert_eq!(SizeClasses::upper_bound(3), 8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeClasses {
    counts: [u64; SIZE_CLASSES],
}

impl Default for SizeClasses {
    fn default() -> Self {
        Self {
            counts: [0; SIZE_CLASSES],
        }
    }
}

impl SizeClasses {
    pub(crate) fn from_counts(counts: [u64; SIZE_CLASSES]) -> Self {
        Self { counts }
    }

    /// The largest request size counted in class `class` (`2^class`).
    pub const fn upper_bound(class: usize) -> u64 {
        1u64 << class
    }

    /// Allocations whose requested size fell in `(upper_bound(class - 1), upper_bound(class)]`;
    /// 0 for a class index out of range.
    pub fn count(&self, class: usize) -> u64 {
        self.counts.get(class).copied().unwrap_or(0)
    }

    /// Allocations of exactly the class that `size` bytes falls in.
    pub fn count_for_size(&self, size: usize) -> u64 {
        self.counts[size_class(size)]
    }

    /// The sum over all classes.
    pub fn total(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, &c| a.wrapping_add(c))
    }

    /// Non-empty classes as `(upper bound in bytes, count)`, smallest first.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c != 0)
            .map(|(k, &c)| (Self::upper_bound(k), c))
    }

    pub(crate) fn counts_mut(&mut self) -> &mut [u64; SIZE_CLASSES] {
        &mut self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_powers_of_two() {
        assert_eq!(size_class(0), 0);
        assert_eq!(size_class(1), 0);
        assert_eq!(size_class(2), 1);
        assert_eq!(size_class(3), 2);
        assert_eq!(size_class(4), 2);
        assert_eq!(size_class(5), 3);
        assert_eq!(size_class(4096), 12);
        assert_eq!(size_class(4097), 13);
        assert_eq!(size_class(usize::MAX), SIZE_CLASSES - 1);
    }
}
