#!/usr/bin/env python3
"""What can a value codec reach on the benchmark data?  (the measurement behind core/src/codec)

Reads the iot line-protocol file and the NAB CSVs, splits every series into
chunks of N points and prints, per field, bits per point of candidate encodings
of the *decimal-scaled* integers:

  for_plain   frame of reference of the scaled integers, fixed width
  for_delta   delta, zigzag, frame of reference (fixed width = widest residual)
  pfor        delta, zigzag, best patched width (exceptions cost width-overflow + position)
  rice        delta, zigzag, Rice code with the best k per chunk
  ent_chunk   order-0 empirical entropy of the residuals per chunk (NOT reachable:
              the table is free here; a lower bound for static per-chunk models)
  ent_pool    order-0 entropy of the residuals pooled over the whole field
              (about what a model that knew the distribution in advance would pay)
  abin_*      adaptive binary coding (simulated code length, -log2 p), several
              binarisations and adaptation rules; this is what a range coder pays
              to within ~0.01%
  best        per chunk, the smallest of delta/plain for the abin coder

Values that do not scale at the chunk's exponent are charged 64 bits + 10 bits of
position in every column (exceptions).  Timestamps are measured separately.

`--floor` prints, per iot field, the pooled entropies that bound any codec of this
kind: order-0 entropy of the deltas, entropy of a delta given the previous one
(clamped to ±3), and of the value around its series mean. The smallest of them per
field, averaged over the fields, is the floor quoted in core/src/codec/mod.rs
(≈ 2.61 bits = 0.326 bytes per value for the seed-42 file).

Usage:
  python3 bench/codec_analysis.py [--iot /tmp/iot.lp] [--nab testdata/nab] [--chunk 256,512,1024]
  python3 bench/codec_analysis.py --floor [--iot /tmp/iot.lp] [--iot-devices 300]
"""
import argparse
import calendar
import collections
import csv
import glob
import math
import os
import sys
import time
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))


def load_iot(path, max_devices=None):
    series = collections.defaultdict(list)
    with open(path) as f:
        for line in f:
            head, fields, ts = line.rstrip("\n").split(" ")
            dev = head.split(",")[1]
            if max_devices is not None and int(dev.split("-")[1]) >= max_devices:
                continue
            t = int(ts) * 10**9
            for kv in fields.split(","):
                k, v = kv.split("=")
                series[(k, dev)].append((t, v))
    return series


def load_nab(root):
    series = {}
    for p in sorted(glob.glob(os.path.join(root, "*", "*.csv"))):
        rows = {}
        with open(p, newline="") as f:
            rd = csv.reader(f)
            next(rd)
            for r in rd:
                if not r:
                    continue
                t = calendar.timegm(time.strptime(r[0].strip(), "%Y-%m-%d %H:%M:%S")) * 10**9
                rows[t] = r[1].strip()  # keep the last
        series[("nab", os.path.basename(p))] = sorted(rows.items())
    return series


def decimals(text):
    """Digits after the point in the shortest repr of float(text)."""
    r = repr(float(text))
    d = Decimal(r)
    exp = d.normalize().as_tuple().exponent
    return max(0, -exp), d


def zz(x):
    return (x << 1) if x >= 0 else ((-x) << 1) - 1


def bitlen(x):
    return x.bit_length()


# --------------------------------------------------------------- cost models
def for_width(vals):
    if not vals:
        return 0
    return bitlen(max(vals) - min(vals))


def pfor_bits(z):
    """Best patched FOR: width w, exceptions cost (overflow bits + 10 position bits)."""
    best = None
    n = len(z)
    for w in range(0, 65):
        exc = [v for v in z if bitlen(v) > w]
        cost = n * w + sum(bitlen(v) - w + 10 for v in exc) + 8
        if best is None or cost < best:
            best = cost
        if not exc:
            break
    return best


def rice_bits(z):
    best = None
    for k in range(0, 40):
        cost = sum((v >> k) + 1 + k for v in z)
        if best is None or cost < best:
            best = cost
    return best + 6


def entropy_bits(z):
    c = collections.Counter(z)
    n = len(z)
    return -sum(k * math.log2(k / n) for k in c.values())


class Bit:
    """Adaptive probability of a 0; rate from a count until it reaches 2^-limit."""
    __slots__ = ("p", "n")

    def __init__(self):
        self.p = 0.5
        self.n = 0


class Model:
    def __init__(self, limit=5, count=True, init_n=1):
        self.limit = limit
        self.count = count
        self.init_n = init_n
        self.ctx = {}
        self.bits = 0.0
        self.decisions = 0

    def code(self, key, b):
        c = self.ctx.get(key)
        if c is None:
            c = self.ctx[key] = Bit()
        p = c.p if b == 0 else 1 - c.p
        self.bits -= math.log2(max(p, 1e-6))
        self.decisions += 1
        if self.count:
            rate = max(1.0 / (c.n + 1 + self.init_n), 2.0 ** -self.limit)
            c.n += 1
        else:
            rate = 2.0 ** -self.limit
        c.p += ((1.0 if b == 0 else 0.0) - c.p) * rate

    def direct(self, nbits):
        self.bits += nbits
        self.decisions += nbits


