//! Where sampled blocks live and what is recorded of them.
//!
//! - **Slots**: [`SLOTS`] slots of [`SLOT_SIZE`] bytes in one region of
//!   address space reserved by [`reserve`] at a fixed address (`mmap`,
//!   `MAP_NORESERVE`: a page takes memory only once a block written there
//!   touches it), each slot aligned to its size. `dealloc` sends a block
//!   to its slot after one range check against constants, [`may_hold`].
//! - **Large blocks** (more than [`SLOT_SIZE`] bytes) stay where the inner
//!   allocator put them; [`LARGE_ENTRIES`] entries record their addresses,
//!   looked up only by frees of more than [`SLOT_SIZE`] bytes while one is
//!   live.
//!
//! Each slot and entry has a fixed record: the block's address, size, the
//! interval it was sampled at and up to [`MAX_FRAMES`] return addresses.
//! A bitmap of used records is claimed and released with compare-and-swap
//! and `fetch_and`; a record is written by the thread that claimed it under
//! a sequence number (odd while written), so a reader copying records never
//! blocks a writer and drops a record that changed under it. No lock, no
//! allocation.

use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use core::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};

use crate::global::FLUSH_THRESHOLD;

/// The largest sampled block a slot takes, and each slot's size and
/// alignment: `2 * FLUSH_THRESHOLD` (128 KiB), the most a thread's free
/// budget ever holds, so a free of any larger block always reaches the
/// dealloc slow path, where the large blocks' table is consulted.
pub(crate) const SLOT_SIZE: usize = 2 * FLUSH_THRESHOLD as usize;

/// Slots in the region: 4096 x 128 KiB = 512 MiB of address space. At the
/// default 512 KiB interval they hold the samples of about 2 GiB of live
/// small blocks; past that, samples are skipped and counted.
pub(crate) const SLOTS: usize = 4096;

/// Entries for sampled blocks larger than a slot.
pub(crate) const LARGE_ENTRIES: usize = 1024;

/// Return addresses kept per sample, innermost first.
pub(crate) const MAX_FRAMES: usize = 48;

/// The region's size, a power of two.
const REGION_LEN: usize = SLOT_SIZE * SLOTS;

/// Where the region is mapped: a fixed address, so that `dealloc` tells a
/// slot block from any other by comparing the pointer with constants, with
/// no load. On Linux it lies below 2 GiB, 256 MiB to 768 MiB, so that
/// `ptr - REGION_START` is one `lea` with a 32-bit displacement on x86-64:
/// 3 instructions for the whole test (`lea`, `cmp`, `jb`). The start is
/// deliberately not aligned to the region's size: LLVM would turn the test
/// into a mask and a compare, 4 instructions with the copy of the pointer.
/// Linux places a position-independent executable (Rust's default) and its
/// `brk` heap far above it and `mmap`s from the top down, so the range is
/// free there unless something asked for it; when it is not, [`reserve`]
/// fails and sampling does not start. Elsewhere, 64 GiB and 256 MiB: above
/// macOS's 4 GiB `__PAGEZERO` (not tried on macOS; the test is then 4
/// instructions, with a 64-bit constant).
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    not(target_pointer_width = "64")
))]
const REGION_START: usize = 0x1000_0000;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    not(target_pointer_width = "64")
)))]
const REGION_START: usize = 0x10_1000_0000;

/// The largest alignment a slot can have: the start's own.
const MAX_SLOT_ALIGN: usize = 1 << REGION_START.trailing_zeros();

const _: () = assert!(MAX_SLOT_ALIGN >= SLOT_SIZE);

/// A region start no user pointer lies after: the top `REGION_LEN` of the
/// address space, which is the kernel's.
const NOWHERE: usize = usize::MAX & !(REGION_LEN - 1);

/// The region's first byte once [`reserve`] mapped it at [`REGION_START`];
/// [`NOWHERE`] until then, or for good if that address range was taken.
static BASE: AtomicUsize = AtomicUsize::new(NOWHERE);

