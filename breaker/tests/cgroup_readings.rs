//! A breaker over a replayed cgroup: the worst of its readings binds, each
//! level's usage against its own limit, and a limit changed while it runs
//! is applied. The test rewrites the tree's files as the kernel would.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use common::{eventually, v2_stat, Tree, GIB, MIB, MOUNTS_BASE};
use heapguard_alloc::CountingAlloc;
use heapguard_breaker::reading::{
    CgroupSource, Limit, LimitKind, Origin, LIMITS_PERIOD, REFRESH_PERIOD,
};
use heapguard_breaker::testing::{ManualClock, ManualSource};
use heapguard_breaker::{BreakerConfig, BreakerState, Budget, MemoryBreaker, TripCause};
use std::alloc::System;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

const V2_MOUNT: &str =
    "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

/// `/app` under `/parent`, both v2, with the given limits and usages.
fn tree(name: &str, own_max: &str, own_current: u64) -> Tree {
    let tree = Tree::new(name);
    tree.write("/proc/self/cgroup", "0::/parent/app\n")
        .write("/proc/self/mountinfo", &format!("{MOUNTS_BASE}{V2_MOUNT}"))
        .write("/sys/fs/cgroup/parent/memory.max", "max\n")
        .write("/sys/fs/cgroup/parent/memory.high", "max\n")
        .write(
            "/sys/fs/cgroup/parent/memory.current",
            &format!("{own_current}\n"),
        )
        .write(
            "/sys/fs/cgroup/parent/memory.stat",
            &v2_stat(own_current, 0),
        )
        .write(
            "/sys/fs/cgroup/parent/app/memory.max",
            &format!("{own_max}\n"),
        )
        .write("/sys/fs/cgroup/parent/app/memory.high", "max\n")
        .write(
            "/sys/fs/cgroup/parent/app/memory.current",
            &format!("{own_current}\n"),
        )
        .write(
            "/sys/fs/cgroup/parent/app/memory.stat",
            &v2_stat(own_current, 0),
        );
    tree
}

#[test]
fn the_allocator_low_and_the_cgroup_working_set_high_trips() {
    let tree = tree("worst-of", "1073741824", 100 * MIB);
    let allocator = ManualSource::new(10 * MIB);
    let clock = ManualClock::new();
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Cgroup)
            .host(tree.host())
            .source(allocator.clone())
            .clock(clock.clone())
            .no_purge(),
    )
    .unwrap();
    assert_eq!(breaker.limit(), GIB);
    assert_eq!(breaker.source_name(), Some("manual+cgroup"));
    assert_eq!(breaker.check().unwrap().used(), 100 * MIB);
    // Stacks, mmaps, page cache the allocator never sees: the cgroup's
    // working set reaches 900 MiB (of which 100 MiB inactive file pages,
    // read on the slower stat period).
    tree.write(
        "/sys/fs/cgroup/parent/app/memory.current",
        &format!("{}\n", 1000 * MIB),
    )
    .write(
        "/sys/fs/cgroup/parent/app/memory.stat",
        &v2_stat(900 * MIB, 100 * MIB),
    );
    eventually("the breaker trips on the working set", || {
        breaker.check().is_err()
    });
    // memory.current is read every tick, memory.stat every STAT_PERIOD: at
    // first the whole usage may count, then the working set.
    eventually("the working set is published", || {
        breaker.check().unwrap_err().used() == 900 * MIB
    });
    let tripped = breaker.check().unwrap_err();
    assert!(matches!(tripped.cause(), TripCause::OverThreshold));
    assert_eq!(
        allocator.get(),
        10 * MIB,
        "the allocator alone reads far below the line"
    );
    // The working set falls: it resets after its minimum time in a state.
    tree.write(
        "/sys/fs/cgroup/parent/app/memory.current",
        &format!("{}\n", 200 * MIB),
    )
    .write(
        "/sys/fs/cgroup/parent/app/memory.stat",
        &v2_stat(200 * MIB, 0),
    );
    clock.advance(Duration::from_secs(1));
    eventually("the breaker resets at the new working set", || {
        breaker.check().is_ok_and(|usage| usage.used() == 200 * MIB)
    });
    // And the allocator above the cgroup binds in turn.
    allocator.set(850 * MIB);
    clock.advance(Duration::from_secs(1));
    assert_eq!(breaker.check().unwrap_err().used(), 850 * MIB);
}

#[test]
fn each_level_against_its_own_limit_the_worst_ratio_binds() {
    // Own: 100 MiB of 1 GiB. The parent: 2 GiB, 1.8 GiB charged by siblings
    // too (90%): the kernel would reclaim and kill at the parent first.
    let tree = tree("levels", "1073741824", 100 * MIB);
    tree.write("/sys/fs/cgroup/parent/memory.max", "2147483648\n")
        .write(
            "/sys/fs/cgroup/parent/memory.current",
            &format!("{}\n", 1843 * MIB),
        )
        .write("/sys/fs/cgroup/parent/memory.stat", &v2_stat(1843 * MIB, 0));
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Cgroup)
            .host(tree.host())
            .source(ManualSource::new(0))
            .no_purge(),
    )
    .unwrap();
    assert_eq!(breaker.limit(), GIB);
    // 1843 MiB of 2 GiB is 1843 MiB * (1 GiB / 2 GiB) in this budget's terms.
    let tripped = breaker.check().unwrap_err();
    assert_eq!(tripped.used(), 1843 * MIB / 2);
    assert_eq!(breaker.state(), BreakerState::Refusing);
}

