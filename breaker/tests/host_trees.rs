//! The effective cgroup limit on replayed host trees: one test per host
//! layout, each asserting the exact bytes and the file they came from.

mod common;

use std::path::PathBuf;

use common::{
    v1_stat, v2_stat, Tree, GIB, MIB, MOUNTS_BASE, PHYSICAL, V1_UNLIMITED_4K, V1_UNLIMITED_64K,
};
use heapguard_breaker::reading::{
    CgroupSource, CgroupVersion, Finding, Limit, LimitKind, Origin, Pressure, Stall,
};
use heapguard_breaker::{Budget, BudgetError, MemorySource, SourceError};

fn cgroup_origin(file: &str, kind: LimitKind, bytes: u64) -> Origin {
    Origin::Cgroup(Limit {
        bytes,
        file: PathBuf::from(file),
        kind,
    })
}

fn physical() -> Origin {
    Origin::PhysicalMemory {
        file: PathBuf::from("/proc/meminfo"),
    }
}

const V2_MOUNT: &str =
    "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

/// A Kubernetes pod on cgroup v1 (no cgroup namespace): the container sees
/// its own cgroup at the mount point, the pod's limit is on the parent.
#[test]
fn v1_parent_limit_through_hierarchical_memory_limit() {
    let pod = "/kubepods/burstable/pod0b8c5b6e-7a1e-4d39-9d0f-3c1f1c2a9e11";
    let container = format!("{pod}/5f1e0c2d9a8b");
    let tree = Tree::new("v1-hierarchical");
    tree.write(
        "/proc/self/cgroup",
        &format!("12:pids:{container}\n11:memory:{container}\n10:cpu,cpuacct:{container}\n1:name=systemd:{container}\n0::/\n"),
    )
    .write(
        "/proc/self/mountinfo",
        &format!("{MOUNTS_BASE}1370 1364 0:31 {container} /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime master:15 - cgroup cgroup rw,memory\n"),
    )
    .write("/sys/fs/cgroup/memory/memory.limit_in_bytes", &format!("{V1_UNLIMITED_4K}\n"))
    .write("/sys/fs/cgroup/memory/memory.soft_limit_in_bytes", &format!("{V1_UNLIMITED_4K}\n"))
    .write("/sys/fs/cgroup/memory/memory.usage_in_bytes", "734003200\n")
    .write("/sys/fs/cgroup/memory/memory.use_hierarchy", "1\n")
    .write("/sys/fs/cgroup/memory/memory.stat", &v1_stat(2 * GIB, 100 * MIB));
    let host = tree.host();
    let expected = cgroup_origin(
        "/sys/fs/cgroup/memory/memory.stat",
        LimitKind::HierarchicalMemoryLimit,
        2 * GIB,
    );
    for budget in [Budget::Auto, Budget::Cgroup] {
        let resolution = budget.resolution_on(&host).unwrap();
        assert_eq!(
            (resolution.bytes(), resolution.origin()),
            (2 * GIB, &expected)
        );
    }
    // The working set of the process's own cgroup: 700 MiB - 100 MiB.
    let source = CgroupSource::new(&host).unwrap();
    assert_eq!(source.used_bytes().unwrap(), 600 * MIB);
}