/// Whether `ptr` lies in the address range the region is mapped at when
/// it is: `dealloc`'s and `realloc`'s first test, constants only. True
/// also for a block of the inner allocator in that range if the region
/// could not be mapped there; [`in_region`] then tells the two apart, off
/// the fast path.
#[inline(always)]
pub(crate) fn may_hold(ptr: *mut u8) -> bool {
    (ptr as usize).wrapping_sub(REGION_START) < REGION_LEN
}

/// Whether `ptr` is a block served from a slot.
#[inline(always)]
pub(crate) fn in_region(ptr: *mut u8) -> bool {
    (ptr as usize).wrapping_sub(BASE.load(Relaxed)) < REGION_LEN
}

/// Maps the region, once per process. Off the allocator path.
///
/// # Errors
/// The `mmap` error, or `AddrInUse` when something else is mapped at
/// [`REGION_START`] (the region is never mapped anywhere else: `dealloc`
/// recognises its blocks by that address).
pub(crate) fn reserve() -> std::io::Result<()> {
    static RESERVED: std::sync::OnceLock<Result<usize, std::io::ErrorKind>> =
        std::sync::OnceLock::new();
    match RESERVED.get_or_init(|| map_region().map_err(|error| error.kind())) {
        Ok(_) => Ok(()),
        Err(std::io::ErrorKind::AddrInUse) => Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            format!(
                "the sampled blocks' address range {REGION_START:#x}..{:#x} is taken by another mapping",
                REGION_START + REGION_LEN
            ),
        )),
        Err(kind) => Err(std::io::Error::new(
            *kind,
            "reserving the sampled blocks' address range (mmap) failed",
        )),
    }
}

#[cfg(unix)]
fn map_region() -> std::io::Result<usize> {
    // A hint, not MAP_FIXED: the kernel maps there only if the range is
    // free, and never replaces an existing mapping.
    // SAFETY: an anonymous private mapping, at the hint only where nothing
    // is mapped, touches no existing memory; the result is checked.
    let mapped = unsafe {
        libc::mmap(
            REGION_START as *mut libc::c_void,
            REGION_LEN,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if mapped == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    if mapped as usize != REGION_START {
        // SAFETY: the mapping just made, which nothing refers to.
        unsafe { libc::munmap(mapped, REGION_LEN) };
        return Err(std::io::ErrorKind::AddrInUse.into());
    }
    BASE.store(REGION_START, Release);
    Ok(REGION_START)
}

#[cfg(not(unix))]
fn map_region() -> std::io::Result<usize> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "wrapper sampling reserves its region with mmap: unix only",
    ))
}

/// One sample's record.
pub(crate) struct Record {
    /// Even when stable, odd while the owner writes.
    seq: AtomicU64,
    /// The block's address; 0: no live sample here.
    addr: AtomicUsize,
    /// The inner allocator's block a slot block stands for, kept until the
    /// slot block is freed (an `alloc`'s); 0: none.
    inner: AtomicUsize,
    size: AtomicUsize,
    interval: AtomicU64,
    depth: AtomicUsize,
    frames: [AtomicUsize; MAX_FRAMES],
}

impl Record {
    const fn new() -> Self {
        Self {
            seq: AtomicU64::new(0),
            addr: AtomicUsize::new(0),
            inner: AtomicUsize::new(0),
            size: AtomicUsize::new(0),
            interval: AtomicU64::new(0),
            depth: AtomicUsize::new(0),
            frames: [const { AtomicUsize::new(0) }; MAX_FRAMES],
        }
    }

    fn begin_write(&self) {
        self.seq.fetch_add(1, Relaxed);
        // The odd sequence is visible before any field changes.
        fence(Release);
    }

    fn end_write(&self) {
        self.seq.fetch_add(1, Release);
    }

    /// Fills the record for a block at `addr`, walking this thread's stack.
    fn write(&self, addr: usize, size: usize, interval: u64) {
        self.begin_write();
        self.inner.store(0, Relaxed);
        self.size.store(size, Relaxed);
        self.interval.store(interval, Relaxed);
        let mut depth = 0;
        // SAFETY: `trace_unsynchronized` must not run concurrently with
        // itself on a platform whose unwinder is not thread-safe; on the
        // targets with per-thread counting (glibc, Apple) the unwinder
        // (`_Unwind_Backtrace`) is. The closure allocates nothing and this
        // thread's reentrancy guard is set.
        unsafe {
            backtrace::trace_unsynchronized(|frame| {
                let ip = frame.ip() as usize;
                // The outermost frame's return address can be 0: the end.
                match self.frames.get(depth) {
                    Some(slot) if ip != 0 => {
                        slot.store(ip, Relaxed);
                        depth += 1;
                        true
                    }
                    _ => false,
                }
            });
        }
        self.depth.store(depth, Relaxed);
        self.addr.store(addr, Relaxed);
        self.end_write();
    }