#[test]
fn the_default_reading_is_the_worst_of_the_allocator_and_the_cgroup() {
    let tree = tree("default", "1073741824", 300 * MIB);
    let breaker = MemoryBreaker::new(BreakerConfig::new(Budget::Cgroup).host(tree.host())).unwrap();
    assert_eq!(breaker.source_name(), Some("counting-alloc+cgroup"));
    let used = breaker.check().unwrap().used();
    assert!(used >= 300 * MIB, "at least the working set: {used}");
    assert!(breaker.resolution().is_from_cgroup());
    // A fixed budget reads the allocator alone, unless asked.
    let fixed =
        MemoryBreaker::new(BreakerConfig::new(Budget::Bytes(GIB)).host(tree.host())).unwrap();
    assert_eq!(fixed.source_name(), Some("counting-alloc"));
    let asked = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(GIB))
            .host(tree.host())
            .cgroup_working_set(true),
    )
    .unwrap();
    assert_eq!(asked.source_name(), Some("counting-alloc+cgroup"));
    // Auto from physical memory: no cgroup limit, the allocator alone.
    tree.write("/sys/fs/cgroup/parent/app/memory.max", "max\n");
    let physical = MemoryBreaker::new(BreakerConfig::new(Budget::Auto).host(tree.host())).unwrap();
    assert_eq!(physical.source_name(), Some("counting-alloc"));
}

#[test]
fn a_cgroup_source_is_read_by_the_refresher() {
    let tree = tree("source", "1073741824", 300 * MIB);
    let source = CgroupSource::new(&tree.host()).unwrap();
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Bytes(GIB))
            .host(tree.host())
            .source(source)
            .no_purge(),
    )
    .unwrap();
    assert_eq!(breaker.source_name(), Some("cgroup"));
    assert_eq!(breaker.check().unwrap().used(), 300 * MIB);
    tree.write(
        "/sys/fs/cgroup/parent/app/memory.current",
        &format!("{}\n", 400 * MIB),
    );
    eventually("the new usage is published", || {
        breaker.check().unwrap().used() == 400 * MIB
    });
    // A file that becomes unreadable makes it refuse, with the reason.
    tree.unreadable("/sys/fs/cgroup/parent/app/memory.current");
    eventually("an unreadable file refuses", || breaker.check().is_err());
    let tripped = breaker.check().unwrap_err();
    assert!(matches!(tripped.cause(), TripCause::Source(_)), "{tripped}");
    assert!(tripped.to_string().contains("memory.current"), "{tripped}");
}

#[test]
fn a_limit_that_changes_while_the_breaker_runs_is_applied() {
    let tree = tree("resize", "1073741824", 100 * MIB);
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Auto)
            .host(tree.host())
            .source(ManualSource::new(0))
            .no_purge(),
    )
    .unwrap();
    assert_eq!(
        (breaker.limit(), breaker.trip_bytes()),
        (GIB, (8 * GIB).div_ceil(10))
    );
    // An in-place resize: memory.max becomes 2 GiB.
    tree.write("/sys/fs/cgroup/parent/app/memory.max", "2147483648\n");
    eventually("the budget follows memory.max", || {
        breaker.limit() == 2 * GIB
    });
    assert_eq!(breaker.trip_bytes(), (16 * GIB).div_ceil(10));
    assert_eq!(
        breaker.resolution().origin(),
        &Origin::Cgroup(Limit {
            bytes: 2 * GIB,
            file: PathBuf::from("/sys/fs/cgroup/parent/app/memory.max"),
            kind: LimitKind::Max,
        })
    );
    // systemctl set-property MemoryHigh=512M on the parent: auto follows it.
    tree.write("/sys/fs/cgroup/parent/memory.high", "536870912\n");
    eventually("the budget follows memory.high", || {
        breaker.limit() == 512 * MIB
    });
    assert_eq!(
        breaker.resolution().origin(),
        &Origin::Cgroup(Limit {
            bytes: 512 * MIB,
            file: PathBuf::from("/sys/fs/cgroup/parent/memory.high"),
            kind: LimitKind::High,
        })
    );
    assert!(LIMITS_PERIOD <= Duration::from_secs(1));
}

#[test]
fn refresh_actions_run_until_dropped() {
    let tree = tree("actions", "1073741824", 100 * MIB);
    let breaker = MemoryBreaker::new(
        BreakerConfig::new(Budget::Cgroup)
            .host(tree.host())
            .source(ManualSource::new(0))
            .no_purge(),
    )
    .unwrap();
    let seen = Arc::new(AtomicU64::new(0));
    let calls = Arc::new(AtomicU64::new(0));
    let action = breaker.on_refresh({
        let (seen, calls) = (seen.clone(), calls.clone());
        move |usage| {
            seen.store(usage.used(), SeqCst);
            calls.fetch_add(1, SeqCst);
        }
    });
    eventually("the action runs", || seen.load(SeqCst) == 100 * MIB);
    tree.write(
        "/sys/fs/cgroup/parent/app/memory.current",
        &format!("{}\n", 123 * MIB),
    );
    eventually("the action sees the new reading", || {
        seen.load(SeqCst) == 123 * MIB
    });
    drop(action);
    // An action in progress may finish; none starts after.
    std::thread::sleep(REFRESH_PERIOD * 2);
    let after = calls.load(SeqCst);
    std::thread::sleep(REFRESH_PERIOD * 8);
    assert_eq!(calls.load(SeqCst), after);
}
