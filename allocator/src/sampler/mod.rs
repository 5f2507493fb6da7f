//! Sampled allocation sites in `CountingAlloc` itself (feature `sampling`):
//! the per-thread draw, and what the allocator's slow paths do with a
//! sample that is due.
//!
//! # The draw
//! A Poisson process over allocated bytes with mean [`interval`] bytes: the
//! gaps between sample points are exponential, so an allocation of `s`
//! bytes holds one with probability `1 - exp(-s / interval)`, independently
//! of every other allocation (the process is memoryless). Each thread keeps
//! the bytes left to its next point; the counting's alloc budget is refilled
//! to at most that, so the call that reaches the point is one the budget's
//! sign test already sends to the slow path, and a call with no sample due
//! pays nothing new. The slow path counts the bytes allocated since the last
//! refill against the point; when they pass it the sample is due, taken by
//! the allocator call that is still running, and the next gap is drawn.
//!
//! # The sample
//! A sampled block is moved where a free can recognise it with one range
//! check ([`region`]): a block of up to [`SLOT_SIZE`] bytes into a slot of a
//! region reserved when sampling starts (a block from `alloc` keeps its
//! inner block until it is freed, so `alloc`'s fast path need not keep the
//! alignment across the inner call), a larger one left where it is and
//! its address kept in a small table that only frees of more than
//! [`SLOT_SIZE`] bytes consult (those always take the dealloc slow path:
//! the free budget never exceeds `2 * FLUSH_THRESHOLD` = [`SLOT_SIZE`]). Its
//! stack is walked into the slot's fixed metadata, with this thread's
//! reentrancy guard set so that anything the walk allocates is not sampled.
//! Nothing here allocates, locks, panics or does I/O; the region's one
//! `mmap` happens in [`start`], off the allocator path.

pub(crate) mod region;

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub(crate) use region::{in_region, may_hold, SLOT_SIZE};

/// The mean bytes between samples now; 0: sampling is off.
static INTERVAL: AtomicU64 = AtomicU64::new(0);

/// Samples not taken because the region (or the large blocks' table) was
/// full: no free slot aligned as the block needs.
static SKIPPED: AtomicU64 = AtomicU64::new(0);

/// Bytes left to the next sample point of a thread that is not sampling.
const OFF: i64 = i64::MAX;

/// The largest interval [`start`] takes: 2^40 bytes (1 TiB).
pub(crate) const MAX_INTERVAL: u64 = 1 << 40;

/// A thread's sampling state: part of the const-initialised, `Drop`-free
/// thread state, so the allocator can read it at any time.
pub(crate) struct SampleCells {
    /// Bytes this thread may allocate before its next sample point is
    /// passed, counted from the last budget refill.
    left: Cell<i64>,
    /// The interval `left` was drawn for (0: none).
    interval: Cell<u64>,
    /// xorshift64* state; 0 until first seeded.
    rng: Cell<u64>,
    /// A sample point was passed and the running allocator call takes it.
    due: Cell<bool>,
    /// This thread is walking a stack or moving a sampled block: its
    /// allocator calls are not sampled.
    busy: Cell<bool>,
}

impl SampleCells {
    pub(crate) const fn new() -> Self {
        Self {
            left: Cell::new(OFF),
            interval: Cell::new(0),
            rng: Cell::new(0),
            due: Cell::new(false),
            busy: Cell::new(false),
        }
    }

    /// Counts `allocated` bytes (allocated since the last refill, the
    /// running call's included) against the next sample point, marking the
    /// sample due when they pass it; returns the bytes left to the next
    /// point, the most the alloc budget may be refilled to.
    pub(crate) fn advance(&self, allocated: i64) -> i64 {
        let interval = INTERVAL.load(Relaxed);
        if interval != self.interval.get() {
            // Sampling started, stopped or changed interval: a fresh gap
            // (the process is memoryless, so where the old one stood does
            // not matter).
            self.interval.set(interval);
            self.due.set(false);
            self.left.set(if interval == 0 {
                OFF
            } else {
                self.draw(interval)
            });
            return self.left.get();
        }
        if interval == 0 {
            return OFF;
        }
        let left = self.left.get();
        if allocated > left {
            self.due.set(!self.busy.get());
            self.left.set(self.draw(interval));
        } else {
            self.left.set(left - allocated.max(0));
        }
        self.left.get()
    }

    /// Whether a sample is due for the running call; clears it.
    pub(crate) fn take_due(&self) -> bool {
        self.due.replace(false)
    }