/// v1 as the host sees it: the parent directory is visible and binds
/// (`use_hierarchy` 1); this kernel's `memory.stat` has no hierarchical line.
#[test]
fn v1_parent_limit_through_a_visible_parent_directory() {
    let tree = Tree::new("v1-parent");
    let parent = "/sys/fs/cgroup/memory/kubepods/pod1";
    let own = format!("{parent}/ctr");
    tree.write("/proc/self/cgroup", "4:memory:/kubepods/pod1/ctr\n3:cpuset:/\n")
        .write(
            "/proc/self/mountinfo",
            &format!("{MOUNTS_BASE}35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"),
        )
        .write(&format!("{parent}/memory.limit_in_bytes"), "1610612736\n")
        .write(&format!("{parent}/memory.use_hierarchy"), "1\n")
        .write(&format!("{own}/memory.limit_in_bytes"), &format!("{V1_UNLIMITED_4K}\n"))
        .write(&format!("{own}/memory.use_hierarchy"), "1\n")
        .write(&format!("{own}/memory.usage_in_bytes"), "209715200\n")
        .write(&format!("{own}/memory.stat"), "cache 0\nrss 209715200\ntotal_inactive_file 0\n")
        .write("/sys/fs/cgroup/memory/memory.limit_in_bytes", &format!("{V1_UNLIMITED_4K}\n"))
        .write("/sys/fs/cgroup/memory/memory.use_hierarchy", "1\n");
    let resolution = Budget::Auto.resolution_on(&tree.host()).unwrap();
    assert_eq!(resolution.bytes(), 1536 * MIB);
    assert_eq!(
        resolution.origin(),
        &cgroup_origin(
            "/sys/fs/cgroup/memory/kubepods/pod1/memory.limit_in_bytes",
            LimitKind::LimitInBytes,
            1536 * MIB
        )
    );
    let skipped = resolution.skipped().join("\n");
    assert!(
        skipped.contains("/ctr/memory.limit_in_bytes: no limit"),
        "{skipped}"
    );
    assert!(skipped.contains("/ctr/memory.stat: absent"), "{skipped}");
}

/// v2: the process is in a leaf without memory files (the controller is not
/// enabled below its parent); the limit is two levels up.
#[test]
fn v2_ancestor_limit_under_a_leaf_without_memory_files() {
    let tree = Tree::new("v2-leaf");
    let slice = "/sys/fs/cgroup/app.slice";
    let service = format!("{slice}/worker.service");
    tree.write("/proc/self/cgroup", "0::/app.slice/worker.service/jobs\n")
        .write("/proc/self/mountinfo", &format!("{MOUNTS_BASE}{V2_MOUNT}"))
        .write(
            "/sys/fs/cgroup/cgroup.controllers",
            "cpuset cpu io memory hugetlb pids rdma misc\n",
        )
        .write(&format!("{slice}/memory.max"), "1073741824\n")
        .write(&format!("{slice}/memory.high"), "max\n")
        .write(&format!("{slice}/memory.current"), "943718400\n")
        .write(
            &format!("{slice}/memory.stat"),
            &v2_stat(800 * MIB, 100 * MIB),
        )
        .write(&format!("{service}/memory.max"), "max\n")
        .write(&format!("{service}/memory.high"), "max\n")
        .write(&format!("{service}/memory.current"), "524288000\n")
        .write(
            &format!("{service}/memory.stat"),
            &v2_stat(450 * MIB, 50 * MIB),
        )
        .write(&format!("{service}/jobs/cgroup.procs"), "4242\n")
        .write(&format!("{service}/jobs/cgroup.controllers"), "\n");
    let host = tree.host();
    let expected = cgroup_origin("/sys/fs/cgroup/app.slice/memory.max", LimitKind::Max, GIB);
    for budget in [Budget::Auto, Budget::Cgroup] {
        let resolution = budget.resolution_on(&host).unwrap();
        assert_eq!((resolution.bytes(), resolution.origin()), (GIB, &expected));
    }
    // Read where the kernel charges: worker.service, 500 MiB - 50 MiB.
    let source = CgroupSource::new(&host).unwrap();
    assert_eq!(
        source.cgroup().charged_level().unwrap(),
        PathBuf::from(&service)
    );
    assert_eq!(source.used_bytes().unwrap(), 450 * MIB);
}

