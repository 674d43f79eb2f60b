"""Drives a running PulsarDB with the InfluxDB Python clients, unchanged.

v1 client (influxdb 5.3.x): ping, create_database, write_points with tags and
int/float/bool fields at precision s and ms, query with GROUP BY time and tags,
get_list_measurements, get_list_database, get_list_users,
get_list_continuous_queries, get_list_series, and a few newer InfluxQL
features (SHOW SERIES CARDINALITY, a cast inside a moving average).
v2 client (influxdb-client 1.50.x): synchronous write_api with Points and raw
line strings to /api/v2/write, ping, health.
Everything written is read back. Exit status 0 when every check passes.
"""
import sys

from checks import Checks
from influxdb import InfluxDBClient
from influxdb_client import InfluxDBClient as V2Client, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

host, port = sys.argv[1], int(sys.argv[2])
check = Checks()


c = InfluxDBClient(host=host, port=port, database="compat")
version = c.ping()
check(version.startswith("1."), f"ping returns a 1.x version: {version!r}")
c.create_database("compat")
check({"name": "compat"} in c.get_list_database(), "create_database / get_list_database")

base = 1_700_000_000
points_s = []
for i in range(10):
    for host_tag, dc in (("a", "x"), ("b", "y")):
        points_s.append({
            "measurement": "cpu",
            "tags": {"host": host_tag, "dc": dc},
            "time": base + i * 30,
            "fields": {"usage": 10.0 + i + (0.5 if host_tag == "b" else 0.0), "procs": 100 + i, "ok": i % 2 == 0},
        })
check(c.write_points(points_s, time_precision="s"), "write_points precision s")
points_ms = [{"measurement": "net", "tags": {"iface": "eth0"}, "time": (base + i) * 1000 + 250, "fields": {"rx": 1.25 * i}} for i in range(5)]
check(c.write_points(points_ms, time_precision="ms"), "write_points precision ms")

rs = c.query(f'SELECT mean("usage") FROM "cpu" WHERE time >= {base}s AND time < {base + 300}s GROUP BY time(1m), "host"', epoch="s")
a = list(rs.get_points(tags={"host": "a"}))
# base is 20 s past a minute: six windows touch [base, base + 300 s), the
# first starting before base and the last empty (fill(null)), as in InfluxDB.
check(len(a) == 6, f"6 one-minute windows for host a, got {a}")
check(a[0] == {"time": base - base % 60, "mean": 10.5}, f"first window {a[0]}")
check(a[-1] == {"time": base - base % 60 + 300, "mean": None}, f"last window {a[-1]}")
b = list(rs.get_points(tags={"host": "b"}))
check(abs(sum(p["mean"] or 0 for p in b) - sum(p["mean"] or 0 for p in a) - 2.5) < 1e-9, "host b is 0.5 above host a")

rs = c.query(f"SELECT \"procs\", \"ok\", \"usage\" FROM \"cpu\" WHERE \"host\" = 'a' ORDER BY time DESC LIMIT 2", epoch="s")
rows = list(rs.get_points())
check(rows[0]["procs"] == 109 and isinstance(rows[0]["procs"], int), f"integer field reads back as int: {rows[0]}")
check(rows[0]["ok"] is False and rows[1]["ok"] is True, f"boolean fields: {rows}")
check(rows[0]["usage"] == 19.0, f"float field: {rows[0]}")

rs = c.query("SELECT rx FROM net")
rows = list(rs.get_points())
check(len(rows) == 5 and rows[0]["time"] == "2023-11-14T22:13:20.25Z", f"ms precision reads back in RFC 3339: {rows[:1]}")
check({"name": "cpu"} in c.get_list_measurements() and {"name": "net"} in c.get_list_measurements(), "get_list_measurements")
rs = c.query("SELECT max(usage) FROM cpu GROUP BY dc")
check(list(rs.get_points(tags={"dc": "y"}))[0]["max"] == 19.5, "GROUP BY tag")
check(c.get_list_users() == [], "get_list_users: no users (tokens are not users)")
check(c.get_list_continuous_queries() == [{"compat": []}] or {"compat": []} in c.get_list_continuous_queries(),
      f"get_list_continuous_queries: {c.get_list_continuous_queries()}")
check(len(c.get_list_series(measurement="cpu")) == 2, f"get_list_series: {c.get_list_series(measurement='cpu')}")
rs = c.query("SHOW SERIES CARDINALITY")
check(list(rs.get_points())[0]["cardinality estimation"] >= 3, f"SHOW SERIES CARDINALITY: {rs.raw}")
rs = c.query(f"SELECT exponential_moving_average(usage::integer, 3) FROM cpu WHERE host = 'a' AND time >= {base}s", epoch="s")
rows = list(rs.get_points())
# 10, 11, 12, ...: 10, then 10 + 2/3 (alpha 2/3), then halfway to 12.
check(len(rows) == 8 and abs(rows[0]["exponential_moving_average"] - 34 / 3) < 1e-9,
      f"EMA of the usage truncated to integers (34/3 at the third point): {rows[:2]}")

v2 = V2Client(url=f"http://{host}:{port}", token="my-token", org="my-org")
w = v2.write_api(write_options=SYNCHRONOUS)
w.write(bucket="compat", record=Point("mem").tag("host", "a").field("used", 42.5).time(base, WritePrecision.S), write_precision=WritePrecision.S)
w.write(bucket="compat", record=[Point("mem").tag("host", "b").field("used", 7.0).time(base, WritePrecision.S)], write_precision=WritePrecision.S)
w.write(bucket="compat", record="mem,host=c used=1.5 1700000000", write_precision=WritePrecision.S)
check(v2.ping(), "v2 ping")
h = v2.health()
check(h.status == "pass", f"v2 health: {h}")
rows = list(c.query("SELECT used FROM mem GROUP BY host", epoch="s").get_points())
check(sorted(r["used"] for r in rows) == [1.5, 7, 42.5], f"v2 writes read back: {rows}")
v2.close()
print(f"python clients: {check.count} checks passed (influxdb v1 client and influxdb-client v2)")
