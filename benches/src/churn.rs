//! A realistic allocation churn: strings, vectors and maps built and dropped.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// Builds and drops what a record-processing job builds: one formatted
/// `String` per record, a `Vec` of them, a `HashMap` keyed by a copy of each,
/// a `BTreeMap` grouping upper-cased copies, a growing `Vec<u64>` of scores
/// and a joined report string. Returns a checksum so nothing is optimised
/// away. Deterministic in its allocation sizes for a given `records`.
///
/// ```
/// assert_eq!(heapguard_benches::churn::churn(10), heapguard_benches::churn::churn(10));
/// ```
pub fn churn(records: usize) -> u64 {
    let mut names: Vec<String> = Vec::new();
    for index in 0..records {
        let mut name = String::new();
        let _ = write!(name, "contact-{index}");
        name.push_str("@example.com");
        names.push(name);
    }

    let mut by_name: HashMap<String, usize> = HashMap::new();
    for (index, name) in names.iter().enumerate() {
        by_name.insert(name.clone(), index);
    }

    let groups = (records / 8).max(1);
    let mut by_group: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (index, name) in names.iter().enumerate() {
        by_group
            .entry(index % groups)
            .or_default()
            .push(name.to_uppercase());
    }

    let mut scores: Vec<u64> = Vec::new();
    for (name, index) in &by_name {
        scores.push(name.len() as u64 * *index as u64);
    }
    let report = names
        .iter()
        .take(64)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(",");

    let grouped: usize = by_group.values().map(Vec::len).sum();
    scores.iter().sum::<u64>() + report.len() as u64 + grouped as u64
}
