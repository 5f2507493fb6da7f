//! The fleet's alerting rules (deploy/prometheus) pass `promtool check
//! rules` and `promtool test rules`: each alert fires for the series that
//! should raise it and for no other. The test file is generated from
//! recorded traces run through the real leak detector
//! (`deploy/prometheus/gen-rule-tests`; CI regenerates it before this runs).

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn alerting_rules_pass_promtool_with_a_test_series_for_each_alert() {
    let Some(promtool) = common::tool("promtool") else {
        return;
    };
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus");
    let text = std::fs::read_to_string(rules.join("heapguard-rules.test.yml")).expect("tests");
    let defined = std::fs::read_to_string(rules.join("heapguard-rules.yml")).expect("rules");
    let alerts: Vec<&str> = defined
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- alert: "))
        .collect();
    assert_eq!(
        alerts,
        [
            "HeapguardHighMemoryUsage",
            "HeapguardMemoryLeakSuspected",
            "HeapguardRequestsShed",
            "HeapguardBreakerTripping",
            "HeapguardBudgetExhaustionPredicted",
            "HeapguardMetricsAbsent",
        ]
    );
    // Every rule that combines two series matches them per target.
    for expr in defined.split("expr:").skip(1) {
        // The expression ends where the rule's next key or the next rule begins.
        let end = ["\n        for:", "\n        labels:", "\n      - "]
            .iter()
            .filter_map(|key| expr.find(key))
            .min()
            .unwrap_or(expr.len());
        let expr = &expr[..end];
        if expr.contains(" / ") || expr.contains(" and ") || expr.contains(" unless ") {
            assert!(expr.contains("on(job, instance)"), "unmatched: {expr}");
        }
    }
    for alert in &alerts {
        assert!(
            text.contains(&format!(
                "alertname: {alert}\n        exp_alerts:\n          - "
            )),
            "no test where {alert} fires"
        );
    }
    for args in [
        ["check", "rules", "heapguard-rules.yml"],
        ["test", "rules", "heapguard-rules.test.yml"],
    ] {
        let output = Command::new(&promtool)
            .args(args)
            .current_dir(&rules)
            .output()
            .expect("run promtool");
        assert!(
            output.status.success(),
            "promtool {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
