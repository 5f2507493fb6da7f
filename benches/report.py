#!/usr/bin/env python3
"""Turns one run of benches/run.sh into benches/RESULTS.md (markdown on stdout).

Reads criterion's target/criterion/**/new/{benchmark,estimates}.json written
since --since (a Unix time), the sweep's markdown table and the end-to-end
TSV lines ("e2e<TAB>allocator<TAB>workload<TAB>ns").
"""
import argparse
import json
import math
import os
import statistics
import sys
from collections import defaultdict

BASELINE = "Jemalloc"
OURS = "CountingAlloc<Jemalloc>"
ALLOCATOR_ORDER = [
    "Jemalloc",
    "CountingAlloc<Jemalloc>",
    "CountingAlloc<Jemalloc> limit set",
    "System",
    "CountingAlloc<System>",
    "StatsAlloc<Jemalloc>",
    "Cap<Jemalloc>",
    "ThreadCells<Jemalloc>",
]


def load_criterion(root, since):
    """{group: {function: {value: median_ns}}} for results newer than since."""
    results = defaultdict(lambda: defaultdict(dict))
    for dirpath, _dirs, files in os.walk(root):
        if not dirpath.endswith(os.sep + "new") or "estimates.json" not in files:
            continue
        estimates = os.path.join(dirpath, "estimates.json")
        if os.path.getmtime(estimates) < since:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            bench = json.load(f)
        with open(estimates) as f:
            median = json.load(f)["median"]["point_estimate"]
        value = bench.get("value_str") or ""
        results[bench["group_id"]][bench["function_id"] or ""][value] = median
    return results


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"


def value_key(value):
    digits = "".join(ch for ch in value if ch.isdigit())
    return (int(digits) if digits else 0, value)


def allocator_key(name):
    return ALLOCATOR_ORDER.index(name) if name in ALLOCATOR_ORDER else len(ALLOCATOR_ORDER)


