//! Live bytes over time, for the chart: a small sampler thread that keeps a
//! bounded number of readings (the monitor keeps only a bounded window).
//!
//! The timeline holds at most [`MAX_TIMELINE_POINTS`] points, allocated
//! once, whatever the job's length. When it is full, each pair of adjacent
//! points merges into the higher of the two and the sampling stride doubles;
//! between kept points the sampler keeps the highest reading of its stride.
//! So every stored point is the highest reading of its span of time, the
//! highest reading of the whole job is always kept, and a job of any length
//! ends with between half of and all of [`MAX_TIMELINE_POINTS`] points once
//! it has filled them.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, select, tick, Sender};
use serde::{Deserialize, Serialize};

/// The most points a timeline holds (32 KiB of points).
pub const MAX_TIMELINE_POINTS: usize = 2_048;

/// One reading of the counting allocator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelinePoint {
    /// Milliseconds since the job started.
    pub t_ms: u64,
    /// Live heap bytes at that moment.
    pub live_bytes: u64,
}

/// Readings decimated into at most `capacity` points (see the module docs).
#[derive(Debug)]
struct Decimator {
    points: Vec<TimelinePoint>,
    capacity: usize,
    /// Readings per stored point.
    stride: u64,
    /// The highest reading of the current stride, and how many it has seen.
    pending: Option<TimelinePoint>,
    in_stride: u64,
}

fn higher(a: TimelinePoint, b: TimelinePoint) -> TimelinePoint {
    if b.live_bytes > a.live_bytes {
        b
    } else {
        a
    }
}

impl Decimator {
    /// `capacity` is even and at least 2.
    fn new(capacity: usize) -> Self {
        let capacity = capacity.max(2) & !1;
        Self {
            points: Vec::with_capacity(capacity),
            capacity,
            stride: 1,
            pending: None,
            in_stride: 0,
        }
    }

    fn record(&mut self, point: TimelinePoint) {
        self.pending = Some(self.pending.map_or(point, |p| higher(p, point)));
        self.in_stride += 1;
        if self.in_stride >= self.stride {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if let Some(point) = self.pending.take() {
            if self.points.len() == self.capacity {
                self.halve();
            }
            self.points.push(point);
        }
        self.in_stride = 0;
    }

    /// Merges adjacent pairs into the higher point, in place, and doubles
    /// the stride.
    fn halve(&mut self) {
        let pairs = self.points.len() / 2;
        for i in 0..pairs {
            self.points[i] = higher(self.points[2 * i], self.points[2 * i + 1]);
        }
        self.points.truncate(pairs);
        self.stride *= 2;
    }

    /// The points, with the last partial stride included.
    fn finish(mut self) -> Vec<TimelinePoint> {
        self.flush();
        self.points
    }
}

/// A running recorder; [`TimelineRecorder::finish`] stops it and returns the points.
#[derive(Debug)]
pub(crate) struct TimelineRecorder {
    stop: Sender<()>,
    thread: JoinHandle<Vec<TimelinePoint>>,
}

impl TimelineRecorder {
    /// Samples `heapguard_alloc::live_bytes()` every `interval` from
    /// `origin`, into at most [`MAX_TIMELINE_POINTS`] points.
    pub(crate) fn start(interval: Duration, origin: Instant) -> std::io::Result<Self> {
        let (stop, stopped) = bounded::<()>(1);
        let thread = std::thread::Builder::new()
            .name("demo-timeline".into())
            .spawn(move || {
                let ticks = tick(interval);
                let mut points = Decimator::new(MAX_TIMELINE_POINTS);
                let reading = || TimelinePoint {
                    t_ms: origin.elapsed().as_millis() as u64,
                    live_bytes: heapguard_alloc::live_bytes(),
                };
                points.record(reading());
                loop {
                    select! {
                        recv(ticks) -> _ => points.record(reading()),
                        recv(stopped) -> _ => break,
                    }
                }
                // The last reading stands alone, so the line reaches the end.
                points.flush();
                points.record(reading());
                points.finish()
            })?;
        Ok(Self { stop, thread })
    }

    /// Stops the sampler and returns its points, in time order.
    pub(crate) fn finish(self) -> Vec<TimelinePoint> {
        // The thread may already be gone only if it panicked; join says so.
        let _ = self.stop.send(());
        self.thread.join().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t_ms: u64, live_bytes: u64) -> TimelinePoint {
        TimelinePoint { t_ms, live_bytes }
    }

    #[test]
    fn short_timelines_keep_every_reading() {
        let mut d = Decimator::new(8);
        for t in 0..8 {
            d.record(point(t, t * 10));
        }
        let points = d.finish();
        assert_eq!(points, (0..8).map(|t| point(t, t * 10)).collect::<Vec<_>>());
    }

    #[test]
    fn long_timelines_stay_bounded_keep_the_peak_and_never_reallocate() {
        let mut d = Decimator::new(16);
        let capacity = d.points.capacity();
        for t in 0..100_000 {
            d.record(point(t, if t == 77_777 { 1 << 40 } else { t % 1_000 }));
            assert!(d.points.len() <= 16);
        }
        assert_eq!(d.points.capacity(), capacity, "allocated once");
        let points = d.finish();
        assert!((8..=16).contains(&points.len()), "{}", points.len());
        assert!(
            points.contains(&point(77_777, 1 << 40)),
            "the peak survives"
        );
        assert!(
            points.windows(2).all(|w| w[0].t_ms < w[1].t_ms),
            "in time order"
        );
        // Every point is the highest reading of its span: here each span of
        // 8,192 readings or more holds a reading of 999.
        assert!(points.iter().all(|p| p.live_bytes >= 999), "{points:?}");
    }

    #[test]
    fn halving_merges_pairs_into_the_higher_point() {
        let mut d = Decimator::new(4);
        for (t, live) in [(0, 5), (1, 9), (2, 7), (3, 1), (4, 3)] {
            d.record(point(t, live));
        }
        // Full at 4 points, the fifth halves them into [(1,9), (2,7)] before
        // it is stored; from then on one point per 2 readings.
        assert_eq!(d.points, [point(1, 9), point(2, 7), point(4, 3)]);
        assert_eq!(d.stride, 2);
        d.record(point(5, 4));
        assert_eq!(d.points.len(), 3, "the stride waits for its second reading");
        d.record(point(6, 8));
        assert_eq!(d.points[3], point(6, 8));
        d.record(point(7, 2));
        assert_eq!(
            d.finish(),
            [point(1, 9), point(6, 8), point(7, 2)],
            "full again: halved, then the partial stride"
        );
    }
}
