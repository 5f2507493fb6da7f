#!/usr/bin/env bash
# The service benchmark: what heapguard costs an HTTP service per request.
#
#   benches/service.sh                   # 5 rounds of jemalloc, counting, stack
#   ROUNDS=11 REQUESTS=5000 benches/service.sh
#   CONFIGS=jemalloc,counting,counting+layer,counting+refresher,counting+monitor,stack benches/service.sh
#
# Each configuration is its own server process (service_jemalloc,
# service_counting, service_stack; see heapguard_benches::service), the
# order rotating round by round. Per run service_load sends WARMUP requests,
# then REQUESTS measured ones over CONNECTIONS keep-alive connections, and
# takes the server's own CPU time (getrusage, every thread) across the
# measured ones. Prints a markdown table (median and lowest-highest over
# rounds; the CPU ratio to bare jemalloc taken within each round) and writes
# one JSON line per run to target/heapguard-benches/service.jsonl. Timings
# are reported, never gated; benches/service_instructions.sh gives the
# deterministic figure.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
REQUESTS=${REQUESTS:-5000}
WARMUP=${WARMUP:-500}
CONNECTIONS=${CONNECTIONS:-4}
WORKERS=${WORKERS:-2}
CONFIGS=${CONFIGS:-jemalloc,counting,stack}
TARGET=${CARGO_TARGET_DIR:-target}
OUT=${OUT_DIR:-$TARGET/heapguard-benches}
mkdir -p "$OUT"
# Without the benches' `demo` feature: the demo turns on heapguard-alloc's
# `sampling`, and the servers count with what a service gets by default.
cargo build --release -p heapguard-benches --no-default-features --bin service_load --bin service_jemalloc \
    --bin service_counting --bin service_stack >&2
"$TARGET/release/service_load" bench --rounds "$ROUNDS" --requests "$REQUESTS" --warmup "$WARMUP" \
    --connections "$CONNECTIONS" --workers "$WORKERS" --configs "$CONFIGS" --json "$OUT/service.jsonl"
