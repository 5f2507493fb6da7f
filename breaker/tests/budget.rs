//! Budgets: human sizes, sizes that do not fit, and configuration
//! validation. Host layouts are in `host_trees.rs`.

mod common;

use common::{Tree, GIB, MIB};
use heapguard_breaker::testing::ManualSource;
use heapguard_breaker::{BreakerConfig, Budget, BudgetError, ConfigError, MemoryBreaker};

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
fn sizes_that_do_not_fit_are_refused_naming_the_input() {
    for input in [
        "16 EiB",
        "16EiB",
        "17 EiB",
        "99999999999999999999 B",
        "18446744073709551616",
        "20000 PB",
    ] {
        let error = input.parse::<Budget>().unwrap_err();
        assert!(
            matches!(error, BudgetError::Size { .. }),
            "{input}: {error:?}"
        );
        let message = error.to_string();
        assert!(message.contains(&format!("{input:?}")), "{message}");
        assert!(message.contains("below 16 EiB"), "{message}");
    }
    // Just below 16 EiB still parses, exactly.
    assert_eq!("15 EiB".parse::<Budget>(), Ok(Budget::Bytes(15 << 60)));
    assert_eq!(
        "18446744073709551615".parse::<Budget>(),
        Ok(Budget::Bytes(u64::MAX))
    );
}

#[test]
fn fractions_of_a_byte_and_unknown_units_say_what_is_expected() {
    let error = "1.5".parse::<Budget>().unwrap_err().to_string();
    assert!(error.contains("\"1.5\""), "{error}");
    assert!(error.contains("fraction of a byte"), "{error}");
    assert!(error.contains("\"1.5GiB\""), "{error}");
    let error = "512 MiBs".parse::<Budget>().unwrap_err().to_string();
    assert!(error.contains("unknown unit \"MiBs\""), "{error}");
    assert!(error.contains("KiB, MB, MiB"), "{error}");
    assert_eq!("1.5GiB".parse::<Budget>(), Ok(Budget::Bytes(3 * GIB / 2)));
    assert_eq!("512MiB".parse::<Budget>(), Ok(Budget::Bytes(512 * MIB)));
    assert_eq!("80%".parse::<Budget>(), Ok(Budget::PercentOfAuto(80.0)));
    assert_eq!("auto".parse::<Budget>(), Ok(Budget::Auto));
    assert_eq!("cgroup".parse::<Budget>(), Ok(Budget::Cgroup));
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
    let bare = Tree::new("config-bare");
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
