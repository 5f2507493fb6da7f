//! The breaker's state through the `metrics` facade (feature `metrics`), so
//! any installed recorder (Prometheus, StatsD, ...) exports what the fleet's
//! alert rules read (`deploy/prometheus/heapguard-rules.yml`).
//!
//! ```
//! # #[global_allocator]
//! # static GLOBAL: heapguard_alloc::CountingAlloc<std::alloc::System> =
//! #     heapguard_alloc::CountingAlloc::new(std::alloc::System);
//! use std::sync::Arc;
//! use heapguard_breaker::{metrics::BreakerMetrics, BreakerConfig, MemoryBreaker};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let breaker = Arc::new(MemoryBreaker::new(BreakerConfig::new("512MiB".parse()?))?);
//! let exported = BreakerMetrics::new(Arc::clone(&breaker));
//! exported.describe(); // once, after the recorder is installed
//! // In the `/metrics` handler, before rendering: every value read now.
//! exported.record();
//! # Ok(())
//! # }
//! ```
//!
//! Export the process's top-level breaker (one per process, so no label is
//! needed to tell them apart), never a child per request. Values are read
//! when [`BreakerMetrics::record`] runs: call it when a scrape arrives. The
//! heap gauges (`heapguard_live_bytes`, `heapguard_peak_bytes`,
//! `heapguard_rss_bytes`) and the leak detector's verdict belong to
//! `heapguard-monitor`'s `metrics` feature; each name has one owner.
//!
//! | name | kind | what |
//! | --- | --- | --- |
//! | `heapguard_budget_bytes` | gauge | the budget |
//! | `heapguard_warn_line_bytes` | gauge | usage from which the level is warn |
//! | `heapguard_trip_line_bytes` | gauge | usage (live + reserved) from which new work is refused |
//! | `heapguard_cancel_line_bytes` | gauge | usage from which registered jobs are cancelled |
//! | `heapguard_reserved_bytes` | gauge | bytes reserved and not yet real |
//! | `heapguard_in_accounts_bytes` | gauge | live bytes the watched accounts hold |
//! | `heapguard_unattributed_bytes` | gauge | live bytes no account holds |
//! | `heapguard_pressure_level` | gauge | 0 normal, 1 warn, 2 refuse, 3 cancel |
//! | `heapguard_breaker_refusing` | gauge | 1 while the breaker refuses new work |
//! | `heapguard_jobs_registered` | gauge | jobs the breaker may cancel |
//! | `heapguard_reading_age_seconds` | gauge | age of the last good reading |
//! | `heapguard_breaker_trips_total` | counter | times the breaker tripped |
//! | `heapguard_breaker_refusals_total` | counter | checks and reservations refused |
//!
//! With a layer's [`ShedStats`](crate::service::ShedStats) (feature `tower`,
//! [`BreakerMetrics::shed_stats`]), the requests:
//!
//! | name | kind | what |
//! | --- | --- | --- |
//! | `heapguard_requests_admitted_total` | counter | requests the layer admitted, their estimate reserved (none for an estimate of 0), whatever the handler then answered (a 400 included) |
//! | `heapguard_requests_shed_total` | counter | requests refused for memory (503) |
//! | `heapguard_requests_too_large_total` | counter | requests whose estimate reaches the trip line, so they could never be admitted (413) |
//! | `heapguard_requests_waiting` | gauge | admitted requests whose job has not started |
//! | `heapguard_requests_in_flight` | gauge | admitted requests whose response body has not ended |

use std::sync::Arc;

use metrics::{counter, describe_counter, describe_gauge, gauge, Unit};

use crate::{BreakerState, MemoryBreaker};

/// Exports one breaker's state (and optionally its layer's requests).
#[derive(Debug, Clone)]
pub struct BreakerMetrics {
    breaker: Arc<MemoryBreaker>,
    #[cfg(feature = "tower")]
    shed: Option<crate::service::ShedStats>,
}

impl BreakerMetrics {
    /// Exports `breaker`, the process's top-level breaker.
    pub fn new(breaker: Arc<MemoryBreaker>) -> Self {
        Self {
            breaker,
            #[cfg(feature = "tower")]
            shed: None,
        }
    }

    /// Also exports the requests a [`MemoryShedLayer`](crate::service::MemoryShedLayer)
    /// counted into `stats` (`MemoryShedLayer::with_stats`).
    #[cfg(feature = "tower")]
    pub fn shed_stats(mut self, stats: crate::service::ShedStats) -> Self {
        self.shed = Some(stats);
        self
    }

