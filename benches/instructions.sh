#!/usr/bin/env bash
# Instructions heapguard adds per allocator call, counted by valgrind's
# cachegrind (deterministic: no timer, no machine noise).
#
#   benches/instructions.sh            # prints a markdown table
#   MAX_ADDED=10 benches/instructions.sh   # exits 1 if any workload adds more
#   FEATURES=heapguard-alloc/histogram benches/instructions.sh
#                                      # both builds with these cargo features
#                                      # (the e2e binaries link the demo, so
#                                      # heapguard-alloc's `sampling` is always on)
#
# For each workload, the same program is built twice, once with bare jemalloc
# and once with CountingAlloc<Jemalloc> as its #[global_allocator]
# (target/release/e2e_jemalloc and e2e_counting). Each binary runs under
# cachegrind with 1 and with 3 timed runs of the workload; the difference is
# the instructions of 2 runs, with start-up, the warm-up run and exit
# cancelled out. Then
#
#   added per call = ((Ir_counting(3) - Ir_counting(1)) - (Ir_bare(3) - Ir_bare(1)))
#                    / allocator calls in those 2 runs
#
# where the calls are counted exactly by heapguard itself (the counting
# binary prints them per run). Comparing two builds measured in the same run
# keeps the figure independent of rustc, glibc and jemalloc versions, which
# move the absolute counts.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKLOADS=${WORKLOADS:-"pairs json"}
MAX_ADDED=${MAX_ADDED:-}
FEATURES=${FEATURES:-}
BIN=${CARGO_TARGET_DIR:-target}/release
OUT=${OUT_DIR:-${CARGO_TARGET_DIR:-target}/heapguard-benches}
mkdir -p "$OUT"

if ! command -v valgrind >/dev/null 2>&1; then
    echo "instructions.sh: valgrind is not installed (apt-get install -y valgrind)" >&2
    exit 2
fi
cargo build --release -p heapguard-benches ${FEATURES:+--features "$FEATURES"} \
    --bin e2e_jemalloc --bin e2e_counting >&2

# jemalloc's tcache garbage collection and its page decay run on wall-clock
# intervals, so under valgrind's slowdown they fire a varying number of times
# and the counts move by a few instructions per call from run to run. Turned
# off (in both builds alike), every count repeats to the instruction.
export _RJEM_MALLOC_CONF=experimental_tcache_gc:false,dirty_decay_ms:-1,muzzy_decay_ms:-1

# Prints the instructions (cachegrind's "I refs") of one run of a binary.
irefs() {
    local log="$OUT/cachegrind.log"
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
        "$@" >"$OUT/cachegrind.stdout" 2>"$log"
    grep -m1 'I *refs:' "$log" | sed 's/.*refs: *//; s/,//g'
}

echo "| workload | allocator calls | bare jemalloc, Ir per call | CountingAlloc<Jemalloc>, Ir per call | added per call |"
echo "| --- | ---: | ---: | ---: | ---: |"
failed=0
for workload in $WORKLOADS; do
    bare1=$(irefs "$BIN/e2e_jemalloc" "$workload" 1)
    bare3=$(irefs "$BIN/e2e_jemalloc" "$workload" 3)
    ours1=$(irefs "$BIN/e2e_counting" "$workload" 1)
    ours3=$(irefs "$BIN/e2e_counting" "$workload" 3)
    # The calls of the two runs the difference holds: the last two lines.
    calls=$(tail -n 2 "$OUT/cachegrind.stdout" | awk -F'\t' '{ sum += $6 } END { print sum }')
    if [ -z "$calls" ] || [ "$calls" -eq 0 ]; then
        echo "instructions.sh: $workload: no allocator calls counted" >&2
        exit 2
    fi
    line=$(awk -v b1="$bare1" -v b3="$bare3" -v o1="$ours1" -v o3="$ours3" -v calls="$calls" -v w="$workload" \
        'BEGIN { b = (b3 - b1) / calls; o = (o3 - o1) / calls;
                 printf "| %s | %d | %.2f | %.2f | %.2f |", w, calls, b, o, o - b }')
    echo "$line"
    added=$(awk -v b1="$bare1" -v b3="$bare3" -v o1="$ours1" -v o3="$ours3" -v calls="$calls" \
        'BEGIN { printf "%.2f", ((o3 - o1) - (b3 - b1)) / calls }')
    if [ -n "$MAX_ADDED" ] && awk -v a="$added" -v m="$MAX_ADDED" 'BEGIN { exit !(a > m) }'; then
        echo "instructions.sh: $workload adds $added instructions per allocator call, more than $MAX_ADDED" >&2
        failed=1
    fi
done
exit "$failed"
