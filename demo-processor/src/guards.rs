//! The job's side of heapguard: asks the breaker before work, tells the
//! monitor when the job is quiescent, and keeps what both reported.

use std::time::Instant;

use crossbeam_channel::Receiver;
use heapguard_alloc::Account;
use heapguard_breaker::{
    CancelToken, JobRegistration, MemoryBreaker, PressureLevel, Reservation, Tripped,
};
use heapguard_monitor::{LeakEvidence, MemoryEvent, MemoryMonitor};

use crate::report::{LeakRecord, TripRecord};
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
    /// A user's reservation, before its work or as it outgrows its estimate.
    Reservation,
    /// Inside a naive user's candidate build.
    Candidates,
}

impl Checkpoint {
    fn as_str(self) -> &'static str {
        match self {
            Checkpoint::Job => "job",
            Checkpoint::User => "user",
            Checkpoint::Chunk => "chunk",
            Checkpoint::Reservation => "reservation",
            Checkpoint::Candidates => "candidates",
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
            Err(tripped) => Err(self.refused(at, user_id, &tripped)),
        }
    }

    /// Inside a long phase of an admitted user: a user within the estimate
    /// it reserved goes on (its memory is accounted for; past the cancel
    /// line the breaker cancels the largest job); one that outgrew it asks
    /// the breaker when its published pressure level (one atomic load) says
    /// it refuses, and stops if refused.
    pub(crate) fn check_in_flight(&mut self, job: &UserJob, at: Checkpoint) -> Result<(), Refused> {
        match self.breaker {
            Some(breaker) if job.outgrown() && breaker.pressure() >= PressureLevel::Refuse => {
                self.check(at, Some(job.user_id))
            }
            _ => Ok(()),
        }
    }

    /// Remembers the first refusal of the job.
    fn refused(&mut self, at: Checkpoint, user_id: Option<u32>, tripped: &Tripped) -> Refused {
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
                top_sites: Vec::new(),
            });
        }
        Refused
    }

    /// Starts one user's work under the breaker: reserves `estimate` bytes
    /// (estimate, then break) and registers the user's account and a
    /// cancellation token, so the breaker can cancel it past its cancel
    /// line. Refused when the estimate does not fit under the trip line.
    pub(crate) fn start_user(
        &mut self,
        user_id: u32,
        account: &Account,
        estimate: u64,
    ) -> Result<UserJob, Refused> {
        let mut job = UserJob {
            user_id,
            account: account.clone(),
            estimate,
            reserved_estimate: estimate,
            reservation: None,
            registration: None,
        };
        let Some(breaker) = self.breaker else {
            return Ok(job);
        };
        let reservation = breaker
            .try_reserve(estimate)
            .map_err(|tripped| self.refused(Checkpoint::Reservation, Some(user_id), &tripped))?;
        job.reservation = Some(reservation);
        job.registration =
            Some(breaker.register_job(format!("user-{user_id}"), account, CancelToken::new()));
        Ok(job)
    }

    /// One step of a user's work: stops if the breaker cancelled the user;
    /// settles the reservation with what the user's account holds now (the
    /// breaker's source counts that part), and once the work has outgrown
    /// its estimate, reserves `next_bytes` more before each step, stopping
    /// if refused.
    pub(crate) fn step(&mut self, job: &mut UserJob, next_bytes: u64) -> Result<(), Refused> {
        if job.is_cancelled() {
            return Err(Refused);
        }
        let live = job.account.live_bytes();
        if live > job.estimate {
            // Outgrown: reserve the next step before taking it.
            job.estimate = live.saturating_add(next_bytes);
            if let Some(reservation) = &mut job.reservation {
                let target = job.estimate - live;
                if let Err(tripped) = reservation.resize(target.max(reservation.bytes())) {
                    return Err(self.refused(Checkpoint::Reservation, Some(job.user_id), &tripped));
                }
            }
        } else if let Some(reservation) = &mut job.reservation {
            // What the account holds is counted by the breaker's source now.
            reservation.shrink(reservation.bytes().saturating_sub(job.estimate - live));
        }
        Ok(())
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
                        leak.top_sites =
                            attribution.top_sites.into_iter().map(Into::into).collect();
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

    pub(crate) fn warn_threshold_bytes(&self) -> Option<u64> {
        self.breaker.map(MemoryBreaker::warn_bytes)
    }

    pub(crate) fn cancel_threshold_bytes(&self) -> Option<u64> {
        self.breaker.map(MemoryBreaker::cancel_bytes)
    }

    /// Milliseconds since the job started.
    pub(crate) fn t_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
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
        LeakEvidence::Growth(verdict) => format!(
            "growth rule: {} -> {} (x{:.2}) at {:.1} s",
            bytesize::ByteSize(verdict.first_bytes).display().iec(),
            bytesize::ByteSize(verdict.last_bytes).display().iec(),
            verdict.ratio,
            verdict.t_secs
        ),
    }
}

/// One user's work under the breaker: its reservation (the part of its
/// estimate not allocated yet) and its registration as a job in flight.
/// Dropping it releases both.
#[derive(Debug)]
pub(crate) struct UserJob {
    user_id: u32,
    account: Account,
    /// Bytes the user is expected to hold at its peak.
    estimate: u64,
    /// The estimate reserved when the user was admitted.
    reserved_estimate: u64,
    reservation: Option<Reservation>,
    registration: Option<JobRegistration>,
}

impl UserJob {
    /// Whether the breaker cancelled this user (one atomic load).
    pub(crate) fn is_cancelled(&self) -> bool {
        self.registration
            .as_ref()
            .is_some_and(JobRegistration::is_cancelled)
    }

    /// Whether the user's work outgrew the estimate it was admitted with.
    pub(crate) fn outgrown(&self) -> bool {
        self.estimate > self.reserved_estimate
    }

    /// The most live bytes the user's account held so far.
    pub(crate) fn held_bytes(&self) -> u64 {
        self.account.usage().peak_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heapguard_monitor::detect::GrowthVerdict;

    #[test]
    fn a_growth_alert_reads_as_sizes_a_ratio_and_seconds() {
        let verdict = GrowthVerdict {
            t_secs: 12.345_678,
            first_bytes: 8 << 20,
            last_bytes: 12 << 20,
            ratio: 1.5,
        };
        assert_eq!(
            describe(&LeakEvidence::Growth(verdict)),
            "growth rule: 8.0 MiB -> 12.0 MiB (x1.50) at 12.3 s"
        );
    }
}
