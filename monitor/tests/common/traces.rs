//! Seeded synthetic traces shared by the detector's test binaries: one
//! sample a minute, a 300 MB base, normal noise of 3 MB, sawtooth jobs
//! (each ramps 50 to 300 MB over 5 to 20 minutes, then memory falls back;
//! 5 to 30 idle minutes between jobs, the samples taken then marked
//! quiescent), and on top of them the memory the service keeps, by shape.

#![allow(dead_code)] // each test binary uses part of it

use heapguard_monitor::detect::SeriesPoint;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const MB: f64 = 1_000_000.0;
pub const MIB: f64 = 1_048_576.0;
pub const BASE: f64 = 300.0 * MB;
pub const NOISE_SD: f64 = 3.0 * MB;

/// A cache emptied and refilled every `period` minutes: `low` MiB right
/// after it is emptied, filling towards `high` MiB with time constant
/// `tau` minutes (`low + (high - low) (1 - e^(-phase/tau))`), the first
/// cycle starting at minute `-offset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cycle {
    pub period: f64,
    pub low_mib: f64,
    pub high_mib: f64,
    pub tau: f64,
    pub offset: f64,
}

impl Cycle {
    /// The cache: every 2 hours, 40 to 130 MiB, time constant
    /// 20 minutes.
    pub fn two_hourly(offset: f64) -> Self {
        Self {
            period: 120.0,
            low_mib: 40.0,
            high_mib: 130.0,
            tau: 20.0,
            offset,
        }
    }

    /// The cache's bytes at minute `t`.
    pub fn bytes(&self, t: f64) -> f64 {
        let phase = (t + self.offset).rem_euclid(self.period);
        (self.low_mib + (self.high_mib - self.low_mib) * (1.0 - (-phase / self.tau).exp())) * MIB
    }
}

/// A sawtooth in the memory kept between jobs: it climbs linearly by
/// `mib` MiB over `period` minutes and falls back (a buffer flushed on a
/// schedule), the first tooth starting at minute `-offset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Teeth {
    pub period: f64,
    pub mib: f64,
    pub offset: f64,
}

impl Teeth {
    pub fn bytes(&self, t: f64) -> f64 {
        let phase = (t + self.offset).rem_euclid(self.period);
        self.mib * MIB * phase / self.period
    }
}

/// The memory a service keeps on top of the base, and a leak.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// Nothing but the base.
    Steady,
    /// A step of `mib` MiB at minute `at`.
    Step { at: f64, mib: f64 },
    /// A cache filling `mib (1 - e^(-t/tau))` from the start.
    Filling { tau: f64, mib: f64 },
    /// A cache that starts filling at minute `at`, `mib (1 - e^(-(t - at)/tau))`.
    FillingFrom { at: f64, tau: f64, mib: f64 },
    /// A cycling cache.
    Cycling(Cycle),
    /// A sawtooth of the kept memory with a step of `mib` MiB at `at`.
    StepOnTeeth { teeth: Teeth, at: f64, mib: f64 },
}

impl Shape {
    pub fn kept(&self, t: f64) -> f64 {
        match *self {
            Shape::Steady => 0.0,
            Shape::Step { at, mib } => (t >= at) as u8 as f64 * mib * MIB,
            Shape::Filling { tau, mib } => mib * MIB * (1.0 - (-t / tau).exp()),
            Shape::FillingFrom { at, tau, mib } => {
                mib * MIB * (1.0 - (-(t - at).max(0.0) / tau).exp())
            }
            Shape::Cycling(cycle) => cycle.bytes(t),
            Shape::StepOnTeeth { teeth, at, mib } => {
                teeth.bytes(t) + (t >= at) as u8 as f64 * mib * MIB
            }
        }
    }
}

/// A trace: a shape, a leak of `leak_mb_per_min` from minute `leak_from`
/// (none when the rate is 0), sawtooth jobs when `jobs`, quiescent marks
/// when `marks` (without jobs every sample is quiescent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trace {
    pub shape: Shape,
    pub leak_mb_per_min: f64,
    pub leak_from: f64,
    pub jobs: bool,
    pub marks: bool,
}

impl Trace {
    pub fn clean(shape: Shape) -> Self {
        Self {
            shape,
            leak_mb_per_min: 0.0,
            leak_from: 0.0,
            jobs: true,
            marks: true,
        }
    }

    pub fn leaking(shape: Shape, mb_per_min: f64, from: f64) -> Self {
        Self {
            leak_mb_per_min: mb_per_min,
            leak_from: from,
            ..Self::clean(shape)
        }
    }

    pub fn without_marks(self) -> Self {
        Self {
            marks: false,
            ..self
        }
    }

    /// The kept memory at minute `t`, leak included (no noise, no jobs).
    pub fn kept(&self, t: f64) -> f64 {
        BASE + self.shape.kept(t) + (t - self.leak_from).max(0.0) * self.leak_mb_per_min * MB
    }

    /// `minutes` samples, one a minute, seeded.
    pub fn points(&self, seed: u64, minutes: usize) -> Vec<SeriesPoint> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut job_left, mut job_len, mut job_peak) = (0usize, 0usize, 0.0);
        let mut idle_left: usize = rng.random_range(0..=30);
        (0..minutes)
            .map(|minute| {
                let t = minute as f64;
                let u1: f64 = rng.random_range(f64::EPSILON..1.0);
                let u2: f64 = rng.random();
                let noise = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos() * NOISE_SD;
                let mut bytes = self.kept(t) + noise;
                let mut quiescent = true;
                if self.jobs {
                    if job_left == 0 && idle_left == 0 {
                        job_len = rng.random_range(5..=20);
                        job_left = job_len;
                        job_peak = rng.random_range(50.0..=300.0) * MB;
                        idle_left = rng.random_range(5..=30);
                    }
                    if job_left > 0 {
                        bytes += job_peak * (job_len - job_left + 1) as f64 / job_len as f64;
                        job_left -= 1;
                        quiescent = false;
                    } else {
                        idle_left -= 1;
                    }
                }
                SeriesPoint {
                    t_secs: t * 60.0,
                    bytes: bytes.max(0.0) as u64,
                    quiescent: quiescent && self.marks,
                }
            })
            .collect()
    }
}
