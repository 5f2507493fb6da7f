//! Budgets: human sizes, cgroup v1/v2 fixtures, physical memory, `auto`,
//! and configuration validation.

use std::fs;
use std::path::PathBuf;

use heapguard_breaker::{
    BreakerConfig, Budget, BudgetError, Cgroup, CgroupSource, CgroupVersion, ConfigError, Host,
    ManualSource, MemoryBreaker, MemorySource,
};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// A throwaway directory tree standing in for `/proc` and `/sys/fs/cgroup`.
struct Fixture {
    root: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Self {
        let root =
            std::env::temp_dir().join(format!("heapguard-breaker-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("proc/self")).unwrap();
        fs::create_dir_all(root.join("cgroup")).unwrap();
        Self { root }
    }

    fn write(&self, path: &str, text: &str) -> &Self {
        let path = self.root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
        self
    }

    fn path(&self, path: &str) -> PathBuf {
        self.root.join(path)
    }

    fn host(&self) -> Host {
        Host::with_paths(self.root.join("proc"), self.root.join("cgroup"))
    }

    fn meminfo(&self, kib: u64) -> &Self {
        self.write(
            "proc/meminfo",
            &format!("MemTotal:       {kib} kB\nMemFree:         1024 kB\n"),
        )
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn v2(name: &str, max: &str) -> Fixture {
    let fixture = Fixture::new(name);
    fixture
        .write("cgroup/cgroup.controllers", "cpu memory\n")
        .write("proc/self/cgroup", "0::/app\n")
        .write("cgroup/app/memory.max", max)
        .write("cgroup/app/memory.current", "314572800\n")
        .write(
            "cgroup/app/memory.stat",
            "anon 209715200\nfile 104857600\ninactive_file 104857600\nactive_file 0\n",
        );
    fixture
}

#[test]
fn human_sizes_parse() {
    let parse = |text: &str| text.parse::<Budget>();
    assert_eq!(parse("512MiB"), Ok(Budget::Bytes(512 * MIB)));
    assert_eq!(parse("2GB"), Ok(Budget::Bytes(2_000_000_000)));
    assert_eq!(parse("1.5 GiB"), Ok(Budget::Bytes(3 * GIB / 2)));
    assert_eq!(parse("1048576"), Ok(Budget::Bytes(MIB)));
    assert_eq!(parse(" auto "), Ok(Budget::Auto));
    assert_eq!(parse("CGROUP"), Ok(Budget::Cgroup));
    assert_eq!(parse("system"), Ok(Budget::SystemMemory));
    assert_eq!(parse("80%"), Ok(Budget::PercentOfAuto(80.0)));
    assert_eq!(parse("12.5 %"), Ok(Budget::PercentOfAuto(12.5)));
    assert_eq!(parse("0"), Err(BudgetError::Zero));
    assert_eq!(parse("0 MiB"), Err(BudgetError::Zero));
    for bad in ["0%", "150%", "-5%", "many%"] {
        let error = parse(bad).unwrap_err();
        assert!(
            matches!(error, BudgetError::Percent { .. }),
            "{bad}: {error:?}"
        );
        assert!(error.to_string().contains(bad));
    }
    for bad in ["", "abc", "-5MB", "12 parsecs", "MiB", "1.2.3 GB"] {
        let error = parse(bad).unwrap_err();
        assert!(
            matches!(error, BudgetError::Size { .. }),
            "{bad:?}: {error:?}"
        );
        assert!(error.to_string().contains(&format!("{bad:?}")), "{error}");
    }
    assert_eq!(Budget::Bytes(512 * MIB).to_string(), "512.0 MiB");
}

#[test]
fn cgroup_v2_limit_and_working_set() {
    let fixture = v2("v2", "536870912\n");
    fixture.meminfo(16 * MIB); // 16 GiB
    let host = fixture.host();
    let cgroup = host.cgroup().unwrap();
    assert_eq!(cgroup.version(), CgroupVersion::V2);
    assert_eq!(cgroup.dir(), fixture.path("cgroup/app"));
    assert_eq!(Budget::Cgroup.resolve_on(&host), Ok(512 * MIB));
    assert_eq!(Budget::Auto.resolve_on(&host), Ok(512 * MIB));
    assert_eq!(Budget::PercentOfAuto(50.0).resolve_on(&host), Ok(256 * MIB));
    assert_eq!(Budget::SystemMemory.resolve_on(&host), Ok(16 * GIB));
    // memory.current - inactive_file = 300 MiB - 100 MiB.
    let source = CgroupSource::new(&host).unwrap();
    assert_eq!(source.used_bytes().unwrap(), 200 * MIB);
    assert_eq!(source.name(), "cgroup");
}

#[test]
fn cgroup_v2_takes_the_smallest_limit_of_its_ancestors() {
    let fixture = Fixture::new("v2-nested");
    fixture
        .write("cgroup/cgroup.controllers", "memory\n")
        .write("proc/self/cgroup", "0::/kube/pod/app\n")
        .write("cgroup/kube/memory.max", "268435456\n")
        .write("cgroup/kube/pod/memory.max", "max\n")
        .write("cgroup/kube/pod/app/memory.max", "1073741824\n");
    assert_eq!(Budget::Cgroup.resolve_on(&fixture.host()), Ok(256 * MIB));
}

#[test]
fn cgroup_max_means_no_limit_and_auto_falls_back_to_physical_memory() {
    let fixture = v2("v2-max", "max\n");
    fixture.meminfo(4 * MIB);
    let host = fixture.host();
    assert_eq!(host.cgroup().unwrap().limit(), Ok(None));
    let error = Budget::Cgroup.resolve_on(&host).unwrap_err();
    assert!(matches!(error, BudgetError::NoCgroupLimit { .. }));
    assert!(error.to_string().contains("sets no memory limit"));
    assert_eq!(Budget::Auto.resolve_on(&host), Ok(4 * GIB));
}

#[test]
fn auto_is_physical_memory_when_the_cgroup_limit_is_larger() {
    let fixture = v2("v2-large", &format!("{}\n", 64 * GIB));
    fixture.meminfo(8 * MIB);
    assert_eq!(Budget::Auto.resolve_on(&fixture.host()), Ok(8 * GIB));
}

#[test]
fn a_missing_file_is_unknown_never_zero() {
    let fixture = Fixture::new("v2-missing");
    fixture
        .write("cgroup/cgroup.controllers", "memory\n")
        .write("proc/self/cgroup", "0::/app\n");
    fs::create_dir_all(fixture.path("cgroup/app")).unwrap();
    let host = fixture.host();
    let error = Budget::Cgroup.resolve_on(&host).unwrap_err();
    match &error {
        BudgetError::Unknown { path, .. } => {
            assert_eq!(path, &fixture.path("cgroup/app/memory.max"))
        }
        other => panic!("expected unknown, got {other:?}"),
    }
    assert!(error.to_string().contains("memory.max"));
    // No meminfo either: auto knows nothing, and says why.
    let error = Budget::Auto.resolve_on(&host).unwrap_err();
    assert!(
        matches!(error, BudgetError::NothingKnown { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("meminfo"), "{error}");
    // With meminfo, auto uses it.
    fixture.meminfo(MIB);
    assert_eq!(Budget::Auto.resolve_on(&host), Ok(GIB));
    // A host with no cgroup at all.
    let bare = Fixture::new("bare");
    let error = Budget::Cgroup.resolve_on(&bare.host()).unwrap_err();
    assert!(matches!(error, BudgetError::Unknown { .. }), "{error:?}");
}

#[test]
fn garbage_in_the_files_is_a_clear_error() {
    let fixture = v2("v2-garbage", "lots\n");
    fixture.write("proc/meminfo", "MemTotal: many kB\n");
    let host = fixture.host();
    let error = Budget::Cgroup.resolve_on(&host).unwrap_err();
    assert!(matches!(error, BudgetError::Garbage { .. }), "{error:?}");
    assert!(error.to_string().contains("\"lots\\n\""), "{error}");
    let error = Budget::SystemMemory.resolve_on(&host).unwrap_err();
    assert!(matches!(error, BudgetError::Garbage { .. }), "{error:?}");
    fixture.write("cgroup/app/memory.stat", "anon 5\n");
    let error = CgroupSource::from_cgroup(Cgroup::v2(fixture.path("cgroup/app"))).unwrap_err();
    assert!(error.to_string().contains("inactive_file"), "{error}");
}

#[test]
fn cgroup_v1_limit_unlimited_and_working_set() {
    let fixture = Fixture::new("v1");
    let dir = "cgroup/memory/docker/abc";
    fixture
        .write(
            "proc/self/cgroup",
            "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n",
        )
        .write(&format!("{dir}/memory.limit_in_bytes"), "1073741824\n")
        .write(&format!("{dir}/memory.usage_in_bytes"), "524288000\n")
        .write(
            &format!("{dir}/memory.stat"),
            "cache 0\ninactive_file 1\ntotal_inactive_file 104857600\n",
        );
    let host = fixture.host();
    let cgroup = host.cgroup().unwrap();
    assert_eq!(cgroup.version(), CgroupVersion::V1);
    assert_eq!(Budget::Cgroup.resolve_on(&host), Ok(GIB));
    assert_eq!(
        CgroupSource::new(&host).unwrap().used_bytes().unwrap(),
        400 * MIB
    );
    fixture.write(
        &format!("{dir}/memory.limit_in_bytes"),
        "9223372036854771712\n",
    );
    assert_eq!(Cgroup::v1(fixture.path(dir)).limit(), Ok(None));
}

#[test]
fn a_container_path_missing_under_the_mount_reads_the_mount_root() {
    let fixture = Fixture::new("v2-namespace");
    fixture
        .write("cgroup/cgroup.controllers", "memory\n")
        .write("proc/self/cgroup", "0::/system.slice/docker-1234.scope\n")
        .write("cgroup/memory.max", "2147483648\n");
    assert_eq!(Budget::Cgroup.resolve_on(&fixture.host()), Ok(2 * GIB));
}

fn config(budget: Budget) -> BreakerConfig {
    BreakerConfig::new(budget).source(ManualSource::new(0))
}

#[test]
fn configuration_is_validated_with_typed_errors() {
    let build = |config: BreakerConfig| MemoryBreaker::new(config).unwrap_err();
    let bytes = Budget::Bytes(GIB);
    for percent in [0.0, -1.0, 100.5, f64::NAN] {
        let error = build(config(bytes.clone()).trip_percent(percent));
        assert!(
            matches!(error, ConfigError::TripPercent { .. }),
            "{error:?}"
        );
        let error = build(config(bytes.clone()).reset_percent(percent));
        assert!(
            matches!(error, ConfigError::ResetPercent { .. }),
            "{error:?}"
        );
    }
    let error = build(config(bytes.clone()).trip_percent(60.0));
    assert!(matches!(
        error,
        ConfigError::ResetAboveTrip { reset, trip } if reset == 70.0 && trip == 60.0
    ));
    assert!(error.to_string().contains("(70)") && error.to_string().contains("(60)"));
    assert!(matches!(
        build(config(bytes.clone()).name("")),
        ConfigError::EmptyName
    ));
    assert!(matches!(
        build(config(Budget::Bytes(0))),
        ConfigError::Budget(BudgetError::Zero)
    ));
    let bare = Fixture::new("config-bare");
    let error = build(config(Budget::Cgroup).host(bare.host()));
    assert!(matches!(
        error,
        ConfigError::Budget(BudgetError::Unknown { .. })
    ));
    // Equal lines and 100% are valid.
    let breaker =
        MemoryBreaker::new(config(bytes).trip_percent(100.0).reset_percent(100.0)).unwrap();
    assert_eq!((breaker.trip_bytes(), breaker.reset_bytes()), (GIB, GIB));
    let valid = config(Budget::Bytes(1001)).validate().unwrap();
    assert_eq!(
        (valid.limit, valid.trip_bytes, valid.reset_bytes),
        (1001, 801, 701)
    );
}
