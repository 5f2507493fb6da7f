//! Growth that is not a leak, and leaks hidden behind it: level shifts,
//! caches filling at the process start or after a restart, a leak after a
//! level shift and a leak on top of a filling cache. Seeded synthetic traces
//! (one sample a minute, 300 MB base, normal noise of 3 MB, sawtooth jobs
//! as in `detector_traces.rs`), each with quiescent marks, without them
//! (block minima), and with marks and missing samples (each sample lost
//! with probability 0.1, and one gap of 30 to 90 minutes). The counts are
//! exact; the latencies are bounds the crate docs quote.

use heapguard_monitor::detect::{SeriesPoint, TrendChange, TrendConfig, TrendDetector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const MB: f64 = 1_000_000.0;
const MIB: f64 = 1_048_576.0;
const BASE: f64 = 300.0 * MB;
const NOISE_SD: f64 = 3.0 * MB;
const RUNS: u64 = 20;

/// How the detector sees the samples.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Sampling {
    /// Quiescent marks between jobs.
    Marks,
    /// No marks: block minima.
    NoMarks,
    /// Marks, with samples lost.
    MarksWithGaps,
}

const SAMPLINGS: [Sampling; 3] = [Sampling::Marks, Sampling::NoMarks, Sampling::MarksWithGaps];

/// The memory a service keeps, on top of the base, at minute `t`.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// A step of `mib` MiB at minute `at`.
    Step { at: f64, mib: f64 },
    /// A cache filling `c (1 - e^(-t/tau))` from the process start; the
    /// process restarts at minute `restart` (memory back to the base) and
    /// the cache fills again.
    Cache { tau: f64, mib: f64, restart: f64 },
    /// A step of `mib` MiB at minute `at`, then a leak of `mb_per_min` from
    /// minute `leak_from`.
    LeakAfterShift {
        at: f64,
        mib: f64,
        leak_from: f64,
        mb_per_min: f64,
    },
    /// A cache filling from the process start with a leak of `mb_per_min`
    /// from minute `leak_from`.
    LeakOnCache {
        tau: f64,
        mib: f64,
        leak_from: f64,
        mb_per_min: f64,
    },
}

impl Shape {
    fn kept(&self, t: f64) -> f64 {
        let cache = |tau: f64, mib: f64, since: f64| mib * MIB * (1.0 - (-since / tau).exp());
        match *self {
            Shape::Step { at, mib } => (t >= at) as u8 as f64 * mib * MIB,
            Shape::Cache { tau, mib, restart } => {
                cache(tau, mib, if t >= restart { t - restart } else { t })
            }
            Shape::LeakAfterShift {
                at,
                mib,
                leak_from,
                mb_per_min,
            } => (t >= at) as u8 as f64 * mib * MIB + (t - leak_from).max(0.0) * mb_per_min * MB,
            Shape::LeakOnCache {
                tau,
                mib,
                leak_from,
                mb_per_min,
            } => cache(tau, mib, t) + (t - leak_from).max(0.0) * mb_per_min * MB,
        }
    }
}

/// Draws a cache with a time constant of 30 min to 4 h whose initial slope
/// (`c / tau`) is 0.5 to 2.6 MiB/min.
fn random_cache(rng: &mut ChaCha8Rng) -> (f64, f64) {
    let tau = rng.random_range(30.0..=240.0);
    let initial_slope = rng.random_range(0.5..=2.6);
    (tau, initial_slope * tau)
}

/// Runs `minutes` of `shape` under sawtooth jobs; returns the detector's
/// changes with the minute they came at.
fn run(shape: Shape, sampling: Sampling, seed: u64, minutes: usize) -> Vec<(f64, TrendChange)> {
    let mut detector = TrendDetector::new(TrendConfig::default(), None).unwrap();
    points_of(shape, sampling, seed, minutes)
        .into_iter()
        .filter_map(|point| Some((point.t_secs / 60.0, detector.observe(point)?)))
        .collect()
}