/// v1 in a sub-cgroup of its container: mountinfo's root is the
/// container's cgroup, so the path is mapped through it.
#[test]
fn v1_nested_sub_cgroup_resolved_through_mountinfo_root() {
    let id = "3f5c2a9e8d7b6c5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a";
    let tree = Tree::new("v1-nested");
    let mount = "/sys/fs/cgroup/memory";
    let own = format!("{mount}/system.slice/app.service");
    tree.write(
        "/proc/self/cgroup",
        &format!("5:memory:/docker/{id}/system.slice/app.service\n1:name=systemd:/docker/{id}/system.slice/app.service\n"),
    )
    .write(
        "/proc/self/mountinfo",
        &format!("{MOUNTS_BASE}1370 1364 0:31 /docker/{id} {mount} rw,nosuid,nodev,noexec,relatime master:15 - cgroup cgroup rw,memory\n"),
    )
    // The container's cgroup (the mount point): 2 GiB, 1.5 GiB used.
    .write(&format!("{mount}/memory.limit_in_bytes"), "2147483648\n")
    .write(&format!("{mount}/memory.use_hierarchy"), "1\n")
    .write(&format!("{mount}/memory.usage_in_bytes"), "1610612736\n")
    .write(&format!("{mount}/memory.stat"), &v1_stat(2 * GIB, 0))
    .dir(&format!("{mount}/system.slice"))
    // The process's own: 512 MiB, 300 MiB used of which 44 MiB inactive file.
    .write(&format!("{own}/memory.limit_in_bytes"), "536870912\n")
    .write(&format!("{own}/memory.use_hierarchy"), "1\n")
    .write(&format!("{own}/memory.usage_in_bytes"), "314572800\n")
    .write(&format!("{own}/memory.stat"), &v1_stat(512 * MIB, 44 * MIB));
    let host = tree.host();
    let resolution = Budget::Auto.resolution_on(&host).unwrap();
    assert_eq!(resolution.bytes(), 512 * MIB);
    assert_eq!(
        resolution.origin(),
        &cgroup_origin(
            "/sys/fs/cgroup/memory/system.slice/app.service/memory.stat",
            LimitKind::HierarchicalMemoryLimit,
            512 * MIB
        )
    );
    let source = CgroupSource::new(&host).unwrap();
    assert_eq!(source.cgroup().host_dir(), PathBuf::from(&own));
    assert_eq!(source.used_bytes().unwrap(), 256 * MIB);
    // A path outside the mount's root is unknown, never the mount root.
    tree.write("/proc/self/cgroup", "5:memory:/other/app\n");
    let error = Budget::Cgroup.resolve_on(&host).unwrap_err();
    assert!(
        matches!(
            &error,
            BudgetError::Unknown { source: SourceError::OutsideMount { path, .. }, .. } if path == "/other/app"
        ),
        "{error:?}"
    );
    let resolution = Budget::Auto.resolution_on(&host).unwrap();
    assert_eq!(
        (resolution.bytes(), resolution.origin()),
        (PHYSICAL, &physical())
    );
    assert!(
        resolution.warnings()[0].contains("/other/app"),
        "{:?}",
        resolution.warnings()
    );
    assert!(CgroupSource::new(&host).is_err());
}

/// This machine's own files (copied as they are): a hybrid host with the
/// v1 memory controller and a cgroup2 mount at /sys/fs/cgroup/unified. No
/// limit is set anywhere, so `auto` is physical memory.
#[test]
fn hybrid_host_copied_from_a_real_machine_reads_v1_memory() {
    let tree = Tree::copy_of("hybrid-v1-memory");
    let host = tree.host();
    let resolution = Budget::Auto.resolution_on(&host).unwrap();
    assert_eq!(resolution.bytes(), 24_684_092 * 1024);
    assert_eq!(resolution.origin(), &physical());
    assert!(
        resolution.warnings().is_empty(),
        "{:?}",
        resolution.warnings()
    );
    let limits = resolution.cgroup_limits().unwrap();
    assert_eq!(limits.cgroup().version(), CgroupVersion::V1);
    assert_eq!(
        limits.cgroup().host_dir(),
        PathBuf::from("/sys/fs/cgroup/memory/process_api/ee49472c487e337a80ec472310099a47")
    );
    assert!(limits
        .candidates()
        .iter()
        .all(|candidate| candidate.finding == Finding::Unlimited));
    let error = Budget::Cgroup.resolve_on(&host).unwrap_err();
    assert!(matches!(error, BudgetError::NoCgroupLimit { .. }));
    // Worded for every caller, a program or a command line: no Rust path.
    assert_eq!(
        error.to_string(),
        "the memory cgroup at /sys/fs/cgroup/memory/process_api/ee49472c487e337a80ec472310099a47 \
         and its ancestors set no memory limit (`max`); a budget of `auto` (the smallest known \
         limit) or a fixed size such as `512MiB` would work instead"
    );
    // The working set from the copied files: usage - total_inactive_file.
    assert_eq!(
        CgroupSource::new(&host).unwrap().used_bytes().unwrap(),
        1_767_215_104 - 1_642_016_768
    );
}