def abin_gamma(z, m, ctx_mant=2):
    """Elias-gamma binarisation: unary of bitlen(v) with a context per position,
    then the top `ctx_mant` bits below the leading one with a bit-tree context per
    length, the rest direct."""
    for v in z:
        L = bitlen(v)
        for i in range(L):
            m.code(("u", i), 1)
        m.code(("u", L), 0)
        if L >= 2:
            node = 1
            for j in range(L - 2, -1, -1):
                b = (v >> j) & 1
                if (L - 2 - j) < ctx_mant:
                    m.code(("m", L, node), b)
                    node = node * 2 + b
                else:
                    m.direct(1)


def abin_rice(z, m, k):
    """Adaptive Rice: unary quotient z>>k with a context per position, the top
    remainder bit with a context per quotient, the rest direct."""
    for v in z:
        q = v >> k
        for i in range(min(q, 24)):
            m.code(("q", i), 1)
        if q < 24:
            m.code(("q", q), 0)
        else:
            m.direct(2 * bitlen(q) + 1)
        if k >= 1:
            node = 1
            for j in range(k - 1, -1, -1):
                b = (v >> j) & 1
                if k - 1 - j < 2:
                    m.code(("r", min(q, 3), node), b)
                    node = node * 2 + b
                else:
                    m.direct(1)


def best_rice_k(z):
    best, bk = None, 0
    for k in range(0, 40):
        cost = sum((v >> k) + 1 + k for v in z)
        if best is None or cost < best:
            best, bk = cost, k
    return bk


# --------------------------------------------------------------- scaling
def scale_chunk(texts):
    """Chooses the decimal exponent for a chunk; returns (ints with None for
    exceptions, e, n_exceptions)."""
    info = [decimals(t) for t in texts]
    cands = sorted(set(min(d, 19) for d, _ in info))
    best = None
    for e in cands:
        ints = []
        for d, dec in info:
            if d <= e:
                x = int(dec * (Decimal(10) ** e))
                ints.append(x if -(2**62) < x < 2**62 else None)
            else:
                ints.append(None)
        exc = sum(1 for x in ints if x is None)
        ok = [x for x in ints if x is not None]
        if len(ok) >= 2:
            span = sum(bitlen(zz(b - a)) for a, b in zip(ok, ok[1:])) / (len(ok) - 1)
        else:
            span = 0
        cost = exc * 74 + len(ok) * span
        if best is None or cost < best[0]:
            best = (cost, ints, e, exc)
    return best[1], best[2], best[3]


def fill(ints):
    """Exceptions become the previous scaled value (a zero residual)."""
    out, prev = [], 0
    for x in ints:
        if x is None:
            out.append(prev)
        else:
            out.append(x)
            prev = x
    return out


# --------------------------------------------------------------- main
METHODS = ["for_plain", "for_delta", "pfor", "rice", "ent_chunk", "ent_pool",
           "abin_gamma", "abin_rice", "abin_gamma_plain", "best"]


