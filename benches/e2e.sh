#!/usr/bin/env bash
# Per-process timings: each allocator is the #[global_allocator] of its own
# process (target/release/e2e_jemalloc or, with BASE=thread_cells,
# e2e_thread_cells, against e2e_counting), the two alternate run
# by run, and every ratio is taken within one pair of runs made back to back,
# so a change in the machine's load between pairs does not enter a ratio.
#
#   benches/e2e.sh                      # 15 rounds of every workload
#   ROUNDS=31 WORKLOADS="pairs pairs2" benches/e2e.sh
#   RUNS=20 WORKLOADS="json demo" benches/e2e.sh   # 20 timed runs a process
#   BASE=thread_cells WORKLOADS=mixed2 benches/e2e.sh # against plain
#                                       # thread-local counters (e2e_thread_cells)
#
# RUNS (default 1) is how many times each process runs the workload after
# its untimed warm-up; the ratio compares the two processes' total times.
# A single run of json or churn lasts 3 to 25 ms on the build VM, short
# enough for one descheduling to move its ratio by half; more runs a
# process narrow the spread.
#
# Prints a markdown table: per workload the median ratio of process CPU time
# (CountingAlloc<Jemalloc> / the base: bare jemalloc, or plain thread-local
# counters) with the spread over rounds
# (lowest and highest, and the quartiles), the same for wall time, and the
# load average before and after. Timing ratios are reported, never gated.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-15}
RUNS=${RUNS:-1}
# The allocator CountingAlloc<Jemalloc> is compared with: bare jemalloc, or
# plain thread-local counters over jemalloc (the cost floor of counting).
BASE=${BASE:-jemalloc}
case $BASE in
    jemalloc) BASE_LABEL="Jemalloc" ;;
    thread_cells) BASE_LABEL="ThreadCells<Jemalloc>" ;;
    *)
        echo "e2e.sh: BASE=$BASE: expected jemalloc or thread_cells" >&2
        exit 2
        ;;
esac
WORKLOADS=${WORKLOADS:-"pairs pairs2 json churn demo"}
TARGET=${CARGO_TARGET_DIR:-target}
OUT=${OUT_DIR:-$TARGET/heapguard-benches}
mkdir -p "$OUT"
cargo build --release -p heapguard-benches --bin "e2e_$BASE" --bin e2e_counting >&2

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$OUT/e2e-pairs.tsv"
for round in $(seq "$ROUNDS"); do
    for workload in $WORKLOADS; do
        # Alternate which allocator goes first, so neither always runs on a
        # machine the other just warmed (or loaded).
        if [ $((round % 2)) -eq 1 ]; then order="$BASE counting"; else order="counting $BASE"; fi
        for allocator in $order; do
            "$TARGET/release/e2e_$allocator" "$workload" "$RUNS" | sed "s/^/$round\t/"
        done
    done
    echo "e2e.sh: round $round of $ROUNDS done" >&2
done >>"$OUT/e2e-pairs.tsv"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

echo "Each allocator the global allocator of its own process; $ROUNDS rounds, runs alternating, $RUNS timed runs a process; ratio = CountingAlloc<Jemalloc> / $BASE_LABEL within each pair of runs. Machine: $(nproc) vCPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average (1/5/15 min) $LOAD_BEFORE before, $LOAD_AFTER after."
echo
echo "| workload | CPU time ratio, median | lowest / quartiles / highest | wall time ratio, median | lowest / quartiles / highest |"
echo "| --- | ---: | ---: | ---: | ---: |"
# Columns: round, "e2e", allocator, workload, wall ns, CPU ns, calls; a
# process's runs are summed.
awk -F'\t' -v workloads="$WORKLOADS" -v base="$BASE_LABEL" '
    { key = $1 SUBSEP $4; if ($3 == base) { bw[key] += $5; bc[key] += $6 } else { ow[key] += $5; oc[key] += $6 } }
    function sort(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
    function q(a, n, p,   k) { k = 1 + int(p * (n - 1) + 0.5); return a[k] }
    function cell(a, n) { return sprintf("%.3fx | %.3f / %.3f / %.3f / %.3f", q(a, n, 0.5), a[1], q(a, n, 0.25), q(a, n, 0.75), a[n]) }
    END {
        split(workloads, names, " ")
        for (w = 1; w in names; w++) {
            n = 0
            for (key in bc) {
                split(key, parts, SUBSEP)
                if (parts[2] != names[w] || !(key in oc)) continue
                n++; cpu[n] = oc[key] / bc[key]; wall[n] = ow[key] / bw[key]
            }
            if (n == 0) continue
            sort(cpu, n); sort(wall, n)
            printf "| %s | %s | %s |\n", names[w], cell(cpu, n), cell(wall, n)
        }
    }' "$OUT/e2e-pairs.tsv"
