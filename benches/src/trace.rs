//! Recording the allocator calls of real code, and replaying them against any
//! allocator.
//!
//! Criterion compares allocators in one process, where only one of them can be
//! the global allocator. So the realistic churn (strings, vectors, maps built
//! and dropped) is recorded once through [`TraceRecorder`], installed as the
//! bench binary's global allocator, and the recorded calls are replayed
//! against each allocator as plain `GlobalAlloc` calls. A replay is the
//! allocator calls only, without the work between them (hashing, copying),
//! so it is a harsher test of allocator overhead than the real churn; the
//! end-to-end binaries measure the real thing.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Mutex, PoisonError};

use crate::block::{alloc_block, alloc_zeroed_block};

/// The most allocator calls one recording can hold.
pub const TRACE_CAPACITY: usize = 1 << 16;

const KIND_ALLOC: usize = 1;
const KIND_ALLOC_ZEROED: usize = 2;
const KIND_DEALLOC: usize = 3;
const KIND_REALLOC: usize = 4;

/// One raw call as the recorder saw it. Written only by the one recording
/// thread, read by it after recording stops: relaxed atomics suffice.
struct RawEvent {
    kind: AtomicUsize,
    ptr: AtomicUsize,
    size: AtomicUsize,
    align: AtomicUsize,
    new_ptr: AtomicUsize,
}

impl RawEvent {
    const fn new() -> Self {
        Self {
            kind: AtomicUsize::new(0),
            ptr: AtomicUsize::new(0),
            size: AtomicUsize::new(0),
            align: AtomicUsize::new(0),
            new_ptr: AtomicUsize::new(0),
        }
    }
}

static EVENTS: [RawEvent; TRACE_CAPACITY] = [const { RawEvent::new() }; TRACE_CAPACITY];
static LEN: AtomicUsize = AtomicUsize::new(0);
/// One recording at a time.
static RECORDING_LOCK: Mutex<()> = Mutex::new(());

thread_local! {
    static RECORDING: Cell<bool> = const { Cell::new(false) };
}

/// A global allocator that forwards to `A` and, on a thread inside
/// [`record`], writes down every call. Outside a recording it costs one
/// thread-local read per call.
///
/// ```
/// use heapguard_benches::trace::{record, TraceRecorder};
///
/// #[global_allocator]
/// static GLOBAL: TraceRecorder<std::alloc::System> = TraceRecorder::new(std::alloc::System);
///
/// let (_, trace) = record(|| drop(vec![String::from("a"), String::from("b")]))?;
/// assert_eq!(trace.allocations(), 3);
/// assert_eq!(trace.ops().len(), 6);
/// # Ok::<(), heapguard_benches::trace::TraceError>(())
/// ```
pub struct TraceRecorder<A> {
    inner: A,
}

impl<A: GlobalAlloc> TraceRecorder<A> {
    /// Wraps `inner`. `const`, so it can initialise a `static`.
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }
}

#[inline]
fn push(kind: usize, ptr: *mut u8, layout: Layout, new_ptr: *mut u8) {
    let recording = RECORDING.try_with(Cell::get).unwrap_or(false);
    if !recording {
        return;
    }
    let index = LEN.fetch_add(1, Relaxed);
    if let Some(event) = EVENTS.get(index) {
        event.kind.store(kind, Relaxed);
        event.ptr.store(ptr as usize, Relaxed);
        event.size.store(layout.size(), Relaxed);
        event.align.store(layout.align(), Relaxed);
        event.new_ptr.store(new_ptr as usize, Relaxed);
    }
}