    /// An exponential gap of mean `interval` bytes, at least 0.
    fn draw(&self, interval: u64) -> i64 {
        let mut x = self.rng.get();
        if x == 0 {
            x = seed(self as *const Self as u64);
        }
        // xorshift64* (Vigna, "An experimental exploration of Marsaglia's
        // xorshift generators, scrambled", 2016).
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        // Uniform in (0, 1): 53 bits and half a step, never 0.
        let u = ((r >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64);
        let gap = -u.ln() * interval as f64;
        // `as` saturates; the largest gap (u = 2^-54) is 37.4 intervals.
        gap as i64
    }

    pub(crate) fn seed(&self, seed: u64) {
        self.rng.set(if seed == 0 { 1 } else { seed });
        // Draw anew from the seed at the next slow path.
        self.interval.set(u64::MAX);
    }
}

/// A distinct, nonzero seed per call (splitmix64 of a counter mixed with
/// the thread's state address).
fn seed(address: u64) -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let mut z = NEXT
        .fetch_add(0x9E37_79B9_7F4A_7C15, Relaxed)
        .wrapping_add(address);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    if z == 0 {
        1
    } else {
        z
    }
}

/// The mean bytes between samples, 0 when sampling is off.
pub(crate) fn interval() -> u64 {
    INTERVAL.load(Relaxed)
}

/// Samples skipped so far (region or table full).
pub(crate) fn skipped() -> u64 {
    SKIPPED.load(Relaxed)
}

/// Starts sampling every `interval` bytes on average, reserving the region
/// first (once per process). Not for the allocator path: it may `mmap`.
pub(crate) fn start(interval: u64) -> std::io::Result<()> {
    region::reserve()?;
    INTERVAL.store(interval, Relaxed);
    Ok(())
}

/// Stops drawing samples; sampled blocks still live stay recorded until
/// freed.
pub(crate) fn stop() {
    INTERVAL.store(0, Relaxed);
}

/// The allocator call whose block is being sampled.
#[derive(Clone, Copy)]
pub(crate) enum Call {
    /// `alloc`: the slot needs no filling. The inner block stays allocated
    /// until the slot block is freed, when the caller's layout (its own)
    /// frees it: the fast path keeps no alignment across the inner call.
    Alloc,
    /// `alloc_zeroed`: the slot is zeroed; the inner block stays as above.
    AllocZeroed,
    /// `realloc` to a block with this alignment: its bytes are copied into
    /// the slot and the inner block freed at once.
    Realloc {
        /// The block's alignment.
        align: usize,
    },
}

/// Takes the sample that is due on this thread for the block `ptr` of
/// `size` bytes just handed out by `inner` (`call` says how): records its
/// stack and size, moving it into a slot when it fits one. Returns the
/// block to hand out (the slot, or `ptr` itself).
///
/// # Safety
/// `ptr` is a live block of `inner` of `size` bytes, just allocated (and
/// counted) by this thread's running allocator call as `call` says.
#[cold]
#[inline(never)]
pub(crate) unsafe fn sample<A: GlobalAlloc>(
    cells: &SampleCells,
    inner: &A,
    ptr: *mut u8,
    size: usize,
    call: Call,
) -> *mut u8 {
    let interval = cells.interval.get();
    if interval == 0 || cells.busy.replace(true) {
        return ptr;
    }
    // The alignment the slot needs: a realloc's own; an `alloc`'s is not
    // passed here, but it is at most the block's own (the largest power of
    // two dividing its address), which is what the slot gets then.
    let align = match call {
        Call::Realloc { align } => align,
        Call::Alloc | Call::AllocZeroed => 1 << (ptr as usize).trailing_zeros().min(63),
    };
    let result = if size <= SLOT_SIZE {
        let kept = match call {
            Call::Realloc { .. } => 0,
            Call::Alloc | Call::AllocZeroed => ptr as usize,
        };
        match region::claim_slot(size, align, interval, kept) {
            Some(slot) => {
                let into = slot.ptr();
                match call {
                    Call::Alloc => {}
                    // SAFETY: the slot holds `SLOT_SIZE >= size` writable
                    // bytes that this thread alone owns until it hands the
                    // slot out.
                    Call::AllocZeroed => unsafe { into.write_bytes(0, size) },
                    Call::Realloc { align } => {
                        // SAFETY: `ptr` holds `size` initialised bytes, the
                        // slot `size` writable ones; a slot never overlaps a
                        // block of `A`.
                        unsafe { core::ptr::copy_nonoverlapping(ptr, into, size) };
                        // SAFETY: the caller says `ptr` is `inner`'s block
                        // of `size` bytes with `align` (a valid layout, as
                        // `realloc` made it); the slot replaces it.
                        unsafe {
                            inner.dealloc(ptr, Layout::from_size_align_unchecked(size, align))
                        };
                    }
                }
                into
            }
            None => {
                SKIPPED.fetch_add(1, Relaxed);
                ptr
            }
        }
    } else {
        if !region::record_large(ptr, size, interval) {
            SKIPPED.fetch_add(1, Relaxed);
        }
        ptr
    };
    cells.busy.set(false);
    result
}
