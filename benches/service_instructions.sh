#!/usr/bin/env bash
# Instructions per request of the service benchmark's servers, counted by
# valgrind's cachegrind.
#
#   benches/service_instructions.sh                 # prints a markdown table
#   REQUESTS=400 CONFIGS="jemalloc counting counting+layer stack" benches/service_instructions.sh
#   MAX_RATIO=1.05 benches/service_instructions.sh  # exits 1 if a configuration
#                                                   # costs more than 1.05x of
#                                                   # bare jemalloc per request
#   NO_BUILD=1 benches/service_instructions.sh      # the servers already in
#                                                   # target/release, as the
#                                                   # last build left them
#                                                   # (only this script's and
#                                                   # service.sh's build them
#                                                   # without the demo)
#   SIMULATE=1 benches/service_instructions.sh      # adds cachegrind's simulated
#                                                   # I1 and D1 misses and branch
#                                                   # mispredictions per request
#
# Each configuration's server (service_jemalloc, service_counting,
# service_stack, see heapguard_benches::service) runs under cachegrind
# twice, serving WARMUP + N and WARMUP + 2N requests from service_load (one
# keep-alive connection, so the requests come one at a time); the difference
# of the two counts over N is the instructions of one request, with
# start-up, warm-up and shutdown cancelled out. The count is the whole
# server process's: tokio's workers, and with the stack the breaker's
# refresher thread (a tick every 25 ms) and the monitor's sampler (every
# 1 s). Those two run by the clock, and under valgrind a request takes about
# 40 times as long, so their share per request here is about 40 times what
# it is at full speed: an upper bound. It is also what moves the stack's
# count between runs (each monitor sample is about 255k instructions, most
# of it jemalloc's stats refresh; whether one more lands in the longer run
# moves the stack by about 600 per request at REQUESTS=400); a larger
# REQUESTS narrows that spread, not the 40-fold share: hence 1,600 by
# default (about 20 s a configuration on the build VM).
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-1600}
WARMUP=${WARMUP:-100}
# One tokio worker: requests come one at a time anyway, and with one
# thread serving them the counts of the configurations without the
# refresher and the monitor repeat to within 0.01%; with two, which
# worker takes a request and how often workers park vary from run to run
# (about 1% per request).
WORKERS=${WORKERS:-1}
CONFIGS=${CONFIGS:-"jemalloc counting stack"}
MAX_RATIO=${MAX_RATIO:-}
SIMULATE=${SIMULATE:-}
TARGET=${CARGO_TARGET_DIR:-target}
OUT=${OUT_DIR:-$TARGET/heapguard-benches}
mkdir -p "$OUT"

if ! command -v valgrind >/dev/null 2>&1; then
    echo "service_instructions.sh: valgrind is not installed (apt-get install -y valgrind)" >&2
    exit 2
fi
if [ -z "${NO_BUILD:-}" ]; then
    # Without the benches' `demo` feature: the demo turns on heapguard-alloc's
    # `sampling`, and the servers count with what a service gets by default.
    cargo build --release -p heapguard-benches --no-default-features --bin service_load --bin service_jemalloc \
        --bin service_counting --bin service_stack >&2
fi
BIN_DIR=$TARGET/release
# As in instructions.sh: jemalloc's time-based purging off (both builds
# alike), so the counts repeat.
export _RJEM_MALLOC_CONF=experimental_tcache_gc:false,dirty_decay_ms:-1,muzzy_decay_ms:-1

# Prints the instructions (cachegrind's "I refs") of one server run; with
# SIMULATE, then its I1 misses, D1 misses (reads and writes) and branch
# mispredictions (conditional and indirect), as cachegrind simulates them
# (the host's cache sizes; a simple branch predictor): the counts no
# instruction count sees, not a real CPU's. With SIMULATE the per-function
# counts stay in $OUT/service_cachegrind.<config>.<requests>.out, for
# `cg_annotate --diff`. Fails when the log lacks a count.
irefs() {
    local config=$1 requests=$2
    local log="$OUT/service_cachegrind.log"
    local sim=(--cache-sim=no) out=/dev/null
    if [ -n "$SIMULATE" ]; then
        sim=(--cache-sim=yes --branch-sim=yes)
        out="$OUT/service_cachegrind.$config.$requests.out"
    fi
    rm -f "$log"
    "$BIN_DIR/service_load" once --config "$config" --workers "$WORKERS" --bin-dir "$BIN_DIR" \
        --requests "$requests" --warmup "$WARMUP" --connections 1 --timeout-s 600 -- \
        valgrind --tool=cachegrind "${sim[@]}" --cachegrind-out-file="$out" --log-file="$log" \
        >"$OUT/service_cachegrind.json" || {
        echo "service_instructions.sh: service_load failed ($config, $requests requests)" >&2
        return 1
    }
    local fields=('I *refs:')
    if [ -n "$SIMULATE" ]; then fields+=('I1 *misses:' 'D1 *misses:' 'Mispredicts:'); fi
    local field count counts=()
    for field in "${fields[@]}"; do
        count=$(grep -m1 "$field" "$log" | sed "s/.*$field *//; s/ .*//; s/,//g")
        if ! [[ $count =~ ^[0-9]+$ ]]; then
            echo "service_instructions.sh: no '${field// \*/ }' count in $log ($config, $requests requests)" >&2
            return 1
        fi
        counts+=("$count")
    done
    echo "${counts[*]}"
}

# The difference of two runs' counts (`irefs` lines) per request, field by field.
per_request() {
    awk -v a="$1" -v b="$2" -v n="$REQUESTS" 'BEGIN {
        k = split(a, x, " "); split(b, y, " ");
        for (i = 1; i <= k; i++) printf "%s%.0f", (i > 1 ? " " : ""), (y[i] - x[i]) / n
    }'
}

if [ -n "$SIMULATE" ]; then
    echo "| configuration | instructions per request | / bare jemalloc | added per request | I1 misses | D1 misses | mispredictions |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
else
    echo "| configuration | instructions per request | / bare jemalloc | added per request |"
    echo "| --- | ---: | ---: | ---: |"
fi
failed=0
base=
for config in $CONFIGS; do
    once=$(irefs "$config" "$REQUESTS")
    twice=$(irefs "$config" $((2 * REQUESTS)))
    read -r per simulated <<<"$(per_request "$once" "$twice")"
    if [ "$config" = jemalloc ]; then base=$per; fi
    if [ -n "$base" ]; then
        ratio=$(awk -v p="$per" -v b="$base" 'BEGIN { printf "%.3fx", p / b }')
        added=$(awk -v p="$per" -v b="$base" 'BEGIN { printf "%+.0f", p - b }')
    else
        ratio="-"
        added="-"
    fi
    if [ -n "$SIMULATE" ]; then
        echo "| $config | $per | $ratio | $added | ${simulated// / | } |"
    else
        echo "| $config | $per | $ratio | $added |"
    fi
    if [ -n "$MAX_RATIO" ] && [ -n "$base" ] &&
        awk -v p="$per" -v b="$base" -v m="$MAX_RATIO" 'BEGIN { exit !(p / b > m) }'; then
        echo "service_instructions.sh: $config costs $ratio of bare jemalloc's instructions per request, more than ${MAX_RATIO}x" >&2
        failed=1
    fi
done
if [ -n "$SIMULATE" ]; then
    # The caches cachegrind simulated (this host's, as it read them).
    grep -h '^desc:' "$OUT/service_cachegrind.$config.$REQUESTS.out" | sed 's/^desc: */simulated /' || true
fi
exit "$failed"