def group_table(name, functions):
    values = sorted({v for per in functions.values() for v in per}, key=value_key)
    base = functions.get(BASELINE, {})
    lines = [f"#### {name}", "", "| allocator | " + " | ".join(values) + " |",
             "| --- |" + " ---: |" * len(values)]
    for function in sorted(functions, key=allocator_key):
        cells = []
        for value in values:
            ns = functions[function].get(value)
            if ns is None:
                cells.append("")
            elif value in base:
                cells.append(f"{fmt_time(ns)} ({ns / base[value]:.2f}x)")
            else:
                cells.append(fmt_time(ns))
        lines.append(f"| {function} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def ratios(results, group):
    functions = results.get(group, {})
    ours, base = functions.get(OURS, {}), functions.get(BASELINE, {})
    return {v: ours[v] / base[v] for v in ours if v in base}


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def load_e2e(path):
    times = defaultdict(list)
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 5 and parts[0] == "e2e":
                    times[(parts[2], parts[1])].append((int(parts[3]), int(parts[4])))
    return times


def verdict(value, target):
    if value != value:  # NaN: not measured
        return "not measured"
    return "met" if value <= target else f"missed by {(value / target - 1) * 100:.1f}%"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--criterion", default="target/criterion")
    parser.add_argument("--since", type=float, default=0.0)
    parser.add_argument("--sweep")
    parser.add_argument("--e2e")
    parser.add_argument("--machine", default="unknown machine")
    parser.add_argument("--command", default="benches/run.sh")
    parser.add_argument("--date", default="")
    parser.add_argument("--notes", default="")
    args = parser.parse_args()

    results = load_criterion(args.criterion, args.since)
    e2e = load_e2e(args.e2e)
    out = []
    out.append("# heapguard benchmark results\n")
    out.append(f"- Command: `{args.command}`")
    out.append(f"- Date: {args.date}")
    out.append(f"- Machine: {args.machine}")
    if args.notes:
        out.append(f"- Notes: {args.notes}")
    out.append("- Figures are criterion medians of each measuring thread's CPU time "
               "(`CLOCK_THREAD_CPUTIME_ID`, so other work on the shared machine does not "
               "inflate them) per iteration; with two threads, per iteration per thread while "
               "both run at once. Ratios are to bare `Jemalloc` in the same run. The end-to-end "
               "figures are wall time of whole runs.\n")

    # Targets
    one = ratios(results, "pairs_1t")
    two = ratios(results, "pairs_2t")
    churn = ratios(results, "churn_replay_1t")
    check = results.get("breaker_1t", {}).get("check", {}).get("", float("nan"))

    def e2e_ratio(workload, column):
        ours, base = e2e.get((workload, OURS)), e2e.get((workload, BASELINE))
        if not ours or not base:
            return float("nan")
        return (statistics.median(t[column] for t in ours)
                / statistics.median(t[column] for t in base))

    sweep_ratios = {}
    if args.sweep and os.path.exists(args.sweep):
        with open(args.sweep) as f:
            lines = [l for l in f if l.startswith("|")]
        header = [c.strip() for c in lines[0].strip("|\n").split("|")] if lines else []
        for line in lines[2:]:
            cells = [c.strip() for c in line.strip("|\n").split("|")]
            if cells and cells[0] == OURS:
                for column, cell in zip(header[1:], cells[1:]):
                    if "(" in cell:
                        sweep_ratios[column] = float(cell.split("(")[1].rstrip("x)"))

    rows = [
        ("CountingAlloc<Jemalloc> / Jemalloc, alloc/free pairs, 1 thread (geomean of 6 sizes; max)",
         geomean(list(one.values())), max(one.values(), default=float("nan")), 1.10),
        ("same, 2 threads at once", geomean(list(two.values())),
         max(two.values(), default=float("nan")), 1.25),
        ("sweep, 64 B pairs, alternating rounds, 1 thread (median of rounds)",
         sweep_ratios.get("1 thr", float("nan")), None, 1.10),
        ("sweep, same, 2 threads", sweep_ratios.get("2 thr", float("nan")), None, 1.25),
        ("churn trace replay (allocator calls only), 1 thread",
         geomean(list(churn.values())), None, 1.03),
        ("end to end: real churn (strings, vecs, maps), global allocator, process CPU time",
         e2e_ratio("churn", 1), None, 1.03),
        ("same, wall time", e2e_ratio("churn", 0), None, 1.03),
        ("end to end: demo job, streaming, 10,000 contacts x 3 users, process CPU time",
         e2e_ratio("demo", 1), None, 1.03),
        ("same, wall time", e2e_ratio("demo", 0), None, 1.03),
    ]
    out.append("## Targets (DESIGN.md section 7)\n")
    out.append("| what | measured | target | verdict |")
    out.append("| --- | ---: | ---: | --- |")
    for label, value, worst, target in rows:
        shown = f"{value:.3f}x" + (f" (max {worst:.2f}x)" if worst is not None else "")
        out.append(f"| {label} | {shown} | <= {target:.2f}x | {verdict(value, target)} |")
    out.append(f"| breaker `check()`, 1 thread | {fmt_time(check)} | <= 5 ns | "
               f"{verdict(check, 5.0)} |")
    for suffix in sorted({g[len("pairs_1t"):] for g in results if g.startswith("pairs_1t+")}):
        for threads, target in (("1t", 1.10), ("2t", 1.25)):
            feature_ratios = ratios(results, f"pairs_{threads}{suffix}")
            value = geomean(list(feature_ratios.values()))
            worst = max(feature_ratios.values(), default=float("nan"))
            out.append(f"| same with features `{suffix[1:]}`, pairs, {threads} (geomean; max) | "
                       f"{value:.3f}x (max {worst:.2f}x) | <= {target:.2f}x | "
                       f"{verdict(value, target)} |")
    out.append("")

    out.append("## Allocator (criterion, `--bench allocator`)\n")
    for group in sorted(g for g in results if not g.startswith(("breaker", "monitor"))):
        out.append(group_table(group, results[group]))
    out.append("## Breaker and monitor (criterion)\n")
    out.append("| bench | median |")
    out.append("| --- | ---: |")
    for group in sorted(g for g in results if g.startswith(("breaker", "monitor"))):
        for function, per in sorted(results[group].items()):
            for value, ns in per.items():
                label = "/".join(p for p in (group, function, value) if p)
                out.append(f"| {label} | {fmt_time(ns)} |")
    out.append("")

    out.append("## Thread sweep (`sweep 1 2`)\n")
    if args.sweep and os.path.exists(args.sweep):
        with open(args.sweep) as f:
            out.append(f.read().strip() + "\n")
    else:
        out.append("not run\n")
    out.append("No 16-core machine was available: only 1 and 2 threads were measured, on the "
               "machine above. To measure 4 to 16 threads, build "
               "`cargo build --release -p heapguard-benches --bin sweep`, copy "
               "`target/release/sweep` to the machine and run `sweep 1 2 4 8 16`.\n")

    out.append("## End to end (global allocator swapped; the three binaries alternated)\n")
    if e2e:
        out.append("| workload | allocator | runs | median wall | ratio | median process CPU | ratio |")
        out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for workload in sorted({w for w, _ in e2e}):
            base = e2e.get((workload, BASELINE))
            for name in sorted({a for w, a in e2e if w == workload}, key=allocator_key):
                times = e2e[(workload, name)]
                cells = []
                for column in (0, 1):
                    median = statistics.median(t[column] for t in times)
                    ratio = (f"{median / statistics.median(t[column] for t in base):.3f}x"
                             if base else "")
                    cells += [fmt_time(median), ratio]
                out.append(f"| {workload} | {name} | {len(times)} | " + " | ".join(cells) + " |")
        out.append("")
    else:
        out.append("not run\n")
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
