#!/usr/bin/env python3
"""Summarize peers.sh raw results (JSON lines) into a markdown report (medians over runs).

  python3 summarize.py --env RESULTS_DIR/env.json --raw RESULTS_DIR/raw.jsonl --out results-peers.md
"""
import argparse
import datetime
import json
import statistics
import sys


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, nd=1, unit=""):
    if x is None:
        return "–"
    if isinstance(x, float) and abs(x) >= 1000:
        return f"{x:,.0f}{unit}"
    return f"{x:,.{nd}f}{unit}"


def answers_agree(a, b, rel=1e-9):
    if a is None or b is None or set(a) != set(b):
        return False
    for k in a:
        x, y = float(a[k]), float(b[k])
        if abs(x - y) > rel * max(abs(x), abs(y), 1e-300):
            return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", required=True)
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    env = json.load(open(args.env))
    recs = [json.loads(l) for l in open(args.raw) if l.strip()]
    skipped = [r for r in recs if "skipped" in r]
    recs = [r for r in recs if "skipped" not in r]

    groups = {}
    for r in recs:
        groups.setdefault((r["dataset"], r["target"]), []).append(r)

    lines = []
    P = lines.append
    stamp = env.get("stamp", "")
    try:
        when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        when = stamp
    P("# PulsarDB peer benchmark: InfluxDB 1.6.7 vs VictoriaMetrics 1.79.5")
    P("")
    P(f"- Date: {when}")
    P(f"- Machine: {env.get('nproc')} vCPU ({env.get('cpu')}), {env.get('mem_kb', 0) / 1048576:.0f} GiB RAM, "
      f"Linux {env.get('kernel')}, Debian 12; all traffic on 127.0.0.1")
    P(f"- Servers: influxdb {env.get('influxdb_version')}, victoria-metrics {env.get('victoriametrics_version')} "
      f"(Debian packages), pulsardb: {env.get('pulsardb_bin') or 'not run (PULSARDB_BIN unset)'}")
    P(f"- Loader: lp-loader, batch {env.get('batch')} lines, {env.get('workers')} workers, keep-alive; "
      f"{env.get('runs')} runs per cell on fresh data dirs; queries: {env.get('qruns')} runs after 3 warm-ups (last run only)")
    P(f"- Load average (1/5/15 min) at start: {env.get('loadavg_start')}, at end: {env.get('loadavg_end', '?')}")
    P("")
    P("**Noise caveat:** loader and servers share the machine's CPUs, and absolute "
      "numbers drift with whatever else runs; every figure is the median of the runs (ingest: median of "
      f"{env.get('runs')} fresh loads; query latency: median / p99 of {env.get('qruns')} runs). "
      "Server CPU-seconds per million points is less sensitive to contention than wall-clock throughput. "
      "Compare servers only within one report.")
    P("")
    P("| dataset | server | points | ingest pts/s (median) | min–max | server CPU s / 1M pts | batch p50 / p99 ms "
      "| disk B/pt (du -sb) | disk B/pt (allocated) | peak RSS MiB (VmHWM) | idle RSS MiB | Q1 median / p99 ms | Q2 median / p99 ms |")
    P("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (ds, tg) in sorted(groups, key=lambda k: (k[0] != "nab", k[0], k[1])):
        rs = groups[(ds, tg)]
        pts = rs[0]["load"]["points"]
        pps = [r["load"]["points_per_sec"] for r in rs]
        cpu = med([r["cpu_load_s"] / pts * 1e6 for r in rs])
        p50 = med([r["load"]["p50_ms"] for r in rs])
        p99 = med([r["load"]["p99_ms"] for r in rs])
        dub = med([r["du_settled"] / pts for r in rs])
        dua = med([r["du_alloc_settled"] / pts for r in rs])
        hwm = med([r["hwm_end_kb"] / 1024 for r in rs])
        idle = med([r["rss_idle_kb"] / 1024 for r in rs])
        q = next((r["query"] for r in reversed(rs) if r.get("query")), None)
        errs = sum(r["load"]["errors"] for r in rs)
        name = tg + (f" ⚠ {errs} write errors" if errs else "")
        def qcell(which):
            if not q or which not in q:
                return "–"
            if "error" in q[which]:
                return "error"
            return f"{fmt(q[which]['median_ms'], 2)} / {fmt(q[which]['p99_ms'], 2)}"
        q1, q2 = qcell("q1"), qcell("q2")
        P(f"| {ds} | {name} | {pts:,} | {fmt(med(pps), 0)} | {fmt(min(pps), 0)}–{fmt(max(pps), 0)} | {fmt(cpu, 2)} "
          f"| {fmt(p50, 1)} / {fmt(p99, 1)} | {fmt(dub, 2)} | {fmt(dua, 2)} | {fmt(hwm, 0)} | {fmt(idle, 0)} | {q1} | {q2} |")
    for s in skipped:
        P(f"| – | {s['target']} | skipped: {s['skipped']} | | | | | | | | | | |")
    P("")

    # secondary details
    P("Details (medians over runs):")
    P("")
    P("| dataset | server | du -sb right after load, B/pt | wait for flush/compaction, s | server CPU s during load | server CPU s during flush | loader CPU s during load | load wall s | VmHWM after load MiB | RSS right after start MiB | loader exit codes |")
    P("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for (ds, tg) in sorted(groups, key=lambda k: (k[0] != "nab", k[0], k[1])):
        rs = groups[(ds, tg)]
        pts = rs[0]["load"]["points"]
        P(f"| {ds} | {tg} | {fmt(med([r['du_after_load'] / pts for r in rs]), 2)} "
          f"| {fmt(med([r['settle_s'] for r in rs]), 0)} | {fmt(med([r['cpu_load_s'] for r in rs]), 2)} "
          f"| {fmt(med([r['cpu_settle_s'] for r in rs]), 2)} | {fmt(med([r['load'].get('loader_cpu_s') for r in rs]), 2)} "
          f"| {fmt(med([r['load']['seconds'] for r in rs]), 2)} "
          f"| {fmt(med([r['hwm_load_kb'] / 1024 for r in rs]), 0)} | {fmt(med([r['rss_start_kb'] / 1024 for r in rs]), 0)} "
          f"| {','.join(str(r['loader_rc']) for r in rs)} |")
    P("")

    # query texts + cross-check of Q2 answers
    P("Queries (per dataset):")
    P("")
    datasets = sorted({ds for ds, _ in groups}, key=lambda d: (d != "nab", d))
    for ds in datasets:
        qs = {tg: next((r["query"] for r in reversed(groups[(ds, tg)]) if r.get("query")), None)
              for (d, tg) in groups if d == ds}
        for tg, q in sorted(qs.items()):
            if q:
                def desc(which, unit):
                    x = q.get(which, {})
                    return f"`{x.get('query')}` " + (f"(ERROR: {x['error'][:200]})" if "error" in x else f"({x.get('values')} {unit})")
                P(f"- {ds} / {tg}: Q1 {desc('q1', 'non-null values')}; Q2 {desc('q2', 'groups')}")
        ref = qs.get("influxdb")
        for tg, q in sorted(qs.items()):
            if tg != "influxdb" and q and ref and "answer" in q.get("q2", {}) and "answer" in ref.get("q2", {}):
                ok = answers_agree(ref["q2"].get("answer"), q["q2"].get("answer"))
                if ok:
                    P(f"- {ds}: Q2 answers of {tg} and influxdb agree (rel. tol. 1e-9)")
                else:
                    a, b = ref["q2"].get("answer") or {}, q["q2"].get("answer") or {}
                    diff = {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) is None or b.get(k) is None
                            or abs(float(a[k]) - float(b[k])) > 1e-9 * max(abs(float(a[k])), abs(float(b[k])), 1e-300)}
                    P(f"- {ds}: Q2 answers of {tg} and influxdb DIFFER on {len(diff)} group(s): "
                      + ", ".join(f"{k}: influxdb={v[0]} {tg}={v[1]}" for k, v in list(diff.items())[:5]))
    P("")
    P("Notes:")
    P("- points = field values sent (a line with 5 fields is 5 points); B/pt divides the data dir size by points sent.")
    P("- `du -sb` is the apparent size (what a user sees); `allocated` is `du -s --block-size=1` (real blocks). "
      "InfluxDB 1.6 preallocates 8 sparse 4 MiB `_series` segment files per database, which inflates `du -sb` "
      "by ~32 MiB per database but allocates almost nothing; directory entries (4 KiB each) also count in both.")
    P("- Disk / RSS are measured after forcing a flush: VictoriaMetrics `/internal/force_flush` + `/internal/force_merge`; PulsarDB `POST /flush` (compaction follows once writes pause); "
      "InfluxDB 1.x has no such endpoint, so its bench config lowers the cold-snapshot / full-compaction delays to 5 s / 15 s "
      "and the script waits until the data dir stops changing. Peak RSS = VmHWM at the end of the last step of a run "
      "(load, flush, and on the last run also the queries); idle RSS = VmRSS after the flush.")
    P("- VictoriaMetrics stores duplicate timestamps of a series as separate samples (no dedup configured) and "
      "InfluxDB keeps the last write; NAB has 49 duplicate timestamps (see testdata/nab/SOURCE.md).")
    P("- The NAB load takes well under a second per run, so its ingest rate mostly reflects per-request and "
      "start-up overheads; use the iot rows for throughput. Loader and server share the same 2 vCPUs.")
    P("- Q1/Q2 bucket semantics differ slightly between InfluxQL and MetricsQL (see qbench.py); VictoriaMetrics is asked with nocache=1.")
    text = "\n".join(lines) + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
