//! InfluxQL end to end: a server loaded with the 58 NAB series answers every
//! construct the InfluxDB ecosystem uses; each answer is checked against
//! values computed here from the CSVs.

use std::collections::BTreeMap;

use pulsardb_tests::{Server, TempDir, load_lp, nab, urlencode};
use serde_json::{Value, json};

type Oracle = BTreeMap<(String, String), BTreeMap<i64, f64>>;

struct T {
    s: Server,
    o: Oracle,
    checks: usize,
}

impl T {
    fn get(&mut self, q: &str, extra: &str) -> Value {
        self.checks += 1;
        let r = self.s.req(
            "GET",
            &format!("/query?db=nab&q={}{extra}", urlencode(q)),
            &[],
            b"",
        );
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        r.json()
    }
    fn post(&mut self, q: &str) -> Value {
        self.checks += 1;
        let body = format!("q={}&db=nab", urlencode(q));
        let r = self.s.req(
            "POST",
            "/query",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        r.json()
    }
    /// Rows of the single series of statement 0 (epoch s).
    fn rows(&mut self, q: &str) -> Vec<Vec<Value>> {
        let v = self.get(q, "&epoch=s");
        assert!(v["results"][0]["error"].is_null(), "{q}: {v}");
        let series = v["results"][0]["series"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(series.len() <= 1, "{q}: {} series", series.len());
        series
            .first()
            .map(|s| {
                s["values"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| r.as_array().cloned().unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default()
    }
    fn series(&self, m: &str, f: &str) -> &BTreeMap<i64, f64> {
        self.o.get(&(m.to_string(), f.to_string())).expect("series")
    }
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64()
        .is_some_and(|x| (x - b).abs() <= 1e-9 * b.abs().max(1.0))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn influxql_over_nab() {
    let dir = TempDir::new("iql");
    let s = Server::start(&dir.0, None);
    let (lp, o) = nab();
    let r = s.req(
        "POST",
        "/query",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"q=CREATE+DATABASE+%22nab%22",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // Most of it flushed to tables, the rest in the memtable.
    let all: Vec<&str> = lp.lines().collect();
    let cut = all.len() * 3 / 4;
    load_lp(&s, "nab", &all[..cut].join("\n"), 5000);
    assert_eq!(s.req("POST", "/flush", &[], b"").status, 200);
    load_lp(&s, "nab", &all[cut..].join("\n"), 5000);
    let mut t = T { s, o, checks: 0 };

    // --- metadata -------------------------------------------------------
    let v = t.get("SHOW DATABASES", "");
    let dbs: Vec<&str> = v["results"][0]["series"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    assert!(dbs.contains(&"nab") && dbs.contains(&"pulsardb"), "{v}");
    let v = t.get("SHOW MEASUREMENTS", "");
    assert_eq!(v["results"][0]["series"][0]["name"], "measurements");
    assert_eq!(
        v["results"][0]["series"][0]["values"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    let v = t.get("SHOW MEASUREMENTS WITH MEASUREMENT =~ /^real/ LIMIT 2", "");
    assert_eq!(
        v["results"][0]["series"][0]["values"],
        json!([["realAWSCloudwatch"], ["realAdExchange"]])
    );
    let v = t.get("SHOW TAG KEYS FROM \"realTweets\"", "");
    assert_eq!(
        v["results"][0]["series"][0],
        json!({"name": "realTweets", "columns": ["tagKey"], "values": [["file"]]})
    );
    let v = t.get(
        "SHOW TAG VALUES FROM realTweets WITH KEY = \"file\" WHERE file =~ /AAPL|GOOG/",
        "",
    );
    assert_eq!(
        v["results"][0]["series"][0]["values"],
        json!([
            ["file", "Twitter_volume_AAPL"],
            ["file", "Twitter_volume_GOOG"]
        ])
    );
    let v = t.get(
        "SHOW TAG VALUES FROM realTraffic WITH KEY IN (\"file\") LIMIT 1",
        "",
    );
    assert_eq!(
        v["results"][0]["series"][0]["values"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let v = t.get("SHOW TAG VALUES FROM /artificial/ WITH KEY =~ /fi/", "");
    assert_eq!(
        v["results"][0]["series"].as_array().unwrap().len(),
        2,
        "{v}"
    );
    let v = t.get("SHOW FIELD KEYS FROM realKnownCause", "");
    assert_eq!(
        v["results"][0]["series"][0]["values"],
        json!([["value", "float"]])
    );
    let v = t.get(
        "SHOW SERIES FROM realTraffic WHERE file != 'speed_7578'",
        "",
    );
    let keys = v["results"][0]["series"][0]["values"].as_array().unwrap();
    assert_eq!(keys.len(), 6);
    assert!(
        keys.iter()
            .all(|k| k[0].as_str().unwrap().starts_with("realTraffic,file="))
    );
    // A tag compares with a string or a regex: anything else is refused,
    // saying why, rather than ignored (which would list every series).
    for (q, why) in [
        (
            "SHOW SERIES FROM realTraffic WHERE value > 0",
            "invalid tag comparison operator > on tag \"value\"",
        ),
        (
            "SHOW TAG VALUES WITH KEY = file WHERE file = 1",
            "tag \"file\" = a number",
        ),
        (
            "SHOW MEASUREMENTS WHERE file >= 'a'",
            "invalid tag comparison operator >= on tag \"file\"",
        ),
    ] {
        let v = t.get(q, "");
        let e = v["results"][0]["error"].as_str().unwrap_or_default();
        assert!(e.starts_with(why), "{q}: {v}");
    }
    let v = t.get("SHOW SERIES FROM realTraffic WHERE true", "");
    assert_eq!(
        v["results"][0]["series"][0]["values"]
            .as_array()
            .map(Vec::len),
        Some(7),
        "{v}"
    );
    let v = t.get("SHOW RETENTION POLICIES ON \"nab\"", "");
    assert_eq!(
        v["results"][0]["series"][0]["columns"],
        json!([
            "name",
            "duration",
            "shardGroupDuration",
            "replicaN",
            "default"
        ])
    );
    assert_eq!(v["results"][0]["series"][0]["values"][0][0], "autogen");
    // Write statements need POST; CREATE DATABASE then shows up.
    let v = t.get("CREATE DATABASE extra", "");
    assert!(v["results"][0]["error"].as_str().unwrap().contains("POST"));
    let v = t.post("CREATE DATABASE extra; SHOW DATABASES");
    assert!(v["results"][0]["error"].is_null());
    assert!(
        v["results"][1]["series"][0]["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r[0] == "extra")
    );
    assert_eq!(v["results"][1]["statement_id"], 1);

    // --- raw points -----------------------------------------------------
    let taxi: Vec<(i64, f64)> = t
        .series("realKnownCause", "nyc_taxi")
        .iter()
        .map(|(&a, &b)| (a, b))
        .collect();
    let (t0, t1) = (taxi[100].0, taxi[140].0);
    let rows = t.rows(&format!("SELECT \"value\" FROM \"realKnownCause\" WHERE \"file\" = 'nyc_taxi' AND time >= {t0}s AND time < {t1}s"));
    assert_eq!(rows.len(), 40);
    for (r, (ts, v)) in rows.iter().zip(&taxi[100..140]) {
        assert_eq!(r[0], json!(ts));
        assert!(close(&r[1], *v));
    }
    // RFC 3339 output, floats printed like InfluxDB (integers without ".0").
    let v = t.get(
        &format!("SELECT value FROM realKnownCause WHERE file = 'nyc_taxi' AND time = {t0}s"),
        "",
    );
    assert_eq!(
        v["results"][0]["series"][0]["values"][0][0]
            .as_str()
            .unwrap()
            .len(),
        20
    );
    assert_eq!(
        v["results"][0]["series"][0]["values"][0][1].to_string(),
        format!("{}", taxi[100].1)
    );
    // ORDER BY time DESC, LIMIT, OFFSET.
    let rows = t.rows(&format!("SELECT value FROM realKnownCause WHERE file = 'nyc_taxi' AND time >= {t0}s ORDER BY time DESC LIMIT 3 OFFSET 1"));
    let last = taxi.len() - 2;
    assert_eq!(
        rows.iter()
            .map(|r| r[0].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![taxi[last].0, taxi[last - 1].0, taxi[last - 2].0]
    );
    // SELECT * returns fields and tags as columns.
    let v = t.get(
        &format!("SELECT * FROM realKnownCause WHERE file = 'nyc_taxi' AND time = {t0}s"),
        "&epoch=s",
    );
    assert_eq!(
        v["results"][0]["series"][0]["columns"],
        json!(["time", "file", "value"])
    );
    assert_eq!(v["results"][0]["series"][0]["values"][0][1], "nyc_taxi");
    // A field condition.
    let rows = t.rows("SELECT value FROM realKnownCause WHERE file = 'nyc_taxi' AND value > 35000");
    let want = taxi.iter().filter(|(_, v)| *v > 35000.0).count();
    assert_eq!(rows.len(), want);
    assert!(want > 0);

    // --- aggregates over windows -----------------------------------------
    let day = 86_400i64;
    let start = taxi[0].0 - taxi[0].0.rem_euclid(day) + 3 * day;
    let q = format!(
        "SELECT count(value), sum(value), mean(value), min(value), max(value), first(value), last(value), spread(value), median(value), stddev(value), percentile(value, 90) \
         FROM realKnownCause WHERE file = 'nyc_taxi' AND time >= {start}s AND time < {}s GROUP BY time(6h)",
        start + day
    );
    let rows = t.rows(&q);
    assert_eq!(rows.len(), 4);
    for (i, r) in rows.iter().enumerate() {
        let w0 = start + i as i64 * 6 * 3600;
        let mut v: Vec<(i64, f64)> = taxi
            .iter()
            .filter(|(ts, _)| *ts >= w0 && *ts < w0 + 6 * 3600)
            .copied()
            .collect();
        let vals: Vec<f64> = v.iter().map(|x| x.1).collect();
        assert_eq!(r[0], json!(w0));
        assert_eq!(r[1], json!(vals.len()));
        assert!(close(&r[2], vals.iter().sum()));
        assert!(close(&r[3], mean(&vals)));
        let (mn, mx) = (
            vals.iter().cloned().fold(f64::MAX, f64::min),
            vals.iter().cloned().fold(f64::MIN, f64::max),
        );
        assert!(close(&r[4], mn) && close(&r[5], mx));
        assert!(close(&r[6], vals[0]) && close(&r[7], *vals.last().unwrap()));
        assert!(close(&r[8], mx - mn));
        let mut sorted = vals.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        assert!(close(&r[9], median));
        let m = mean(&vals);
        let sd = (vals.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n as f64 - 1.0)).sqrt();
        assert!(close(&r[10], sd));
        let k = ((n as f64 * 0.9 + 0.5).floor() as usize) - 1;
        assert!(close(&r[11], sorted[k]));
        v.clear();
    }
    // Column names, and duplicates numbered.
    let v = t.get(&format!("SELECT mean(value), mean(value) AS m2, max(value) FROM realKnownCause WHERE file='nyc_taxi' AND time >= {start}s AND time < {}s GROUP BY time(1d)", start + day), "");
    assert_eq!(
        v["results"][0]["series"][0]["columns"],
        json!(["time", "mean", "m2", "max"])
    );
    // An aggregate without GROUP BY time reports the start of the range (0 when unbounded);
    // a lone selector the time of its point.
    let rows = t.rows(&format!(
        "SELECT mean(value) FROM realKnownCause WHERE file = 'nyc_taxi' AND time >= {start}s"
    ));
    assert_eq!(rows[0][0], json!(start));
    let rows = t.rows("SELECT count(value) FROM realKnownCause WHERE file = 'nyc_taxi'");
    assert_eq!(rows[0], vec![json!(0), json!(taxi.len())]);
    let rows = t.rows("SELECT max(value) FROM realKnownCause WHERE file = 'nyc_taxi'");
    let (max_t, max_v) = taxi.iter().fold(
        (0, f64::MIN),
        |a, &(ts, v)| if v > a.1 { (ts, v) } else { a },
    );
    assert_eq!(rows[0][0], json!(max_t));
    assert!(close(&rows[0][1], max_v));
    // GROUP BY time with an offset: buckets at k·1h + 15m.
    let rows = t.rows(&format!("SELECT count(value) FROM realKnownCause WHERE file = 'nyc_taxi' AND time >= {start}s AND time < {}s GROUP BY time(1h, 15m)", start + 3 * 3600));
    assert_eq!(rows[0][0], json!(start - 45 * 60));
    assert_eq!(rows[1][0], json!(start + 15 * 60));

    // --- fill over a gap ---------------------------------------------------
    let speed: Vec<(i64, f64)> = t
        .series("realTraffic", "speed_t4013")
        .iter()
        .map(|(&a, &b)| (a, b))
        .collect();
    let gap = speed
        .windows(2)
        .find(|w| w[1].0 - w[0].0 > 2 * day)
        .expect("a multi-day gap");
    let (g0, g1) = (
        gap[0].0 - gap[0].0.rem_euclid(day),
        gap[1].0 - gap[1].0.rem_euclid(day) + day,
    );
    let base = format!(
        "SELECT mean(value) FROM realTraffic WHERE file = 'speed_t4013' AND time >= {g0}s AND time < {g1}s GROUP BY time(1d)"
    );
    let null_rows = t.rows(&format!("{base} fill(null)"));
    let n_days = ((g1 - g0) / day) as usize;
    assert_eq!(null_rows.len(), n_days);
    let empty: Vec<usize> = (0..n_days).filter(|&i| null_rows[i][1].is_null()).collect();
    assert!(!empty.is_empty());
    assert_eq!(
        t.rows(&format!("{base} fill(none)")).len(),
        n_days - empty.len()
    );
    let zero = t.rows(&format!("{base} fill(0)"));
    assert!(empty.iter().all(|&i| zero[i][1] == json!(0)));
    let prev = t.rows(&format!("{base} fill(previous)"));
    assert!(
        empty
            .iter()
            .all(|&i| prev[i][1] == null_rows[empty[0] - 1][1])
    );
    let lin = t.rows(&format!("{base} fill(linear)"));
    let (a, b) = (
        null_rows[empty[0] - 1][1].as_f64().unwrap(),
        null_rows[*empty.last().unwrap() + 1][1].as_f64().unwrap(),
    );
    let k = empty.len() as f64 + 1.0;
    assert!(close(&lin[empty[0]][1], a + (b - a) / k));

    // --- tags: GROUP BY, regex FROM, conditions ----------------------------
    let v = t.get(
        "SELECT max(value) FROM /^realAWS/ WHERE file =~ /^ec2_cpu/ GROUP BY \"file\"",
        "&epoch=s",
    );
    let series = v["results"][0]["series"].as_array().unwrap();
    let want: Vec<&String> =
        t.o.keys()
            .filter(|(m, f)| m == "realAWSCloudwatch" && f.starts_with("ec2_cpu"))
            .map(|(_, f)| f)
            .collect();
    assert_eq!(series.len(), want.len());
    for (s, f) in series.iter().zip(&want) {
        assert_eq!(s["tags"]["file"], json!(f));
        let mx = t.o[&("realAWSCloudwatch".to_string(), (*f).clone())]
            .values()
            .cloned()
            .fold(f64::MIN, f64::max);
        assert!(close(&s["values"][0][1], mx));
    }
    let v = t.get("SELECT count(value) FROM realTweets, realTraffic WHERE (file = 'Twitter_volume_AAPL' OR file = 'speed_7578') AND file !~ /GOOG/ GROUP BY *", "&epoch=s");
    let series = v["results"][0]["series"].as_array().unwrap();
    assert_eq!(series.len(), 2, "{v}");
    assert_eq!(series[0]["name"], "realTweets");
    assert_eq!(
        series[0]["values"][0][1],
        json!(t.series("realTweets", "Twitter_volume_AAPL").len())
    );
    assert_eq!(
        series[1]["values"][0][1],
        json!(t.series("realTraffic", "speed_7578").len())
    );
    // SLIMIT / SOFFSET.
    let v = t.get(
        "SELECT count(value) FROM realTweets GROUP BY file SLIMIT 2 SOFFSET 1",
        "",
    );
    assert_eq!(v["results"][0]["series"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["results"][0]["series"][0]["tags"]["file"],
        "Twitter_volume_AMZN"
    );
    // A field condition under an aggregate.
    let rows = t.rows(
        "SELECT count(value) FROM realKnownCause WHERE file = 'nyc_taxi' AND \"value\" > 20000",
    );
    assert_eq!(
        rows[0][1],
        json!(taxi.iter().filter(|x| x.1 > 20000.0).count())
    );

    // --- transforms --------------------------------------------------------
    let rows = t.rows(&format!("SELECT derivative(value, 1m) FROM realKnownCause WHERE file = 'nyc_taxi' AND time >= {t0}s AND time < {t1}s"));
    assert_eq!(rows.len(), 39);
    let d0 = (taxi[101].1 - taxi[100].1) / ((taxi[101].0 - taxi[100].0) as f64 / 60.0);
    assert_eq!(rows[0][0], json!(taxi[101].0));
    assert!(close(&rows[0][1], d0));
    let rows = t.rows(&format!("SELECT difference(max(value)) FROM realKnownCause WHERE file = 'nyc_taxi' AND time >= {start}s AND time < {}s GROUP BY time(6h)", start + day));
    // Four windows, each with a difference: as in InfluxDB, the window
    // before the range is read so the first one has a predecessor.
    assert_eq!(rows.len(), 4);
    let rows = t.rows(&format!("SELECT non_negative_derivative(mean(value)) * 2 FROM realKnownCause WHERE file = 'nyc_taxi' AND time >= {start}s AND time < {}s GROUP BY time(6h)", start + day));
    assert!(
        rows.iter().all(|r| r[1].as_f64().is_some_and(|x| x >= 0.0)),
        "{rows:?}"
    );

    // --- Grafana's panel shape, chunked, several statements, errors ---------
    let q = format!(
        "SELECT mean(\"value\") FROM \"realKnownCause\" WHERE (\"file\" = 'nyc_taxi' OR \"file\" = 'ambient_temperature_system_failure') AND time >= {}ms and time <= {}ms GROUP BY time(30m), \"file\" fill(null)",
        start * 1000,
        (start + 3 * 3600) * 1000
    );
    let v = t.get(&q, "&epoch=ms");
    assert!(
        v["results"][0]["series"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["tags"]["file"] == "nyc_taxi")
    );
    let r = t.s.req("GET", &format!("/query?db=nab&chunked=true&chunk_size=10&epoch=s&q={}", urlencode(&format!("SELECT value FROM realKnownCause WHERE file = 'nyc_taxi' AND time >= {t0}s AND time < {t1}s"))), &[], b"");
    let lines: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["results"][0]["partial"], true);
    assert!(lines[3]["results"][0]["partial"].is_null());
    let v = t.get(
        "SELECT count(value) FROM nothing_here; SHOW MEASUREMENTS LIMIT 1",
        "",
    );
    assert_eq!(v["results"][0], json!({"statement_id": 0}));
    assert_eq!(v["results"][1]["statement_id"], 1);
    let v = t.get(
        "SELECT mean(value) FROM realKnownCause WHERE time > now() - 6h GROUP BY time(1h)",
        "",
    );
    assert!(v["results"][0]["series"].is_null());
    let r = t.s.req(
        "GET",
        &format!("/query?db=nab&q={}", urlencode("SELEKT * FROM x")),
        &[],
        b"",
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("error parsing query")
    );
    let v = t.get("SELECT mean(value), value FROM realKnownCause", "");
    assert!(
        v["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("mixing aggregate")
    );
    let r = t.s.req(
        "GET",
        &format!("/query?q={}", urlencode("SELECT value FROM m")),
        &[],
        b"",
    );
    assert!(
        r.json()["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("database name required")
    );
    // Python's client asks for msgpack; JSON it gets, with a JSON content type.
    let r = t.s.req(
        "GET",
        &format!("/query?db=nab&q={}", urlencode("SHOW DATABASES")),
        &[("Accept", "application/x-msgpack")],
        b"",
    );
    assert_eq!(r.header("content-type"), Some("application/json"));

    // --- last write wins: repeated timestamps in the data, and a rewrite ----
    let mt = t
        .series("realKnownCause", "machine_temperature_system_failure")
        .clone();
    let rows = t.rows(
        "SELECT count(value) FROM realKnownCause WHERE file = 'machine_temperature_system_failure'",
    );
    assert_eq!(rows[0][1], json!(mt.len()));
    let (&ts, _) = mt.iter().next().unwrap();
    let r = t.s.write_lp(
        "db=nab&precision=s",
        &format!("realKnownCause,file=machine_temperature_system_failure value=20 {ts}"),
    );
    assert_eq!(r.status, 204);
    let v = t.get(&format!("SELECT value FROM realKnownCause WHERE file = 'machine_temperature_system_failure' AND time = {ts}s"), "");
    assert_eq!(
        v["results"][0]["series"][0]["values"][0][1].to_string(),
        "20"
    );
    println!(
        "influxql: {} queries over the 58 NAB series checked against values computed from the CSVs",
        t.checks
    );
}

/// InfluxDB 1.x's corners, each found by comparing answers with InfluxDB's
/// (`influxql_diff.rs` runs that comparison against a real `influxd`).
#[test]
fn influxdb_corner_semantics() {
    let dir = TempDir::new("influxql-corners");
    let s = Server::start(&dir.0, None);
    let lp = "\
cpu,host=a v=1,n=10i 60
cpu,host=b v=3,n=30i 60
cpu,host=a v=5,n=50i 120
cpu,host=b v=2,n=20i 120
cpu,host=a v=4,n=40i 300
disk\\ io,dev=x r=1i 60
net,host=a rx=7i 60
";
    let r = s.req("POST", "/write?db=pulsardb&precision=s", &[], lp.as_bytes());
    assert_eq!(r.status, 204, "{}", r.text());
    // The first statement's result, asked by `method`.
    let ask = |method: &str, q: &str| -> Value {
        let r = s.req(
            method,
            &format!("/query?db=pulsardb&epoch=s&q={}", urlencode(q)),
            &[],
            b"",
        );
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        r.json()["results"][0].clone()
    };
    let q = |q: &str| ask("GET", q);
    let mut checks = 0;
    let mut check = |query: &str, want: Value| {
        let got = q(query);
        assert_eq!(got["series"], want, "{query}: {got}");
        checks += 1;
    };
    // Two series at one time: first and last take the larger value.
    check(
        "SELECT first(v), last(v) FROM cpu WHERE time >= 60s AND time <= 120s",
        json!([{"name": "cpu", "columns": ["time", "first", "last"], "values": [[60, 3, 5]]}]),
    );
    // count fills empty windows with 0 under fill(null).
    check(
        "SELECT count(v) FROM cpu WHERE host = 'a' AND time >= 60s AND time < 360s GROUP BY time(2m)",
        json!([{"name": "cpu", "columns": ["time", "count"], "values": [[0, 1], [120, 1], [240, 1]]}]),
    );
    check(
        "SELECT count(v) FROM cpu WHERE host = 'b' AND time >= 0s AND time < 360s GROUP BY time(2m)",
        json!([{"name": "cpu", "columns": ["time", "count"], "values": [[0, 1], [120, 1], [240, 0]]}]),
    );
    // A transform over windows reads one window before the range: the
    // first window in range gets a value.
    check(
        "SELECT difference(max(v)) FROM cpu WHERE time >= 120s AND time < 360s GROUP BY time(2m)",
        json!([{"name": "cpu", "columns": ["time", "difference"], "values": [[120, 2], [240, -1]]}]),
    );
    // ORDER BY time DESC: transforms run backwards, series come last first.
    check(
        "SELECT difference(v) FROM cpu WHERE host = 'a' ORDER BY time DESC",
        json!([{"name": "cpu", "columns": ["time", "difference"], "values": [[120, 1], [60, -4]]}]),
    );
    check(
        "SELECT last(v) FROM cpu GROUP BY host ORDER BY time DESC",
        json!([
            {"name": "cpu", "tags": {"host": "b"}, "columns": ["time", "last"], "values": [[120, 2]]},
            {"name": "cpu", "tags": {"host": "a"}, "columns": ["time", "last"], "values": [[300, 4]]},
        ]),
    );
    // Running transforms.
    check(
        "SELECT cumulative_sum(n) FROM cpu WHERE host = 'a'",
        json!([{"name": "cpu", "columns": ["time", "cumulative_sum"], "values": [[60, 10], [120, 60], [300, 100]]}]),
    );
    check(
        "SELECT moving_average(v, 2), non_negative_difference(v) FROM cpu WHERE host = 'a'",
        json!([{"name": "cpu", "columns": ["time", "moving_average", "non_negative_difference"], "values": [[120, 3, 4], [300, 4.5, null]]}]),
    );
    // A selector carries the selected point's tags and fields.
    check(
        "SELECT max(v), host, n FROM cpu",
        json!([{"name": "cpu", "columns": ["time", "max", "host", "n"], "values": [[120, 5, "a", 50]]}]),
    );
    // `*` over several measurements: every series gets the union of columns.
    check(
        "SELECT * FROM cpu, net WHERE time = 60s AND host = 'a'",
        json!([
            {"name": "cpu", "columns": ["time", "host", "n", "rx", "v"], "values": [[60, "a", 10, null, 1]]},
            {"name": "net", "columns": ["time", "host", "n", "rx", "v"], "values": [[60, "a", null, 7, null]]},
        ]),
    );
    // Arithmetic between calls is named after them.
    check(
        "SELECT max(v) - min(v) FROM cpu WHERE host = 'a'",
        json!([{"name": "cpu", "columns": ["time", "max_min"], "values": [[0, 4]]}]),
    );
    // Series keys are escaped as line protocol writes them.
    check(
        "SHOW SERIES FROM \"disk io\"",
        json!([{"columns": ["key"], "values": [["disk\\ io,dev=x"]]}]),
    );
    // integral(): trapezoids, (1+5)/2·60 + (5+4)/2·180; time 0 without
    // GROUP BY time.
    check(
        "SELECT integral(v) FROM cpu WHERE host = 'a' AND time >= 0s",
        json!([{"name": "cpu", "columns": ["time", "integral"], "values": [[0, 990]]}]),
    );
    // mode(): every value once, so the earliest wins (1 and 3 share the
    // earliest time: the smaller first).
    check(
        "SELECT mode(v), mode(n) FROM cpu WHERE host = 'b' OR host = 'a'",
        json!([{"name": "cpu", "columns": ["time", "mode", "mode_1"], "values": [[0, 1, 10]]}]),
    );
    // elapsed(): time since the point before, in whole units.
    check(
        "SELECT elapsed(v, 1m) FROM cpu WHERE host = 'a'",
        json!([{"name": "cpu", "columns": ["time", "elapsed"], "values": [[120, 1], [300, 3]]}]),
    );
    // InfluxQL's time literal without a zone: 'YYYY-MM-DD hh:mm:ss', UTC.
    check(
        "SELECT v FROM cpu WHERE host = 'a' AND time >= '1970-01-01 00:02:00'",
        json!([{"name": "cpu", "columns": ["time", "v"], "values": [[120, 5], [300, 4]]}]),
    );
    // top()/bottom(): several rows, each at its point's time, with the
    // point's tags; with a tag argument, the best point per tag value first.
    check(
        "SELECT top(v, 2), host FROM cpu",
        json!([{"name": "cpu", "columns": ["time", "top", "host"], "values": [[120, 5, "a"], [300, 4, "a"]]}]),
    );
    check(
        "SELECT bottom(v, host, 2) FROM cpu",
        json!([{"name": "cpu", "columns": ["time", "bottom", "host"], "values": [[60, 1, "a"], [120, 2, "b"]]}]),
    );
    // distinct(): each value once per window, by first time then value.
    check(
        "SELECT distinct(n) FROM cpu WHERE time >= 0s AND time < 360s GROUP BY time(2m)",
        json!([{"name": "cpu", "columns": ["time", "distinct"], "values": [[0, 10], [0, 30], [120, 20], [120, 50], [240, 40]]}]),
    );
    check(
        "SELECT count(distinct(v)) FROM cpu",
        json!([{"name": "cpu", "columns": ["time", "count"], "values": [[0, 5]]}]),
    );
    // A subquery: the sum over hosts of each host's largest value.
    check(
        "SELECT sum(m) FROM (SELECT max(v) AS m FROM cpu GROUP BY host)",
        json!([{"name": "cpu", "columns": ["time", "sum"], "values": [[0, 8]]}]),
    );
    // SELECT ... INTO: only by POST; the answer's rows become points.
    let into = "SELECT max(v) INTO maxes FROM cpu GROUP BY host";
    let got = q(into);
    assert_eq!(
        got["error"],
        json!("SELECT ... INTO must be sent with POST"),
        "{got}"
    );
    assert_eq!(
        ask("POST", into)["series"],
        json!([{"name": "result", "columns": ["time", "written"], "values": [[0, 2]]}])
    );
    // A string column (a tag not grouped by) is refused, nothing written.
    let e = ask("POST", "SELECT v, host INTO copies FROM cpu")["error"].clone();
    assert!(
        e.as_str()
            .is_some_and(|e| e.contains("column \"host\" holds strings")),
        "{e}"
    );
    assert!(q("SELECT * FROM copies")["series"].is_null());
    check(
        "SELECT max FROM maxes GROUP BY host",
        json!([
            {"name": "maxes", "tags": {"host": "a"}, "columns": ["time", "max"], "values": [[120, 5]]},
            {"name": "maxes", "tags": {"host": "b"}, "columns": ["time", "max"], "values": [[60, 3]]}
        ]),
    );
    let got = q("SELECT top(v, 2), mean(v) FROM cpu");
    assert_eq!(
        got["error"],
        json!("selector function top() cannot be combined with other functions"),
        "{got}"
    );
    checks += 1;
    // Functions not implemented answer an error naming them.
    for f in [
        "holt_winters(mean(v), 2, 1)",
        "holt_winters_with_fit(mean(v), 2, 1)",
    ] {
        let name = f.split('(').next().unwrap_or_default();
        let got = q(&format!("SELECT {f} FROM cpu GROUP BY time(1m)"));
        assert_eq!(
            got["error"],
            json!(format!("function {name}() is not supported")),
            "{f}: {got}"
        );
        checks += 1;
    }
    // A field the measurement lacks: an empty result, not an error.
    let got = q("SELECT nope FROM cpu");
    assert!(got["error"].is_null() && got["series"].is_null(), "{got}");
    let got = q("SELECT v FROM cpu, net WHERE time = 300s");
    assert_eq!(got["series"].as_array().map(Vec::len), Some(1), "{got}");
    println!("influxdb corner semantics: {} checks passed", checks + 2);
}