/// A hybrid host where both hierarchies carry a limit: the v1 memory
/// controller is the one that limits.
#[test]
fn hybrid_host_takes_the_v1_memory_controller() {
    let tree = Tree::new("hybrid");
    tree.write("/proc/self/cgroup", "4:memory:/app\n1:name=systemd:/app\n0::/app\n")
        .write(
            "/proc/self/mountinfo",
            &format!(
                "{MOUNTS_BASE}35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
                 41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
            ),
        )
        .write("/sys/fs/cgroup/memory/app/memory.limit_in_bytes", "3221225472\n")
        .write("/sys/fs/cgroup/memory/app/memory.usage_in_bytes", "1048576\n")
        .write("/sys/fs/cgroup/memory/app/memory.stat", &v1_stat(3 * GIB, 0))
        .write("/sys/fs/cgroup/unified/app/memory.max", "1073741824\n")
        .write("/sys/fs/cgroup/unified/app/memory.high", "max\n");
    let resolution = Budget::Cgroup.resolution_on(&tree.host()).unwrap();
    assert_eq!(resolution.bytes(), 3 * GIB);
    assert_eq!(
        resolution.origin(),
        &cgroup_origin(
            "/sys/fs/cgroup/memory/app/memory.stat",
            LimitKind::HierarchicalMemoryLimit,
            3 * GIB
        )
    );
}

/// A container with its own cgroup namespace: `/proc/self/cgroup` says `/`.
#[test]
fn cgroup_namespace_reads_the_mount_point() {
    let tree = Tree::new("namespace");
    tree.write("/proc/self/cgroup", "0::/\n")
        .write(
            "/proc/self/mountinfo",
            &format!("{MOUNTS_BASE}1371 1364 0:33 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"),
        )
        .write("/sys/fs/cgroup/memory.max", "805306368\n")
        .write("/sys/fs/cgroup/memory.high", "max\n")
        .write("/sys/fs/cgroup/memory.current", "104857600\n")
        .write("/sys/fs/cgroup/memory.stat", &v2_stat(90 * MIB, 10 * MIB));
    let host = tree.host();
    let resolution = Budget::Auto.resolution_on(&host).unwrap();
    assert_eq!(
        (resolution.bytes(), resolution.origin()),
        (
            768 * MIB,
            &cgroup_origin("/sys/fs/cgroup/memory.max", LimitKind::Max, 768 * MIB)
        )
    );
    assert_eq!(
        CgroupSource::new(&host).unwrap().used_bytes().unwrap(),
        90 * MIB
    );
}

/// An old host that mounts the v1 memory controller at `/cgroup`, together
/// with cpu.
#[test]
fn non_standard_mount_point() {
    let tree = Tree::new("old-mount");
    tree.write("/proc/self/cgroup", "3:cpu,memory:/batch/job7\n")
        .write(
            "/proc/self/mountinfo",
            &format!("{MOUNTS_BASE}20 15 0:17 / /cgroup rw,relatime - cgroup none rw,cpu,memory\n"),
        )
        .write("/cgroup/batch/job7/memory.limit_in_bytes", "268435456\n")
        .write("/cgroup/batch/job7/memory.usage_in_bytes", "1048576\n")
        .write("/cgroup/batch/memory.limit_in_bytes", "536870912\n")
        .write("/cgroup/batch/memory.use_hierarchy", "1\n");
    let resolution = Budget::Cgroup.resolution_on(&tree.host()).unwrap();
    assert_eq!(
        (resolution.bytes(), resolution.origin()),
        (
            256 * MIB,
            &cgroup_origin(
                "/cgroup/batch/job7/memory.limit_in_bytes",
                LimitKind::LimitInBytes,
                256 * MIB
            )
        )
    );
}

