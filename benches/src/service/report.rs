//! The service benchmark's output: one JSON line per measured run and a
//! markdown table of medians with their spread over rounds.

use serde_json::json;

use super::load::{Load, RunFigures};

/// The configuration every ratio is taken against.
pub const BASELINE: &str = "jemalloc";

/// One measured run of one configuration in one round.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The round, from 1.
    pub round: u32,
    /// The configuration's label (`jemalloc`, `counting`, `stack`, ...).
    pub config: String,
    /// What the run measured.
    pub figures: RunFigures,
}

/// The JSON line of one run: `bench` ("service"), `round`, `config`,
/// `requests`, `connections`, `items`, `body_bytes`, `cpu_ns_per_request`,
/// `user_ns`, `sys_ns`, `wall_s`, `requests_per_s`, `p50_us`, `p99_us`,
/// `allocator_calls_per_request` (0 without the counting allocator).
pub fn json_line(run: &Run, load: &Load) -> String {
    let f = &run.figures;
    json!({
        "bench": "service",
        "round": run.round,
        "config": run.config,
        "requests": f.requests,
        "connections": load.connections,
        "items": load.items,
        "body_bytes": f.body_bytes,
        "cpu_ns_per_request": f.cpu_ns_per_request(),
        "user_ns": f.user_ns,
        "sys_ns": f.sys_ns,
        "wall_s": f.wall.as_secs_f64(),
        "requests_per_s": f.requests_per_s(),
        "p50_us": f.latency_us(0.50),
        "p99_us": f.latency_us(0.99),
        "allocator_calls_per_request": f.allocator_calls as f64 / f.requests.max(1) as f64,
    })
    .to_string()
}

/// The median of `values` (the mean of the two middle ones for an even
/// count) and the lowest and highest; `None` when empty.
///
/// ```
/// use heapguard_benches::service::report::spread;
/// assert_eq!(spread(&[3.0, 1.0, 2.0]), Some((2.0, 1.0, 3.0)));
/// assert_eq!(spread(&[4.0, 1.0]), Some((2.5, 1.0, 4.0)));
/// assert_eq!(spread(&[]), None);
/// ```
pub fn spread(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = match n {
        0 => return None,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    };
    Some((median, sorted[0], sorted[n - 1]))
}

fn cell(values: &[f64], digits: usize, suffix: &str) -> String {
    match spread(values) {
        Some((median, low, high)) => {
            format!("{median:.digits$}{suffix} ({low:.digits$}-{high:.digits$})")
        }
        None => "-".to_owned(),
    }
}

/// The markdown table: per configuration (in `order`) the server's CPU
/// time per request, its ratio to [`BASELINE`]'s in the same round, the
/// requests per second, p50/p99 latency and the allocator calls per request
/// the server counted, each as the median over rounds with the lowest and
/// highest in brackets.
pub fn table(runs: &[Run], order: &[String]) -> String {
    let mut out = String::from(
        "| configuration | server CPU per request, µs | / bare jemalloc, same round | requests/s | p50 latency, µs | p99 latency, µs | allocator calls per request |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for config in order {
        let of = |value: &dyn Fn(&RunFigures) -> f64| -> Vec<f64> {
            runs.iter()
                .filter(|run| &run.config == config)
                .map(|run| value(&run.figures))
                .collect()
        };
        let ratios: Vec<f64> = runs
            .iter()
            .filter(|run| &run.config == config)
            .filter_map(|run| {
                let base = runs
                    .iter()
                    .find(|b| b.round == run.round && b.config == BASELINE)?;
                Some(run.figures.cpu_ns_per_request() / base.figures.cpu_ns_per_request())
            })
            .collect();
        out.push_str(&format!(
            "| {config} | {} | {} | {} | {} | {} | {} |\n",
            cell(&of(&|f| f.cpu_ns_per_request() / 1000.0), 2, ""),
            cell(&ratios, 3, "x"),
            cell(&of(&RunFigures::requests_per_s), 0, ""),
            cell(&of(&|f| f.latency_us(0.50)), 0, ""),
            cell(&of(&|f| f.latency_us(0.99)), 0, ""),
            cell(
                &of(&|f| f.allocator_calls as f64 / f.requests.max(1) as f64),
                0,
                ""
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn run(round: u32, config: &str, cpu_ns: u64) -> Run {
        Run {
            round,
            config: config.to_owned(),
            figures: RunFigures {
                requests: 10,
                user_ns: cpu_ns * 10,
                sys_ns: 0,
                wall: Duration::from_millis(10),
                latencies: (1..=10).map(Duration::from_micros).collect(),
                body_bytes: 100,
                allocator_calls: 0,
            },
        }
    }

    #[test]
    fn ratios_are_taken_within_a_round() {
        let runs = [
            run(1, "jemalloc", 100),
            run(1, "stack", 120),
            run(2, "jemalloc", 200),
            run(2, "stack", 200),
        ];
        let order = ["jemalloc".to_owned(), "stack".to_owned()];
        let text = table(&runs, &order);
        // Rounds' ratios 1.20 and 1.00: median 1.10; CPU 0.12 and 0.20 µs.
        assert!(text.contains("| stack | 0.16 (0.12-0.20) | 1.100x (1.000-1.200) | 1000 (1000-1000) | 5 (5-5) | 10 (10-10) | 0 (0-0) |"), "{text}");
        assert!(
            text.contains("| jemalloc | 0.15 (0.10-0.20) | 1.000x (1.000-1.000) |"),
            "{text}"
        );
    }

    #[test]
    fn a_json_line_names_every_figure() {
        let load = Load {
            requests: 10,
            warmup: 0,
            connections: 2,
            items: 3,
            timeout: Duration::from_secs(1),
        };
        let line = json_line(&run(3, "counting", 50), &load);
        let value: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(value["round"], 3);
        assert_eq!(value["config"], "counting");
        assert_eq!(value["cpu_ns_per_request"], 50.0);
        assert_eq!(value["requests_per_s"], 1000.0);
        assert_eq!(value["p50_us"], 5.0);
        assert_eq!(value["p99_us"], 10.0);
    }
}
