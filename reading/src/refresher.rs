//! One thread per process and cgroup that reads the cgroup's files off the
//! hot path and publishes what it read in atomics that `check()` loads.
//!
//! | read | every | what |
//! | --- | --- | --- |
//! | `memory.current` (v1 `memory.usage_in_bytes`) of each level | [`REFRESH_PERIOD`] (25 ms) | usage |
//! | `memory.stat` of each level | [`STAT_PERIOD`] (250 ms) | inactive file pages; reading it flushes the kernel's per-CPU statistics, so not on every tick |
//! | the limit files of the cgroup and its ancestors | [`LIMITS_PERIOD`] (1 s) | limits, so a limit changed while the process runs (an in-place resize, `systemctl set-property MemoryMax=`) is applied |
//!
//! **Staleness bound**: a published working set is at most one
//! [`REFRESH_PERIOD`] behind `memory.current` and one [`STAT_PERIOD`] behind
//! `memory.stat`, and a budget at most one [`LIMITS_PERIOD`] behind the limit
//! files, plus whatever time the refresher thread waits for a CPU.
//!
//! A process without a cgroup (or a breaker that asks for refresh actions
//! only) shares one plain refresher that reads nothing and only runs the
//! actions registered with it.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::cgroup::Cgroup;
use super::error::SourceError;
use super::limits::CgroupLimits;

/// How often the refresher reads `memory.current` and runs the registered actions.
pub const REFRESH_PERIOD: Duration = Duration::from_millis(25);
/// How often it reads `memory.stat` (inactive file pages).
pub const STAT_PERIOD: Duration = Duration::from_millis(250);
/// How often it reads the limit files again, and breakers re-resolve their budgets.
pub const LIMITS_PERIOD: Duration = Duration::from_secs(1);

/// Published in place of a reading when the last read failed.
const UNREADABLE: u64 = u64::MAX;

/// What one tick of the refresher did, for the actions registered with it.
#[derive(Debug, Clone, Copy)]
pub struct Tick {
    /// The limit files were read again on this tick.
    pub limits_refreshed: bool,
}

/// An action run on every tick.
pub type Action = dyn Fn(&Tick) + Send + Sync;

/// The readings of one level, kept by the refresher thread.
#[derive(Debug, Clone)]
struct Level {
    level: PathBuf,
    /// The smallest limit this level sets itself; `None` for the charged
    /// level when it sets none.
    limit: Option<u64>,
    usage: u64,
    inactive_file: u64,
}

#[derive(Debug)]
struct State {
    levels: Vec<Level>,
    last_stat: Instant,
    last_limits: Instant,
}

/// One refresher: its thread, what it publishes, and its actions.
pub struct Refresher {
    cgroup: Option<Cgroup>,
    /// The worst level: `usage - inactive_file` of each level scaled to the
    /// smallest limit (`working_set * smallest_limit / level_limit`), the
    /// largest of them, and the charged level's working set.
    worst: AtomicU64,
    /// The charged level's working set.
    own: AtomicU64,
    error: Mutex<Option<SourceError>>,
    state: Mutex<State>,
    actions: Mutex<Vec<Weak<Action>>>,
}

impl std::fmt::Debug for Refresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresher")
            .field("cgroup", &self.cgroup.as_ref().map(Cgroup::host_dir))
            .field("worst", &self.worst.load(Relaxed))
            .field("own", &self.own.load(Relaxed))
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The live refreshers of this process, one per cgroup (and one plain).
static REGISTRY: Mutex<Vec<(Option<Cgroup>, Weak<Refresher>)>> = Mutex::new(Vec::new());

impl Refresher {
    /// The refresher of `cgroup` (shared with every other breaker of this
    /// process reading it), started if none runs; fails if the cgroup cannot
    /// be read now.
    pub fn for_cgroup(cgroup: &Cgroup) -> Result<Arc<Self>, SourceError> {
        Self::shared(Some(cgroup))
    }

    /// The plain refresher: reads nothing, runs actions.
    pub fn plain() -> Arc<Self> {
        match Self::shared(None) {
            Ok(refresher) => refresher,
            Err(_) => unreachable!("a plain refresher reads no file"),
        }
    }

