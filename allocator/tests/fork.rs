//! `fork()` while other threads read the totals and threads come and go: the
//! readers' lock (also taken by a thread giving its slot back) must not be
//! inherited held, or the child's own `stats()` waits forever for a thread
//! that does not exist in the child.
//!
//! Each of 20 children times its own `stats()` calls, checks that they
//! count its own allocation to the byte (it has one thread, so they are
//! exact), and reports through its exit status; the parent waits for each
//! child for a bounded time and kills a straggler, so a hang fails the test
//! instead of hanging it. An `alarm` in each child ends it even if the
//! parent dies first. Unix only (elsewhere the binary does nothing).

use std::alloc::System;

use heapguard_alloc::CountingAlloc;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

fn main() {
    #[cfg(unix)]
    {
        unix::children_forked_while_threads_read_stats_never_hang();
        println!("test children_forked_while_threads_read_stats_never_hang ... ok");
    }
}

#[cfg(unix)]
mod unix {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
    use std::thread;
    use std::time::{Duration, Instant};

    use heapguard_alloc::stats;

    const CHILDREN: usize = 20;
    const READERS: usize = 4;
    /// How long a child's `stats()` may take.
    const CHILD_LIMIT: Duration = Duration::from_secs(1);
    /// How long the parent waits for a child before killing it: well past
    /// `CHILD_LIMIT`, so a slow but working child is never taken for a hung one.
    const WAIT_LIMIT: Duration = Duration::from_secs(5);

    const CHILD_OK: i32 = 0;
    const CHILD_SLOW: i32 = 3;
    const CHILD_INEXACT: i32 = 4;

    /// What a child does: read the totals, allocate a block, read them again.
    /// Returns the exit status to report. Runs in a forked copy of a
    /// multi-threaded process: it calls nothing that locks beyond what the test
    /// is about (the allocator, whose malloc is fork-safe in glibc, and
    /// `stats()`).
    fn child() -> i32 {
        let start = Instant::now();
        let before = stats();
        let block = std::hint::black_box(vec![7u8; 4096]);
        let after = stats();
        let took = start.elapsed();
        drop(block);
        if took > CHILD_LIMIT {
            return CHILD_SLOW;
        }
        // One thread in the child: nobody else is inside the allocator, so the
        // readings are exact.
        if after.live_bytes.wrapping_sub(before.live_bytes) != 4096
            || after.allocations - before.allocations != 1
        {
            return CHILD_INEXACT;
        }
        CHILD_OK
    }

    /// Waits for `pid` until `deadline`, then kills it. Returns its exit status,
    /// or `None` when it had to be killed (or died of a signal).
    fn wait_bounded(pid: libc::pid_t, deadline: Instant) -> Option<i32> {
        loop {
            let mut status = 0;
            // SAFETY: `pid` is our child; `status` is a valid out pointer.
            let waited = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if waited == pid {
                return libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
            }
            assert!(waited == 0, "waitpid({pid}) failed");
            if Instant::now() >= deadline {
                // SAFETY: as above; SIGKILL ends it whatever it is doing.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, &mut status, 0);
                }
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    pub(super) fn children_forked_while_threads_read_stats_never_hang() {
        let stop = AtomicBool::new(false);
        let readings = AtomicU64::new(0);
        let exits = AtomicU64::new(0);
        let outcomes = thread::scope(|s| {
            for _ in 0..READERS {
                s.spawn(|| {
                    while !stop.load(SeqCst) {
                        std::hint::black_box(stats());
                        readings.fetch_add(1, SeqCst);
                    }
                });
            }
            // Threads leaving take the same lock to give their slot back.
            s.spawn(|| {
                while !stop.load(SeqCst) {
                    thread::spawn(|| std::hint::black_box(vec![1u8; 100]))
                        .join()
                        .unwrap();
                    exits.fetch_add(1, SeqCst);
                }
            });
            // Fork only once every reader is in its loop and threads have left.
            let warm = Instant::now() + Duration::from_secs(10);
            while (readings.load(SeqCst) < 1000 || exits.load(SeqCst) < 10) && Instant::now() < warm
            {
                thread::yield_now();
            }
            let mut outcomes = Vec::with_capacity(CHILDREN);
            for _ in 0..CHILDREN {
                // SAFETY: the child calls only `child` (the allocator and
                // `stats`) and `_exit`, never returning into the test's threads.
                let pid = unsafe { libc::fork() };
                assert!(pid >= 0, "fork failed");
                if pid == 0 {
                    // SAFETY: in the child: `alarm` ends it should it hang,
                    // `_exit` leaves without running the parent's exit handlers.
                    unsafe {
                        libc::alarm(10);
                        libc::_exit(child());
                    }
                }
                outcomes.push(wait_bounded(pid, Instant::now() + WAIT_LIMIT));
                // Let the readers and the churn move on before the next fork.
                thread::sleep(Duration::from_millis(2));
            }
            stop.store(true, SeqCst);
            outcomes
        });
        let hung = outcomes.iter().filter(|o| o.is_none()).count();
        let slow = outcomes.iter().filter(|o| **o == Some(CHILD_SLOW)).count();
        let inexact = outcomes
            .iter()
            .filter(|o| **o == Some(CHILD_INEXACT))
            .count();
        assert!(
            outcomes.iter().all(|o| *o == Some(CHILD_OK)),
            "of {CHILDREN} children: {hung} hung (killed after {WAIT_LIMIT:?}), {slow} took over \
         {CHILD_LIMIT:?} in stats(), {inexact} read inexact totals; all: {outcomes:?}"
        );
        assert!(readings.load(SeqCst) >= 1000, "the readers did not run");
        assert!(exits.load(SeqCst) >= 10, "no thread left during the forks");
    }
}