/// The samples of `minutes` of `shape` under sawtooth jobs, as sampled.
fn points_of(shape: Shape, sampling: Sampling, seed: u64, minutes: usize) -> Vec<SeriesPoint> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut points = Vec::with_capacity(minutes);
    let gap_start = rng.random_range(0..minutes);
    let gap_len = rng.random_range(30..=90);
    let (mut job_left, mut job_len, mut job_peak) = (0usize, 0usize, 0.0);
    let mut idle_left: usize = rng.random_range(0..=30);
    for minute in 0..minutes {
        let t = minute as f64;
        let u1: f64 = rng.random_range(f64::EPSILON..1.0);
        let u2: f64 = rng.random();
        let noise = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos() * NOISE_SD;
        let mut bytes = BASE + noise + shape.kept(t);
        if job_left == 0 && idle_left == 0 {
            job_len = rng.random_range(5..=20);
            job_left = job_len;
            job_peak = rng.random_range(50.0..=300.0) * MB;
            idle_left = rng.random_range(5..=30);
        }
        let quiescent = if job_left > 0 {
            bytes += job_peak * (job_len - job_left + 1) as f64 / job_len as f64;
            job_left -= 1;
            false
        } else {
            idle_left -= 1;
            true
        };
        let lost = sampling == Sampling::MarksWithGaps
            && (rng.random_bool(0.1) || (gap_start..gap_start + gap_len).contains(&minute));
        if lost {
            continue;
        }
        points.push(SeriesPoint {
            t_secs: t * 60.0,
            bytes: bytes as u64,
            quiescent: quiescent && sampling != Sampling::NoMarks,
        });
    }
    points
}

fn leaks(changes: &[(f64, TrendChange)]) -> Vec<f64> {
    changes
        .iter()
        .filter(|(_, change)| matches!(change, TrendChange::Suspected(_)))
        .map(|(t, _)| *t)
        .collect()
}

/// Over `RUNS` seeded runs of each sampling, the number of leak alarms, and
/// the informational events.
fn alarms(family: u64, minutes: usize, shape: impl Fn(&mut ChaCha8Rng) -> Shape) -> [usize; 3] {
    SAMPLINGS.map(|sampling| {
        (0..RUNS)
            .map(|run_index| {
                let seed = family * 1_000 + run_index;
                let shape = shape(&mut ChaCha8Rng::seed_from_u64(seed ^ 0x5eed));
                let changes = run(shape, sampling, seed, minutes);
                let alarms = leaks(&changes);
                if !alarms.is_empty() {
                    println!("{sampling:?} {shape:?}: leak alarms at {alarms:?}");
                }
                alarms.len()
            })
            .sum()
    })
}

#[test]
fn level_shifts_of_16_to_200_mib_are_no_leak() {
    let counts = alarms(1, 12 * 60, |rng| Shape::Step {
        at: rng.random_range(60.0..=600.0),
        mib: rng.random_range(16.0..=200.0),
    });
    assert_eq!(counts, [0, 0, 0]);
}

#[test]
fn a_level_shift_is_reported_once_with_its_own_size() {
    for mib in [24.0, 100.0, 200.0] {
        let shape = Shape::Step { at: 300.0, mib };
        let changes = run(shape, Sampling::Marks, 7, 12 * 60);
        let shifts: Vec<f64> = changes
            .iter()
            .filter_map(|(_, change)| match change {
                TrendChange::LevelShift(shift) => Some(shift.shift_bytes / MIB),
                _ => None,
            })
            .collect();
        assert!(leaks(&changes).is_empty(), "{changes:?}");
        assert_eq!(shifts.len(), 1, "{mib} MiB: {changes:?}");
        // The size reported is the step's, within the noise (3 MB samples,
        // lines fitted over a dozen points or more on each side).
        assert!(
            (shifts[0] - mib).abs() < 3.0,
            "{mib} MiB step reported as {shifts:?}"
        );
    }
}