// SAFETY: every method forwards to `A` with the caller's arguments unchanged;
// the recording only stores integers into static atomics, never touches the
// memory, never allocates and never unwinds.
unsafe impl<A: GlobalAlloc> GlobalAlloc for TraceRecorder<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract.
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            push(KIND_ALLOC, ptr, layout, ptr);
        }
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc_zeroed`'s contract.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            push(KIND_ALLOC_ZEROED, ptr, layout, ptr);
        }
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `dealloc`'s contract.
        unsafe { self.inner.dealloc(ptr, layout) };
        push(KIND_DEALLOC, ptr, layout, ptr);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `realloc`'s contract.
        let new_ptr = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() {
            // `size` holds the new size, `align` the unchanged alignment.
            let new_layout = Layout::from_size_align(new_size, layout.align()).unwrap_or(layout);
            push(KIND_REALLOC, ptr, new_layout, new_ptr);
        }
        new_ptr
    }
}

/// Why a recording could not be turned into a trace.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TraceError {
    /// The closure made more allocator calls than [`TRACE_CAPACITY`].
    #[error(
        "the recorded code made {calls} allocator calls, more than the {capacity} a trace holds"
    )]
    TooManyCalls {
        /// Calls made.
        calls: usize,
        /// [`TRACE_CAPACITY`].
        capacity: usize,
    },
    /// Nothing was recorded: [`TraceRecorder`] is not the global allocator.
    #[error("no allocator call was recorded: is TraceRecorder the #[global_allocator]?")]
    NothingRecorded,
}

/// One replayable allocator call; blocks are named by slot, not address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Allocate `layout` into `slot`.
    Alloc {
        /// Where the block is kept during the replay.
        slot: u32,
        /// What was asked for.
        layout: Layout,
        /// Whether it was `alloc_zeroed`.
        zeroed: bool,
    },
    /// Resize the block in `slot` to `new_size`.
    Realloc {
        /// The block.
        slot: u32,
        /// Its new size.
        new_size: usize,
    },
    /// Free the block in `slot`.
    Dealloc {
        /// The block.
        slot: u32,
    },
}

/// The allocator calls of one run of some code, replayable against any
/// allocator. Blocks the code left alive are freed at the end of each replay,
/// so a replay leaves nothing behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    ops: Vec<Op>,
    slots: usize,
}

/// Runs `work` on this thread with every allocator call recorded.
///
/// Calls from other threads are not recorded. Frees and reallocs of blocks
/// allocated before the recording began are dropped (a realloc becomes an
/// allocation of its new size).
pub fn record<R>(work: impl FnOnce() -> R) -> Result<(R, Trace), TraceError> {
    let _one_at_a_time = RECORDING_LOCK
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    LEN.store(0, Relaxed);
    RECORDING.with(|flag| flag.set(true));
    let result = work();
    RECORDING.with(|flag| flag.set(false));
    let calls = LEN.load(Relaxed);
    if calls > TRACE_CAPACITY {
        return Err(TraceError::TooManyCalls {
            calls,
            capacity: TRACE_CAPACITY,
        });
    }
    if calls == 0 {
        return Err(TraceError::NothingRecorded);
    }
    Ok((result, Trace::from_raw(&EVENTS[..calls])))
}

impl Trace {
    fn from_raw(events: &[RawEvent]) -> Self {
        let mut slot_of: HashMap<usize, u32> = HashMap::new();
        let mut free_slots: Vec<u32> = Vec::new();
        let mut slots = 0u32;
        let mut ops = Vec::with_capacity(events.len());
        let mut take_slot = |free_slots: &mut Vec<u32>| {
            free_slots.pop().unwrap_or_else(|| {
                slots += 1;
                slots - 1
            })
        };
        for event in events {
            let kind = event.kind.load(Relaxed);
            let ptr = event.ptr.load(Relaxed);
            let new_ptr = event.new_ptr.load(Relaxed);
            let size = event.size.load(Relaxed);
            let align = event.align.load(Relaxed);
            let Ok(layout) = Layout::from_size_align(size, align) else {
                continue;
            };
            match kind {
                KIND_ALLOC | KIND_ALLOC_ZEROED => {
                    let slot = take_slot(&mut free_slots);
                    slot_of.insert(new_ptr, slot);
                    let zeroed = kind == KIND_ALLOC_ZEROED;
                    ops.push(Op::Alloc {
                        slot,
                        layout,
                        zeroed,
                    });
                }
                KIND_DEALLOC => {
                    if let Some(slot) = slot_of.remove(&ptr) {
                        free_slots.push(slot);
                        ops.push(Op::Dealloc { slot });
                    }
                }
                KIND_REALLOC => match slot_of.remove(&ptr) {
                    Some(slot) => {
                        slot_of.insert(new_ptr, slot);
                        ops.push(Op::Realloc {
                            slot,
                            new_size: size,
                        });
                    }
                    None => {
                        let slot = take_slot(&mut free_slots);
                        slot_of.insert(new_ptr, slot);
                        ops.push(Op::Alloc {
                            slot,
                            layout,
                            zeroed: false,
                        });
                    }
                },
                _ => {}
            }
        }
        let mut leftovers: Vec<u32> = slot_of.into_values().collect();
        leftovers.sort_unstable();
        ops.extend(leftovers.into_iter().map(|slot| Op::Dealloc { slot }));
        Self {
            ops,
            slots: slots as usize,
        }
    }

    /// The calls, in order, ending with frees of what the code left alive.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// How many `alloc`/`alloc_zeroed` calls the trace makes.
    pub fn allocations(&self) -> usize {
        self.ops
            .iter()
            .filter(|op| matches!(op, Op::Alloc { .. }))
            .count()
    }

    /// A table to replay into, sized for the most blocks alive at once.
    pub fn new_table(&self) -> ReplayTable {
        ReplayTable(vec![
            (core::ptr::null_mut(), Layout::new::<u8>());
            self.slots
        ])
    }

    /// Makes every call of the trace on `alloc`, in order.
    #[inline]
    pub fn replay<A: GlobalAlloc>(&self, alloc: &A, table: &mut ReplayTable) {
        let table = &mut table.0;
        for op in &self.ops {
            match *op {
                Op::Alloc {
                    slot,
                    layout,
                    zeroed,
                } => {
                    let ptr = if zeroed {
                        alloc_zeroed_block(alloc, layout)
                    } else {
                        alloc_block(alloc, layout)
                    };
                    table[slot as usize] = (black_box(ptr), layout);
                }
                Op::Realloc { slot, new_size } => {
                    let (ptr, layout) = table[slot as usize];
                    // SAFETY: the slot holds a live block of `alloc` with
                    // `layout` (the trace allocates a slot before resizing
                    // it), and `new_size` was a valid size when recorded.
                    let new_ptr = unsafe { alloc.realloc(ptr, layout, new_size) };
                    if new_ptr.is_null() {
                        std::alloc::handle_alloc_error(layout);
                    }
                    let new_layout = Layout::from_size_align(new_size, layout.align())
                        .unwrap_or_else(|_| unreachable!("recorded from a real realloc"));
                    table[slot as usize] = (black_box(new_ptr), new_layout);
                }
                Op::Dealloc { slot } => {
                    let (ptr, layout) = table[slot as usize];
                    // SAFETY: the slot holds a live block of `alloc` with
                    // `layout`; the trace frees each block once.
                    unsafe { alloc.dealloc(ptr, layout) };
                }
            }
        }
    }
}

/// Where a replay keeps its live blocks: one entry per trace slot.
pub struct ReplayTable(Vec<(*mut u8, Layout)>);
