#!/usr/bin/env bash
# Fuzzing with cargo-fuzz (libFuzzer). See fuzz/README.md.
#
#   ./scripts/fuzz.sh smoke [SECONDS]     every target: replay its corpus, then
#                                         fuzz SECONDS each (default 30); CI runs this
#   ./scripts/fuzz.sh run TARGET [SECS]   one long campaign (default: until stopped)
#   ./scripts/fuzz.sh build               build every target (smoke does too)
#   ./scripts/fuzz.sh list                the targets
#
# Works on a stable toolchain: libFuzzer's instrumentation flags are
# unstable, so RUSTC_BOOTSTRAP=1 lets stable rustc take them. No sanitizer:
# the code under test is safe Rust; debug assertions and overflow checks
# are on, so an overflow is a finding.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTC_BOOTSTRAP=1
FUZZ=(cargo fuzz)
TARGETS="lineproto json_write influxql wal_replay table_read codecs db_ops"
BUILD_FLAGS=(-s none --debug-assertions)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "[fuzz] cargo install cargo-fuzz --locked" >&2
    cargo install cargo-fuzz --locked
fi

# Seeds live in fuzz/seeds/TARGET (committed); the working corpus in
# fuzz/corpus/TARGET (not committed) starts from them and grows.
corpus() {
    mkdir -p "fuzz/corpus/$1"
    echo "fuzz/corpus/$1" "fuzz/seeds/$1"
}

case "${1:-smoke}" in
list)
    echo $TARGETS
    ;;
build)
    "${FUZZ[@]}" build "${BUILD_FLAGS[@]}"
    ;;
smoke)
    secs="${2:-30}"
    "${FUZZ[@]}" build "${BUILD_FLAGS[@]}"
    log="$(mktemp)"
    trap 'rm -f "$log"' EXIT
    for t in $TARGETS; do
        echo "=== fuzz $t: replay seeds and corpus, then ${secs}s ==="
        # -runs=0 runs every input of the given directories once.
        if ! "${FUZZ[@]}" run "${BUILD_FLAGS[@]}" "$t" $(corpus "$t") -- -runs=0 >"$log" 2>&1; then
            tail -40 "$log"
            echo "fuzz $t: a corpus input fails" >&2
            exit 1
        fi
        grep -E "INITED" "$log" | tail -1
        if ! "${FUZZ[@]}" run "${BUILD_FLAGS[@]}" "$t" $(corpus "$t") -- \
            -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
            tail -60 "$log"
            echo "fuzz $t: FINDING (input saved under fuzz/artifacts/$t)" >&2
            exit 1
        fi
        grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done)" "$log"
    done
    ;;
run)
    t="${2:?target}"
    secs="${3:-0}"
    extra=()
    [ "$secs" != 0 ] && extra+=(-max_total_time="$secs")
    "${FUZZ[@]}" run "${BUILD_FLAGS[@]}" "$t" $(corpus "$t") -- -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 "${extra[@]}"
    ;;
*)
    echo "usage: $0 smoke [SECONDS] | run TARGET [SECONDS] | build | list" >&2
    exit 2
    ;;
esac