    fn clear(&self) {
        self.begin_write();
        self.addr.store(0, Relaxed);
        self.end_write();
    }

    /// A consistent copy, if a live sample is here and did not change while
    /// read.
    fn read(&self, frames: &mut Vec<usize>) -> Option<(usize, u64)> {
        let before = self.seq.load(Acquire);
        if before % 2 == 1 || self.addr.load(Relaxed) == 0 {
            return None;
        }
        let size = self.size.load(Relaxed);
        let interval = self.interval.load(Relaxed);
        let depth = self.depth.load(Relaxed).min(MAX_FRAMES);
        frames.clear();
        frames.extend(self.frames[..depth].iter().map(|f| f.load(Relaxed)));
        fence(Acquire);
        (self.seq.load(Relaxed) == before).then_some((size, interval))
    }
}

/// A fixed set of records and the bitmap of those in use.
struct Pool<const N: usize, const WORDS: usize> {
    used: [AtomicU64; WORDS],
    records: [Record; N],
}

impl<const N: usize, const WORDS: usize> Pool<N, WORDS> {
    const fn new() -> Self {
        Self {
            used: [const { AtomicU64::new(0) }; WORDS],
            records: [const { Record::new() }; N],
        }
    }

    /// Claims a free record whose index is a multiple of `stride` (a
    /// power of two), starting the search at word `hint`.
    fn claim(&self, hint: usize, stride: usize) -> Option<usize> {
        // The bits of a word at indices that are multiples of `stride`, and
        // the words that hold any.
        let (allowed, word_step) = if stride >= 64 {
            (1u64, stride / 64)
        } else {
            (u64::MAX / ((1u64 << stride) - 1), 1)
        };
        let words = WORDS / word_step.min(WORDS);
        for step in 0..words {
            let word = ((hint + step) % words) * word_step;
            let mut bits = self.used[word].load(Relaxed);
            while !bits & allowed != 0 {
                let bit = (!bits & allowed).trailing_zeros() as usize;
                match self.used[word].compare_exchange_weak(
                    bits,
                    bits | 1 << bit,
                    Ordering::AcqRel,
                    Relaxed,
                ) {
                    Ok(_) => return Some(word * 64 + bit),
                    Err(now) => bits = now,
                }
            }
        }
        None
    }

    fn release(&self, index: usize) {
        self.used[index / 64].fetch_and(!(1 << (index % 64)), Release);
    }
}

static SLOT_POOL: Pool<SLOTS, { SLOTS / 64 }> = Pool::new();
static LARGE_POOL: Pool<LARGE_ENTRIES, { LARGE_ENTRIES / 64 }> = Pool::new();
/// Large sampled blocks live: frees skip the table while 0.
static LARGE_LIVE: AtomicUsize = AtomicUsize::new(0);
/// Spreads the threads' first words over the bitmap.
static HINT: AtomicUsize = AtomicUsize::new(0);

/// A claimed slot, its record written, not yet visible to frees.
pub(crate) struct Claimed {
    index: usize,
}

impl Claimed {
    pub(crate) fn ptr(&self) -> *mut u8 {
        (BASE.load(Relaxed) + self.index * SLOT_SIZE) as *mut u8
    }
}

/// Claims a slot aligned to at least `align` (a power of two up to
/// [`MAX_SLOT_ALIGN`]) for a sampled block of `size` bytes standing for the inner
/// block `kept` (0: none), and records this thread's stack in it; `None`
/// when no such slot is free or the region is not reserved.
pub(crate) fn claim_slot(size: usize, align: usize, interval: u64, kept: usize) -> Option<Claimed> {
    if BASE.load(Acquire) == NOWHERE || align > MAX_SLOT_ALIGN {
        return None;
    }
    // Slot `i` lies at `i * SLOT_SIZE` from a start aligned to
    // MAX_SLOT_ALIGN.
    let stride = (align / SLOT_SIZE).max(1);
    let index = SLOT_POOL.claim(HINT.fetch_add(1, Relaxed) % (SLOTS / 64), stride)?;
    let claimed = Claimed { index };
    let record = &SLOT_POOL.records[index];
    record.write(claimed.ptr() as usize, size, interval);
    record.inner.store(kept, Relaxed);
    Some(claimed)
}