/// `memory.high` binds `auto` (the kernel throttles there); `cgroup` stays
/// the hard limit.
#[test]
fn memory_high_binds_auto_and_is_reported() {
    let tree = Tree::new("high");
    tree.write("/proc/self/cgroup", "0::/app\n")
        .write("/proc/self/mountinfo", &format!("{MOUNTS_BASE}{V2_MOUNT}"))
        .write("/sys/fs/cgroup/app/memory.max", "max\n")
        .write("/sys/fs/cgroup/app/memory.high", "1073741824\n")
        .write("/sys/fs/cgroup/app/memory.current", "1048576\n")
        .write("/sys/fs/cgroup/app/memory.stat", &v2_stat(MIB, 0));
    let host = tree.host();
    let high = cgroup_origin("/sys/fs/cgroup/app/memory.high", LimitKind::High, GIB);
    let resolution = Budget::Auto.resolution_on(&host).unwrap();
    assert_eq!((resolution.bytes(), resolution.origin()), (GIB, &high));
    assert!(matches!(
        Budget::Cgroup.resolve_on(&host),
        Err(BudgetError::NoCgroupLimit { .. })
    ));
    tree.write("/sys/fs/cgroup/app/memory.max", "2147483648\n");
    let hard = Budget::Cgroup.resolution_on(&host).unwrap();
    assert_eq!(
        (hard.bytes(), hard.origin()),
        (
            2 * GIB,
            &cgroup_origin("/sys/fs/cgroup/app/memory.max", LimitKind::Max, 2 * GIB)
        )
    );
    assert_eq!(hard.high().map(|limit| limit.bytes), Some(GIB));
    assert_eq!(Budget::PercentOfAuto(50.0).resolve_on(&host), Ok(GIB / 2));
}

/// The unlimited sentinels of 4 KiB and 64 KiB pages mean no limit.
#[test]
fn unlimited_sentinels_of_4k_and_64k_pages() {
    for (name, sentinel) in [("4k", V1_UNLIMITED_4K), ("64k", V1_UNLIMITED_64K)] {
        let tree = Tree::new(&format!("sentinel-{name}"));
        tree.write("/proc/self/cgroup", "4:memory:/app\n")
            .write(
                "/proc/self/mountinfo",
                &format!("{MOUNTS_BASE}35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"),
            )
            .write("/sys/fs/cgroup/memory/app/memory.limit_in_bytes", &format!("{sentinel}\n"))
            .write("/sys/fs/cgroup/memory/app/memory.soft_limit_in_bytes", &format!("{sentinel}\n"))
            .write("/sys/fs/cgroup/memory/app/memory.usage_in_bytes", "1048576\n")
            .write("/sys/fs/cgroup/memory/app/memory.stat", &v1_stat(sentinel.parse().unwrap(), 0))
            .write("/sys/fs/cgroup/memory/memory.limit_in_bytes", &format!("{sentinel}\n"))
            .write("/sys/fs/cgroup/memory/memory.use_hierarchy", "1\n");
        let host = tree.host();
        let resolution = Budget::Auto.resolution_on(&host).unwrap();
        assert_eq!(
            (resolution.bytes(), resolution.origin()),
            (PHYSICAL, &physical()),
            "{name}"
        );
        assert!(
            resolution.warnings().is_empty(),
            "{name}: {:?}",
            resolution.warnings()
        );
        assert!(matches!(
            Budget::Cgroup.resolve_on(&host),
            Err(BudgetError::NoCgroupLimit { .. })
        ));
    }
}

