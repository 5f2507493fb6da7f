use crate::detect::{GrowthVerdict, LeakVerdict, LevelShiftVerdict, SaturationVerdict};
#[cfg(feature = "breaker")]
use heapguard_breaker::BreakerEvent;
use serde::Serialize;
#[cfg(feature = "breaker")]
use std::time::SystemTime;

/// Something a person (or a pager) should know about the process's memory.
///
/// Serialized (as `heapguard-replay` prints it) with an `"event"` tag:
/// `{"event":"high_usage","t_secs":...}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum MemoryEvent {
    /// Live bytes rose above the high-usage share of the budget.
    HighUsage {
        /// Seconds since the monitor started.
        t_secs: f64,
        /// Bytes in use.
        used_bytes: u64,
        /// The budget.
        budget_bytes: u64,
        /// `used_bytes / budget_bytes`, percent.
        percent: f64,
    },
    /// A detector suspects a leak.
    LeakSuspected {
        /// Seconds since the monitor started.
        t_secs: f64,
        /// What the detector saw.
        evidence: LeakEvidence,
    },
    /// Informational: growth that is a level shift (a jump to a new level,
    /// flat after it), not a leak. Reported once per change.
    LevelShift {
        /// Seconds since the monitor started.
        t_secs: f64,
        /// Where and how large.
        shift: LevelShiftVerdict,
    },
    /// Informational: growth that slows down or stopped (a cache filling
    /// up), not a leak. Reported once per change.
    Saturating {
        /// Seconds since the monitor started.
        t_secs: f64,
        /// The slopes before and after.
        curve: SaturationVerdict,
    },
    /// The memory source panicked; the sample was not taken and the
    /// sampler goes on.
    SourceFailed {
        /// Seconds since the monitor started.
        t_secs: f64,
        /// The source's name.
        source: String,
        /// The panic's message.
        message: String,
    },
    /// A watched breaker started refusing work.
    BreakerTripped {
        /// Seconds since the monitor started.
        t_secs: f64,
        /// The breaker's name.
        breaker: String,
        /// Bytes in use as the breaker read them.
        used_bytes: u64,
        /// Bytes held by its reservations.
        reserved_bytes: u64,
        /// Its budget.
        limit_bytes: u64,
        /// `(used + reserved) / limit`, percent.
        percent: f64,
    },
    /// Where the memory of a [`LeakSuspected`](Self::LeakSuspected) went:
    /// follows it, after the other events of the same sample, when the
    /// monitor attributes leaks (feature `attribution`,
    /// [`MemoryMonitor::attribute_leaks`](crate::MemoryMonitor::attribute_leaks)).
    /// The thread that took the sample symbolises the sites, without
    /// holding the monitor's lock.
    #[cfg(feature = "attribution")]
    LeakAttributed {
        /// Seconds since the monitor started (the leak event's).
        t_secs: f64,
        /// The growth by allocation site.
        attribution: crate::attribution::Attribution,
    },
    /// An earlier alert is over.
    Recovered {
        /// Seconds since the monitor started.
        t_secs: f64,
        /// Which alert.
        from: RecoveredFrom,
    },
}

/// The evidence of a [`MemoryEvent::LeakSuspected`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "detector", rename_all = "snake_case")]
pub enum LeakEvidence {
    /// From the default trend detector.
    Trend(LeakVerdict),
    /// From the Node service's growth rule.
    Growth(GrowthVerdict),
}

/// Which alert a [`MemoryEvent::Recovered`] ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveredFrom {
    /// Usage fell below the recovery share of the budget.
    HighUsage,
    /// The trend detector no longer sees a leak.
    Leak,
    /// The named breaker accepts work again.
    Breaker(String),
}