/// Frees the slot holding `ptr`, a block served by [`claim_slot`];
/// returns the inner block it stood for (null: none), now the caller's to
/// free with the slot block's layout.
pub(crate) fn free_slot(ptr: *mut u8) -> *mut u8 {
    let index = (ptr as usize - BASE.load(Relaxed)) / SLOT_SIZE;
    let record = &SLOT_POOL.records[index];
    let kept = record.inner.load(Relaxed);
    record.clear();
    SLOT_POOL.release(index);
    kept as *mut u8
}

/// The inner block the slot block `ptr` stands for (null: none).
pub(crate) fn kept_block(ptr: *mut u8) -> *mut u8 {
    let index = (ptr as usize - BASE.load(Relaxed)) / SLOT_SIZE;
    SLOT_POOL.records[index].inner.load(Relaxed) as *mut u8
}

/// Records a sampled block of more than [`SLOT_SIZE`] bytes; false when the
/// table is full.
pub(crate) fn record_large(ptr: *mut u8, size: usize, interval: u64) -> bool {
    let Some(index) = LARGE_POOL.claim(HINT.fetch_add(1, Relaxed) % (LARGE_ENTRIES / 64), 1) else {
        return false;
    };
    LARGE_POOL.records[index].write(ptr as usize, size, interval);
    LARGE_LIVE.fetch_add(1, Relaxed);
    true
}

/// Forgets the large sampled block at `ptr`, if it is one: called by every
/// free (or realloc) of more than [`SLOT_SIZE`] bytes, before the block goes
/// back to the inner allocator.
pub(crate) fn forget_large(ptr: *mut u8) {
    if LARGE_LIVE.load(Relaxed) == 0 {
        return;
    }
    let addr = ptr as usize;
    for (word, used) in LARGE_POOL.used.iter().enumerate() {
        let mut bits = used.load(Acquire);
        while bits != 0 {
            let index = word * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let record = &LARGE_POOL.records[index];
            if record.addr.load(Relaxed) == addr {
                record.clear();
                LARGE_POOL.release(index);
                LARGE_LIVE.fetch_sub(1, Relaxed);
                return;
            }
        }
    }
}

/// One live sample as read: size, interval, stack (innermost first).
pub(crate) struct Sampled<'a> {
    pub(crate) size: usize,
    pub(crate) interval: u64,
    pub(crate) frames: &'a [usize],
}

/// Calls `each` with every live sample (those that change meanwhile are
/// skipped). Allocates only the one frame buffer, off the allocator path.
pub(crate) fn for_each_live(mut each: impl FnMut(Sampled<'_>)) {
    let mut frames = Vec::with_capacity(MAX_FRAMES);
    let mut visit = |record: &Record| {
        if let Some((size, interval)) = record.read(&mut frames) {
            each(Sampled {
                size,
                interval,
                frames: &frames,
            });
        }
    };
    for_used(&SLOT_POOL, &mut visit);
    for_used(&LARGE_POOL, &mut visit);
}

fn for_used<const N: usize, const WORDS: usize>(
    pool: &Pool<N, WORDS>,
    visit: &mut impl FnMut(&Record),
) {
    for (word, used) in pool.used.iter().enumerate() {
        let mut bits = used.load(Acquire);
        while bits != 0 {
            let index = word * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            visit(&pool.records[index]);
        }
    }
}

/// Live samples now, in slots and in the large blocks' table.
pub(crate) fn live_samples() -> usize {
    let count = |used: &[AtomicU64]| {
        used.iter()
            .map(|word| word.load(Relaxed).count_ones() as usize)
            .sum::<usize>()
    };
    count(&SLOT_POOL.used) + count(&LARGE_POOL.used)
}
