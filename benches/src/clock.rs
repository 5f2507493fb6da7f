//! Which clock a measurement reads: wall time, or the thread's CPU time.
//!
//! On a machine shared with other work (this project's 2-core VM runs other
//! compiles while benchmarks run), wall time also counts the moments the
//! measuring thread was descheduled. The thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`) counts only the time it ran, cache misses and
//! contention with the other measuring thread included; on an idle machine
//! the two agree. Where the thread CPU clock is unavailable (not Linux, or
//! the call fails) the CPU clocks fall back to wall time.

use std::time::{Duration, Instant};

/// A clock to time one thread's work with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Elapsed real time (`Instant`).
    Wall,
    /// CPU time consumed by the calling thread.
    ThreadCpu,
    /// CPU time consumed by every thread of the process.
    ProcessCpu,
}

/// A running measurement, started by [`Clock::start`].
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch {
    wall: Instant,
    cpu: Option<(Clock, Duration)>,
}

impl Clock {
    /// Starts timing on the calling thread.
    ///
    /// ```
    /// use heapguard_benches::Clock;
    /// use std::hint::black_box;
    ///
    /// let watch = Clock::ThreadCpu.start();
    /// let sum: u64 = (0..100_000u64).map(black_box).sum();
    /// let spent = watch.elapsed();
    /// assert_eq!(sum, 4_999_950_000);
    /// // A stopwatch never runs backwards.
    /// assert!(watch.elapsed() >= spent);
    /// ```
    #[inline]
    pub fn start(self) -> Stopwatch {
        let cpu = match self {
            Clock::Wall => None,
            Clock::ThreadCpu => cpu_time(CpuClock::Thread),
            Clock::ProcessCpu => cpu_time(CpuClock::Process),
        };
        Stopwatch {
            wall: Instant::now(),
            cpu: cpu.map(|start| (self, start)),
        }
    }

    /// The name used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Clock::Wall => "wall time",
            Clock::ThreadCpu => "thread CPU time",
            Clock::ProcessCpu => "process CPU time",
        }
    }
}

impl Stopwatch {
    /// Time since [`Clock::start`] on the clock it was started with. Call it
    /// on the thread that started it.
    #[inline]
    pub fn elapsed(&self) -> Duration {
        let now = match self.cpu {
            Some((Clock::ProcessCpu, start)) => Some((start, cpu_time(CpuClock::Process))),
            Some((_, start)) => Some((start, cpu_time(CpuClock::Thread))),
            None => None,
        };
        match now {
            Some((start, Some(now))) => now.saturating_sub(start),
            _ => self.wall.elapsed(),
        }
    }
}

#[derive(Clone, Copy)]
enum CpuClock {
    Thread,
    Process,
}

#[cfg(target_os = "linux")]
fn cpu_time(which: CpuClock) -> Option<Duration> {
    let id = match which {
        CpuClock::Thread => libc::CLOCK_THREAD_CPUTIME_ID,
        CpuClock::Process => libc::CLOCK_PROCESS_CPUTIME_ID,
    };
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; the clock id is a constant
    // Linux supports.
    let status = unsafe { libc::clock_gettime(id, &mut now) };
    if status != 0 {
        return None;
    }
    Some(Duration::new(
        u64::try_from(now.tv_sec).ok()?,
        u32::try_from(now.tv_nsec).ok()?,
    ))
}

#[cfg(not(target_os = "linux"))]
fn cpu_time(_: CpuClock) -> Option<Duration> {
    None
}

