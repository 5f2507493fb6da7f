//! Acceptance 1: the detectors on seeded synthetic traces (one sample a
//! minute, 300 MB base). Run with `--nocapture` to see the table that the
//! crate docs quote.

use heapguard_monitor::detect::{GrowthRule, SeriesPoint, TrendChange, TrendConfig, TrendDetector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const MB: f64 = 1_000_000.0;
const BASE: f64 = 300.0 * MB;
const NOISE_SD: f64 = 3.0 * MB;
const DAY_MIN: usize = 24 * 60;
const LEAK_START_MIN: usize = 4 * 60;

/// The shapes of the traces.
#[derive(Debug, Clone, Copy)]
enum Pattern {
    /// Base plus noise; every sample quiescent.
    Steady,
    /// Jobs ramp 50 to 300 MB over 5 to 20 min, then back to base; 5 to 30
    /// idle (quiescent) minutes between jobs.
    Sawtooth,
    /// Sawtooth under a cache filling 150 to 300 MB with a time constant of
    /// 30 to 90 min from the process start.
    WarmUp,
    /// Sawtooth plus a leak of this many MB/min from minute 240 on.
    Leak(f64),
}

/// A seeded trace generator; `next` yields one sample a minute.
struct Trace {
    rng: ChaCha8Rng,
    pattern: Pattern,
    minute: usize,
    job_left: usize,
    job_len: usize,
    job_peak: f64,
    idle_left: usize,
    cache_bytes: f64,
    cache_tau_min: f64,
}

impl Trace {
    fn new(pattern: Pattern, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let cache_bytes = rng.random_range(150.0..=300.0) * MB;
        let cache_tau_min = rng.random_range(30.0..=90.0);
        let idle_left = rng.random_range(0..=30);
        Self {
            rng,
            pattern,
            minute: 0,
            job_left: 0,
            job_len: 0,
            job_peak: 0.0,
            idle_left,
            cache_bytes,
            cache_tau_min,
        }
    }

    fn noise(&mut self) -> f64 {
        // Box-Muller.
        let u1: f64 = self.rng.random_range(f64::EPSILON..1.0);
        let u2: f64 = self.rng.random();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos() * NOISE_SD
    }

    fn next(&mut self) -> SeriesPoint {
        let t = self.minute as f64;
        let mut bytes = BASE + self.noise();
        let mut quiescent = true;
        if !matches!(self.pattern, Pattern::Steady) {
            if self.job_left == 0 && self.idle_left == 0 {
                self.job_len = self.rng.random_range(5..=20);
                self.job_left = self.job_len;
                self.job_peak = self.rng.random_range(50.0..=300.0) * MB;
                self.idle_left = self.rng.random_range(5..=30);
            }
            if self.job_left > 0 {
                let done = (self.job_len - self.job_left + 1) as f64 / self.job_len as f64;
                bytes += self.job_peak * done;
                quiescent = false;
                self.job_left -= 1;
            } else {
                self.idle_left -= 1;
            }
        }
        match self.pattern {
            Pattern::WarmUp => bytes += self.cache_bytes * (1.0 - (-t / self.cache_tau_min).exp()),
            Pattern::Leak(mb_per_min) => {
                bytes += mb_per_min * MB * (self.minute.saturating_sub(LEAK_START_MIN)) as f64
            }
            Pattern::Steady | Pattern::Sawtooth => {}
        }
        self.minute += 1;
        SeriesPoint {
            t_secs: t * 60.0,
            bytes: bytes.max(0.0) as u64,
            quiescent,
        }
    }
}

/// The default detector, and the seed's rule over the last 60 samples.
struct Detectors {
    trend: TrendDetector,
    growth: GrowthRule,
    recent: std::collections::VecDeque<SeriesPoint>,
    growth_alarmed: bool,
}

#[derive(Debug, Default)]
struct Alarms {
    trend: Vec<f64>,
    growth: Vec<f64>,
}

impl Detectors {
    fn new() -> Self {
        Self {
            trend: TrendDetector::new(TrendConfig::default(), None).unwrap(),
            growth: GrowthRule::default(),
            recent: std::collections::VecDeque::new(),
            growth_alarmed: false,
        }
    }

    /// Feeds one sample; records alarm times in minutes.
    fn observe(&mut self, point: SeriesPoint, alarms: &mut Alarms) {
        if let Some(TrendChange::Suspected(verdict)) = self.trend.observe(point) {
            alarms.trend.push(verdict.t_secs / 60.0);
        }
        self.recent.push_back(point);
        if self.recent.len() > self.growth.window() {
            self.recent.pop_front();
        }
        let fired = self
            .growth
            .evaluate(self.recent.make_contiguous())
            .is_some();
        if fired && !self.growth_alarmed {
            alarms.growth.push(point.t_secs / 60.0);
        }
        self.growth_alarmed = fired;
    }
}

fn strip_marks(mut point: SeriesPoint) -> SeriesPoint {
    point.quiescent = false;
    point
}

/// Runs `days` days: one continuous trace, or a fresh process each day.
/// Returns (days with a trend alarm, days with a growth-rule alarm).
fn false_alarm_days(
    pattern: Pattern,
    days: usize,
    continuous: bool,
    marks: bool,
) -> (usize, usize) {
    let mut trend_days = std::collections::BTreeSet::new();
    let mut growth_days = std::collections::BTreeSet::new();
    let runs = if continuous { 1 } else { days };
    let minutes = if continuous { days * DAY_MIN } else { DAY_MIN };
    for run in 0..runs {
        let mut trace = Trace::new(pattern, 1_000 + run as u64);
        let mut detectors = Detectors::new();
        let mut alarms = Alarms::default();
        for _ in 0..minutes {
            let point = trace.next();
            detectors.observe(if marks { point } else { strip_marks(point) }, &mut alarms);
        }
        let day = |minute: &f64| run + (*minute as usize) / DAY_MIN;
        trend_days.extend(alarms.trend.iter().map(day));
        growth_days.extend(alarms.growth.iter().map(day));
    }
    println!(
        "{pattern:?} (quiescent marks: {marks}): {days} days, trend detector alarmed on {} days, seed rule on {} days",
        trend_days.len(),
        growth_days.len()
    );
    (trend_days.len(), growth_days.len())
}

#[test]
fn steady_noise_never_alarms() {
    let (trend, _) = false_alarm_days(Pattern::Steady, 100, true, true);
    assert_eq!(trend, 0);
}

#[test]
fn sawtooth_batches_never_alarm_and_fool_the_seed_rule() {
    let (trend, growth) = false_alarm_days(Pattern::Sawtooth, 100, true, true);
    assert_eq!(trend, 0);
    assert!(
        growth >= 90,
        "the seed rule alarmed on only {growth} of 100 days"
    );
}

#[test]
fn sawtooth_without_quiescent_marks_never_alarms() {
    let (trend, _) = false_alarm_days(Pattern::Sawtooth, 100, true, false);
    assert_eq!(trend, 0);
}

#[test]
fn cache_warm_up_never_alarms_and_fools_the_seed_rule() {
    let (trend, growth) = false_alarm_days(Pattern::WarmUp, 100, false, true);
    assert_eq!(trend, 0);
    assert!(
        growth >= 90,
        "the seed rule alarmed on only {growth} of 100 warm-ups"
    );
}

const LEAK_RUNS: u64 = 40;
const LEAK_HORIZON_MIN: usize = 12 * 60;

/// Latencies (minutes after the leak started) of the first trend alarm and
/// the first seed-rule alarm in each run; `None` when missed within 12 h.
fn leak_latencies(mb_per_min: f64) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
    let mut trend = Vec::new();
    let mut growth = Vec::new();
    for run in 0..LEAK_RUNS {
        let mut trace = Trace::new(Pattern::Leak(mb_per_min), 5_000 + run);
        let mut detectors = Detectors::new();
        let mut alarms = Alarms::default();
        for _ in 0..LEAK_START_MIN + LEAK_HORIZON_MIN {
            detectors.observe(trace.next(), &mut alarms);
            if !alarms.trend.is_empty() && !alarms.growth.is_empty() {
                break;
            }
        }
        assert!(
            alarms.trend.iter().all(|&m| m >= LEAK_START_MIN as f64),
            "run {run}: trend alarm before the leak started: {:?}",
            alarms.trend
        );
        let latency = |times: &[f64]| {
            times
                .iter()
                .find(|&&m| m >= LEAK_START_MIN as f64)
                .map(|m| m - LEAK_START_MIN as f64)
        };
        trend.push(latency(&alarms.trend));
        growth.push(latency(&alarms.growth));
    }
    (trend, growth)
}