impl MemoryEvent {
    /// Seconds since the monitor started (or the replayed series' origin).
    pub fn t_secs(&self) -> f64 {
        match self {
            MemoryEvent::HighUsage { t_secs, .. }
            | MemoryEvent::LeakSuspected { t_secs, .. }
            | MemoryEvent::LevelShift { t_secs, .. }
            | MemoryEvent::Saturating { t_secs, .. }
            | MemoryEvent::SourceFailed { t_secs, .. }
            | MemoryEvent::BreakerTripped { t_secs, .. }
            | MemoryEvent::Recovered { t_secs, .. } => *t_secs,
            #[cfg(feature = "attribution")]
            MemoryEvent::LeakAttributed { t_secs, .. } => *t_secs,
        }
    }

    /// The event's tag: `"high_usage"`, `"leak_suspected"`, `"level_shift"`,
    /// `"saturating"`, `"breaker_tripped"`, `"recovered"`,
    /// `"source_failed"` or (feature `attribution`) `"leak_attributed"`.
    pub fn kind(&self) -> &'static str {
        match self {
            MemoryEvent::HighUsage { .. } => "high_usage",
            MemoryEvent::LeakSuspected { .. } => "leak_suspected",
            MemoryEvent::LevelShift { .. } => "level_shift",
            MemoryEvent::Saturating { .. } => "saturating",
            MemoryEvent::SourceFailed { .. } => "source_failed",
            MemoryEvent::BreakerTripped { .. } => "breaker_tripped",
            MemoryEvent::Recovered { .. } => "recovered",
            #[cfg(feature = "attribution")]
            MemoryEvent::LeakAttributed { .. } => "leak_attributed",
        }
    }

    /// The monitor's event for a breaker's state change; `started` is the
    /// monitor's start, which `t_secs` counts from (feature `breaker`).
    #[cfg(feature = "breaker")]
    pub fn from_breaker(event: &BreakerEvent, started: SystemTime) -> Self {
        let snapshot = event.snapshot();
        let t_secs = secs_since(snapshot.time, started);
        if event.is_trip() {
            MemoryEvent::BreakerTripped {
                t_secs,
                breaker: snapshot.breaker.clone(),
                used_bytes: snapshot.used,
                reserved_bytes: snapshot.reserved,
                limit_bytes: snapshot.limit,
                percent: snapshot.percent,
            }
        } else {
            MemoryEvent::Recovered {
                t_secs,
                from: RecoveredFrom::Breaker(snapshot.breaker.clone()),
            }
        }
    }
}

/// Seconds from `started` to `time` (0 when `time` is earlier): a breaker
/// reading's time on the monitor's clock.
#[cfg(feature = "breaker")]
pub(crate) fn secs_since(time: SystemTime, started: SystemTime) -> f64 {
    time.duration_since(started)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::{LeakEvidence, MemoryEvent, RecoveredFrom};
    use crate::detect::GrowthVerdict;

    #[test]
    fn serializes_with_event_tag_and_t_secs() {
        let event = MemoryEvent::LeakSuspected {
            t_secs: 60.0,
            evidence: LeakEvidence::Growth(GrowthVerdict {
                t_secs: 60.0,
                first_bytes: 2,
                last_bytes: 3,
                ratio: 1.5,
            }),
        };
        let json: serde_json::Value = serde_json::to_value(&event).unwrap();
        assert_eq!(json["event"], "leak_suspected");
        assert_eq!(json["t_secs"], 60.0);
        assert_eq!(json["evidence"]["detector"], "growth");
        assert_eq!(json["evidence"]["ratio"], 1.5);
        let recovered = MemoryEvent::Recovered {
            t_secs: 1.0,
            from: RecoveredFrom::Breaker("jobs".into()),
        };
        let json = serde_json::to_value(&recovered).unwrap();
        assert_eq!(json["event"], "recovered");
        assert_eq!(json["from"]["breaker"], "jobs");
        assert_eq!(recovered.kind(), "recovered");
        assert_eq!(recovered.t_secs(), 1.0);
    }
}
