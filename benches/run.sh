#!/usr/bin/env bash
# Runs the heapguard benchmark suite and writes benches/RESULTS.md.
#
#   benches/run.sh                # from the repository root
#   WARM_UP=1 MEASURE=3 E2E_ROUNDS=25 benches/run.sh   # longer, steadier
#
# 1. criterion, allocator bench, default features (all six allocators);
# 2. the same bench with heapguard-alloc's histogram and limit features;
# 3. criterion, breaker and monitor benches;
# 4. the thread sweep at 1 and 2 threads (standalone binary);
# 5. end to end: the e2e_system, e2e_jemalloc and e2e_counting binaries,
#    alternated for E2E_ROUNDS rounds on the demo job and the real churn;
# then benches/report.py writes medians and ratios to benches/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

WARM_UP=${WARM_UP:-1}
MEASURE=${MEASURE:-2}
E2E_ROUNDS=${E2E_ROUNDS:-15}
SWEEP_THREADS=${SWEEP_THREADS:-"1 2"}
TARGET=${CARGO_TARGET_DIR:-target}
OUT=$TARGET/heapguard-benches
mkdir -p "$OUT"
SINCE=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# No plots and fewer bootstrap resamples: analysis would otherwise take longer
# than the measurement itself on a 2-core machine.
CRITERION_ARGS=(--warm-up-time "$WARM_UP" --measurement-time "$MEASURE" --noplot --nresamples 20000)

# Build everything first, so no measurement overlaps our own compiles.
cargo bench -p heapguard-benches --no-run
cargo bench -p heapguard-benches --no-run --features histogram,limit
# Only the binaries run here: the service benchmark's servers are built by
# its own scripts, without the demo's features (see benches/Cargo.toml).
cargo build --release -p heapguard-benches --bin sweep --bin e2e_system --bin e2e_jemalloc \
    --bin e2e_counting

cargo bench -p heapguard-benches --bench allocator -- "${CRITERION_ARGS[@]}"
cargo bench -p heapguard-benches --bench allocator --features histogram,limit -- "${CRITERION_ARGS[@]}"
cargo bench -p heapguard-benches --bench breaker --bench monitor -- "${CRITERION_ARGS[@]}"

# shellcheck disable=SC2086 # the thread counts are separate arguments
"$TARGET/release/sweep" $SWEEP_THREADS >"$OUT/sweep.md"

: >"$OUT/e2e.tsv"
for round in $(seq "$E2E_ROUNDS"); do
    for allocator in system jemalloc counting; do
        "$TARGET/release/e2e_$allocator" demo 1 >>"$OUT/e2e.tsv"
        "$TARGET/release/e2e_$allocator" churn 5 >>"$OUT/e2e.tsv"
    done
    echo "e2e round $round of $E2E_ROUNDS done" >&2
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
python3 benches/report.py \
    --criterion "$TARGET/criterion" \
    --since "$SINCE" \
    --sweep "$OUT/sweep.md" \
    --e2e "$OUT/e2e.tsv" \
    --command "WARM_UP=$WARM_UP MEASURE=$MEASURE E2E_ROUNDS=$E2E_ROUNDS benches/run.sh" \
    --date "$(date -u '+%Y-%m-%d %H:%M UTC')" \
    --machine "$(nproc) vCPU VM, $CPU, $(uname -sr)" \
    --notes "load average (1/5/15 min) $LOAD_BEFORE at the start, $LOAD_AFTER at the end" \
    >benches/RESULTS.md
echo "wrote benches/RESULTS.md" >&2