fn summary(latencies: &[Option<f64>]) -> (usize, Option<f64>, Option<f64>) {
    let mut found: Vec<f64> = latencies.iter().flatten().copied().collect();
    found.sort_by(f64::total_cmp);
    let median = (found.len() * 2 > latencies.len()).then(|| {
        let mut all: Vec<f64> = latencies
            .iter()
            .map(|l| l.unwrap_or(f64::INFINITY))
            .collect();
        all.sort_by(f64::total_cmp);
        all[all.len() / 2]
    });
    (found.len(), median, found.last().copied())
}

fn check_leak(mb_per_min: f64, median_limit_min: Option<f64>) {
    let (trend, growth) = leak_latencies(mb_per_min);
    let (found, median, max) = summary(&trend);
    let (g_found, g_median, _) = summary(&growth);
    println!(
        "leak {mb_per_min} MB/min: trend found {found}/{LEAK_RUNS}, median {median:?} min, max {max:?} min; seed rule found {g_found}/{LEAK_RUNS}, median {g_median:?} min"
    );
    if let Some(limit) = median_limit_min {
        assert_eq!(
            found, LEAK_RUNS as usize,
            "missed a {mb_per_min} MB/min leak"
        );
        let median = median.unwrap();
        assert!(median <= limit, "median latency {median} min > {limit} min");
    }
}

#[test]
fn leak_half_mb_per_min_is_reported() {
    check_leak(0.5, None);
}

#[test]
fn leak_1_mb_per_min_found_every_run_within_2_h_median() {
    check_leak(1.0, Some(120.0));
}

#[test]
fn leak_2_mb_per_min_found_every_run() {
    check_leak(2.0, Some(120.0));
}

#[test]
fn leak_5_mb_per_min_found_every_run() {
    check_leak(5.0, Some(60.0));
}

#[test]
fn leak_10_mb_per_min_found_every_run_within_15_min_median() {
    check_leak(10.0, Some(15.0));
}
