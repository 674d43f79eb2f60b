#!/usr/bin/env bash
# Side-by-side benchmark: InfluxDB 1.6.7, VictoriaMetrics 1.79.5 and (when
# PULSARDB_BIN is given) PulsarDB, on the same datasets, in the same run.
#
# For each target x dataset x run (RUNS fresh data dirs):
#   start server on an empty data dir -> create db -> load with lp-loader
#   -> force flush/compaction and wait until the data dir is stable
#   -> record ingest points/s, du of the data dir, VmHWM / VmRSS, server CPU time
#   -> (last run only) query latency Q1/Q2, QRUNS runs each (qbench.py)
#   -> stop server
# then summarize.py prints the markdown table (medians over runs) and writes
# $BENCH_TMP/results-peers.md (+ raw records under $BENCH_TMP/results/).
#
# Env knobs (defaults):
#   TARGETS="influxdb victoriametrics pulsardb"  DATASETS="nab iot"  RUNS=3  QRUNS=50
#   BATCH=5000  WORKERS=2  IOT_DEVICES=1000  IOT_POINTS=10000000  IOT_SEED=42
#   BENCH_TMP=/tmp/pulsardb-bench (scratch: run dirs, generated line protocol, raw results)
#   PULSARDB_BIN (unset -> pulsardb is skipped)  PULSARDB_ARGS  PULSARDB_PORT=8087
#   PULSARDB_FLUSH_URL (POSTed after the load; default $BASE_URL/flush)
#   SETTLE_TIMEOUT=600  OUT_MD=$BENCH_TMP/results-peers.md
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=servers.sh
source "$BENCH/servers.sh"

BENCH_TMP="${BENCH_TMP:-${TMPDIR:-/tmp}/pulsardb-bench}"
TARGETS="${TARGETS:-influxdb victoriametrics pulsardb}"
DATASETS="${DATASETS:-nab iot}"
RUNS="${RUNS:-3}"
QRUNS="${QRUNS:-50}"
BATCH="${BATCH:-5000}"
WORKERS="${WORKERS:-2}"
IOT_DEVICES="${IOT_DEVICES:-1000}"
IOT_POINTS="${IOT_POINTS:-10000000}"
IOT_SEED="${IOT_SEED:-42}"
SETTLE_TIMEOUT="${SETTLE_TIMEOUT:-600}"
OUT_MD="${OUT_MD:-$BENCH_TMP/results-peers.md}"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RESULTS_DIR="${RESULTS_DIR:-$BENCH_TMP/results/$STAMP}"
RAW="$RESULTS_DIR/raw.jsonl"
LOADER_TARGET="${LOADER_TARGET:-$BENCH_TMP/loader-target}"
LOADER="$LOADER_TARGET/release/lp-loader"
CLK_TCK="$(getconf CLK_TCK)"

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

cleanup() { stop_server; }
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$RESULTS_DIR" "$BENCH_TMP/lp" "$BENCH_TMP/run"
: > "$RAW"

# ---------------------------------------------------------------- build ---
log "building loader"
(cd "$BENCH/loader" && CARGO_TARGET_DIR="$LOADER_TARGET" cargo build --release --quiet)

# --------------------------------------------------------------- datasets -
lp_file() { # DATASET -> path of its .lp file (generated if missing)
    local ds="$1" f
    case "$ds" in
        nab) f="$BENCH_TMP/lp/nab.lp"
             [ -s "$f.meta.json" ] || python3 "$BENCH/../gen_lp.py" nab --out "$f" >&2 ;;
        iot) f="$BENCH_TMP/lp/iot-${IOT_DEVICES}d-${IOT_POINTS}p-s${IOT_SEED}.lp"
             [ -s "$f.meta.json" ] || python3 "$BENCH/../gen_lp.py" iot --out "$f" \
                 --devices "$IOT_DEVICES" --points "$IOT_POINTS" --seed "$IOT_SEED" >&2 ;;
        *) echo "unknown dataset $ds" >&2; return 1 ;;
    esac
    echo "$f"
}

# -------------------------------------------------------------- /proc ----
proc_kb() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status"; }          # PID FIELD
proc_cpu_s() { # PID -> utime+stime seconds
    local s
    s="$(cat "/proc/$1/stat")"
    s="${s##*) }"   # drop "pid (comm) "
    # fields after comm: state(3) ... utime(14) stime(15) -> positions 12,13 here
    echo "$s" | awk -v t="$CLK_TCK" '{printf "%.2f", ($12 + $13) / t}'
}
du_b() { du -sb "$1" | cut -f1; }
du_alloc() { du -s --block-size=1 "$1" | cut -f1; }

