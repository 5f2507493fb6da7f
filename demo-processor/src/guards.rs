//! The job's side of heapguard: asks the breaker before work, tells the
//! monitor when the job is quiescent, and keeps what both reported.

use std::time::Instant;

use crossbeam_channel::Receiver;
use heapguard_breaker::MemoryBreaker;
use heapguard_monitor::{LeakEvidence, MemoryEvent, MemoryMonitor};

use crate::report::{LeakRecord, TopSite, TripRecord};
use crate::stop::Refused;

/// Where a check happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Checkpoint {
    /// Before the job starts.
    Job,
    /// Before a user.
    User,
    /// Between chunks of a user's contacts.
    Chunk,
}

impl Checkpoint {
    fn as_str(self) -> &'static str {
        match self {
            Checkpoint::Job => "job",
            Checkpoint::User => "user",
            Checkpoint::Chunk => "chunk",
        }
    }
}

/// The breaker and monitor of one job, both optional.
pub(crate) struct Guards<'a> {
    origin: Instant,
    breaker: Option<&'a MemoryBreaker>,
    monitor: Option<&'a MemoryMonitor>,
    events: Option<Receiver<MemoryEvent>>,
    trips_before: u64,
    trip: Option<TripRecord>,
    leaks: Vec<LeakRecord>,
}

impl<'a> Guards<'a> {
    pub(crate) fn new(
        origin: Instant,
        breaker: Option<&'a MemoryBreaker>,
        monitor: Option<&'a MemoryMonitor>,
    ) -> Self {
        Self {
            origin,
            breaker,
            monitor,
            events: monitor.map(MemoryMonitor::subscribe),
            trips_before: breaker.map_or(0, MemoryBreaker::trips),
            trip: None,
            leaks: Vec::new(),
        }
    }

    /// Asks the breaker whether the job may go on; remembers the first refusal.
    pub(crate) fn check(&mut self, at: Checkpoint, user_id: Option<u32>) -> Result<(), Refused> {
        self.collect_events();
        let Some(breaker) = self.breaker else {
            return Ok(());
        };
        match breaker.check() {
            Ok(_) => Ok(()),
            Err(tripped) => {
                if self.trip.is_none() {
                    tracing::warn!(
                        checkpoint = at.as_str(),
                        user_id,
                        used = tripped.used(),
                        limit = tripped.limit(),
                        percent = tripped.percent(),
                        "breaker refused: stopping the job with partial results"
                    );
                    self.trip = Some(TripRecord {
                        t_ms: self.origin.elapsed().as_millis() as u64,
                        user_id,
                        checkpoint: at.as_str().to_owned(),
                        used_bytes: tripped.used() + tripped.reserved(),
                        limit_bytes: tripped.limit(),
                        percent: tripped.percent(),
                        message: tripped.to_string(),
                    });
                }
                Err(Refused)
            }
        }
    }

    /// Tells the monitor the job holds only what it keeps (between users or batches).
    pub(crate) fn quiescent(&mut self) {
        if let Some(monitor) = self.monitor {
            if let Err(error) = monitor.mark_quiescent() {
                tracing::warn!(%error, "monitor could not take a quiescent sample");
            }
        }
        self.collect_events();
    }

    /// Stamps the monitor's leak reports with the job's clock as they arrive.
    fn collect_events(&mut self) {
        let Some(events) = &self.events else { return };
        for event in events.try_iter() {
            match event {
                MemoryEvent::LeakSuspected { evidence, .. } => self.leaks.push(LeakRecord {
                    t_ms: self.origin.elapsed().as_millis() as u64,
                    message: describe(&evidence),
                    top_sites: Vec::new(),
                }),
                // Follows its LeakSuspected at once.
                MemoryEvent::LeakAttributed { attribution, .. } => {
                    if let Some(leak) = self.leaks.last_mut() {
                        leak.top_sites = attribution.top_sites.into_iter().map(top_site).collect();
                    }
                }
                _ => {}
            }
        }
    }

    pub(crate) fn budget_bytes(&self) -> Option<u64> {
        self.breaker.map(MemoryBreaker::limit)
    }

    pub(crate) fn trip_threshold_bytes(&self) -> Option<u64> {
        self.breaker.map(MemoryBreaker::trip_bytes)
    }

    /// Trips during the job, the trip that stopped it, and the leaks seen.
    pub(crate) fn finish(mut self) -> (u64, Option<TripRecord>, Vec<LeakRecord>) {
        self.collect_events();
        let trips = self
            .breaker
            .map_or(0, |b| b.trips().saturating_sub(self.trips_before));
        (trips, self.trip, self.leaks)
    }
}

fn top_site(site: heapguard_monitor::attribution::GrowingSite) -> TopSite {
    TopSite {
        function: site.function,
        file: site.file,
        line: site.line,
        bytes: site.bytes,
        share: site.share,
    }
}

fn describe(evidence: &LeakEvidence) -> String {
    match evidence {
        LeakEvidence::Trend(verdict) => format!(
            "trend: +{:.1} MiB/min over {} quiescent samples ({:.1} s), confidence {:.3}{}",
            verdict.slope_bytes_per_min / (1024.0 * 1024.0),
            verdict.points,
            verdict.span_secs,
            verdict.confidence,
            verdict
                .time_to_budget_secs
                .map(|secs| format!(", budget reached in {secs:.0} s"))
                .unwrap_or_default()
        ),
        LeakEvidence::Growth(verdict) => format!("growth rule: {verdict:?}"),
    }
}
