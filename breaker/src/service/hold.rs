//! What an admitted request holds while it runs: its reservation and its
//! place among the requests in flight (the layer makes it, the response
//! future and the http body keep it).

use heapguard_alloc::Account;

use super::stats::InFlight;
use crate::{AccountReservation, Reservation};

/// A request the policy let through: the account to run it in and what it
/// holds while it runs.
pub(crate) struct Admission {
    pub(crate) account: Option<Account>,
    pub(crate) hold: Hold,
}

/// What an admitted request holds until it finishes: its reservation and
/// its place among the requests in flight. Dropped, it releases both.
#[cfg_attr(not(feature = "http"), allow(dead_code))] // read by the http response body
#[derive(Default)]
pub(crate) struct Hold {
    // The reservation first: released before the request leaves the
    // in-flight count, so the stats never show fewer reserved bytes than
    // the breaker holds for requests.
    pub(crate) reservation: Option<Reserved>,
    pub(crate) _in_flight: Option<InFlight>,
}

/// A request's reservation: tied to its account (settling) or plain. Held
/// for its `Drop` (which releases it); read by the http layer.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) enum Reserved {
    Plain(Reservation),
    InAccount(AccountReservation),
}

#[cfg_attr(not(feature = "http"), allow(dead_code))]
impl Reserved {
    pub(crate) fn bytes(&self) -> u64 {
        match self {
            Reserved::Plain(reservation) => reservation.bytes(),
            Reserved::InAccount(reservation) => reservation.bytes(),
        }
    }
}

#[cfg_attr(not(feature = "http"), allow(dead_code))] // read by the http response body
impl Hold {
    /// Whether it counts an admitted request (not a bypassed one).
    pub(crate) fn in_flight(&self) -> bool {
        self._in_flight.is_some()
    }

    /// Settles an account-tied reservation with what the account holds
    /// now; the stats follow what is left, including what the breaker
    /// settled itself since the last call.
    pub(crate) fn settle(&mut self) {
        if let Some(Reserved::InAccount(reservation)) = &mut self.reservation {
            let after = reservation.settle();
            if let Some(in_flight) = &mut self._in_flight {
                in_flight.settled_to(after);
            }
        }
    }
}
