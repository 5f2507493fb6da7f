//! Live bytes over time, for the chart: a small sampler thread that keeps
//! every reading (the monitor keeps only a bounded window).

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, select, tick, Sender};
use serde::{Deserialize, Serialize};

/// One reading of the counting allocator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelinePoint {
    /// Milliseconds since the job started.
    pub t_ms: u64,
    /// Live heap bytes at that moment.
    pub live_bytes: u64,
}

/// A running recorder; [`TimelineRecorder::finish`] stops it and returns the points.
#[derive(Debug)]
pub(crate) struct TimelineRecorder {
    stop: Sender<()>,
    thread: JoinHandle<Vec<TimelinePoint>>,
}

impl TimelineRecorder {
    /// Samples `heapguard_alloc::live_bytes()` every `interval` from `origin`.
    pub(crate) fn start(interval: Duration, origin: Instant) -> std::io::Result<Self> {
        let (stop, stopped) = bounded::<()>(1);
        let thread = std::thread::Builder::new()
            .name("demo-timeline".into())
            .spawn(move || {
                let ticks = tick(interval);
                let mut points = Vec::with_capacity(1024);
                let record = |points: &mut Vec<TimelinePoint>| {
                    points.push(TimelinePoint {
                        t_ms: origin.elapsed().as_millis() as u64,
                        live_bytes: heapguard_alloc::live_bytes(),
                    })
                };
                record(&mut points);
                loop {
                    select! {
                        recv(ticks) -> _ => record(&mut points),
                        recv(stopped) -> _ => break,
                    }
                }
                record(&mut points);
                points
            })?;
        Ok(Self { stop, thread })
    }

    /// Stops the sampler and returns every point, in time order.
    pub(crate) fn finish(self) -> Vec<TimelinePoint> {
        // The thread may already be gone only if it panicked; join says so.
        let _ = self.stop.send(());
        self.thread.join().unwrap_or_default()
    }
}