    /// Describes every series (help text and unit) to the installed
    /// recorder; once, after installing it.
    pub fn describe(&self) {
        let bytes = [
            ("heapguard_budget_bytes", "The memory breaker's budget."),
            (
                "heapguard_warn_line_bytes",
                "Usage from which the breaker's level is warn.",
            ),
            (
                "heapguard_trip_line_bytes",
                "Usage (live + reserved) from which new work is refused.",
            ),
            (
                "heapguard_cancel_line_bytes",
                "Usage from which registered jobs are cancelled.",
            ),
            (
                "heapguard_reserved_bytes",
                "Bytes reserved in the breaker and not yet real.",
            ),
            (
                "heapguard_in_accounts_bytes",
                "Live bytes the breaker's watched accounts hold.",
            ),
            (
                "heapguard_unattributed_bytes",
                "Live bytes no watched account holds.",
            ),
        ];
        for (name, help) in bytes {
            describe_gauge!(name, Unit::Bytes, help);
        }
        describe_gauge!(
            "heapguard_pressure_level",
            "0 normal, 1 warn (from 70% of the budget), 2 refuse (from 80%, until under 70%), 3 cancel (from 95%)."
        );
        describe_gauge!(
            "heapguard_breaker_refusing",
            "1 while the memory breaker refuses new work."
        );
        describe_gauge!(
            "heapguard_jobs_registered",
            "Jobs registered with the memory breaker, which may cancel them."
        );
        describe_gauge!(
            "heapguard_reading_age_seconds",
            Unit::Seconds,
            "Age of the memory breaker's last good reading."
        );
        describe_counter!(
            "heapguard_breaker_trips_total",
            "Times the memory breaker tripped."
        );
        describe_counter!(
            "heapguard_breaker_refusals_total",
            "Checks and reservations the memory breaker refused."
        );
        #[cfg(feature = "tower")]
        if self.shed.is_some() {
            describe_counter!(
                "heapguard_requests_admitted_total",
                "Requests the layer admitted, their memory estimate reserved (none for an estimate of 0), whatever the handler then answered."
            );
            describe_counter!(
                "heapguard_requests_shed_total",
                "Requests refused with 503 under memory pressure."
            );
            describe_counter!(
                "heapguard_requests_too_large_total",
                "Requests refused with 413: their estimate reaches the trip line, so they could never be admitted."
            );
            describe_gauge!(
                "heapguard_requests_waiting",
                "Admitted requests whose job has not started: shed first past the cancel line."
            );
            describe_gauge!(
                "heapguard_requests_in_flight",
                "Admitted requests whose response body has not ended."
            );
        }
    }

    /// Sets every series from the breaker read now. Reading changes no
    /// state: the breaker's refresher keeps it current.
    pub fn record(&self) {
        let breaker = &*self.breaker;
        let (in_accounts, unattributed) = breaker.ledger().map_or((0, 0), |ledger| {
            (ledger.in_accounts_bytes, ledger.unattributed_bytes)
        });
        let bytes = [
            ("heapguard_budget_bytes", breaker.limit()),
            ("heapguard_warn_line_bytes", breaker.warn_bytes()),
            ("heapguard_trip_line_bytes", breaker.trip_bytes()),
            ("heapguard_cancel_line_bytes", breaker.cancel_bytes()),
            ("heapguard_reserved_bytes", breaker.reserved()),
            ("heapguard_in_accounts_bytes", in_accounts),
            ("heapguard_unattributed_bytes", unattributed),
        ];
        for (name, value) in bytes {
            gauge!(name).set(value as f64);
        }
        // The level's discriminant is its number, in order of pressure.
        gauge!("heapguard_pressure_level").set(f64::from(breaker.pressure() as u8));
        let refusing = breaker.state() == BreakerState::Refusing;
        gauge!("heapguard_breaker_refusing").set(if refusing { 1.0 } else { 0.0 });
        gauge!("heapguard_jobs_registered").set(breaker.jobs_registered() as f64);
        gauge!("heapguard_reading_age_seconds")
            .set(breaker.reading_age().map_or(0.0, |age| age.as_secs_f64()));
        counter!("heapguard_breaker_trips_total").absolute(breaker.trips());
        counter!("heapguard_breaker_refusals_total").absolute(breaker.refusals());
        #[cfg(feature = "tower")]
        if let Some(shed) = &self.shed {
            counter!("heapguard_requests_admitted_total").absolute(shed.admitted());
            counter!("heapguard_requests_shed_total").absolute(shed.shed());
            counter!("heapguard_requests_too_large_total").absolute(shed.too_large());
            gauge!("heapguard_requests_waiting").set(shed.waiting() as f64);
            gauge!("heapguard_requests_in_flight").set(shed.in_flight() as f64);
        }
    }
}