def analyse(series, chunk, label):
    tot = collections.defaultdict(lambda: collections.defaultdict(float))
    cnt = collections.Counter()
    pool = collections.defaultdict(collections.Counter)
    for (field, _name), pts in series.items():
        for s in range(0, len(pts), chunk):
            c = pts[s:s + chunk]
            n = len(c)
            ints, e, exc = scale_chunk([v for _, v in c])
            xs = fill(ints)
            hdr = 8 * 4  # tag, exponent, first value varint, parameter
            exc_bits = exc * 74
            r = tot[field]
            cnt[field] += n
            d = [zz(b - a) for a, b in zip(xs, xs[1:])]
            r["for_plain"] += hdr + exc_bits + n * for_width(xs)
            r["for_delta"] += hdr + exc_bits + (n - 1) * (bitlen(max(d)) if d else 0)
            r["pfor"] += hdr + exc_bits + (pfor_bits(d) if d else 0)
            r["rice"] += hdr + exc_bits + (rice_bits(d) if d else 0)
            r["ent_chunk"] += hdr + exc_bits + (entropy_bits(d) if d else 0)
            pool[field].update(d)
            m = Model(limit=5)
            abin_gamma(d, m)
            g = m.bits
            r["abin_gamma"] += hdr + exc_bits + g
            r["decisions_gamma"] += m.decisions
            m = Model(limit=5)
            abin_rice(d, m, best_rice_k(d) if d else 0)
            r["abin_rice"] += hdr + exc_bits + m.bits
            r["decisions_rice"] += m.decisions
            srt = sorted(xs)
            med = srt[len(srt) // 2]
            dp = [zz(x - med) for x in xs]
            m = Model(limit=5)
            abin_gamma(dp, m)
            r["abin_gamma_plain"] += hdr + exc_bits + m.bits
            r["best"] += hdr + exc_bits + min(g, m.bits)
            r["exceptions"] += exc
            r["chunks"] += 1
    for field, c in pool.items():
        tot[field]["ent_pool"] = entropy_bits(list(c.elements()))
    print(f"\n== {label}: chunk {chunk} (bits per point; B/pt = bits/8)")
    print(f"{'field':>12} {'points':>8} " + " ".join(f"{m:>9}" for m in METHODS) + "  exc  dec/pt")
    allr = collections.defaultdict(float)
    for field in sorted(tot):
        r = tot[field]
        n = cnt[field]
        for m in METHODS + ["exceptions", "decisions_gamma"]:
            allr[m] += r[m]
        print(f"{field:>12} {n:>8} " + " ".join(f"{r[m] / n:>9.3f}" for m in METHODS)
              + f" {int(r['exceptions']):>4} {r['decisions_gamma'] / n:>5.1f}")
    n = sum(cnt.values())
    print(f"{'ALL':>12} {n:>8} " + " ".join(f"{allr[m] / n:>9.3f}" for m in METHODS)
          + f" {int(allr['exceptions']):>4}")


def timestamps(series, chunk, label):
    const = dod_chunks = 0
    zero_dod = nz_dod = 0
    for _, pts in series.items():
        for s in range(0, len(pts), chunk):
            ts = [t for t, _ in pts[s:s + chunk]]
            d = [b - a for a, b in zip(ts, ts[1:])]
            if len(set(d)) <= 1:
                const += 1
            else:
                dod_chunks += 1
                dd = [b - a for a, b in zip(d, d[1:])]
                zero_dod += sum(1 for x in dd if x == 0)
                nz_dod += sum(1 for x in dd if x != 0)
    print(f"{label} timestamps chunk {chunk}: constant-step chunks {const}, dod chunks {dod_chunks}, "
          f"dod zeros {zero_dod}, non-zeros {nz_dod}")


def floor(series):
    """Pooled entropies per field (bits per value) and their minimum."""
    def h(counter):
        n = sum(counter.values())
        return -sum(v * math.log2(v / n) for v in counter.values()) / n

    by = collections.defaultdict(list)
    for (field, _), pts in series.items():
        xs = [decimals(v) for _, v in pts]
        e = max(d for d, _ in xs)
        by[field].append([int(dec * (Decimal(10) ** e)) for _, dec in xs])
    total = 0.0
    print(f"{'field':>12} {'H0(delta)':>10} {'H(d|prev)':>10} {'H(x-mean)':>10} {'floor':>8}")
    for field in sorted(by):
        c0, c1, cp, cm = (collections.Counter() for _ in range(4))
        for xs in by[field]:
            d = [b - a for a, b in zip(xs, xs[1:])]
            c0.update(d)
            for a, b in zip(d, d[1:]):
                c1[(max(-3, min(3, a)), b)] += 1
                cp[max(-3, min(3, a))] += 1
            m = round(sum(xs) / len(xs))
            cm.update(x - m for x in xs)
        h0, h1, hm = h(c0), h(c1) - h(cp), h(cm)
        f = min(h0, h1, hm)
        total += f
        print(f"{field:>12} {h0:>10.3f} {h1:>10.3f} {hm:>10.3f} {f:>8.3f}")
    mean = total / len(by)
    print(f"{'mean':>12} {'':>10} {'':>10} {'':>10} {mean:>8.3f} bits = {mean / 8:.4f} bytes per value")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iot", default="/tmp/iot.lp")
    ap.add_argument("--iot-devices", type=int, default=None, help="analyse only the first D devices")
    ap.add_argument("--nab", default=os.path.join(HERE, "..", "testdata", "nab"))
    ap.add_argument("--chunk", default="256,512,1024")
    ap.add_argument("--skip-nab", action="store_true")
    ap.add_argument("--skip-iot", action="store_true")
    ap.add_argument("--floor", action="store_true", help="print the entropy floor of the iot fields and exit")
    a = ap.parse_args()
    if a.floor:
        floor(load_iot(a.iot, a.iot_devices))
        return
    chunks = [int(x) for x in a.chunk.split(",")]
    if not a.skip_iot:
        iot = load_iot(a.iot, a.iot_devices)
        for c in chunks:
            analyse(iot, c, f"iot {a.iot}")
            timestamps(iot, c, "iot")
    if not a.skip_nab:
        nab = load_nab(a.nab)
        for c in chunks:
            analyse(nab, c, "nab")
            timestamps(nab, c, "nab")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
