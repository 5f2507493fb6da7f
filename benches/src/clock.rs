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
    /// let watch = Clock::ThreadCpu.start();
    /// let sum: u64 = (0..100_000u64).map(std::hint::black_box).sum();
    /// assert!(sum > 0);
    /// assert!(watch.elapsed() > std::time::Duration::ZERO);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_ignores_sleeping_and_wall_time_does_not() {
        let cpu = Clock::ThreadCpu.start();
        let wall = Clock::Wall.start();
        std::thread::sleep(Duration::from_millis(30));
        assert!(wall.elapsed() >= Duration::from_millis(30));
        if cfg!(target_os = "linux") {
            assert!(cpu.elapsed() < Duration::from_millis(20));
        }
    }
}
