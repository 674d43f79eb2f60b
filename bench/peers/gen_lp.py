#!/usr/bin/env python3
"""Turn benchmark data into InfluxDB line-protocol files.

Two datasets:

  nab  Every NAB CSV (timestamp,value) under --nab-dir becomes one series:
         <folder>,file=<csv name without .csv> value=<float> <unix seconds>
       Points are written in file order, files in sorted path order.
       Timestamps in the CSVs carry no zone; they are read as UTC.
       The value text is copied verbatim from the CSV (a few use e-notation).
       Write with precision=s.

  iot  Deterministic (seeded) synthetic gateway workload in the spirit of
       TSBS IoT / cpu-only: S devices, each a series of measurement `sensors`
       with tags device, site, model and 5 float fields
       (temperature, humidity, pressure, battery, rssi) drifting smoothly,
       low-precision decimals, one line per device every --interval seconds,
       time-major order (all devices for t0, then all for t0+10s, ...).
       N = total field values (points); lines = N / 5.  Write with precision=s.

Each output FILE.lp gets a FILE.lp.meta.json sidecar with db, precision,
line/point/series counts and the time range, used by peers.sh / qbench.py.

Examples:
  python3 gen_lp.py nab --out /tmp/pulsardb-bench/lp/nab.lp
  python3 gen_lp.py iot --out /tmp/pulsardb-bench/lp/iot.lp --devices 1000 --points 10000000 --seed 42
"""
import argparse
import calendar
import csv
import json
import math
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_NAB_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "testdata", "nab"))


def esc_key(s):
    """Escape a measurement / tag key / tag value for line protocol."""
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def esc_meas(s):
    return s.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ")


def parse_ts(s):
    # "2013-12-02 21:15:00" -> unix seconds, UTC
    return calendar.timegm(time.strptime(s.strip(), "%Y-%m-%d %H:%M:%S"))


def gen_nab(args):
    root = args.nab_dir
    files = []
    for folder in sorted(os.listdir(root)):
        p = os.path.join(root, folder)
        if not os.path.isdir(p):
            continue
        for name in sorted(os.listdir(p)):
            if name.endswith(".csv"):
                files.append((folder, name[:-4], os.path.join(p, name)))
    if not files:
        sys.exit(f"no CSV files under {root}")
    lines = 0
    tmin, tmax = None, None
    series = []
    dup_total = 0
    with open(args.out, "w", encoding="utf-8", newline="\n") as out:
        for folder, name, path in files:
            prefix = f"{esc_meas(folder)},file={esc_key(name)} value="
            n = 0
            seen = set()
            s_min, s_max = None, None
            with open(path, newline="") as f:
                rd = csv.reader(f)
                header = next(rd)
                if [h.strip() for h in header] != ["timestamp", "value"]:
                    sys.exit(f"{path}: unexpected header {header}")
                for row in rd:
                    if not row:
                        continue
                    ts = parse_ts(row[0])
                    v = row[1].strip()
                    fv = float(v)  # validates
                    if not math.isfinite(fv):
                        sys.exit(f"{path}: non-finite value {v}")
                    if ts in seen:
                        dup_total += 1
                    seen.add(ts)
                    out.write(f"{prefix}{v} {ts}\n")
                    n += 1
                    s_min = ts if s_min is None else min(s_min, ts)
                    s_max = ts if s_max is None else max(s_max, ts)
            lines += n
            tmin = s_min if tmin is None else min(tmin, s_min)
            tmax = s_max if tmax is None else max(tmax, s_max)
            series.append({"measurement": folder, "file": name, "lines": n,
                           "unique_ts": len(seen), "min_ts": s_min, "max_ts": s_max})
    meta = {
        "dataset": "nab", "db": "nab", "precision": "s",
        "lines": lines, "points": lines, "series": len(series),
        "duplicate_timestamps": dup_total,
        "unique_points": lines - dup_total,
        "min_ts": tmin, "max_ts": tmax,
        "measurements": sorted(set(s["measurement"] for s in series)),
        "series_detail": series,
        "source": os.path.relpath(root, HERE),
    }
    return meta


# ---------------------------------------------------------------- iot ----
MODELS = ["th-100", "th-200", "env-3", "env-5x", "ws-9"]


