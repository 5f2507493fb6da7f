#!/usr/bin/env bash
# The criterion bench `account_poll`, run RUNS times, each run its own
# process; with two builds (BASE_BIN and NEW_BIN, bench executables from
# `cargo bench --no-run`), the two alternate run by run. Prints per
# benchmark the median over runs of criterion's estimate, with the lowest
# and highest run.
#
#   benches/account_poll_runs.sh                       # this tree, 5 runs
#   RUNS=7 BASE_BIN=path/to/old/account_poll-hash benches/account_poll_runs.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
OUT=${OUT_DIR:-${CARGO_TARGET_DIR:-target}/heapguard-benches}
ARGS=(--warm-up-time "${WARM_UP:-1}" --measurement-time "${MEASURE:-2}" --noplot)
mkdir -p "$OUT"
if [ -z "${NEW_BIN:-}" ]; then
    NEW_BIN=$(cargo bench -p heapguard-benches --bench account_poll --no-run --message-format=json 2>/dev/null |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n1)
fi
builds="new"
[ -n "${BASE_BIN:-}" ] && builds="base new"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$OUT/account_poll_runs.tsv"
for run in $(seq "$RUNS"); do
    if [ $((run % 2)) -eq 1 ]; then order=$builds; else order=$(echo "$builds" | awk '{ for (i = NF; i >= 1; i--) printf "%s ", $i }'); fi
    for build in $order; do
        if [ "$build" = base ]; then bin=$BASE_BIN; else bin=$NEW_BIN; fi
        # "account_poll/scoped/0   time:   [5.55 ns 5.62 ns 5.72 ns]": the
        # middle figure is criterion's estimate.
        "$bin" --bench "${ARGS[@]}" 2>/dev/null |
            awk -v run="$run" -v build="$build" '
                /^account_poll\// { name = $1 }
                /time:/ { for (i = 1; i <= NF; i++) if ($i ~ /^\[/) { v = $(i + 2); u = $(i + 3) }
                          if (u == "ps") v /= 1000; if (u == "us" || u == "µs") v *= 1000
                          print run "\t" build "\t" name "\t" v }' >>"$OUT/account_poll_runs.tsv"
    done
    echo "account_poll_runs.sh: run $run of $RUNS done" >&2
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

echo "$RUNS runs, each its own process$([ -n "${BASE_BIN:-}" ] && echo ', the two builds alternating'); machine: $(nproc) vCPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average (1/5/15 min) $LOAD_BEFORE before, $LOAD_AFTER after."
echo
echo "| benchmark | build | median of runs (ns per poll) | lowest | highest |"
echo "| --- | --- | ---: | ---: | ---: |"
sort -t$'\t' -k3,3 -k2,2 -k4,4g "$OUT/account_poll_runs.tsv" | awk -F'\t' '
    function flush() { if (n) { m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
                                printf "| %s | %s | %.2f | %.2f | %.2f |\n", key_name, key_build, m, v[1], v[n] } n = 0 }
    { if ($3 != key_name || $2 != key_build) { flush(); key_name = $3; key_build = $2 } v[++n] = $4 }
    END { flush() }'
