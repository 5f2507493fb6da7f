//! What a leak's attribution reports: the allocation sites that grew over the
//! tested span. Apart from the attributor ([`crate::attribution`]), so that
//! the event carrying it does not import the code that computes it.

use heapguard_alloc::profile::SiteBytes;
use serde::Serialize;

/// A site that gained memory over the tested span.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GrowingSite {
    /// Demangled function name, without its hash.
    pub function: String,
    /// Source file, when the binary has line tables.
    pub file: Option<String>,
    /// Source line, when the binary has line tables.
    pub line: Option<u32>,
    /// Estimated bytes gained.
    pub bytes: i64,
    /// Share of the bytes gained by all growing sites, 0 to 1.
    pub share: f64,
}

impl From<SiteBytes> for GrowingSite {
    fn from(site: SiteBytes) -> Self {
        Self {
            function: site.site.function,
            file: site.site.file,
            line: site.site.line,
            bytes: site.bytes.round() as i64,
            share: site.share,
        }
    }
}

/// The growth between two profiles, by allocation site.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attribution {
    /// When the earlier profile was taken, seconds on the monitor's clock.
    pub from_t_secs: f64,
    /// When the newer profile was taken.
    pub to_t_secs: f64,
    /// Net estimated bytes gained over all backtraces.
    pub growth_bytes: i64,
    /// The sites that gained the most, most first; empty when symbolising
    /// them was refused.
    pub top_sites: Vec<GrowingSite>,
    /// Why the sites were not symbolised: the observer's reservation did not
    /// fit the watched breaker's room (see [`crate::observer::Observer`]). Absent from
    /// the JSON when they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbolization_refused: Option<String>,
}