    fn shared(cgroup: Option<&Cgroup>) -> Result<Arc<Self>, SourceError> {
        let mut registry = lock(&REGISTRY);
        registry.retain(|(_, refresher)| refresher.strong_count() > 0);
        if let Some(refresher) = registry
            .iter()
            .filter(|(key, _)| key.as_ref() == cgroup)
            .find_map(|(_, refresher)| refresher.upgrade())
        {
            return Ok(refresher);
        }
        let refresher = Arc::new(Self::start(cgroup.cloned())?);
        registry.push((cgroup.cloned(), Arc::downgrade(&refresher)));
        let weak = Arc::downgrade(&refresher);
        let name = match cgroup {
            Some(_) => "heapguard-cgroup-refresher",
            None => "heapguard-refresher",
        };
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || run(weak));
        if let Err(error) = spawned {
            return Err(SourceError::io(&PathBuf::from("(refresher thread)"), error));
        }
        Ok(refresher)
    }

    /// Reads everything once, so the first check sees a real reading.
    fn start(cgroup: Option<Cgroup>) -> Result<Self, SourceError> {
        let now = Instant::now();
        let refresher = Self {
            cgroup,
            worst: AtomicU64::new(0),
            own: AtomicU64::new(0),
            error: Mutex::new(None),
            state: Mutex::new(State {
                levels: Vec::new(),
                last_stat: now,
                last_limits: now,
            }),
            actions: Mutex::new(Vec::new()),
        };
        if let Some(cgroup) = &refresher.cgroup {
            let mut state = lock(&refresher.state);
            state.levels = levels(cgroup)?;
            read_levels(cgroup, &mut state.levels, true)?;
            let (worst, own) = worst_and_own(&state.levels);
            refresher.worst.store(worst, Relaxed);
            refresher.own.store(own, Relaxed);
        }
        Ok(refresher)
    }

    /// The worst level's working set scaled to the smallest limit (see the
    /// module docs); an error when the last read failed.
    #[inline]
    pub fn worst(&self) -> Result<u64, SourceError> {
        match self.worst.load(Relaxed) {
            UNREADABLE => Err(self.error()),
            worst => Ok(worst),
        }
    }

    /// The charged level's working set; an error when the last read failed.
    #[inline]
    pub fn own(&self) -> Result<u64, SourceError> {
        match self.own.load(Relaxed) {
            UNREADABLE => Err(self.error()),
            own => Ok(own),
        }
    }

    #[cold]
    #[inline(never)]
    fn error(&self) -> SourceError {
        lock(&self.error).clone().unwrap_or(SourceError::NoCgroup {
            reason: "the cgroup refresher failed".to_owned(),
        })
    }

    /// Runs `action` on every tick until it is dropped (the refresher keeps
    /// a weak reference only).
    pub fn add_action(&self, action: &Arc<Action>) {
        lock(&self.actions).push(Arc::downgrade(action));
    }

    fn tick(&self) {
        let now = Instant::now();
        let mut state = lock(&self.state);
        let limits_due = now.duration_since(state.last_limits) >= LIMITS_PERIOD;
        if limits_due {
            state.last_limits = now;
        }
        if let Some(cgroup) = &self.cgroup {
            let stat_due = now.duration_since(state.last_stat) >= STAT_PERIOD;
            let result = (|| {
                if limits_due {
                    // The levels and their limits, read again (stat below too).
                    state.levels = levels(cgroup)?;
                }
                if stat_due {
                    state.last_stat = now;
                }
                read_levels(cgroup, &mut state.levels, stat_due || limits_due)
            })();
            match result {
                Ok(()) => {
                    let (worst, own) = worst_and_own(&state.levels);
                    self.worst.store(worst, Relaxed);
                    self.own.store(own, Relaxed);
                }
                Err(error) => {
                    *lock(&self.error) = Some(error);
                    self.worst.store(UNREADABLE, Relaxed);
                    self.own.store(UNREADABLE, Relaxed);
                }
            }
        }
        let actions: Vec<Arc<Action>> = {
            let mut actions = lock(&self.actions);
            actions.retain(|action| action.strong_count() > 0);
            actions.iter().filter_map(Weak::upgrade).collect()
        };
        drop(state);
        let tick = Tick {
            limits_refreshed: limits_due,
        };
        for action in actions {
            // The breakers catch their callbacks' panics and report them;
            // this catch is the last line, so no action can end the thread
            // every breaker on this refresher depends on.
            if let Err(message) = crate::caught::run_caught(|| action(&tick)) {
                tracing::error!(panic = %message, "a memory refresher action panicked; caught");
            }
        }
    }
}

