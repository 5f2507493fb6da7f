#!/usr/bin/env bash
# Instructions a memory account adds per poll, counted by valgrind's
# cachegrind (deterministic: no timer, no machine noise).
#
#   benches/account_instructions.sh                 # prints a markdown table
#   POLLS=20000 KS="0 1 4 16" benches/account_instructions.sh
#   MAX_EMPTY=30 benches/account_instructions.sh     # exits 1 if an empty
#                                                    # scoped poll adds more
#
# target/release/account_polls polls one future N and 2N times, bare, inside
# `Account::scope` and with `Account::enter` around each poll; the
# difference of the two counts over N is the instructions of one poll, with
# start-up and exit cancelled out. Each poll allocates and frees K 64-byte
# blocks. "added" is the mode's count minus the bare count for the same K.
set -euo pipefail
cd "$(dirname "$0")/.."

POLLS=${POLLS:-20000}
KS=${KS:-"0 1 4 16"}
MODES=${MODES:-"scoped entered"}
MAX_EMPTY=${MAX_EMPTY:-}
TARGET=${CARGO_TARGET_DIR:-target}
OUT=${OUT_DIR:-$TARGET/heapguard-benches}
BIN=${BIN:-$TARGET/release/account_polls}
mkdir -p "$OUT"

if ! command -v valgrind >/dev/null 2>&1; then
    echo "account_instructions.sh: valgrind is not installed (apt-get install -y valgrind)" >&2
    exit 2
fi
if [ -z "${NO_BUILD:-}" ]; then
    cargo build --release -p heapguard-benches --bin account_polls >&2
fi
# As in instructions.sh: jemalloc's time-based purging off, so every count
# repeats to the instruction.
export _RJEM_MALLOC_CONF=experimental_tcache_gc:false,dirty_decay_ms:-1,muzzy_decay_ms:-1

# Prints the instructions (cachegrind's "I refs") of one run, and checks the
# account was charged every allocation.
irefs() {
    local mode=$1 k=$2 polls=$3
    local log="$OUT/account_cachegrind.log"
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
        "$BIN" "$mode" "$k" "$polls" >"$OUT/account_cachegrind.stdout" 2>"$log"
    local charged
    charged=$(cut -f4 "$OUT/account_cachegrind.stdout")
    if [ "$mode" != bare ] && [ "$charged" -ne $((k * polls)) ]; then
        echo "account_instructions.sh: $mode k=$k: the account was charged $charged allocations, not $((k * polls))" >&2
        exit 2
    fi
    grep -m1 'I *refs:' "$log" | sed 's/.*refs: *//; s/,//g'
}

per_poll() {
    local mode=$1 k=$2
    local once twice
    once=$(irefs "$mode" "$k" "$POLLS")
    twice=$(irefs "$mode" "$k" $((2 * POLLS)))
    awk -v a="$once" -v b="$twice" -v n="$POLLS" 'BEGIN { printf "%.2f", (b - a) / n }'
}

echo "| blocks per poll (k) | bare, Ir per poll | mode | Ir per poll | added per poll | added per block past k = 0 |"
echo "| ---: | ---: | --- | ---: | ---: | ---: |"
failed=0
declare -A empty_added
for k in $KS; do
    bare=$(per_poll bare "$k")
    for mode in $MODES; do
        ours=$(per_poll "$mode" "$k")
        added=$(awk -v o="$ours" -v b="$bare" 'BEGIN { printf "%.2f", o - b }')
        if [ "$k" -eq 0 ]; then
            empty_added[$mode]=$added
            slope="-"
        elif [ -n "${empty_added[$mode]:-}" ]; then
            slope=$(awk -v a="$added" -v e="${empty_added[$mode]}" -v k="$k" 'BEGIN { printf "%.2f", (a - e) / k }')
        else
            slope="?"
        fi
        echo "| $k | $bare | \`$mode\` | $ours | $added | $slope |"
        if [ -n "$MAX_EMPTY" ] && [ "$k" -eq 0 ] && [ "$mode" = scoped ] &&
            awk -v a="$added" -v m="$MAX_EMPTY" 'BEGIN { exit !(a > m) }'; then
            echo "account_instructions.sh: an empty scoped poll adds $added instructions, more than $MAX_EMPTY" >&2
            failed=1
        fi
    done
done
exit "$failed"