# ------------------------------------------------------ flush / settle ---
busy() { # TARGET DATADIR -> 0 if background work is visibly still going on
    case "$1" in
        influxdb)
            [ -n "$(find "$2" -name '*.tmp' -print -quit 2>/dev/null)" ] && return 0
            [ -n "$(find "$2/wal" -name '*.wal' -size +0 -print -quit 2>/dev/null)" ] && return 0
            return 1 ;;
        victoriametrics)
            curl -sf "$BASE_URL/metrics" | awk '
                /^vm_active_force_merges /      {b += $2}
                /^vm_active_merges\{/           {b += $2}
                /^vm_pending_rows\{/            {b += $2}
                END {exit (b > 0) ? 0 : 1}' ;;
        *) return 1 ;;
    esac
}

flush_and_settle() { # TARGET DATADIR -> prints seconds waited
    local t="$1" dd="$2" start last=-1 same=0 sz now
    start=$(date +%s)
    case "$t" in
        influxdb)
            # No flush endpoint in 1.x: the bench config sets
            # cache-snapshot-write-cold-duration=5s and compact-full-write-cold-duration=15s,
            # so wait for the cold snapshot + full compaction to happen.
            sleep 20 ;;
        victoriametrics)
            curl -sf "$BASE_URL/internal/force_flush" > /dev/null
            curl -sf "$BASE_URL/internal/force_merge" > /dev/null
            sleep 2 ;;
        pulsardb)
            # POST /flush: the memtable into tables, then compaction once
            # the writes pause (as VictoriaMetrics' force_flush + force_merge).
            curl -sf -XPOST "${PULSARDB_FLUSH_URL:-$BASE_URL/flush}" > /dev/null || log "flush URL failed"
            sleep 2 ;;
    esac
    while :; do
        sz=$(du_b "$dd")
        if [ "$sz" = "$last" ] && ! busy "$t" "$dd"; then same=$((same + 1)); else same=0; fi
        last=$sz
        [ "$same" -ge 3 ] && break
        now=$(date +%s)
        if [ $((now - start)) -ge "$SETTLE_TIMEOUT" ]; then log "settle timeout"; break; fi
        sleep 2
    done
    echo $(($(date +%s) - start))
}

create_db() { # TARGET DB
    case "$1" in
        influxdb|pulsardb)
            curl -sf -XPOST "$BASE_URL/query" --data-urlencode "q=CREATE DATABASE \"$2\"" > /dev/null \
                || { [ "$1" = pulsardb ] && log "pulsardb: CREATE DATABASE failed (ignored)"; } ;;
    esac
    return 0
}

# ------------------------------------------------------------------ main --
log "results -> $RESULTS_DIR"
{
    echo "{\"stamp\":\"$STAMP\",\"nproc\":$(nproc),\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')\","
    echo "\"mem_kb\":$(awk '/MemTotal/{print $2}' /proc/meminfo),\"kernel\":\"$(uname -r)\","
    echo "\"influxdb_version\":\"$(dpkg-query -W -f='${Version}' influxdb 2>/dev/null)\","
    echo "\"victoriametrics_version\":\"$(dpkg-query -W -f='${Version}' victoria-metrics 2>/dev/null)\","
    echo "\"pulsardb_bin\":\"${PULSARDB_BIN:-}\",\"runs\":$RUNS,\"qruns\":$QRUNS,\"batch\":$BATCH,\"workers\":$WORKERS,"
    echo "\"loadavg_start\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
} | jq -c . > "$RESULTS_DIR/env.json"

ACTIVE=""
for target in $TARGETS; do
    if [ "$target" = pulsardb ] && [ -z "${PULSARDB_BIN:-}" ]; then
        log "pulsardb: skipped (set PULSARDB_BIN=/path/to/pulsardb to include it)"
        echo "{\"target\":\"pulsardb\",\"skipped\":\"PULSARDB_BIN not set\"}" >> "$RAW"
        continue
    fi
    ACTIVE="$ACTIVE $target"
done