#[test]
fn caches_filling_from_the_start_and_after_a_restart_are_no_leak() {
    let counts = alarms(2, 14 * 60, |rng| {
        let (tau, mib) = random_cache(rng);
        Shape::Cache {
            tau,
            mib,
            restart: rng.random_range(360.0..=540.0),
        }
    });
    assert_eq!(counts, [0, 0, 0]);
}

/// Latencies (minutes after the leak started) of the first leak alarm in
/// each run; a miss is `None`.
fn latencies(
    family: u64,
    minutes: usize,
    sampling: Sampling,
    shape: impl Fn(&mut ChaCha8Rng) -> Shape,
) -> Vec<Option<f64>> {
    (0..RUNS)
        .map(|run_index| {
            let seed = family * 1_000 + run_index;
            let shape = shape(&mut ChaCha8Rng::seed_from_u64(seed ^ 0x5eed));
            let leak_from = match shape {
                Shape::LeakAfterShift { leak_from, .. } | Shape::LeakOnCache { leak_from, .. } => {
                    leak_from
                }
                _ => unreachable!("not a leak"),
            };
            let mut detector = TrendDetector::new(TrendConfig::default(), None).unwrap();
            let first = points_of(shape, sampling, seed, minutes)
                .into_iter()
                .find(|&point| matches!(detector.observe(point), Some(TrendChange::Suspected(_))))
                .map(|point| point.t_secs / 60.0);
            assert!(
                first.is_none_or(|t| t >= leak_from),
                "{shape:?}: alarm before the leak, at minute {first:?}"
            );
            first.map(|t| t - leak_from)
        })
        .collect()
}

/// Runs found and the worst latency among them, minutes.
fn found_and_worst(latencies: &[Option<f64>]) -> (usize, f64) {
    let found: Vec<f64> = latencies.iter().flatten().copied().collect();
    (found.len(), found.iter().copied().fold(0.0, f64::max))
}

#[test]
fn a_leak_after_a_level_shift_is_found() {
    let shape = |rng: &mut ChaCha8Rng| {
        let at = rng.random_range(240.0..=360.0);
        Shape::LeakAfterShift {
            at,
            mib: rng.random_range(16.0..=200.0),
            leak_from: at + rng.random_range(0.0..=60.0),
            mb_per_min: 2.0,
        }
    };
    // (sampling, runs found, worst latency at most, minutes)
    for (sampling, runs, bound) in [
        (Sampling::Marks, 20, 36.0),
        (Sampling::MarksWithGaps, 20, 32.0),
        (Sampling::NoMarks, 20, 321.0),
    ] {
        let latencies = latencies(3, 16 * 60, sampling, shape);
        let (found, worst) = found_and_worst(&latencies);
        println!("leak after a shift, {sampling:?}: found {found}, worst {worst:.1} min");
        assert!(
            found >= runs && worst <= bound,
            "{sampling:?}: {latencies:?}"
        );
    }
}

#[test]
fn a_leak_on_a_filling_cache_is_found() {
    let shape = |rng: &mut ChaCha8Rng| {
        let (tau, mib) = random_cache(rng);
        Shape::LeakOnCache {
            tau,
            mib,
            leak_from: rng.random_range(30.0..=120.0),
            mb_per_min: 2.0,
        }
    };
    // (sampling, runs found, worst latency at most, minutes)
    for (sampling, runs, bound) in [
        (Sampling::Marks, 20, 31.0),
        (Sampling::MarksWithGaps, 20, 89.0),
        (Sampling::NoMarks, 19, 598.0),
    ] {
        let latencies = latencies(4, 20 * 60, sampling, shape);
        let (found, worst) = found_and_worst(&latencies);
        println!("leak on a filling cache, {sampling:?}: found {found}, worst {worst:.1} min");
        assert!(
            found >= runs && worst <= bound,
            "{sampling:?}: {latencies:?}"
        );
    }
}
