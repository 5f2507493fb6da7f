//! The wrapper's own sampler: allocation sites for any inner allocator.
//!
//! While started, [`CountingAlloc`](crate::CountingAlloc) samples the bytes
//! its threads allocate as a Poisson process of mean [`interval`] bytes: an
//! allocation of `s` bytes is sampled with probability
//! `1 - exp(-s / interval)`. Each thread draws the bytes to its next sample
//! point and caps its counting's alloc budget there, so the call that
//! reaches the point already leaves the fast path; a call with no sample due
//! does nothing new. A sampled block's stack (up to [`MAX_FRAMES`] return
//! addresses, walked with the unwinder into a fixed record) and size are
//! kept while it lives:
//!
//! - a block of up to [`SLOT_SIZE`] bytes is moved into a slot of an
//!   address range reserved by [`start`] (one `mmap` of 512 MiB of address
//!   space, `MAP_NORESERVE`, never unmapped: a page takes memory once a
//!   sampled block touches it), so that `dealloc` recognises it with one
//!   range check, as GWP-ASan does;
//! - a larger block stays in the inner allocator and its address goes to a
//!   table of [`LARGE_ENTRIES`] that only frees of more than [`SLOT_SIZE`]
//!   bytes consult (each of those already leaves the fast path).
//!
//! When the slots or the table are full (no free slot aligned as the block
//! needs: a block from `alloc` gets a slot aligned as its own address is),
//! the sample is skipped and counted ([`skipped`]); the profile then
//! underestimates. A block from `alloc` moved into a slot keeps its inner
//! block allocated until it is freed (its bytes twice), so that `alloc`'s
//! fast path keeps no alignment across the inner call. Allocations made
//! while the stack is walked
//! are not sampled, nor those made while `set_limit`'s limit is set
//! (feature `limit`).
//!
//! [`take`] reads the live samples into a [`HeapProfile`]: one entry per
//! stack, each sample weighted by `1 / (1 - exp(-s / interval))`, the
//! unbiased estimate jemalloc's `jeprof` (`AdjustSamples`) and tcmalloc use.
//! Its relative error for `n` sampled blocks of one site is about
//! `1 / sqrt(n)`.
//!
//! Unix only (the region is an `mmap`); elsewhere [`start`] fails.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::SystemTime;

use super::error::ProfileError;
use super::heap::{HeapProfile, StackSample};
use crate::sampler::{self, region};

/// The default mean interval between samples: 512 KiB, jemalloc's and
/// tcmalloc's default.
pub const DEFAULT_INTERVAL: u64 = 512 * 1024;

/// The largest sampled block kept in a slot, in bytes (128 KiB, twice
/// [`FLUSH_THRESHOLD`](crate::FLUSH_THRESHOLD)); larger ones go to the
/// large blocks' table.
pub const SLOT_SIZE: usize = region::SLOT_SIZE;

/// Slots for sampled blocks of up to [`SLOT_SIZE`] bytes live at once.
pub const SLOTS: usize = region::SLOTS;

/// Entries for sampled blocks of more than [`SLOT_SIZE`] bytes live at once.
pub const LARGE_ENTRIES: usize = region::LARGE_ENTRIES;

/// Return addresses kept per sample, innermost first.
pub const MAX_FRAMES: usize = region::MAX_FRAMES;

/// Whether `start` ever succeeded (the region is reserved).
static STARTED: AtomicBool = AtomicBool::new(false);

/// Starts (or re-tunes) sampling: on average one sample per `interval`
/// bytes allocated, on every thread. The first call reserves the slots'
/// address range (`mmap`); call it outside the allocator, as any code does.
///
/// # Errors
/// [`ProfileError::InvalidInterval`] for an interval outside `1..=2^40`;
/// [`ProfileError::Io`] when the address range cannot be reserved (or on a
/// target without `mmap`): with kind `AddrInUse` when another mapping
/// already lies in it. The range is fixed, 256 MiB to 768 MiB on Linux, so
/// that `dealloc` recognises a sampled block by comparing its address with
/// constants; a position-independent executable (Rust's default) has
/// nothing mapped there.
pub fn start(interval: u64) -> Result<(), ProfileError> {
    if interval == 0 || interval > sampler::MAX_INTERVAL {
        return Err(ProfileError::InvalidInterval(interval));
    }
    let was_running = is_running();
    sampler::start(interval)?;
    STARTED.store(true, Relaxed);
    if !was_running {
        super::coverage::note_activation();
    }
    Ok(())
}