/// The process's CPU time so far, every thread's: (user, system), from
/// `getrusage(RUSAGE_SELF)`; `None` if the call fails.
pub(crate) fn process_user_system_time() -> Option<(Duration, Duration)> {
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage; RUSAGE_SELF is a constant
    // every Unix supports.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    let time = |t: libc::timeval| {
        Some(Duration::new(
            u64::try_from(t.tv_sec).ok()?,
            u32::try_from(t.tv_usec).ok()? * 1000,
        ))
    };
    Some((time(usage.ru_utime)?, time(usage.ru_stime)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a CPU clock straight from the kernel, independently of the code
    /// under test.
    #[cfg(target_os = "linux")]
    fn read(id: libc::clockid_t) -> Duration {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid, writable timespec; `id` is one of the CPU
        // clock constants Linux supports.
        let status = unsafe { libc::clock_gettime(id, &mut now) };
        assert_eq!(status, 0, "clock_gettime({id})");
        Duration::new(
            u64::try_from(now.tv_sec).expect("non-negative"),
            u32::try_from(now.tv_nsec).expect("below 1e9"),
        )
    }

    /// Spins on a thread of its own until that thread's CPU clock has
    /// advanced by `cpu`, then lets it exit.
    #[cfg(target_os = "linux")]
    fn burn_on_other_thread(cpu: Duration) {
        std::thread::spawn(move || {
            let start = read(libc::CLOCK_THREAD_CPUTIME_ID);
            while read(libc::CLOCK_THREAD_CPUTIME_ID) - start < cpu {
                std::hint::spin_loop();
            }
        })
        .join()
        .expect("the burning thread does not panic");
    }

    #[test]
    fn names_are_the_reported_ones() {
        assert_eq!(Clock::Wall.name(), "wall time");
        assert_eq!(Clock::ThreadCpu.name(), "thread CPU time");
        assert_eq!(Clock::ProcessCpu.name(), "process CPU time");
    }

    #[test]
    fn every_clock_is_monotonic() {
        for clock in [Clock::Wall, Clock::ThreadCpu, Clock::ProcessCpu] {
            let watch = clock.start();
            let mut last = Duration::ZERO;
            for _ in 0..1000 {
                let now = watch.elapsed();
                assert!(now >= last, "{}: {now:?} after {last:?}", clock.name());
                last = now;
            }
        }
    }

    #[test]
    fn wall_time_lies_within_instant_readings_around_it() {
        let outer = Instant::now();
        let watch = Clock::Wall.start();
        let inner = Instant::now();
        let mut black_hole = 0u64;
        for i in 0..10_000u64 {
            black_hole = black_hole.wrapping_add(std::hint::black_box(i));
        }
        let before = inner.elapsed();
        let elapsed = watch.elapsed();
        let after = outer.elapsed();
        assert_eq!(black_hole, 49_995_000);
        assert!(
            before <= elapsed && elapsed <= after,
            "{before:?} <= {elapsed:?} <= {after:?}"
        );
    }

    /// The calling thread's CPU clock: bounded by direct readings of
    /// `CLOCK_THREAD_CPUTIME_ID` taken around the stopwatch, while another
    /// thread of the process burns 20 ms of CPU that a process clock (or wall
    /// time, the fallback) would include.
    #[cfg(target_os = "linux")]
    #[test]
    fn thread_cpu_time_counts_only_the_calling_thread() {
        let outer = read(libc::CLOCK_THREAD_CPUTIME_ID);
        let watch = Clock::ThreadCpu.start();
        let inner = read(libc::CLOCK_THREAD_CPUTIME_ID);
        burn_on_other_thread(Duration::from_millis(20));
        let before = read(libc::CLOCK_THREAD_CPUTIME_ID) - inner;
        let elapsed = watch.elapsed();
        let after = read(libc::CLOCK_THREAD_CPUTIME_ID) - outer;
        assert!(
            before <= elapsed && elapsed <= after,
            "{before:?} <= {elapsed:?} <= {after:?}"
        );
    }

    /// The process's CPU clock includes what other threads (here one that has
    /// already exited) spent.
    #[cfg(target_os = "linux")]
    #[test]
    fn process_cpu_time_counts_every_thread() {
        let burned = Duration::from_millis(20);
        let outer = read(libc::CLOCK_PROCESS_CPUTIME_ID);
        let watch = Clock::ProcessCpu.start();
        burn_on_other_thread(burned);
        let elapsed = watch.elapsed();
        let after = read(libc::CLOCK_PROCESS_CPUTIME_ID) - outer;
        assert!(
            burned <= elapsed && elapsed <= after,
            "{burned:?} <= {elapsed:?} <= {after:?}"
        );
    }
}