/// The refresher thread: ticks until the last user of the refresher is gone.
fn run(refresher: Weak<Refresher>) {
    loop {
        std::thread::sleep(REFRESH_PERIOD);
        let Some(refresher) = refresher.upgrade() else {
            return;
        };
        refresher.tick();
    }
}

/// The levels to read: the charged level, and every level above it that
/// sets a limit of its own.
fn levels(cgroup: &Cgroup) -> Result<Vec<Level>, SourceError> {
    let charged = cgroup.charged_level()?.to_path_buf();
    let limits = CgroupLimits::read(cgroup);
    let mut levels = vec![Level {
        limit: limits
            .levels()
            .iter()
            .find(|level| level.level == charged)
            .map(|level| level.bytes),
        level: charged.clone(),
        usage: 0,
        inactive_file: 0,
    }];
    for level in limits.levels() {
        if level.level != charged && charged.starts_with(&level.level) {
            levels.push(Level {
                level: level.level.clone(),
                limit: Some(level.bytes),
                usage: 0,
                inactive_file: 0,
            });
        }
    }
    Ok(levels)
}

/// Reads each level's usage, and its inactive file pages when `stat` is set.
/// A level above the charged one without a usage file is read as its
/// child's usage would be: it is skipped (its limit still binds through
/// `hierarchical_memory_limit` on v1, and v2 has usage files wherever it has
/// limits).
fn read_levels(cgroup: &Cgroup, levels: &mut [Level], stat: bool) -> Result<(), SourceError> {
    for (index, level) in levels.iter_mut().enumerate() {
        let usage = cgroup.usage_of(&level.level);
        match usage {
            Ok(usage) => level.usage = usage,
            Err(error) if index == 0 => return Err(error),
            Err(_) => {
                level.limit = None;
                continue;
            }
        }
        if stat {
            level.inactive_file = cgroup.inactive_file_of(&level.level)?;
        }
    }
    Ok(())
}

/// The worst level scaled to the smallest limit, and the charged level's
/// working set.
fn worst_and_own(levels: &[Level]) -> (u64, u64) {
    let working_set = |level: &Level| level.usage.saturating_sub(level.inactive_file);
    let own = levels.first().map_or(0, working_set);
    let smallest = levels.iter().filter_map(|level| level.limit).min();
    let worst = levels
        .iter()
        .filter_map(|level| {
            let limit = level.limit.filter(|&limit| limit > 0)?;
            let scaled = u128::from(working_set(level)) * u128::from(smallest?) / u128::from(limit);
            Some(u64::try_from(scaled).unwrap_or(UNREADABLE - 1))
        })
        .fold(own, u64::max);
    (worst.min(UNREADABLE - 1), own.min(UNREADABLE - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(limit: Option<u64>, usage: u64, inactive_file: u64) -> Level {
        Level {
            level: PathBuf::new(),
            limit,
            usage,
            inactive_file,
        }
    }

    #[test]
    fn the_worst_ratio_binds_in_bytes_of_the_smallest_limit() {
        // Own: 300 of 1000 (30%); parent: 1800 of 2000 (90%) -> 900 of 1000.
        let levels = [level(Some(1000), 350, 50), level(Some(2000), 1900, 100)];
        assert_eq!(worst_and_own(&levels), (900, 300));
        // Own unlimited; parent 600 of 1000 -> 600, own 500.
        let levels = [level(None, 500, 0), level(Some(1000), 600, 0)];
        assert_eq!(worst_and_own(&levels), (600, 500));
        // Nothing limited: the own working set.
        assert_eq!(worst_and_own(&[level(None, 500, 100)]), (400, 400));
    }
}