/// Stops drawing samples. Sampled blocks still live stay in profiles until
/// they are freed.
pub fn stop() {
    sampler::stop();
}

/// Whether sampling is on.
pub fn is_running() -> bool {
    sampler::interval() != 0
}

/// The mean interval between samples, bytes; `None` while stopped.
pub fn interval() -> Option<u64> {
    match sampler::interval() {
        0 => None,
        interval => Some(interval),
    }
}

/// Samples not taken since start because the slots or the large blocks'
/// table were full.
pub fn skipped() -> u64 {
    sampler::skipped()
}

/// Sampled blocks live now.
pub fn live_samples() -> usize {
    region::live_samples()
}

/// Whether [`take`] has anything to read: sampling ever started.
pub(crate) fn has_samples() -> bool {
    STARTED.load(Relaxed)
}

/// Whether `ptr` is a sampled block served from a slot (for tests).
#[doc(hidden)]
pub fn is_slot_block(ptr: *const u8) -> bool {
    sampler::in_region(ptr.cast_mut())
}

/// Seeds this thread's sample draws (for tests that want a repeatable
/// sequence); the next gap is drawn from the seed.
#[doc(hidden)]
pub fn seed_this_thread(seed: u64) {
    let _ = crate::thread::with_thread(|thread| {
        thread.sample.seed(seed);
        // Redraw now, and cap the alloc budget at the new gap.
        thread.settle(false);
    });
}

/// The live sampled blocks as a heap profile: one [`StackSample`] per
/// distinct stack, its `bytes` and `objects` estimated from each sample's
/// size and the interval it was drawn at; `sample_interval` is the interval
/// now (or the last one, stopped). Its [`Coverage`](super::Coverage) says
/// when sampling started and the live bytes then and now.
///
/// # Errors
/// [`ProfileError::NotSampling`] when sampling never started in this
/// process.
pub fn take() -> Result<HeapProfile, ProfileError> {
    if !has_samples() {
        return Err(ProfileError::NotSampling);
    }
    let mut by_stack: HashMap<Vec<usize>, StackSample> = HashMap::new();
    let mut last_interval = sampler::interval();
    region::for_each_live(|sample| {
        let size = sample.size as u64;
        let interval = sample.interval.max(1);
        if last_interval == 0 {
            last_interval = interval;
        }
        let weight = unbias(size, interval);
        let entry = by_stack
            .entry(sample.frames.to_vec())
            .or_insert_with(|| StackSample {
                addrs: sample.frames.to_vec(),
                sampled_objects: 0,
                sampled_bytes: 0,
                bytes: 0.0,
                objects: 0.0,
            });
        entry.sampled_objects += 1;
        entry.sampled_bytes += size;
        entry.bytes += size as f64 * weight;
        entry.objects += weight;
    });
    let mut stacks: Vec<StackSample> = by_stack.into_values().collect();
    stacks.sort_by(|a, b| b.bytes.total_cmp(&a.bytes));
    let mut profile = HeapProfile {
        sample_interval: last_interval.max(1),
        stacks,
        taken_at: SystemTime::now(),
        coverage: None,
    };
    profile.coverage = super::coverage::coverage_now(profile.total_bytes());
    Ok(profile)
}

/// The inverse of the probability that a block of `size` bytes is sampled
/// at mean interval `interval`: `1 / (1 - exp(-size / interval))`.
fn unbias(size: u64, interval: u64) -> f64 {
    let probability = -(-(size as f64) / interval as f64).exp_m1();
    if probability > 0.0 {
        1.0 / probability
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::unbias;

    #[test]
    fn unbias_is_one_over_the_sampling_probability() {
        // A block of the interval's size is sampled with 1 - 1/e.
        let expected = 1.0 / (1.0 - (-1.0f64).exp());
        assert!((unbias(512, 512) - expected).abs() < 1e-12);
        // Small blocks: about interval / size.
        assert!((unbias(1, 1 << 19) - (1u64 << 19) as f64).abs() < 1.0);
        // Huge blocks: certain.
        assert_eq!(unbias(1 << 40, 1 << 19), 1.0);
        // A zero-sized block counts as one sample.
        assert_eq!(unbias(0, 1 << 19), 1.0);
    }
}
