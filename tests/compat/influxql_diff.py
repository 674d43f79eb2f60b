"""Differential InfluxQL test: the same writes and queries against InfluxDB 1.x
and PulsarDB, answers compared.

    python3 influxql_diff.py INFLUXDB_URL PULSARDB_URL [-v]

Writes one deterministic data set (several measurements, tag sets, float,
integer and boolean fields, gaps, irregular and out-of-order timestamps) to
database `diff` on both servers, runs every query in QUERIES on both and
compares the JSON answers: series names, tags, columns and values (floats to a
relative 1e-9: the two engines add in different orders). Then WRITES, line
protocol with bad lines, type conflicts, every precision, escapes and
duplicates, go to database `diffw` of both: the status codes are compared,
and what was stored is read back from both and compared. Prints each
mismatch with both answers and a tally; exit status 0 when all agree.

Answers known to differ on purpose are in KNOWN and KNOWN_WRITES, with the
reason; they are checked to still behave as documented.
"""
import json
import math
import sys
import time
import urllib.parse
import urllib.request

BASE = 1_700_000_000  # seconds; 2023-11-14T22:13:20Z (not aligned to a minute)
DB = "diff"
NL = b"\n"


def data():
    """The line protocol written to both servers (precision s)."""
    lines = []
    hosts = [("a", "east"), ("b", "east"), ("c", "west")]
    for i in range(360):
        t = BASE + i * 10
        for h, (host, region) in enumerate(hosts):
            if host == "c" and 100 <= i < 160:
                continue  # a gap
            user = round(20 + 10 * math.sin(i / 17 + h) + h * 3.25, 2)
            system = round(5 + (i * 7 + h * 13) % 11 * 0.5, 1)
            procs = 100 + (i * 3 + h) % 17
            lines.append(
                f"cpu,host={host},region={region} usage_user={user},usage_system={system},procs={procs}i {t}"
            )
        if i % 3 == 0:
            for host in ("a", "b"):
                used = 1000 + i * 5 + (7 if host == "b" else 0)
                ok = "true" if (i // 3) % 4 else "false"
                lines.append(f"mem,host={host} used={used}i,free={4096 - used * 0.5},ok={ok} {t}")
        if i % 6 == 0:
            # a counter that resets once
            c = i * 11 if i < 200 else (i - 200) * 11
            lines.append(f"net,host=a,iface=eth0 rx={c}i,tx={c * 2.5} {t}")
    # temperatures: no tags, negative values, irregular times, written out of order
    temps = []
    for i in range(120):
        t = BASE + i * 37 + (i % 5)
        temps.append(f"temp value={round(-5 + 12 * math.cos(i / 9), 3)} {t}")
    lines.extend(reversed(temps))
    # a measurement whose name needs quoting
    for i in range(30):
        lines.append(f"disk\\ io,dev=sda,mode=r bytes={i * 4096}i {BASE + i * 60}")
    # escapes in names and tag values
    for i in range(10):
        lines.append(f"weird,loc=a\\ b,k\\=x=c\\,d,plain=p{i % 2} val\\ ue={i * 1.5},n={i}i {BASE + i * 45}")
    # before 1970, and large integers
    for i in range(40):
        lines.append(f"old,src=s{i % 2} v={(i * 37) % 11 - 5.5},big={2**62 // 40 * (i % 7)}i {-86400 * 3 + i * 3600}")
    # a point in the future (2100), and zeros of both signs
    lines.append(f"fut v=1 {BASE}")
    lines.append("fut v=9 4102444800")
    lines.append(f"zz v=-0.0 {BASE}")
    lines.append(f"zz v=0 {BASE + 10}")
    lines.append(f"zz v=2 {BASE + 20}")
    # rows holding only some of the fields
    for i in range(12):
        fields = f"a={i * 2.5},b={i}i" if i % 3 == 0 else f"b={i}i"
        lines.append(f"part {fields} {BASE + i * 30}")
    lines.extend(dst_lines())
    return "\n".join(lines) + "\n"


# Days around changes of UTC offset, for tz(): Berlin's spring and autumn
# changes of 2023, New York's, and Lord Howe Island's half-hour one.
DST_DAYS = ["2023-03-10", "2023-03-24", "2023-09-29", "2023-10-27", "2023-11-03"]


def dst_lines():
    """Two sites every 15 min over four days from each of DST_DAYS; site b
    misses 02:00-04:00Z on 2023-10-29 (for fill)."""
    import datetime

    lines = []
    for day in DST_DAYS:
        start = int(datetime.datetime.fromisoformat(day + "T00:00:00+00:00").timestamp())
        for i in range(4 * 96):
            t = start + i * 900
            for k, site in enumerate(("a", "b")):
                if site == "b" and 1698544800 <= t < 1698552000:
                    continue
                v = round(10 + 5 * math.sin(i / 7 + k) + k * 2, 2)
                lines.append(f"dst,site={site} v={v},n={i}i {t}")
    return lines


T0 = BASE
T1 = BASE + 3600
W = f"time >= {T0}s AND time < {T1}s"
TA = [
    "exponential_moving_average", "double_exponential_moving_average",
    "triple_exponential_moving_average", "triple_exponential_derivative",
    "relative_strength_index", "chande_momentum_oscillator",
    "kaufmans_efficiency_ratio", "kaufmans_adaptive_moving_average",
]

QUERIES = [
    # raw selections
    f'SELECT "usage_user" FROM "cpu" WHERE "host" = \'a\' AND {W} LIMIT 5',
    f"SELECT * FROM cpu WHERE host = 'b' AND {W} LIMIT 3",
    # Points of several series at one time come in an unspecified order in
    # InfluxDB (its merge order): whole timestamps, compared as sets (TIES).
    f"SELECT usage_user, procs FROM cpu WHERE {W} LIMIT 6",
    f"SELECT usage_user, host FROM cpu WHERE {W} LIMIT 6",
    f"SELECT * FROM mem, net WHERE time >= {T0}s AND time < {T0 + 100}s",
    f"SELECT mean(*) FROM mem, net WHERE {W}",
    "SELECT mean(*) FROM /e/",
    f"SELECT * FROM cpu WHERE {W} GROUP BY * LIMIT 2",
    f"SELECT * FROM mem WHERE {W} LIMIT 5",
    f"SELECT ok FROM mem WHERE host = 'a' AND {W} LIMIT 6",
    "SELECT * FROM temp LIMIT 10",
    "SELECT value FROM temp ORDER BY time DESC LIMIT 5",
    "SELECT value FROM temp LIMIT 5 OFFSET 100",
    f"SELECT usage_user FROM cpu WHERE host = 'c' AND time >= {BASE + 990}s AND time <= {BASE + 1610}s",
    f'SELECT "bytes" FROM "disk io" WHERE {W} LIMIT 3',
    # tag predicates
    f"SELECT count(usage_user) FROM cpu WHERE host != 'a' AND {W}",
    f"SELECT count(usage_user) FROM cpu WHERE host =~ /^[ab]$/ AND {W}",
    f"SELECT count(usage_user) FROM cpu WHERE host !~ /a/ AND {W}",
    f"SELECT count(usage_user) FROM cpu WHERE (host = 'a' OR host = 'c') AND {W}",
    f"SELECT count(usage_user) FROM cpu WHERE region = 'east' AND host = 'b' AND {W}",
    f"SELECT count(usage_user) FROM cpu WHERE host = 'nope' AND {W}",
    f"SELECT count(usage_user) FROM cpu WHERE nosuchtag = '' AND {W}",
    # field predicates
    f"SELECT usage_user FROM cpu WHERE usage_user > 38 AND {W}",
    f"SELECT count(usage_user) FROM cpu WHERE usage_user > 25 AND usage_user <= 30 AND {W}",
    f"SELECT count(procs) FROM cpu WHERE procs = 105 AND {W}",
    f"SELECT count(usage_user) FROM cpu WHERE (usage_user < 12 OR usage_system > 9) AND {W} GROUP BY host",
    # aggregates without GROUP BY time
    f"SELECT count(usage_user), sum(usage_user), mean(usage_user) FROM cpu WHERE {W}",
    f"SELECT min(usage_user), max(usage_user) FROM cpu WHERE {W} GROUP BY host",
    f"SELECT first(usage_user), last(usage_user) FROM cpu WHERE {W} GROUP BY host",
    f"SELECT median(usage_user), spread(usage_user), stddev(usage_user) FROM cpu WHERE {W} GROUP BY host",
    f"SELECT percentile(usage_user, 90), percentile(usage_user, 5) FROM cpu WHERE {W} GROUP BY host",
    f"SELECT percentile(usage_user, 50) FROM cpu WHERE {W}",
    "SELECT count(value), mean(value), min(value), max(value) FROM temp",
    f"SELECT sum(procs), min(procs), max(procs), mean(procs), median(procs) FROM cpu WHERE {W} GROUP BY host",
    f"SELECT spread(procs), first(procs), last(procs) FROM cpu WHERE {W}",
    f"SELECT count(ok), first(ok), last(ok) FROM mem WHERE {W} GROUP BY host",
    f"SELECT count(*) FROM cpu WHERE {W}",
    f"SELECT mean(*) FROM mem WHERE {W}",
    f"SELECT max(usage_user) FROM cpu WHERE host = 'a' AND {W}",
    f"SELECT min(usage_user) FROM cpu WHERE {W} GROUP BY region",
    # GROUP BY time
    f"SELECT mean(usage_user) FROM cpu WHERE {W} GROUP BY time(5m)",
    f"SELECT mean(usage_user) FROM cpu WHERE {W} GROUP BY time(5m), host",
    f"SELECT mean(usage_user) FROM cpu WHERE {W} GROUP BY time(10m, 3m), host",
    f"SELECT max(usage_user), min(usage_user) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(15m)",
    f"SELECT first(usage_user), last(usage_user) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(20m)",
    f"SELECT count(usage_user) FROM cpu WHERE host = 'c' AND {W} GROUP BY time(5m)",
    f"SELECT count(usage_user) FROM cpu WHERE host = 'c' AND {W} GROUP BY time(5m) fill(none)",
    f"SELECT mean(usage_user) FROM cpu WHERE host = 'c' AND {W} GROUP BY time(5m) fill(0)",
    f"SELECT mean(usage_user) FROM cpu WHERE host = 'c' AND {W} GROUP BY time(5m) fill(previous)",
    f"SELECT mean(usage_user) FROM cpu WHERE host = 'c' AND {W} GROUP BY time(5m) fill(linear)",
    f"SELECT mean(usage_user) FROM cpu WHERE host = 'c' AND {W} GROUP BY time(5m) fill(-1)",
    f"SELECT mean(usage_user) FROM cpu WHERE host = 'c' AND {W} GROUP BY time(5m) fill(null)",
    f"SELECT median(usage_user), percentile(usage_user, 75) FROM cpu WHERE {W} GROUP BY time(20m)",
    f"SELECT spread(usage_user), stddev(usage_user) FROM cpu WHERE {W} GROUP BY time(30m), host",
    f"SELECT sum(procs) FROM cpu WHERE {W} GROUP BY time(10m)",
    f"SELECT mean(usage_user) FROM cpu WHERE {W} GROUP BY time(10m) ORDER BY time DESC",
    f"SELECT mean(usage_user) FROM cpu WHERE {W} GROUP BY time(5m) LIMIT 3",
    f"SELECT mean(usage_user) FROM cpu WHERE {W} GROUP BY time(5m) LIMIT 3 OFFSET 2",
    f"SELECT mean(usage_user) FROM cpu WHERE {W} GROUP BY time(10m), host SLIMIT 2",
    f"SELECT mean(usage_user) FROM cpu WHERE {W} GROUP BY time(10m), host SLIMIT 1 SOFFSET 1",
    f"SELECT mean(value) FROM temp WHERE {W} GROUP BY time(7m)",
    f"SELECT count(value) FROM temp WHERE time >= {BASE + 100}s AND time < {BASE + 1000}s GROUP BY time(2m)",
    f"SELECT count(usage_user) FROM cpu WHERE {W} GROUP BY time(1h)",
    f"SELECT count(usage_user) FROM cpu WHERE time >= {T0}s AND time <= {T1}s GROUP BY time(1d)",
    f"SELECT mean(used) FROM mem WHERE {W} GROUP BY time(15m), *",
    # Grafana's editor casts GROUP BY tags ("host"::tag); InfluxDB ignores
    # any cast there.
    f'SELECT mean("usage_user") FROM "cpu" WHERE {W} GROUP BY time(10m), "host"::tag fill(null)',
    f"SELECT max(usage_user) FROM cpu WHERE {W} GROUP BY region::tag, host::field",
    f"SELECT max(usage_user) FROM cpu WHERE {W} GROUP BY host::float",
    # transformations
    f"SELECT derivative(usage_user) FROM cpu WHERE host = 'a' AND {W} LIMIT 5",
    f"SELECT derivative(usage_user, 1m) FROM cpu WHERE host = 'a' AND {W} LIMIT 5",
    f"SELECT non_negative_derivative(rx, 1s) FROM net WHERE {W}",
    f"SELECT difference(rx) FROM net WHERE {W} LIMIT 8",
    f"SELECT derivative(mean(usage_user), 5m) FROM cpu WHERE {W} GROUP BY time(5m), host",
    f"SELECT non_negative_derivative(max(rx)) FROM net WHERE {W} GROUP BY time(10m)",
    f"SELECT difference(mean(usage_user)) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(10m)",
    f"SELECT difference(max(rx)) FROM net WHERE {W} GROUP BY time(5m) fill(none)",
    # FROM forms
    f"SELECT count(usage_user) FROM /cp/ WHERE {W}",
    f"SELECT count(used) FROM cpu, mem WHERE {W}",
    f"SELECT last(*) FROM /^(mem|net)$/ WHERE {W}",
    # time literals
    "SELECT count(usage_user) FROM cpu WHERE time >= '2023-11-14T22:20:00Z' AND time < '2023-11-14T22:40:00Z'",
    f"SELECT count(usage_user) FROM cpu WHERE time >= {T0 * 1000}ms AND time <= {T0 * 1000 + 600000}ms",
    f"SELECT count(usage_user) FROM cpu WHERE time > {T0 * 10**9}",
    # now() moves between the two requests: windows aligned to the epoch
    "SELECT count(usage_user) FROM cpu WHERE time > now() - 10000d GROUP BY time(10000d) fill(none)",
    "SELECT count(usage_user) FROM cpu WHERE time > now() - 1h",
    "SELECT count(usage_user) FROM cpu",
    "SELECT mean(usage_user) FROM cpu GROUP BY host",
    # metadata
    "SHOW MEASUREMENTS",
    "SHOW MEASUREMENTS WITH MEASUREMENT =~ /^c/",
    "SHOW MEASUREMENTS LIMIT 2",
    "SHOW TAG KEYS",
    "SHOW TAG KEYS FROM cpu",
    'SHOW TAG VALUES FROM cpu WITH KEY = "host"',
    'SHOW TAG VALUES WITH KEY = "host"',
    'SHOW TAG VALUES FROM cpu WITH KEY IN ("host", "region")',
    "SHOW TAG VALUES FROM cpu WITH KEY =~ /reg/",
    "SHOW TAG VALUES FROM cpu WITH KEY = \"host\" WHERE region = 'east'",
    "SHOW FIELD KEYS",
    "SHOW FIELD KEYS FROM mem",
    "SHOW SERIES",
    "SHOW SERIES FROM cpu",
    # expressions, aliases, selectors with tags
    f"SELECT usage_user * 2 + 1 FROM cpu WHERE host = 'a' AND {W} LIMIT 3",
    f"SELECT usage_user + usage_system AS total FROM cpu WHERE host = 'b' AND {W} LIMIT 3",
    f"SELECT mean(usage_user) * 100 AS pct FROM cpu WHERE {W} GROUP BY host",
    f"SELECT mean(usage_user) - mean(usage_system) FROM cpu WHERE {W} GROUP BY time(20m)",
    f"SELECT mean(usage_user) AS m, max(usage_user) AS x FROM cpu WHERE {W} GROUP BY time(30m)",
    f"SELECT max(usage_user), host FROM cpu WHERE {W}",
    f"SELECT min(usage_user), region FROM cpu WHERE {W} GROUP BY host",
    f"SELECT last(usage_user) FROM cpu WHERE {W} GROUP BY host",
    f"SELECT first(usage_user) FROM cpu WHERE {W} GROUP BY time(10m)",
    f"SELECT max(procs) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(10m)",
    f"SELECT percentile(procs, 50), percentile(procs, 100), percentile(procs, 0) FROM cpu WHERE {W}",
    f"SELECT stddev(procs), mean(procs), sum(procs) FROM cpu WHERE {W} GROUP BY time(30m)",
    f"SELECT nope FROM cpu WHERE {W}",
    f"SELECT mean(nope) FROM cpu WHERE {W}",
    f"SELECT mean(usage_user) FROM nosuch WHERE {W}",
    # mixed conditions
    f"SELECT count(usage_user) FROM cpu WHERE (host = 'a' OR usage_user > 30) AND {W}",
    f"SELECT count(usage_user) FROM cpu WHERE host =~ /^(a|c)$/ AND usage_system >= 7 AND {W} GROUP BY host",
    f"SELECT count(usage_user) FROM cpu WHERE region = 'east' AND (usage_user < 15 OR usage_user > 35) AND {W}",
    f"SELECT usage_user FROM cpu WHERE host = 'a' AND usage_user = 20 AND {W}",
    f"SELECT count(ok) FROM mem WHERE ok = true AND {W}",
    # ordering, paging per series
    f"SELECT usage_user FROM cpu WHERE {W} GROUP BY host ORDER BY time DESC LIMIT 2",
    f"SELECT usage_user FROM cpu WHERE {W} GROUP BY host LIMIT 2 OFFSET 3",
    f"SELECT * FROM cpu WHERE {W} GROUP BY host LIMIT 1 SLIMIT 2 SOFFSET 1",
    f"SELECT difference(usage_user) FROM cpu WHERE host = 'a' AND {W} ORDER BY time DESC LIMIT 3",
    f"SELECT mean(usage_user) FROM cpu WHERE {W} GROUP BY time(5m) fill(previous) LIMIT 5",
    f"SELECT mean(usage_user) FROM cpu WHERE {W} GROUP BY time(10m), * ORDER BY time DESC LIMIT 2",
    # windows
    f"SELECT spread(value) FROM temp WHERE {W} GROUP BY time(13m, -2m)",
    f"SELECT count(value) FROM temp WHERE {W} GROUP BY time(1h, 30m)",
    f"SELECT non_negative_derivative(mean(rx), 1m) FROM net WHERE {W} GROUP BY time(10m)",
    f"SELECT derivative(max(usage_user)) FROM cpu WHERE {W} GROUP BY time(10m) fill(0)",
    f"SELECT difference(count(usage_user)) FROM cpu WHERE host = 'c' AND {W} GROUP BY time(5m)",
    f"SELECT count(usage_user) FROM cpu WHERE host = 'c' AND {W} GROUP BY time(5m) fill(7)",
    f"SELECT mean(usage_user), count(usage_user) FROM cpu WHERE host = 'c' AND {W} GROUP BY time(5m)",
    # time literals and precisions
    "SELECT count(usage_user) FROM cpu WHERE time >= '2023-11-14 22:20:00' AND time < '2023-11-14T22:30:00.5Z'",
    f"SELECT count(usage_user) FROM cpu WHERE time >= {T0}000000000 AND time < {T0 + 600}000000000 GROUP BY time(2m)",
    f"SELECT count(usage_user) FROM cpu WHERE time < {T0 + 60}s",
    f"SELECT count(usage_user) FROM cpu WHERE time > {T1 - 60}s",
    f"SELECT mean(usage_user) FROM cpu WHERE time >= {T0}s - 1h AND time < {T0}s + 30m GROUP BY time(10m)",
    # several statements
    f"SELECT count(usage_user) FROM cpu WHERE {W}; SELECT count(used) FROM mem WHERE {W}",
    # metadata with conditions
    "SHOW TAG VALUES WITH KEY = \"host\" LIMIT 2",
    "SHOW TAG VALUES FROM cpu WITH KEY = \"host\" WHERE host =~ /[bc]/",
    "SHOW SERIES WHERE host = 'a'",
    "SHOW SERIES FROM cpu WHERE region = 'west'",
    "SHOW MEASUREMENTS WHERE host = 'a'",
    'SHOW FIELD KEYS FROM "disk io"',
    "SHOW TAG KEYS FROM mem, net",
    "SHOW SERIES LIMIT 3 OFFSET 2",
    "SHOW MEASUREMENTS WITH MEASUREMENT = cpu",
    # selectors with auxiliary fields and tags
    f"SELECT last(usage_user), procs FROM cpu WHERE {W} GROUP BY host",
    f"SELECT first(usage_user), procs, region FROM cpu WHERE {W}",
    f"SELECT max(usage_user), usage_system, host FROM cpu WHERE {W} GROUP BY time(20m)",
    f"SELECT min(procs), host FROM cpu WHERE host != 'b' AND {W} GROUP BY time(30m) fill(none)",
    f"SELECT percentile(usage_user, 90), host FROM cpu WHERE {W}",
    f"SELECT max(usage_user), host FROM cpu WHERE usage_system > 8 AND {W}",
    f"SELECT last(used), ok, free FROM mem WHERE {W} GROUP BY host",
    # escaped names, values before 1970, large integers, calendar windows
    "SELECT * FROM weird",
    "SELECT count(\"val ue\") FROM weird GROUP BY \"k=x\", plain",
    "SELECT \"val ue\" FROM weird WHERE \"loc\" = 'a b' AND \"k=x\" = 'c,d' LIMIT 3",
    'SHOW TAG KEYS FROM weird',
    'SHOW TAG VALUES FROM weird WITH KEY = "k=x"',
    'SHOW FIELD KEYS FROM weird',
    "SHOW SERIES FROM weird",
    "SHOW USERS",
    # cardinalities: estimated (exact here) without EXACT, FROM and WHERE
    "SHOW SERIES CARDINALITY",
    "SHOW SERIES CARDINALITY FROM cpu WHERE region = 'west'",
    "SHOW SERIES EXACT CARDINALITY WHERE host = 'nosuch'",
    "SHOW MEASUREMENT CARDINALITY",
    "SHOW MEASUREMENT EXACT CARDINALITY WHERE host = 'a'",
    "SHOW MEASUREMENT CARDINALITY FROM /^c/",
    "SHOW TAG KEY CARDINALITY",
    "SHOW TAG KEY EXACT CARDINALITY FROM weird",
    'SHOW TAG VALUES CARDINALITY WITH KEY = "host"',
    "SHOW TAG VALUES EXACT CARDINALITY FROM cpu WITH KEY IN (\"host\", \"region\") WHERE region = 'east'",
    "SHOW FIELD KEY CARDINALITY",
    'SHOW FIELD KEY EXACT CARDINALITY FROM "disk io"',
    "SHOW FIELD KEY CARDINALITY WHERE host = 'b'",
    "SHOW TAG KEY CARDINALITY LIMIT 1",
    "SHOW TAG KEY CARDINALITY OFFSET 1",
    "SHOW TAG KEY CARDINALITY WHERE time > 0",
    "SHOW FIELD KEY CARDINALITY WHERE time > 0",
    "SHOW MEASUREMENT CARDINALITY LIMIT 1",
    "SHOW MEASUREMENT CARDINALITY OFFSET 0",
    "SHOW TAG VALUES WITH KEY = \"host\" WHERE 1 = 1",
    "SHOW SERIES WHERE false",
    "SHOW TAG KEYS WHERE (true) AND host = 'a'",
    "SELECT * FROM old WHERE src = 's0' LIMIT 5",
    "SELECT mean(v), count(v) FROM old WHERE time >= '1969-12-29T00:00:00Z' AND time < '1970-01-01T00:00:00Z' GROUP BY time(1d)",
    "SELECT mean(v) FROM old WHERE time >= -259200s AND time < -100000s GROUP BY time(7h), src",
    "SELECT max(big), min(big), mean(big) FROM old",
    "SELECT sum(big) FROM old GROUP BY src",
    "SELECT last(v) FROM old WHERE time < 0",
    f"SELECT count(usage_user) FROM cpu WHERE {W} GROUP BY time(1w)",
    f"SELECT count(usage_user) FROM cpu WHERE {W} GROUP BY time(1d, -1h)",
    f"SELECT non_negative_difference(rx) FROM net WHERE {W} LIMIT 40",
    f"SELECT cumulative_sum(procs) FROM cpu WHERE host = 'a' AND {W} LIMIT 5",
    f"SELECT moving_average(usage_user, 3) FROM cpu WHERE host = 'a' AND {W} LIMIT 5",
    f"SELECT moving_average(mean(usage_user), 2) FROM cpu WHERE {W} GROUP BY time(10m)",
    f"SELECT cumulative_sum(count(usage_user)) FROM cpu WHERE host = 'c' AND {W} GROUP BY time(10m)",
    f"SELECT non_negative_difference(max(rx)) FROM net WHERE {W} GROUP BY time(5m)",
    f"SELECT cumulative_sum(usage_user) FROM cpu WHERE host = 'b' AND {W} ORDER BY time DESC LIMIT 3",
    f"SELECT mean(usage_user) FROM cpu WHERE {W} GROUP BY time(10m) LIMIT 2 SLIMIT 1",
    # mode (inputs without ties: see KNOWN), integral, elapsed
    f"SELECT mode(usage_user) FROM cpu WHERE {W} GROUP BY host",
    f"SELECT mode(ok) FROM mem WHERE {W} GROUP BY time(20m), host",
    f"SELECT mode(ok), mean(used) FROM mem WHERE {W} GROUP BY host",
    f"SELECT integral(usage_user) FROM cpu WHERE host = 'a' AND {W}",
    f"SELECT integral(usage_user, 1m) FROM cpu WHERE host = 'b' AND {W} GROUP BY time(10m)",
    f"SELECT integral(value) FROM temp WHERE {W} GROUP BY time(7m)",
    f"SELECT integral(usage_user, 1h) FROM cpu WHERE host = 'c' AND {W} GROUP BY time(5m)",
    f"SELECT integral(usage_user, 1h) FROM cpu WHERE host = 'c' AND {W} GROUP BY time(20m, 7m) fill(0)",
    f"SELECT integral(tx, 1m) FROM net WHERE {W} GROUP BY time(13m)",
    f"SELECT integral(value) FROM temp WHERE time >= {T0}s AND time <= {T0 + 37 * 20}s GROUP BY time(37s)",
    f"SELECT elapsed(usage_user) FROM cpu WHERE host = 'a' AND {W} LIMIT 3",
    f"SELECT elapsed(value, 1s) FROM temp WHERE {W} LIMIT 5",
    f"SELECT elapsed(ok, 1m) FROM mem WHERE host = 'a' AND {W} LIMIT 4",
    f"SELECT elapsed(usage_user, 1m) FROM cpu WHERE host = 'c' AND {W} ORDER BY time DESC LIMIT 3",
    f"SELECT elapsed(mean(usage_user), 1m) FROM cpu WHERE {W} GROUP BY time(10m)",
    # fill() of a selector's auxiliary fields; fill(previous) under ORDER BY time DESC
    f"SELECT max(usage_user), host, usage_system FROM cpu WHERE host = 'c' AND time >= {T0 + 900}s AND time < {T0 + 1700}s GROUP BY time(5m) fill(previous)",
    f"SELECT max(usage_user), host, usage_system FROM cpu WHERE host = 'c' AND time >= {T0 + 900}s AND time < {T0 + 1700}s GROUP BY time(5m) fill(0)",
    f"SELECT max(usage_user), host, usage_system FROM cpu WHERE host = 'c' AND time >= {T0 + 900}s AND time < {T0 + 1700}s GROUP BY time(5m) fill(linear)",
    f"SELECT max(usage_user), host, usage_system FROM cpu WHERE host = 'c' AND time >= {T0 + 900}s AND time < {T0 + 1700}s GROUP BY time(5m) fill(previous) ORDER BY time DESC",
    f"SELECT mean(usage_user) FROM cpu WHERE host = 'c' AND time >= {T0 + 900}s AND time < {T0 + 1700}s GROUP BY time(5m) fill(previous) ORDER BY time DESC",
    f"SELECT first(usage_user), usage_system FROM cpu WHERE time >= {T0 + 900}s AND time < {T0 + 1700}s GROUP BY time(5m), host fill(previous) ORDER BY time DESC",
    f"SELECT derivative(mean(usage_user)) FROM cpu WHERE host = 'c' AND time >= {T0 + 900}s AND time < {T0 + 1700}s GROUP BY time(5m) fill(previous) ORDER BY time DESC",
    # top, bottom, distinct: several rows per window; ties (36.5, 116) go to the earliest
    f"SELECT top(usage_user, 3) FROM cpu WHERE {W}",
    f"SELECT top(usage_user, 3), host, usage_system FROM cpu WHERE {W}",
    f"SELECT top(usage_user, 2) FROM cpu WHERE {W} GROUP BY time(20m)",
    f"SELECT top(usage_user, 2), usage_system, region FROM cpu WHERE {W} GROUP BY time(30m)",
    f"SELECT top(usage_user, 2) FROM cpu WHERE {W} GROUP BY host",
    f"SELECT top(usage_user, host, 2) FROM cpu WHERE {W}",
    f"SELECT top(usage_user, host, 2), region FROM cpu WHERE {W} GROUP BY time(30m)",
    f"SELECT top(usage_user, host, region, 5) FROM cpu WHERE {W}",
    f"SELECT top(procs, 3), host FROM cpu WHERE {W} GROUP BY region",
    f"SELECT top(procs, host, 2), usage_system FROM cpu WHERE {W} AND procs > 110 GROUP BY time(25m, 7m)",
    f"SELECT top(usage_user, 2) * 2 FROM cpu WHERE {W}",
    f"SELECT top(usage_user, 2) AS t FROM cpu WHERE {W} GROUP BY time(30m) ORDER BY time DESC",
    f"SELECT top(usage_user, 2) FROM cpu, mem WHERE {W}",
    f"SELECT top(rx, 2) FROM net WHERE {W} GROUP BY time(10m)",
    "SELECT top(value, 3) FROM temp",
    "SELECT top(v, 2), big FROM old",
    f"SELECT bottom(procs, 4) FROM cpu WHERE {W}",
    f"SELECT bottom(usage_user, host, 5) FROM cpu WHERE {W}",
    f"SELECT bottom(usage_user, 2) FROM cpu WHERE {W} AND usage_system > 7",
    f"SELECT bottom(usage_user, 3) FROM cpu WHERE {W} GROUP BY time(20m), host fill(none)",
    f"SELECT bottom(free, 2), host, used FROM mem WHERE {W} GROUP BY time(20m) fill(previous)",
    "SELECT bottom(big, src, 2) FROM old",
    f"SELECT top(usage_user, 2) FROM cpu WHERE {W} LIMIT 1",
    f"SELECT top(usage_user, 0) FROM cpu WHERE {W}",
    f"SELECT top(usage_user, 2), mean(usage_user) FROM cpu WHERE {W}",
    f"SELECT distinct(procs) FROM cpu WHERE {W}",
    f"SELECT distinct(procs) FROM cpu WHERE {W} GROUP BY time(20m)",
    f"SELECT distinct(procs) FROM cpu WHERE host = 'c' AND time >= {T0 + 900}s AND time < {T0 + 1700}s GROUP BY time(5m) ORDER BY time DESC",
    f"SELECT distinct(usage_system) FROM cpu WHERE {W} GROUP BY time(15m), region",
    f"SELECT distinct(ok) FROM mem WHERE {W}",
    f"SELECT distinct(procs) FROM cpu WHERE {W} LIMIT 3 OFFSET 2",
    f"SELECT distinct(procs) FROM cpu WHERE time < {T0 + 30}s",
    "SELECT distinct(v) FROM old GROUP BY src",
    f"SELECT distinct(usage_user), mean(procs) FROM cpu WHERE {W}",
    f"SELECT count(distinct(procs)) FROM cpu WHERE {W} GROUP BY host",
    f"SELECT count(distinct(procs)) FROM cpu WHERE host = 'c' AND time >= {T0 + 900}s AND time < {T0 + 1700}s GROUP BY time(5m)",
    f"SELECT count(distinct(procs)), mean(procs) FROM cpu WHERE {W}",
    # subqueries
    f"SELECT sum(m) FROM (SELECT mean(usage_user) AS m FROM cpu WHERE {W} GROUP BY time(10m), host) WHERE {W} GROUP BY time(10m)",
    f"SELECT mean(m) FROM (SELECT max(usage_user) AS m FROM cpu GROUP BY time(10m), host) WHERE {W} GROUP BY time(30m), host",
    f"SELECT sum(r) FROM (SELECT non_negative_derivative(max(rx), 1s) AS r FROM net WHERE {W} GROUP BY time(5m), host) WHERE {W} GROUP BY time(5m)",
    f"SELECT max(mean) FROM (SELECT mean(usage_user) FROM cpu WHERE {W} GROUP BY host)",
    f"SELECT * FROM (SELECT mean(usage_user), max(procs) FROM cpu WHERE {W} GROUP BY time(20m), host) WHERE {W}",
    f"SELECT mean FROM (SELECT mean(usage_user) FROM cpu WHERE {W} GROUP BY time(20m), host) WHERE host = 'a' AND {W}",
    f"SELECT count(usage_user) FROM (SELECT usage_user FROM cpu WHERE {W}) WHERE usage_user > 30",
    f"SELECT max(usage_user), min(usage_user) FROM (SELECT usage_user FROM cpu WHERE {W})",
    f"SELECT mean(usage_user) FROM (SELECT usage_user FROM cpu WHERE {W} GROUP BY host) WHERE {W} GROUP BY host",
    f"SELECT count(d) FROM (SELECT distinct(procs) AS d FROM cpu WHERE {W} GROUP BY time(20m))",
    f"SELECT count(t) FROM (SELECT top(usage_user, 5) AS t FROM cpu WHERE {W} GROUP BY time(20m))",
    f"SELECT max(s) FROM (SELECT sum(m) AS s FROM (SELECT mean(usage_user) AS m FROM cpu WHERE {W} GROUP BY time(10m), host) WHERE {W} GROUP BY time(10m))",
    f"SELECT derivative(s, 1m) FROM (SELECT sum(usage_user) AS s FROM cpu WHERE {W} GROUP BY time(10m)) WHERE {W}",
    f"SELECT derivative(mean(s), 1m) FROM (SELECT sum(usage_user) AS s FROM cpu WHERE {W} GROUP BY time(10m), host) WHERE {W} GROUP BY time(20m)",
    f"SELECT last(m) FROM (SELECT max(usage_user) AS m FROM cpu, mem WHERE {W} GROUP BY time(30m))",
    f"SELECT m FROM (SELECT max(usage_user) AS m FROM cpu WHERE {W} GROUP BY time(30m)) WHERE m > 36",
    f"SELECT mean(m) FROM (SELECT max(usage_user) AS m FROM cpu WHERE {W} GROUP BY time(30m), host) GROUP BY host",
    f"SELECT count(m) FROM (SELECT max(usage_user) AS m FROM cpu WHERE {W} GROUP BY time(10m), host fill(none)) WHERE {W} GROUP BY time(30m)",
    f"SELECT mean(m) FROM (SELECT mean(usage_user) AS m FROM cpu WHERE {W} GROUP BY time(10m), host) WHERE {W} GROUP BY time(10m) fill(0) LIMIT 3",
    f"SELECT max(m) FROM (SELECT mean(usage_user) AS m FROM cpu WHERE {W} GROUP BY time(10m), host) WHERE {W} GROUP BY time(30m) ORDER BY time DESC",
    f"SELECT mean(used) FROM (SELECT used, free FROM mem WHERE {W}) WHERE free > 3000 AND {W} GROUP BY time(20m)",
    # the inner query as InfluxDB rewrites it: outer GROUP BY tags and interval, fill(none)
    f"SELECT mean(c) FROM (SELECT count(usage_user) AS c FROM cpu WHERE host = 'c' AND {W} GROUP BY time(5m)) WHERE {W} GROUP BY time(30m)",
    f"SELECT c FROM (SELECT count(usage_user) AS c FROM cpu WHERE host = 'c' AND {W} GROUP BY time(5m) fill(null)) WHERE {W}",
    f"SELECT count(c) FROM (SELECT count(usage_user) AS c FROM cpu WHERE host = 'c' AND {W} GROUP BY time(5m) fill(3)) WHERE {W} GROUP BY time(30m)",
    f"SELECT max(m) FROM (SELECT mean(usage_user) AS m FROM cpu WHERE {W}) WHERE {W} GROUP BY host",
    f"SELECT max(m) FROM (SELECT mean(usage_user) AS m FROM cpu WHERE {W}) WHERE {W} GROUP BY time(20m)",
    f"SELECT max(m) FROM (SELECT mean(usage_user) AS m FROM cpu WHERE {W} GROUP BY region) WHERE {W} GROUP BY host",
    f"SELECT m FROM (SELECT mean(usage_user) AS m FROM cpu WHERE {W}) WHERE {W} GROUP BY host",
    f"SELECT sum(m) FROM (SELECT mean(usage_user) AS m FROM cpu GROUP BY host) WHERE {W} GROUP BY time(15m)",
    f"SELECT top(v, 2) FROM fut WHERE time >= {T0}s GROUP BY time(1h)",
    f"SELECT distinct(v) FROM fut WHERE time >= {T0}s GROUP BY time(1h)",
    "SELECT top(v, 2) FROM fut",
    "SELECT distinct(v) FROM zz",
    "SELECT count(distinct(v)) FROM zz",
    # tz(): windows on a zone's wall clock (23- and 25-hour days), times in
    # WHERE without an offset read on it, times printed with its offset.
    "SELECT count(v), mean(v) FROM dst WHERE time >= '2023-03-24' AND time < '2023-03-29' GROUP BY time(1d) tz('Europe/Berlin')",
    "SELECT count(v), max(n) FROM dst WHERE time >= '2023-10-27' AND time < '2023-11-01' GROUP BY time(1d), site fill(0) tz('Europe/Berlin')",
    "SELECT sum(n) FROM dst WHERE time >= '2023-03-11' AND time < '2023-03-14' GROUP BY time(1d) tz('America/New_York')",
    "SELECT max(v) FROM dst WHERE site = 'b' AND time >= '2023-11-04' AND time < '2023-11-07' GROUP BY time(12h) fill(previous) tz('America/New_York')",
    "SELECT count(v) FROM dst WHERE time >= '2023-10-28T20:00:00Z' AND time < '2023-10-29T06:00:00Z' GROUP BY time(2h) tz('Europe/Berlin')",
    "SELECT count(v) FROM dst WHERE site = 'b' AND time >= '2023-10-28T22:00:00Z' AND time < '2023-10-29T06:00:00Z' GROUP BY time(30m) tz('Europe/Berlin')",
    "SELECT count(v) FROM dst WHERE time >= '2023-03-25T20:00:00Z' AND time < '2023-03-26T06:00:00Z' GROUP BY time(90m) tz('Europe/Berlin')",
    "SELECT count(v) FROM dst WHERE time >= '2023-03-24T00:00:00Z' AND time < '2023-03-29T00:00:00Z' GROUP BY time(1d, 3h) tz('Europe/Berlin')",
    "SELECT count(v) FROM dst WHERE time >= '2023-03-24T00:00:00Z' AND time < '2023-03-29T00:00:00Z' GROUP BY time(1d, -22h30m) tz('Europe/Berlin')",
    "SELECT count(v) FROM dst WHERE time >= '2023-10-27T00:00:00Z' AND time < '2023-10-31T00:00:00Z' GROUP BY time(1d, 90m) tz('Europe/Berlin')",
    "SELECT mean(v) FROM dst WHERE time >= '2023-03-26 00:00:00' AND time < '2023-03-26 12:00:00' GROUP BY time(1h) tz('Asia/Kolkata')",
    "SELECT count(v) FROM dst WHERE time >= '2023-09-30T10:00:00Z' AND time < '2023-09-30T20:00:00Z' GROUP BY time(1h) tz('Australia/Lord_Howe')",
    "SELECT count(v) FROM dst WHERE time >= '2023-09-29' AND time < '2023-10-03' GROUP BY time(1d) tz('Australia/Lord_Howe')",
    "SELECT v FROM dst WHERE site = 'a' AND time >= '2023-03-26 01:30:00' AND time < '2023-03-26 04:00:00' tz('Europe/Berlin')",
    "SELECT v FROM dst WHERE site = 'a' AND time >= '2023-10-29 02:00:00' AND time <= '2023-10-29 03:00:00' tz('Europe/Berlin')",
    "SELECT last(v) FROM dst tz('Europe/London')",
    "SELECT count(v) FROM dst WHERE time >= '2023-03-24' AND time < '2023-03-29' tz('Europe/Berlin')",
    "SELECT difference(mean(v)) FROM dst WHERE time >= '2023-10-27' AND time < '2023-11-01' GROUP BY time(1d) tz('Europe/Berlin')",
    "SELECT median(v), spread(v) FROM dst WHERE time >= '2023-10-27' AND time < '2023-11-01' GROUP BY time(1d) fill(none) tz('Europe/Berlin')",
    "SELECT top(v, 2) FROM dst WHERE time >= '2023-10-28' AND time < '2023-10-31' GROUP BY time(1d) tz('Europe/Berlin')",
    "SELECT count(v) FROM dst WHERE time >= '2023-10-28' AND time < '2023-10-31' GROUP BY time(1d) ORDER BY time DESC tz('Europe/Berlin')",
    "SELECT max(m) FROM (SELECT mean(v) AS m FROM dst WHERE time >= '2023-10-28' AND time < '2023-10-31' GROUP BY time(1h)) WHERE time >= '2023-10-28' AND time < '2023-10-31' GROUP BY time(1d) tz('Europe/Berlin')",
    "SELECT count(v) FROM dst WHERE time >= '2023-10-28' AND time < '2023-10-31' GROUP BY time(1d) tz('UTC')",
    "SELECT cumulative_sum(count(v)) FROM dst WHERE time >= '2023-03-10' AND time < '2023-03-14' GROUP BY time(1d) tz('America/New_York')",
    # cumulative_sum reads only the range asked (its first window holds the
    # points from the range's start on), unlike derivative and difference
    "SELECT cumulative_sum(count(v)) FROM dst WHERE time >= '2023-03-10T05:00:00Z' AND time < '2023-03-14' GROUP BY time(1d)",
    "SELECT difference(count(v)) FROM dst WHERE time >= '2023-03-10T05:00:00Z' AND time < '2023-03-14' GROUP BY time(1d)",
    # fill(linear) interpolates on window numbers, integers truncated
    "SELECT max(n) FROM dst WHERE time >= '2023-10-20' AND time < '2023-11-06' GROUP BY time(1d) fill(linear) tz('Europe/Berlin')",
    "SELECT max(n), mean(n) FROM dst WHERE time >= '2023-10-29' AND time < '2023-11-04' GROUP BY time(7h) fill(linear)",
    f"SELECT sum(used) FROM mem WHERE {W} GROUP BY time(17s) fill(linear)",
    "SELECT mean(v) FROM old WHERE time >= '1969-12-29T00:00:00Z' AND time < '1969-12-30T00:00:00Z' GROUP BY time(25m, 7m) fill(linear)",
    # /regex/ for fields: raw (fields and tags not grouped by), in
    # aggregates (mean_<field>), inside a transform's aggregate
    f"SELECT /usage/ FROM cpu WHERE host = 'a' AND {W} LIMIT 2",
    f"SELECT /o/ FROM cpu WHERE host = 'a' AND {W} LIMIT 2",
    f"SELECT /o/ FROM cpu WHERE {W} GROUP BY host LIMIT 1",
    f"SELECT /usage_u/, procs FROM cpu WHERE host = 'a' AND {W} LIMIT 2",
    f"SELECT /usage/ FROM cpu, mem WHERE host = 'a' AND {W} LIMIT 1",
    f"SELECT mean(/usage/) FROM cpu WHERE host = 'a' AND {W}",
    f"SELECT max(/usage/), min(/usage/) FROM cpu WHERE {W} GROUP BY host",
    f"SELECT mean(/usage/) AS m FROM cpu WHERE {W}",
    f"SELECT mean(/o/) FROM cpu WHERE host = 'a' AND {W}",
    f"SELECT count(/./) FROM mem WHERE {W}",
    f"SELECT mean(/e/) FROM mem, net WHERE {W}",
    f"SELECT median(/usage/), spread(/usage/) FROM cpu WHERE {W} GROUP BY time(20m) fill(none)",
    f"SELECT derivative(mean(/usage/)) FROM cpu WHERE {W} GROUP BY time(5m)",
    f"SELECT derivative(mean(*)) FROM cpu WHERE {W} GROUP BY time(5m)",
    f"SELECT non_negative_difference(max(/x/)) AS d FROM net WHERE {W} GROUP BY time(10m)",
    f"SELECT moving_average(mean(/usage/), 2) FROM cpu WHERE {W} GROUP BY time(10m)",
    "SELECT /nomatch/ FROM cpu",
    "SELECT mean(/nomatch/) FROM cpu",
    # math functions on fields, aggregates and transforms
    f"SELECT abs(usage_user), floor(usage_user), ceil(usage_user), round(usage_user) FROM cpu WHERE host = 'a' AND {W} LIMIT 3",
    f"SELECT sqrt(usage_user), ln(usage_user), log(usage_user, 10), log2(usage_user), log10(usage_user), pow(usage_user, 2), exp(procs / 10) FROM cpu WHERE host = 'a' AND {W} LIMIT 3",
    f"SELECT sin(usage_user), cos(usage_user), tan(usage_user), asin(usage_user / 100), acos(usage_user / 100), atan(usage_user), atan2(usage_user, procs) FROM cpu WHERE host = 'a' AND {W} LIMIT 3",
    "SELECT abs(value), round(value), floor(value), ceil(value), sqrt(value), ln(value) FROM temp LIMIT 8",
    "SELECT abs(v), round(big), floor(big) FROM old LIMIT 3",
    f"SELECT round(mean(usage_user)) FROM cpu WHERE {W} GROUP BY time(20m)",
    f"SELECT round(derivative(mean(usage_user))) FROM cpu WHERE {W} GROUP BY time(10m)",
    f"SELECT abs(usage_user) * 2 + 1 FROM cpu WHERE host = 'a' AND {W} LIMIT 2",
    f"SELECT round(max(usage_user)), host FROM cpu WHERE {W}",
    "SELECT round(ok) FROM mem LIMIT 2",
    "SELECT abs(usage_user, 2) FROM cpu",
    # * and /regex/ at the end of any chain of first arguments; math beside
    # a selector, beside top(), in WHERE
    f"SELECT derivative(*) FROM mem WHERE host = 'a' AND {W} LIMIT 3",
    f"SELECT cumulative_sum(*) FROM mem WHERE host = 'a' AND {W} LIMIT 3",
    f"SELECT elapsed(*) FROM mem WHERE host = 'a' AND {W} LIMIT 3",
    f"SELECT abs(*) FROM mem WHERE host = 'a' AND {W} LIMIT 2",
    f"SELECT abs(*) AS a FROM mem WHERE host = 'b' AND {W} LIMIT 2",
    f"SELECT min(*), max(*) FROM mem WHERE {W}",
    f"SELECT abs(mean(/usage/)) FROM cpu WHERE {W}",
    f"SELECT cumulative_sum(/usage/) FROM cpu WHERE host = 'a' AND {W} LIMIT 2",
    f"SELECT * + 1 FROM cpu WHERE host = 'a' AND {W} LIMIT 2",
    f"SELECT max(usage_user), host, abs(procs) FROM cpu WHERE {W}",
    f"SELECT max(usage_user), procs * 2 FROM cpu WHERE {W}",
    f"SELECT abs(top(usage_user, 3)) FROM cpu WHERE {W}",
    f"SELECT top(usage_user, 3), abs(procs) FROM cpu WHERE {W}",
    f"SELECT usage_user FROM cpu WHERE abs(usage_user) > 30 AND {W} LIMIT 2",
    f"SELECT usage_user FROM cpu WHERE round(usage_system) = 8 AND host = 'a' AND {W} LIMIT 2",
    # type casts: numbers convert (floats truncate), anything else is null
    f"SELECT usage_user::integer, usage_user::float, procs::float, procs::unsigned, usage_user::string FROM cpu WHERE host = 'a' AND {W} LIMIT 3",
    f"SELECT used::float, free::integer, ok::boolean, ok::integer, ok::float FROM mem WHERE host = 'b' AND {W} LIMIT 3",
    "SELECT v::integer, v::unsigned, big::float, big::unsigned FROM old LIMIT 6",
    f"SELECT mean(usage_user::integer), sum(procs::float), max(usage_system::integer) FROM cpu WHERE {W} GROUP BY time(20m), host",
    f"SELECT mean(usage_user::float), max(procs::integer) FROM cpu WHERE {W} GROUP BY time(30m)",
    f"SELECT count(ok::integer), count(used::string), count(free::integer) FROM mem WHERE {W}",
    f"SELECT max(ok::integer) FROM mem WHERE {W}",
    f"SELECT median(usage_user::integer), mode(usage_system::integer), spread(procs::float), stddev(usage_user::integer), percentile(usage_user::integer, 90) FROM cpu WHERE {W}",
    f"SELECT max(usage_user::integer), host FROM cpu WHERE {W}",
    f"SELECT top(usage_user::integer, 3) FROM cpu WHERE {W}",
    f"SELECT distinct(usage_system::integer) FROM cpu WHERE {W}",
    f"SELECT count(distinct(usage_user::integer)) FROM cpu WHERE {W} GROUP BY host",
    f"SELECT derivative(usage_user::integer), difference(procs::float) FROM cpu WHERE host = 'a' AND {W} LIMIT 3",
    f"SELECT usage_user::integer * 2 + procs::float / 4 FROM cpu WHERE host = 'b' AND {W} LIMIT 2",
    f"SELECT usage_user FROM cpu WHERE usage_user::integer = 25 AND {W}",
    f"SELECT used FROM mem WHERE (ok::integer = 1 OR ok::boolean = false) AND {W} LIMIT 2",
    f"SELECT x::integer FROM (SELECT usage_user AS x FROM cpu WHERE host = 'a' AND {W}) LIMIT 2",
    "SELECT host::integer FROM cpu LIMIT 1",
    # a cast the stored type cannot take reads nothing: no row, count null
    f"SELECT ok::integer FROM mem WHERE {W} LIMIT 2",
    f"SELECT ok::float, host FROM mem WHERE {W} LIMIT 2",
    f"SELECT used::string, free FROM mem WHERE host = 'a' AND {W} LIMIT 2",
    f"SELECT count(ok::integer), count(used) FROM mem WHERE {W} GROUP BY time(20m)",
    f"SELECT count(ok::integer), count(used) FROM mem WHERE {W} GROUP BY time(20m) fill(0)",
    f"SELECT max(ok::integer), used FROM mem WHERE {W}",
    f"SELECT top(usage_user::boolean, 2) FROM cpu WHERE {W}",
    f"SELECT sum(x::float) FROM (SELECT count(used) AS x FROM mem WHERE {W} GROUP BY time(7m) fill(0.5))",
    "SELECT usage_user::foo FROM cpu",
    # technical analysis: each function over raw values and over windows
    # (where the window before the range is read and reported), warm-up
    # types, hold periods, fill, DESC, and InfluxDB's argument errors
    *[f"SELECT {f}(usage_user, 4) FROM cpu WHERE host = 'a' AND {W} LIMIT 12" for f in TA],
    *[f"SELECT {f}(mean(usage_user), 3) FROM cpu WHERE time >= {T0 + 300}s AND time < {T1}s GROUP BY time(5m), host" for f in TA],
    f"SELECT exponential_moving_average(procs, 5, 2, 'simple') FROM cpu WHERE host = 'b' AND {W} LIMIT 8",
    f"SELECT double_exponential_moving_average(usage_user, 3, -1, 'simple') FROM cpu WHERE host = 'c' AND {W} LIMIT 8",
    f"SELECT triple_exponential_moving_average(usage_user, 3, 0, 'simple') FROM cpu WHERE host = 'c' AND {W} LIMIT 8",
    f"SELECT triple_exponential_derivative(usage_system, 2, 4, 'simple') FROM cpu WHERE host = 'a' AND {W} LIMIT 8",
    f"SELECT relative_strength_index(usage_system, 6, 2, 'simple') FROM cpu WHERE host = 'b' AND {W} LIMIT 8",
    f"SELECT chande_momentum_oscillator(usage_system, 3, -1, 'exponential') FROM cpu WHERE host = 'a' AND {W} LIMIT 8",
    f"SELECT chande_momentum_oscillator(procs, 4, 0, 'none') FROM cpu WHERE host = 'a' AND {W} LIMIT 8",
    f"SELECT kaufmans_adaptive_moving_average(procs, 3, 0) AS k FROM cpu WHERE host = 'b' AND {W} LIMIT 8",
    f"SELECT relative_strength_index(count(used), 2) FROM mem WHERE time >= {T0 + 600}s AND time < {T1}s GROUP BY time(7m)",
    f"SELECT exponential_moving_average(max(used), 2) FROM mem WHERE {W} GROUP BY time(4m) fill(0)",
    f"SELECT exponential_moving_average(usage_user, 3) FROM cpu WHERE host = 'a' AND {W} ORDER BY time DESC LIMIT 5",
    f"SELECT round(kaufmans_efficiency_ratio(usage_user, 5) * 100) FROM cpu WHERE host = 'b' AND {W} LIMIT 5",
    "SELECT exponential_moving_average(usage_user) FROM cpu",
    "SELECT kaufmans_efficiency_ratio(usage_user, 2, 1, 'simple') FROM cpu",
    "SELECT relative_strength_index(usage_user, 0) FROM cpu",
    "SELECT relative_strength_index(usage_user, 2.5) FROM cpu",
    "SELECT triple_exponential_derivative(usage_user, 2, 0) FROM cpu",
    "SELECT double_exponential_moving_average(usage_user, 2, -2) FROM cpu",
    "SELECT exponential_moving_average(usage_user, 2, 1, 'none') FROM cpu",
    "SELECT chande_momentum_oscillator(usage_user, 2, 1, 'bogus') FROM cpu",
    "SELECT exponential_moving_average(usage_user, 2, 1, 3) FROM cpu",
    "SELECT exponential_moving_average(1, 2) FROM cpu",
    # a transform of an aggregate needs GROUP BY time
    "SELECT exponential_moving_average(mean(usage_user), 2) FROM cpu",
    "SELECT derivative(mean(usage_user)) FROM cpu",
    "SELECT derivative(derivative(usage_user)) FROM cpu",
    f"SELECT exponential_moving_average(difference(procs), 2) FROM cpu WHERE host = 'a' AND {W}",
    # an aggregate beside a transform: over the range asked (not the window
    # the transform reads before it), and its rows stand where the
    # transform has no value (which takes fill's number there)
    f"SELECT derivative(mean(usage_user)), count(usage_user), mean(usage_user) FROM cpu WHERE time >= {T0 + 125}s AND {W} GROUP BY time(5m)",
    f"SELECT non_negative_derivative(max(usage_user), 1s), max(usage_user) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(5m)",
    f"SELECT non_negative_derivative(max(usage_user), 1s), max(usage_user) FROM cpu WHERE host = 'a' AND {W} GROUP BY time(5m) fill(0)",
    f"SELECT difference(max(procs)), max(procs) FROM cpu WHERE time >= {T0 + 125}s AND {W} GROUP BY time(4m), host fill(3)",
    f"SELECT derivative(usage_user), usage_user FROM cpu WHERE host = 'a' AND {W} LIMIT 2",
    f"SELECT derivative(usage_user), host FROM cpu WHERE host = 'a' AND {W} LIMIT 2",
    # a field or tag beside aggregates: only along one selector (arithmetic
    # on it included); otherwise InfluxDB's refusals
    f"SELECT mean(usage_user), host FROM cpu WHERE {W}",
    f"SELECT mean(usage_user), host FROM cpu WHERE {W} GROUP BY host",
    f"SELECT count(procs) + 1, host FROM cpu WHERE {W}",
    f"SELECT derivative(mean(usage_user)), host FROM cpu WHERE {W} GROUP BY time(10m)",
    f"SELECT max(usage_user) * 2, host, procs FROM cpu WHERE {W}",
    f"SELECT abs(min(usage_user)) + 1, region FROM cpu WHERE {W} GROUP BY time(20m)",
    f"SELECT max(usage_user) - min(usage_user), host FROM cpu WHERE {W}",
    f"SELECT mean(used), ok::integer FROM mem WHERE {W}",
    # the window before the range: reported by the technical-analysis
    # functions only, the other columns null (or the fill number) there
    f"SELECT exponential_moving_average(mean(usage_user), 2), count(usage_user) FROM cpu WHERE time >= {T0 + 400}s AND {W} GROUP BY time(5m)",
    f"SELECT exponential_moving_average(mean(usage_user), 2), count(usage_user), max(procs) FROM cpu WHERE time >= {T0 + 400}s AND {W} GROUP BY time(5m) fill(1)",
    f"SELECT relative_strength_index(mean(usage_user), 2), derivative(mean(usage_user)) FROM cpu WHERE time >= {T0 + 400}s AND {W} GROUP BY time(5m)",
    "SELECT cumulative_sum(max(procs)) FROM cpu",
    # *::field and *::tag
    f"SELECT *::field FROM cpu WHERE host = 'a' AND {W} LIMIT 2",
    f"SELECT *::tag, usage_user FROM cpu WHERE {W} LIMIT 2",
    f"SELECT *::tag FROM cpu WHERE {W} LIMIT 2",
    f"SELECT *::field FROM cpu, mem WHERE host = 'b' AND {W} LIMIT 2",
    f"SELECT mean(*::field) FROM mem WHERE {W} GROUP BY time(20m)",
    f"SELECT *::field FROM cpu WHERE {W} GROUP BY host LIMIT 1",
    "SELECT mean(*::tag) FROM cpu",
    # sample(): random picks, so asked here for at least every point of a
    # window (all of them, in time order); the draw itself is unit-tested
    f"SELECT sample(usage_user, 1000) FROM cpu WHERE host = 'a' AND {W}",
    f"SELECT sample(usage_user, 6), host, procs FROM cpu WHERE {W} GROUP BY time(1m), host",
    f"SELECT sample(ok, 1000) FROM mem WHERE host = 'b' AND {W}",
    f"SELECT sample(usage_user::integer, 400) * 2 FROM cpu WHERE host = 'c' AND {W} LIMIT 5",
    f"SELECT sample(used, 500) FROM mem WHERE host = 'a' AND {W} ORDER BY time DESC LIMIT 4",
    "SELECT sample(used, 0) FROM mem",
    "SELECT sample(used) FROM mem",
    "SELECT sample(used, 2.5) FROM mem",
    f"SELECT sample(mean(used), 2) FROM mem WHERE {W} GROUP BY time(1m)",
    # rows holding only the condition's fields open no window
    "SELECT max(a) FROM part WHERE b > 3",
    "SELECT max(a), count(b) FROM part WHERE b > 3",
    "SELECT max(a), b FROM part WHERE b > 3",
    f"SELECT max(a) FROM part WHERE b > 4 AND {W} GROUP BY time(1m)",
    f"SELECT max(a) FROM part WHERE b > 2 AND {W} GROUP BY time(1m)",
]

# SELECT ... INTO (sent by POST, after everything else), the query reading
# back what it wrote, and the database it wrote to.
INTOS = [
    (f"SELECT mean(usage_user) INTO cpu_10m FROM cpu WHERE {W} GROUP BY time(10m), host",
     "SELECT * FROM cpu_10m", DB),
    (f"SELECT max(usage_user) AS m, min(procs) INTO diff.autogen.cpu_30m FROM cpu WHERE {W} GROUP BY time(30m)",
     "SELECT * FROM cpu_30m", DB),
    (f"SELECT max(usage_user), last(ok) INTO diffw..:MEASUREMENT FROM cpu, mem WHERE time >= {T0 + 3000}s AND {W} GROUP BY time(30m), host",
     "SELECT * FROM cpu, mem GROUP BY host", "diffw"),
    (f"SELECT sum(m) INTO cpu_sum FROM (SELECT max(usage_user) AS m FROM cpu WHERE {W} GROUP BY time(20m), host) WHERE {W} GROUP BY time(20m)",
     "SELECT * FROM cpu_sum", DB),
    (f"SELECT max(usage_user) INTO nodb..x FROM cpu WHERE {W} GROUP BY time(30m)",
     "SELECT * FROM x", DB),
]

# Differences kept on purpose, with the reason; they must still run without error.
KNOWN = {
    "SHOW DATABASES": "PulsarDB also lists its default database for JSON writes",
    "SHOW CONTINUOUS QUERIES": "the same: one empty list per database, the default one too",
    "SHOW SERIES EXACT CARDINALITY":
        "InfluxDB 1.6 counts a series once per shard holding it (dst, whose points span nine "
        "weeks, has 2 series counted 18 times); PulsarDB counts each series once, as InfluxDB's "
        "own estimate does",
    "SELECT sum(big), max(big), min(big), mean(big) FROM old":
        "a sum of integers beyond 64 bits saturates in PulsarDB; InfluxDB wraps around",
    f"SELECT mode(procs) FROM cpu WHERE {W} GROUP BY host":
        "a tie for the most frequent value: PulsarDB returns the value seen first, as InfluxDB's "
        "documentation says; InfluxDB 1.6 returns whichever its unstable sort leaves ahead",
    f"SELECT integral(usage_user, 1m) FROM cpu WHERE {W} GROUP BY time(10m), host":
        "InfluxDB 1.6 reports the last window of each group after all groups, as extra series",
    f"SELECT integral(rx) FROM net WHERE {W}":
        "without GROUP BY time PulsarDB reports time 0 for integral(), as InfluxDB 1.6 does for "
        "float fields; for integer fields InfluxDB reports the start of the range",
    f"SELECT integral(rx) FROM net WHERE {W} GROUP BY time(13m)":
        "integer fields: past a window's end InfluxDB 1.6 integrates from the interpolated value "
        "instead of the next point's (its IntegerIntegralReducer reuses the variable)",
    f"SELECT mean(m) FROM (SELECT max(usage_user) AS m FROM cpu WHERE {W} GROUP BY time(30m), host) WHERE {W} GROUP BY host":
        "InfluxDB 1.6 answers nothing when an outer aggregate with a time range but no GROUP BY "
        "time reads a subquery grouped by time (without the outer time range it answers); "
        "PulsarDB aggregates the subquery's rows",
    f"SELECT top(m, 2) FROM (SELECT mean(usage_user) AS m FROM cpu WHERE {W} GROUP BY time(10m), host) WHERE {W}":
        "the same InfluxDB 1.6 gap, for a selector",
}
TIES = {q for q in QUERIES if "LIMIT 6" in q or "FROM mem, net WHERE" in q}


def untie(answer):
    """Rows of each series sorted by (time, values): for TIES queries."""
    for res in answer[1].get("results", []):
        for s in res.get("series", []):
            s["values"].sort(key=lambda r: json.dumps(r))
    return answer


# Line-protocol writes to database `diffw`, one request each: (precision,
# body). Status codes are compared (error texts differ), then everything
# stored is read back from both with the queries in WRITE_READS.
WRITES = [
    ("s", "w v=1 1\nw v=2 2\nw v=3 3"),
    ("s", "w v=4 4\nw v=oops 5\nw v=6 6"),  # a bad line: the others written
    ("s", "w v=7i 7"),  # field type conflict
    ("s", "w v=8 8,w2 v=9 9"),  # junk after the timestamp
    ("s", "w v=10 2"),  # overwrites t=2
    ("s", "w v=0.5 1\nw v=0.25 1"),  # the last of a batch wins
    ("ms", "w v=11 9000"),
    ("u", "w v=12 10000000"),
    ("ns", "w v=13 11000000000"),
    ("m", "w v=14 1"),
    ("h", "w v=15 1"),
    ("s", "b x=t,y=T,z=true 1\nb x=F,y=false,z=FALSE 2\nb x=True,y=False,z=f 3"),
    ("s", "esc\\,m,t\\ k=a\\ b\\,c f\\=k=1 1\nesc\\,m,t\\ k=x\\=y f\\=k=2 2"),
    ("s", "i n=9223372036854775807i 1\ni n=-9223372036854775808i 2"),
    ("s", "i n=9223372036854775808i 3"),  # out of range
    ("s", "nan v=NaN 1"),
    ("s", "e,t= v=1 1"),  # empty tag value
    ("s", "d,t=a,t=b v=1 1"),  # duplicate tag key
    ("s", "# a comment\n\nw v=16 16\n"),
    ("s", "w  v=17 17"),  # two spaces
    ("s", "w v=18 18 "),  # trailing space
    ("s", "sort,z=1,a=2 v=1 1"),  # tags sorted into the key
    ("s", "big v=1.7976931348623157e308 1\nbig v=-0.0 2\nbig v=5e-324 3"),
    ("s", "w v=19 -1"),  # before 1970
    ("s", "nofield,t=a 1"),
    ("s", "w v=1e3 20\nw v=.5 21\nw v=-.5e1 22"),
]
# Writes answered differently on purpose: (precision, body) → (PulsarDB's
# status, why).
KNOWN_WRITES = {
    ("s", "w v=23 23\r\n"): (204, "CRLF line endings are accepted; InfluxDB 1.6 rejects the line"),
}
WRITE_READS = [
    "SELECT * FROM w",
    "SELECT * FROM b",
    'SELECT * FROM "esc,m"',
    "SELECT * FROM i",
    "SELECT * FROM sort",
    "SELECT * FROM big",
    "SHOW MEASUREMENTS",
    "SHOW SERIES",
    "SHOW FIELD KEYS",
    "SHOW TAG KEYS",
]


def answer(req):
    """The status and the JSON answer of a request (a URL or a Request)."""
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return [r.status, json.loads(r.read())]
    except urllib.error.HTTPError as e:
        return [e.code, json.loads(e.read() or b"{}")]


def get(url, q, epoch, db=DB):
    params = {"db": db, "q": q}
    if epoch:
        params["epoch"] = epoch
    return answer(f"{url}/query?{urllib.parse.urlencode(params)}")


def post_query(url, q):
    """A statement sent by POST (INTO writes); the status and the answer."""
    data = urllib.parse.urlencode({"db": DB, "q": q, "epoch": "ns"}).encode()
    req = urllib.request.Request(f"{url}/query", data=data, method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    return answer(req)


def create_database(url, name):
    """Creates `name` and waits until the server lists it: InfluxDB answers
    /ping before its meta store takes a CREATE DATABASE."""
    deadline = time.monotonic() + 60
    while True:
        post(url, "/query?" + urllib.parse.urlencode({"q": f"CREATE DATABASE {name}"}), b"")
        _, body = get(url, "SHOW DATABASES", None, name)
        listed = json.dumps(body)
        if f'["{name}"]' in listed:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"{url}: CREATE DATABASE {name} did not take: {listed}")
        time.sleep(0.2)


def post(url, path, body):
    req = urllib.request.Request(f"{url}{path}", data=body, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
            return a == b
        if isinstance(a, str) or isinstance(b, str):
            return False
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


class Tally:
    """Counts answers that agree and prints the ones that differ."""

    def __init__(self, verbose):
        self.ok = self.bad = 0
        self.verbose = verbose

    def compare(self, label, a, b):
        if same(a, b):
            self.ok += 1
            if self.verbose:
                print(f"ok   {label}")
        else:
            self.bad += 1
            print(f"DIFF {label}")
            print(f"  influxdb: {json.dumps(a)[:1500]}")
            print(f"  pulsardb: {json.dumps(b)[:1500]}")

    def fail(self, message):
        self.bad += 1
        print(f"FAIL {message}")


def main():
    influx, pulsar = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/")
    t = Tally("-v" in sys.argv)
    lp = data().encode()
    for url in (influx, pulsar):
        create_database(url, DB)
        st = post(url, f"/write?db={DB}&precision=s", lp)
        assert st == 204, f"write to {url}: {st}"
    print(f"wrote {lp.count(NL)} lines to both servers")
    for q in QUERIES:
        for epoch in ("ns", None, "ms") if q.startswith("SELECT") else ("ns",):
            a = get(influx, q, epoch)
            b = get(pulsar, q, epoch)
            if q in TIES:
                a, b = untie(a), untie(b)
            t.compare(f"[{epoch}] {q}", a, b)
    # Writes: the same status, then the same data.
    for url in (influx, pulsar):
        create_database(url, "diffw")
    for precision, body in WRITES:
        a = post(influx, f"/write?db=diffw&precision={precision}", body.encode())
        b = post(pulsar, f"/write?db=diffw&precision={precision}", body.encode())
        t.compare(f"write [{precision}] {body!r}", a, b)
    for (precision, body), (status, why) in KNOWN_WRITES.items():
        st = post(pulsar, f"/write?db=diffw&precision={precision}", body.encode())
        if st != status:
            t.fail(f"known write difference changed: {body!r}: {st}, expected {status} ({why})")
        # The same point without the difference, so the data compare equal.
        post(influx, f"/write?db=diffw&precision={precision}", body.replace("\r", "").encode())
    for q in WRITE_READS:
        t.compare(f"[diffw] {q}", get(influx, q, "ns", "diffw"), get(pulsar, q, "ns", "diffw"))
    # SELECT ... INTO: the same answer, then the same points where they went.
    for q, readback, db in INTOS:
        t.compare(f"[into] {q}", post_query(influx, q), post_query(pulsar, q))
        t.compare(
            f"[into, read back from {db}] {readback}",
            get(influx, readback, "ns", db),
            get(pulsar, readback, "ns", db),
        )
    for q, why in KNOWN.items():
        s, body = get(pulsar, q, "ns")
        if s != 200 or "error" in json.dumps(body):
            t.fail(f"known difference no longer runs: {q}: {body}")
    known = len(KNOWN) + len(KNOWN_WRITES)
    print(f"influxql differential: {t.ok} agree, {t.bad} differ, {known} known differences")
    sys.exit(1 if t.bad else 0)


if __name__ == "__main__":
    main()