# Targets are interleaved inside each round (run 1 of every target, then run 2, ...)
# so that slow drifts in background load hit all targets alike.
for ds in $DATASETS; do
    lp="$(lp_file "$ds")"
    meta="$lp.meta.json"
    db="$(jq -r .db "$meta")"
    prec="$(jq -r .precision "$meta")"
    for run in $(seq 1 "$RUNS"); do
        for target in $ACTIVE; do
            rd="$BENCH_TMP/run/$target-$ds-$run"
            rm -rf "$rd"
            mkdir -p "$rd"
            log "$target $ds run $run/$RUNS: start (data dir $rd/data)"
            start_server "$target" "$rd" || { log "$target failed to start; see $rd/server.log"; tail -5 "$rd/server.log" >&2; exit 1; }
            pid=$SERVER_PID
            create_db "$target" "$db"
            sleep 1
            rss_start=$(proc_kb "$pid" VmRSS)
            cpu0=$(proc_cpu_s "$pid")
            la=$(cut -d' ' -f1 /proc/loadavg)
            log "$target $ds run $run: load $(basename "$lp") (B=$BATCH W=$WORKERS)"
            set +e
            "$LOADER" --file "$lp" --url "$BASE_URL/write?db=$db&precision=$prec" \
                --batch "$BATCH" --workers "$WORKERS" > "$rd/load.json" 2> "$rd/load.err"
            lrc=$?
            set -e
            cat "$rd/load.err" >&2
            cpu1=$(proc_cpu_s "$pid")
            hwm_load=$(proc_kb "$pid" VmHWM)
            du_load=$(du_b "$rd/data")
            log "$target $ds run $run: $(jq -c '{points,seconds,points_per_sec,errors}' "$rd/load.json")"
            settle_s=$(flush_and_settle "$target" "$rd/data")
            sleep 3
            du_settled=$(du_b "$rd/data")
            du_alloc_settled=$(du_alloc "$rd/data")
            rss_idle=$(proc_kb "$pid" VmRSS)
            hwm_settled=$(proc_kb "$pid" VmHWM)
            cpu2=$(proc_cpu_s "$pid")
            qjson=null
            if [ "$run" -eq "$RUNS" ]; then
                log "$target $ds run $run: queries ($QRUNS runs each)"
                python3 "$BENCH/qbench.py" --target "$target" --meta "$meta" --base "$BASE_URL" \
                    --runs "$QRUNS" > "$rd/query.json"
                qjson="$(cat "$rd/query.json")"
            fi
            hwm_end=$(proc_kb "$pid" VmHWM)
            stop_server
            jq -c -n --arg target "$target" --arg ds "$ds" --argjson run "$run" \
                --argjson load "$(cat "$rd/load.json")" --argjson loader_rc "$lrc" \
                --argjson du_load "$du_load" --argjson du_settled "$du_settled" \
                --argjson du_alloc_settled "$du_alloc_settled" --argjson settle_s "$settle_s" \
                --argjson rss_start_kb "$rss_start" --argjson rss_idle_kb "$rss_idle" \
                --argjson hwm_load_kb "$hwm_load" --argjson hwm_settled_kb "$hwm_settled" \
                --argjson hwm_end_kb "$hwm_end" \
                --argjson cpu_load_s "$(awk -v a="$cpu1" -v b="$cpu0" 'BEGIN{printf "%.2f", a-b}')" \
                --argjson cpu_settle_s "$(awk -v a="$cpu2" -v b="$cpu1" 'BEGIN{printf "%.2f", a-b}')" \
                --arg loadavg "$la" --argjson query "$qjson" \
                --argjson meta "$(jq -c 'del(.series_detail)' "$meta")" \
                '{target:$target, dataset:$ds, run:$run, load:$load, loader_rc:$loader_rc,
                  du_after_load:$du_load, du_settled:$du_settled, du_alloc_settled:$du_alloc_settled,
                  settle_s:$settle_s, rss_start_kb:$rss_start_kb, rss_idle_kb:$rss_idle_kb,
                  hwm_load_kb:$hwm_load_kb, hwm_settled_kb:$hwm_settled_kb, hwm_end_kb:$hwm_end_kb,
                  cpu_load_s:$cpu_load_s, cpu_settle_s:$cpu_settle_s, loadavg1:$loadavg,
                  query:$query, meta:$meta}' >> "$RAW"
            log "$target $ds run $run: du=$du_settled B (alloc $du_alloc_settled) idleRSS=${rss_idle}kB HWM=${hwm_end}kB settle=${settle_s}s"
            rm -rf "$rd/data"   # keep logs/config/json, drop the data
        done
    done
done

jq -c -n --slurpfile e "$RESULTS_DIR/env.json" --arg la "$(cut -d' ' -f1-3 /proc/loadavg)" \
    '$e[0] + {loadavg_end:$la}' > "$RESULTS_DIR/env.json.tmp" && mv "$RESULTS_DIR/env.json.tmp" "$RESULTS_DIR/env.json"
python3 "$BENCH/summarize.py" --env "$RESULTS_DIR/env.json" --raw "$RAW" --out "$OUT_MD"
cp "$RAW" "${OUT_MD%.md}.jsonl"
log "wrote $OUT_MD and ${OUT_MD%.md}.jsonl (raw: $RESULTS_DIR)"
