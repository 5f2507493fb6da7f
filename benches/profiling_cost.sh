#!/usr/bin/env bash
# What jemalloc's heap profiler costs when it is on, against the same binary
# with the profiler compiled in but inactive.
#
#   benches/profiling_cost.sh                  # instruction counts (cachegrind)
#   ROUNDS=21 benches/profiling_cost.sh        # and CPU time over 21 rounds
#   COUNT=0 ROUNDS=21 benches/profiling_cost.sh  # CPU time only
#
# Workloads: `e2e_profiled json` (a real program's allocation pattern: a
# 2.5 MB JSON document parsed into serde_json::Value) and `e2e_profiled demo`
# (the streaming suggestion job), each with a memory monitor attributing
# leaks beside it when on; and the demo's command line end to end,
# `demo-processor run ... --profile DIR` (profiles paced at quiescent
# samples, then written as pprof and symbolised at the end) against the same
# run without `--profile`.
#
# Instruction counts repeat closely but not exactly here (jemalloc's
# clock-driven tcache GC and decay are left on, unlike instructions.sh, and
# with `on` the monitor paces its profiles by the clock): per unit of work
# they are the
# difference between a process running the workload N and 2N times, so
# start-up is left out; "fixed" is what profiling adds once per process (the
# monitor's first profile, unwinder start-up). The command-line rows are
# whole processes. Valgrind runs one thread at a time, so the counts include
# every thread's work.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-0}
COUNT=${COUNT:-1}
TARGET=${CARGO_TARGET_DIR:-target}
OUT=${OUT_DIR:-$TARGET/heapguard-benches}
mkdir -p "$OUT"
cargo build --release -p heapguard-benches --features profiling --bin e2e_profiled >&2
cargo build --release -p demo-processor --features profiling --bin demo-processor >&2
# Later builds of the workspace overwrite $TARGET/release/demo-processor.
cp "$TARGET/release/demo-processor" "$OUT/demo-processor-profiling"
E2E=$TARGET/release/e2e_profiled
DEMO=$OUT/demo-processor-profiling
PROFILES=$(mktemp -d)
trap 'rm -rf "$PROFILES"' EXIT
STREAMING="run --mode streaming --contacts 10000 --users 30 --quiet"
NAIVE="run --mode naive --contacts 10000 --users 20 --quiet"

# Instructions of one process, all threads.
instructions() {
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        awk '/I +refs/ { gsub(",", "", $NF); print $NF }'
}

if [ "$COUNT" -ne 0 ]; then
echo "Machine: $(nproc) vCPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(valgrind --version); load average $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| workload | instructions per run, inactive | on | ratio | fixed, on |"
echo "| --- | ---: | ---: | ---: | ---: |"
for spec in "json 2" "demo 1"; do
    set -- $spec
    workload=$1 n=$2
    off1=$(instructions "$E2E" "$workload" "$n")
    off2=$(instructions "$E2E" "$workload" $((2 * n)))
    on1=$(instructions "$E2E" "$workload" "$n" on)
    on2=$(instructions "$E2E" "$workload" $((2 * n)) on)
    awk -v w="e2e_profiled $workload" -v n="$n" -v a="$off1" -v b="$off2" -v c="$on1" -v d="$on2" 'BEGIN {
        off = (b - a) / n; on = (d - c) / n
        fixed = (c - on * n) - (a - off * n)
        printf "| %s | %.1f M | %.1f M | %.4fx | %.1f M |\n", w, off / 1e6, on / 1e6, on / off, fixed / 1e6 }'
done
for spec in "streaming" "naive"; do
    if [ "$spec" = streaming ]; then args=$STREAMING; else args=$NAIVE; fi
    rm -rf "${PROFILES:?}"/*
    off=$(instructions "$DEMO" $args)
    on=$(instructions "$DEMO" $args --profile "$PROFILES")
    awk -v w="demo-processor $args" -v a="$off" -v c="$on" 'BEGIN {
        printf "| %s (whole process) | %.1f M | %.1f M | %.4fx | |\n", w, a / 1e6, c / 1e6, c / a }'
done
fi

[ "$ROUNDS" -gt 0 ] || exit 0
# CPU time (user + sys) of each process; on and inactive alternate which
# goes first, and each ratio is taken within one round.
TIMEFORMAT='%U %S'
cpu() { { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ print $1 + $2 }'; }
: >"$OUT/profiling-rounds.tsv"
for round in $(seq "$ROUNDS"); do
    for spec in json demo streaming naive; do
        case $spec in
            json) off=("$E2E" json 40); on=("$E2E" json 40 on) ;;
            demo) off=("$E2E" demo 4); on=("$E2E" demo 4 on) ;;
            streaming) off=("$DEMO" $STREAMING); on=("$DEMO" $STREAMING --profile "$PROFILES") ;;
            naive) off=("$DEMO" $NAIVE); on=("$DEMO" $NAIVE --profile "$PROFILES") ;;
        esac
        if [ $((round % 2)) -eq 1 ]; then
            a=$(cpu "${off[@]}"); b=$(cpu "${on[@]}")
        else
            b=$(cpu "${on[@]}"); a=$(cpu "${off[@]}")
        fi
        printf '%s\t%s\t%s\t%s\n' "$round" "$spec" "$a" "$b"
    done
    echo "profiling_cost.sh: round $round of $ROUNDS done" >&2
done >>"$OUT/profiling-rounds.tsv"
echo
echo "CPU time, on / inactive within each round, $ROUNDS rounds; load average $(cut -d' ' -f1-3 /proc/loadavg) after."
echo
echo "| workload | CPU s inactive, median | ratio, median | lowest / quartiles / highest |"
echo "| --- | ---: | ---: | ---: |"
for spec in json demo streaming naive; do
    awk -F'\t' -v w="$spec" '$2 == w { n++; r[n] = $4 / $3; c[n] = $3 }
        function sort(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
        function q(a, n, p) { return a[1 + int(p * (n - 1) + 0.5)] }
        END { sort(r, n); sort(c, n)
              printf "| %s | %.2f | %.3fx | %.3f / %.3f / %.3f / %.3f |\n", w, q(c, n, 0.5), q(r, n, 0.5), r[1], q(r, n, 0.25), q(r, n, 0.75), r[n] }' \
        "$OUT/profiling-rounds.tsv"
done
