//! Allocations and frees made inside thread-local destructors, some after the
//! counter's own thread-local state is gone, are counted and never panic.

use std::alloc::System;
use std::cell::RefCell;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::thread;

use heapguard_alloc::{stats, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const LEAKED: usize = 1000;
static LEAKED_BLOCK: AtomicPtr<[u8; LEAKED]> = AtomicPtr::new(std::ptr::null_mut());

/// Frees what it holds and allocates a block that outlives the thread.
struct AllocatesOnDrop {
    held: RefCell<Vec<u8>>,
}

impl Drop for AllocatesOnDrop {
    fn drop(&mut self) {
        self.held.borrow_mut().clear();
        self.held.borrow_mut().shrink_to_fit();
        // Churn inside the destructor, then leave one block behind.
        let scratch: Vec<String> = (0..32).map(|i| i.to_string()).collect();
        drop(scratch);
        let block = Box::new([7u8; LEAKED]);
        LEAKED_BLOCK.store(Box::into_raw(block), Ordering::SeqCst);
    }
}

thread_local! {
    static ALLOCATES_ON_DROP: AllocatesOnDrop = const { AllocatesOnDrop { held: RefCell::new(Vec::new()) } };
}

fn thread_local_destructors_are_counted() {
    thread::spawn(|| ()).join().unwrap(); // warm-up
    let before = stats();
    thread::spawn(|| {
        ALLOCATES_ON_DROP.with(|value| value.held.borrow_mut().extend(0..200u8));
        // Also a destructor registered late, while other destructors run:
        // it runs after the counter released this thread's slot.
        thread_local! { static LATE: RefCell<Option<Vec<u64>>> = const { RefCell::new(None) }; }
        LATE.with(|late| *late.borrow_mut() = Some(vec![1; 100]));
    })
    .join()
    .unwrap();
    let after = stats();
    // Exactly the leaked block is still live: the 200-byte vector, the
    // scratch strings and LATE's vector were freed and counted.
    assert_eq!(after.live_bytes, before.live_bytes + LEAKED as u64);

    let block = LEAKED_BLOCK.swap(std::ptr::null_mut(), Ordering::SeqCst);
    assert!(!block.is_null());
    // SAFETY: created by Box::into_raw in the destructor above, taken once.
    let block = unsafe { Box::from_raw(block) };
    assert!(block.iter().all(|&b| b == 7));
    drop(block);
    assert_eq!(stats().live_bytes, before.live_bytes);

    // A thread whose first destructor is registered before its first
    // allocation: the counter's lease is registered later, so it is torn
    // down first, and everything `AllocatesOnDrop` does afterwards arrives
    // at a thread with no slot. It must land in the fallback counters.
    let before = stats();
    run_raw_thread(early_destructor_thread);
    let after = stats();
    assert_eq!(after.live_bytes, before.live_bytes + LEAKED as u64);
    let block = LEAKED_BLOCK.swap(std::ptr::null_mut(), Ordering::SeqCst);
    assert!(!block.is_null());
    // SAFETY: created by Box::into_raw in the destructor above, taken once.
    drop(unsafe { Box::from_raw(block) });
    assert_eq!(stats().live_bytes, before.live_bytes);
}

extern "C" fn early_destructor_thread(_: *mut libc::c_void) -> *mut libc::c_void {
    // No allocation happens before this line on a raw pthread, so this
    // destructor is registered before the counter's.
    ALLOCATES_ON_DROP.with(|_| ());
    ALLOCATES_ON_DROP.with(|value| value.held.borrow_mut().extend(0..50u8));
    std::ptr::null_mut()
}

/// Runs `body` on a pthread created without std, and joins it.
fn run_raw_thread(body: extern "C" fn(*mut libc::c_void) -> *mut libc::c_void) {
    let mut thread: libc::pthread_t = 0;
    // SAFETY: `thread` is a valid out-pointer, default attributes (null) are
    // allowed, and `body` is a C-ABI function that ignores its argument.
    let created =
        unsafe { libc::pthread_create(&mut thread, std::ptr::null(), body, std::ptr::null_mut()) };
    assert_eq!(created, 0);
    // SAFETY: `thread` was created joinable above and is joined once.
    let joined = unsafe { libc::pthread_join(thread, std::ptr::null_mut()) };
    assert_eq!(joined, 0);
}

/// Runs without libtest (see Cargo.toml): nothing else allocates meanwhile.
fn main() {
    thread_local_destructors_are_counted();
    println!("test thread_local_destructors_are_counted ... ok");
}