/// A v1 parent with `use_hierarchy` 0 (old hosts ship it so): its limit
/// does not bind the child.
#[test]
fn use_hierarchy_0_parent_does_not_bind() {
    let tree = Tree::new("use-hierarchy-0");
    tree.write("/proc/self/cgroup", "4:memory:/lxc/web\n")
        .write(
            "/proc/self/mountinfo",
            &format!("{MOUNTS_BASE}35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"),
        )
        .write("/sys/fs/cgroup/memory/lxc/memory.limit_in_bytes", "1073741824\n")
        .write("/sys/fs/cgroup/memory/lxc/memory.use_hierarchy", "0\n")
        .write("/sys/fs/cgroup/memory/lxc/web/memory.limit_in_bytes", &format!("{V1_UNLIMITED_4K}\n"))
        .write("/sys/fs/cgroup/memory/lxc/web/memory.soft_limit_in_bytes", "536870912\n")
        .write("/sys/fs/cgroup/memory/lxc/web/memory.use_hierarchy", "0\n")
        .write("/sys/fs/cgroup/memory/lxc/web/memory.usage_in_bytes", "1048576\n")
        .write("/sys/fs/cgroup/memory/lxc/web/memory.stat", &v1_stat(V1_UNLIMITED_4K.parse().unwrap(), 0))
        .write("/sys/fs/cgroup/memory/memory.limit_in_bytes", &format!("{V1_UNLIMITED_4K}\n"))
        .write("/sys/fs/cgroup/memory/memory.use_hierarchy", "0\n");
    let host = tree.host();
    let resolution = Budget::Auto.resolution_on(&host).unwrap();
    assert_eq!(
        (resolution.bytes(), resolution.origin()),
        (PHYSICAL, &physical())
    );
    let skipped = resolution.skipped().join("\n");
    assert!(
        skipped.contains("/sys/fs/cgroup/memory/lxc/memory.limit_in_bytes: does not bind"),
        "{skipped}"
    );
    // The soft limit is reported, never the budget.
    assert_eq!(
        resolution.soft_limit().map(|limit| limit.bytes),
        Some(512 * MIB)
    );
    assert!(
        skipped.contains("soft limit: reported, never a budget"),
        "{skipped}"
    );
    // With use_hierarchy 1 the same parent binds.
    tree.write("/sys/fs/cgroup/memory/lxc/memory.use_hierarchy", "1\n");
    assert_eq!(Budget::Auto.resolve_on(&host), Ok(GIB));
}

/// A mount point with a space, escaped as `\040` in mountinfo.
#[test]
fn escaped_mount_point() {
    let tree = Tree::new("escaped");
    tree.write("/proc/self/cgroup", "0::/svc\n")
        .write(
            "/proc/self/mountinfo",
            &format!(
                "{MOUNTS_BASE}35 24 0:30 / /run/my\\040cgroups rw,relatime - cgroup2 cgroup2 rw\n"
            ),
        )
        .write("/run/my cgroups/svc/memory.max", "402653184\n")
        .write("/run/my cgroups/svc/memory.high", "max\n")
        .write("/run/my cgroups/svc/memory.current", "1048576\n")
        .write("/run/my cgroups/svc/memory.stat", &v2_stat(MIB, 0));
    let resolution = Budget::Auto.resolution_on(&tree.host()).unwrap();
    assert_eq!(
        (resolution.bytes(), resolution.origin()),
        (
            384 * MIB,
            &cgroup_origin("/run/my cgroups/svc/memory.max", LimitKind::Max, 384 * MIB)
        )
    );
}

fn v2_app(name: &str) -> Tree {
    let tree = Tree::new(name);
    tree.write("/proc/self/cgroup", "0::/app\n")
        .write("/proc/self/mountinfo", &format!("{MOUNTS_BASE}{V2_MOUNT}"))
        .write("/sys/fs/cgroup/app/memory.max", "1073741824\n")
        .write("/sys/fs/cgroup/app/memory.high", "max\n")
        .write("/sys/fs/cgroup/app/memory.current", "1048576\n")
        .write("/sys/fs/cgroup/app/memory.stat", &v2_stat(MIB, 0));
    tree
}

/// A limit file that is there but cannot be read (a directory, a dangling
/// link): `auto` falls back to physical memory and says which file and why.
#[test]
fn unreadable_limit_files_fall_back_with_a_warning() {
    for (name, make) in [
        (
            "directory",
            Tree::unreadable as for<'a> fn(&'a Tree, &str) -> &'a Tree,
        ),
        ("dangling", Tree::dangling),
    ] {
        let tree = v2_app(&format!("unreadable-{name}"));
        make(&tree, "/sys/fs/cgroup/app/memory.max");
        let host = tree.host();
        let resolution = Budget::Auto.resolution_on(&host).unwrap();
        assert_eq!(
            (resolution.bytes(), resolution.origin()),
            (PHYSICAL, &physical()),
            "{name}"
        );
        let warning = resolution.warnings().join("\n");
        assert!(
            warning.contains("/sys/fs/cgroup/app/memory.max"),
            "{name}: {warning}"
        );
        assert!(
            warning.contains("falls back to physical memory"),
            "{name}: {warning}"
        );
        // `cgroup` cannot be known: an error naming the file, never a guess.
        let error = Budget::Cgroup.resolve_on(&host).unwrap_err();
        assert!(
            matches!(error, BudgetError::Unknown { .. }),
            "{name}: {error:?}"
        );
        assert!(error.to_string().contains("memory.max"), "{name}: {error}");
    }
}

