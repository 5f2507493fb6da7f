//! Symbolising a heap profile under a budget the application alone fits in:
//! through an `Observer`, it is refused (nothing reserved, no check of the
//! application refused) or it fits its reservation, and its bytes are
//! charged to the observer's own account.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use heapguard_alloc::{profile, CountingAlloc, Jemalloc};
use heapguard_breaker::{BreakerConfig, BreakerState, Budget, CountingAllocSource, MemoryBreaker};
use heapguard_monitor::observer::{symbolization_estimate, Observer};

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);
heapguard_alloc::enable_heap_profiling!(14);

/// Both tests read process-wide live bytes: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[inline(never)]
fn hold(bytes: usize) -> Vec<Box<[u8]>> {
    (0..bytes >> 16)
        .map(|_| black_box(vec![1u8; 64 << 10]).into_boxed_slice())
        .collect()
}

/// A breaker over the counting allocator's live bytes, with a trip line at
/// 80% of `budget`.
fn breaker(budget: u64) -> Arc<MemoryBreaker> {
    let source = CountingAllocSource::new().expect("CountingAlloc is the global allocator");
    Arc::new(
        MemoryBreaker::new(
            BreakerConfig::new(Budget::Bytes(budget))
                .source(source)
                .watch_cancel_line(false),
        )
        .expect("a valid breaker"),
    )
}

/// Runs `work` while another thread checks `breaker` every millisecond, as
/// the application's request path would; returns `work`'s result and how
/// many of those checks were refused.
fn while_checking<R>(breaker: &MemoryBreaker, work: impl FnOnce() -> R) -> (R, u64) {
    let done = AtomicBool::new(false);
    let refused = AtomicU64::new(0);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !done.load(Ordering::Acquire) && Instant::now() < deadline {
                if breaker.check().is_err() {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let result = work();
        done.store(true, Ordering::Release);
        result
    });
    (result, refused.into_inner())
}

#[test]
fn symbolising_that_does_not_fit_is_refused_and_trips_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    profile::activate().expect("profiling is compiled in");
    let held = hold(30 << 20);
    let live = heapguard_alloc::stats().live_bytes;
    // The application fits: it uses 75% of the budget, under the 80% line.
    let breaker = breaker(live * 4 / 3);
    assert!(breaker.check().is_ok());
    let taken = profile::take().expect("a profile");
    let observer = Observer::new(Arc::clone(&breaker));
    assert!(observer.reservation_bytes() >= 8 << 20);

    let (outcome, refused_checks) =
        while_checking(&breaker, || observer.run(|| taken.top_sites(5)));
    let refused = outcome.expect_err("the symboliser's peak does not fit the room left");
    assert_eq!(refused.needed_bytes, observer.reservation_bytes());
    assert!(refused.to_string().contains("does not fit"), "{refused}");
    assert_eq!(refused_checks, 0, "no check of the application was refused");
    assert_eq!(breaker.state(), BreakerState::Accepting);
    assert_eq!(breaker.reserved(), 0);
    assert_eq!(observer.usage().allocations, 0, "nothing ran");
    drop(held);
}

#[test]
fn symbolising_that_fits_runs_in_its_reservation_and_its_own_account() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    profile::activate().expect("profiling is compiled in");
    let held = hold(30 << 20);
    let live = heapguard_alloc::stats().live_bytes;
    let observer_estimate = symbolization_estimate();
    // Room for the application and the observer's reservation, with the
    // reservation taking most of what is left under the trip line.
    let budget = (live + observer_estimate + (8 << 20)) * 5 / 4;
    let breaker = breaker(budget);
    let taken = profile::take().expect("a profile");
    let observer = Observer::new(Arc::clone(&breaker));

    let (outcome, refused_checks) =
        while_checking(&breaker, || observer.run(|| taken.top_sites(5)));
    let sites = outcome.expect("the reservation fits");
    assert!(
        sites.iter().any(|site| site.site.function.contains("hold")
            || site.site.file.as_deref().is_some_and(|file| file.ends_with("observer_reservation.rs"))),
        "the holding code is named (its function, or in release its inlined closure's file): {sites:?}"
    );
    assert_eq!(refused_checks, 0, "no check of the application was refused");
    assert_eq!(breaker.state(), BreakerState::Accepting);
    assert_eq!(breaker.reserved(), 0, "released when the work returned");
    let usage = observer.usage();
    assert!(
        usage.peak_bytes > 1 << 20,
        "the symboliser's bytes are the observer's: {usage:?}"
    );
    assert!(
        usage.peak_bytes <= observer_estimate,
        "the estimate bounds the peak: {} > {}",
        usage.peak_bytes,
        observer_estimate
    );
    drop(held);
}
