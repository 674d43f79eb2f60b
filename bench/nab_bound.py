#!/usr/bin/env python3
"""How small can the NAB data get? General-purpose compressors as a yardstick.

Writes the values of the 58 NAB series (testdata/nab, file by file, in file
order) as the text the CSVs hold, one per line, and the whole CSVs (timestamps
included), then compresses each with the strongest settings of xz, bzip2,
zstd and, when installed (Debian package `zpaq`), zpaq's context-mixing method
5, and prints bytes per point. zpaq -m5 models the text with dozens of mixed
contexts: its figure is a practical floor for lossless coding of these values
(a time-series codec sees each series alone, in chunks, and must decode fast).

Compare with `codec_bench nab` (values alone) and `ingest_bench nab` (values,
timestamps, index, catalog and manifest at rest).

Usage:  python3 bench/nab_bound.py [--nab testdata/nab]
"""
import argparse
import csv
import glob
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def compressors():
    out = [
        ("xz -9e", ["xz", "-9e", "-c"]),
        ("bzip2 -9", ["bzip2", "-9", "-c"]),
        ("zstd --ultra -22", ["zstd", "--ultra", "-22", "-c", "-q"]),
    ]
    return [(name, cmd) for name, cmd in out if shutil.which(cmd[0])]


def zpaq_size(path, tmp):
    if not shutil.which("zpaq"):
        return None
    arc = os.path.join(tmp, os.path.basename(path) + ".zpaq")
    if os.path.exists(arc):
        os.remove(arc)
    subprocess.run(["zpaq", "a", arc, path, "-m5"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return os.path.getsize(arc)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nab", default=os.path.join(HERE, "..", "testdata", "nab"))
    args = ap.parse_args()
    files = sorted(glob.glob(os.path.join(args.nab, "*", "*.csv")))
    if not files:
        sys.exit(f"no NAB CSVs under {args.nab}")
    points = 0
    with tempfile.TemporaryDirectory() as tmp:
        values = os.path.join(tmp, "values.txt")
        whole = os.path.join(tmp, "nab.csv")
        with open(values, "w") as v, open(whole, "w") as w:
            for f in files:
                with open(f, newline="") as src:
                    rows = list(csv.reader(src))[1:]
                points += len(rows)
                for ts, val in rows:
                    v.write(val + "\n")
                    w.write(f"{ts},{val}\n")
        print(f"NAB: {len(files)} series, {points} points")
        print("| compressor | values alone, B/point | timestamps and values, B/point |")
        print("|---|---:|---:|")
        for name, cmd in compressors():
            sizes = []
            for path in (values, whole):
                with open(path, "rb") as src:
                    r = subprocess.run(cmd, stdin=src, stdout=subprocess.PIPE, check=True)
                sizes.append(len(r.stdout))
            print(f"| {name} | {sizes[0] / points:.3f} | {sizes[1] / points:.3f} |")
        z = [zpaq_size(p, tmp) for p in (values, whole)]
        if z[0] is None:
            print("| zpaq -m5 | (not installed: apt-get install zpaq) | |")
        else:
            print(f"| zpaq -m5 (context mixing) | {z[0] / points:.3f} | {z[1] / points:.3f} |")


if __name__ == "__main__":
    main()