/// Missing `/proc` files: no cgroup is known, `auto` falls back and warns;
/// with no meminfo either, nothing is known and the error says why.
#[test]
fn missing_proc_files_fall_back_with_a_warning() {
    let tree = v2_app("missing-proc");
    tree.remove("/proc/self/cgroup");
    let host = tree.host();
    let resolution = Budget::Auto.resolution_on(&host).unwrap();
    assert_eq!(
        (resolution.bytes(), resolution.origin()),
        (PHYSICAL, &physical())
    );
    assert!(
        resolution.warnings()[0].contains("/proc/self/cgroup"),
        "{:?}",
        resolution.warnings()
    );
    tree.remove("/proc/meminfo");
    let error = Budget::Auto.resolve_on(&host).unwrap_err();
    assert!(
        matches!(error, BudgetError::NothingKnown { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("meminfo"), "{error}");
    // A host with no cgroup mounted at all: physical memory, no warning.
    let bare = Tree::new("bare");
    bare.write("/proc/self/cgroup", "0::/\n")
        .write("/proc/self/mountinfo", MOUNTS_BASE);
    let resolution = Budget::Auto.resolution_on(&bare.host()).unwrap();
    assert_eq!(
        (resolution.bytes(), resolution.origin()),
        (PHYSICAL, &physical())
    );
    assert!(
        resolution.warnings().is_empty(),
        "{:?}",
        resolution.warnings()
    );
}

/// A fixed budget above the effective limit is accepted, with a warning
/// naming the limit.
#[test]
fn a_fixed_budget_above_the_limit_is_accepted_with_a_warning() {
    let tree = v2_app("fixed-above");
    let resolution = Budget::Bytes(2 * GIB).resolution_on(&tree.host()).unwrap();
    assert_eq!(
        (resolution.bytes(), resolution.origin()),
        (2 * GIB, &Origin::Fixed)
    );
    let warning = resolution.warnings().join("\n");
    assert!(warning.contains("above the effective limit"), "{warning}");
    assert!(
        warning.contains("/sys/fs/cgroup/app/memory.max"),
        "{warning}"
    );
    let below = Budget::Bytes(GIB / 2).resolution_on(&tree.host()).unwrap();
    assert!(below.warnings().is_empty());
}

/// Memory pressure (PSI) of the charged level and of the host, reported
/// beside the byte readings.
#[test]
fn memory_pressure_is_reported_for_the_cgroup_and_the_host() {
    let tree = v2_app("pressure");
    tree.write(
        "/sys/fs/cgroup/app/memory.pressure",
        "some avg10=12.50 avg60=4.25 avg300=1.00 total=9876543\nfull avg10=3.75 avg60=1.50 avg300=0.25 total=1234567\n",
    )
    .write(
        "/proc/pressure/memory",
        "some avg10=0.50 avg60=0.25 avg300=0.00 total=42\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n",
    );
    let host = tree.host();
    let pressure = CgroupSource::new(&host)
        .unwrap()
        .cgroup()
        .pressure()
        .unwrap();
    assert_eq!(
        pressure,
        Pressure {
            some: Stall {
                avg10: 12.5,
                avg60: 4.25,
                avg300: 1.0,
                total_us: 9_876_543
            },
            full: Stall {
                avg10: 3.75,
                avg60: 1.5,
                avg300: 0.25,
                total_us: 1_234_567
            },
        }
    );
    assert_eq!(host.memory_pressure().unwrap().full.total_us, 7);
    // A kernel without PSI: an error naming the file, never zeros.
    tree.remove("/proc/pressure/memory");
    let error = host.memory_pressure().unwrap_err();
    assert!(
        error.to_string().contains("/proc/pressure/memory"),
        "{error}"
    );
}