class Device:
    __slots__ = ("tag", "temp", "temp_base", "hum", "hum_base", "pres", "bat",
                 "bat_drain", "rssi_base", "phase", "rng")

    def __init__(self, i, n_sites, rng):
        self.rng = random.Random(rng.getrandbits(64))
        r = self.rng
        site = r.randrange(n_sites)
        model = MODELS[r.randrange(len(MODELS))]
        self.tag = f"sensors,device=dev-{i:05d},site=site-{site:03d},model={model} "
        self.temp_base = r.uniform(15.0, 30.0)
        self.temp = self.temp_base + r.uniform(-1, 1)
        self.hum_base = r.uniform(30.0, 70.0)
        self.hum = self.hum_base + r.uniform(-2, 2)
        self.pres = r.uniform(995.0, 1030.0)
        self.bat = r.uniform(3.6, 4.2)
        self.bat_drain = r.uniform(0.5e-6, 3e-6)  # volts per second
        self.rssi_base = r.uniform(-95.0, -45.0)
        self.phase = r.uniform(0, 2 * math.pi)


def gen_iot(args):
    if args.points % 5:
        sys.exit("--points must be a multiple of 5 (5 fields per line)")
    total_lines = args.points // 5
    S = args.devices
    n_sites = args.sites or max(1, S // 20)
    rng = random.Random(args.seed)
    devs = [Device(i, n_sites, rng) for i in range(S)]
    t0 = args.start
    dt = args.interval
    lines = 0
    step = 0
    day = 86400.0
    with open(args.out, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as out:
        while lines < total_lines:
            ts = t0 + step * dt
            daily = math.sin(2 * math.pi * (ts % 86400) / day)
            buf = []
            for d in devs:
                if lines >= total_lines:
                    break
                r = d.rng
                g = r.gauss
                # mean-reverting random walks + daily cycle
                d.temp += 0.02 * (d.temp_base + 3.0 * math.sin(2 * math.pi * ts / day + d.phase) - d.temp) + g(0, 0.03)
                d.hum += 0.02 * (d.hum_base - 5.0 * daily - d.hum) + g(0, 0.08)
                d.hum = min(100.0, max(0.0, d.hum))
                d.pres += 0.001 * (1013.0 - d.pres) + g(0, 0.02)
                d.bat = max(3.0, d.bat - d.bat_drain * dt + g(0, 0.0004))
                rssi = round(d.rssi_base + g(0, 2.0))
                buf.append(f"{d.tag}temperature={d.temp:.2f},humidity={d.hum:.1f},"
                           f"pressure={d.pres:.2f},battery={d.bat:.3f},rssi={rssi} {ts}\n")
                lines += 1
            out.write("".join(buf))
            step += 1
    tmax = t0 + (step - 1) * dt
    meta = {
        "dataset": "iot", "db": "iot", "precision": "s",
        "lines": lines, "points": lines * 5, "series": S,
        "fields": ["temperature", "humidity", "pressure", "battery", "rssi"],
        "measurements": ["sensors"],
        "devices": S, "sites": n_sites, "seed": args.seed, "interval_s": dt,
        "duplicate_timestamps": 0, "unique_points": lines * 5,
        "min_ts": t0, "max_ts": tmax,
    }
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", choices=["nab", "iot"])
    ap.add_argument("--out", required=True, help="output .lp file")
    ap.add_argument("--nab-dir", default=DEFAULT_NAB_DIR)
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--sites", type=int, default=0, help="default devices/20")
    ap.add_argument("--points", type=int, default=10_000_000, help="total field values (multiple of 5)")
    ap.add_argument("--interval", type=int, default=10, help="seconds between readings")
    ap.add_argument("--start", type=int, default=1704067200, help="unix seconds of first reading (2024-01-01T00:00:00Z)")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    t = time.time()
    meta = gen_nab(args) if args.dataset == "nab" else gen_iot(args)
    meta["file"] = os.path.abspath(args.out)
    meta["bytes"] = os.path.getsize(args.out)
    with open(args.out + ".meta.json", "w") as f:
        json.dump(meta, f, indent=1)
    short = {k: v for k, v in meta.items() if k != "series_detail"}
    print(json.dumps(short), file=sys.stderr)
    print(f"generated {args.out} in {time.time() - t:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
