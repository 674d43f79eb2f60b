//! Data leaving the store, end to end: retention (old writes refused like
//! InfluxDB 1.x), InfluxQL deletes and drops, and a full device (the oldest
//! windows dropped, or writes refused with 507 until room is back).

use std::time::{Duration, Instant};

use pulsardb_tests::{Server, TempDir, urlencode};
use serde_json::Value;

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A Prometheus sample: `name` or `name{labels}` as written.
fn metric(s: &Server, sample: &str) -> f64 {
    let text = s.req("GET", "/metrics", &[], b"").text();
    text.lines()
        .find_map(|l| l.strip_prefix(sample).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no metric {sample}"))
}

fn influxql(s: &Server, method: &str, q: &str) -> Value {
    let r = if method == "GET" {
        s.req(
            "GET",
            &format!("/query?db=lab&q={}", urlencode(q)),
            &[],
            b"",
        )
    } else {
        let body = format!("db=lab&q={}", urlencode(q));
        s.req(
            "POST",
            "/query",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
    };
    assert_eq!(r.status, 200, "{q}: {}", r.text());
    r.json()
}

/// `SELECT count(v)` over everything, per host.
fn counts(s: &Server, measurement: &str) -> Vec<(String, i64)> {
    let v = influxql(
        s,
        "GET",
        &format!("SELECT count(v) FROM {measurement} GROUP BY host"),
    );
    let mut out: Vec<(String, i64)> = v["results"][0]["series"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| {
            (
                s["tags"]["host"].as_str().unwrap_or("").to_string(),
                s["values"][0][1].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn points_older_than_the_retention_are_refused_like_influxdb() {
    let dir = TempDir::new("retention");
    let s = Server::start(&dir.0, Some(r#"{"retention_days": 1}"#));
    assert_eq!(
        s.req("POST", "/query?q=CREATE+DATABASE+lab", &[], b"")
            .status,
        200
    );
    let now = now_s();
    let body = format!(
        "cpu,host=a v=1 {}\ncpu,host=a v=2 {}\ncpu,host=a v=3 {}\n",
        now - 2 * 86_400,
        now - 3 * 86_400,
        now - 60
    );
    let r = s.write_lp("db=lab&precision=s", &body);
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json()["error"],
        "partial write: points beyond retention policy dropped=2"
    );
    // Mixed with a bad line: both reported, the good point written.
    let body = format!(
        "cpu,host=a v=oops {now}\ncpu,host=b v=4 {}\n",
        now - 5 * 86_400
    );
    let r = s.write_lp("db=lab&precision=s", &body);
    let err = r.json()["error"].as_str().unwrap_or("").to_string();
    assert!(
        err.starts_with("partial write: line 1, column")
            && err.ends_with("; points beyond retention policy dropped=2"),
        "{err}"
    );
    assert_eq!(counts(&s, "cpu"), vec![("a".to_string(), 1)]);
    assert_eq!(
        metric(
            &s,
            "pulsardb_dropped_points_total{reason=\"beyond_retention\"}"
        ),
        3.0
    );
    let rp = influxql(&s, "GET", "SHOW RETENTION POLICIES ON lab");
    assert_eq!(rp["results"][0]["series"][0]["values"][0][1], "24h0m0s");
    println!(
        "retention: 3 points beyond a 1-day retention refused with InfluxDB's message, 1 written"
    );
}

#[test]
fn influxql_deletes_and_drops_are_durable_and_leave_the_store() {
    let dir = TempDir::new("deletes");
    let mut s = Server::start(
        &dir.0,
        Some(r#"{"storage": {"maintenance_interval_seconds": 1}}"#),
    );
    influxql(&s, "POST", "CREATE DATABASE lab");
    let t0 = 1_700_000_000i64;
    let mut body = String::new();
    for i in 0..600 {
        for host in ["a", "b", "c"] {
            body.push_str(&format!("cpu,host={host} v={i} {}\n", t0 + i * 10));
        }
        body.push_str(&format!("mem,host=a v={i} {}\n", t0 + i * 10));
    }
    assert_eq!(s.write_lp("db=lab&precision=s", &body).status, 204);
    // Half of it in tables, half in the memtable: deletes reach both.
    assert_eq!(s.req("POST", "/flush", &[], b"").status, 200);
    let mut body = String::new();
    for i in 600..1200 {
        for host in ["a", "b", "c"] {
            body.push_str(&format!("cpu,host={host} v={i} {}\n", t0 + i * 10));
        }
    }
    assert_eq!(s.write_lp("db=lab&precision=s", &body).status, 204);

    // Deletes are write statements: GET is refused.
    let v = influxql(&s, "GET", "DELETE FROM cpu WHERE host = 'a'");
    assert_eq!(v["results"][0]["error"], "DELETE must be sent with POST");

    let cut = t0 + 900 * 10;
    let v = influxql(
        &s,
        "POST",
        &format!("DELETE FROM cpu WHERE host = 'a' AND time < {cut}s"),
    );
    assert!(v["results"][0]["error"].is_null(), "{v}");
    let v = influxql(&s, "POST", "DROP SERIES FROM cpu WHERE host = 'b'");
    assert!(v["results"][0]["error"].is_null(), "{v}");
    let v = influxql(&s, "POST", "DELETE FROM cpu WHERE v > 3");
    assert!(
        v["results"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("fields are not supported")),
        "{v}"
    );
    let v = influxql(&s, "POST", "DROP SERIES FROM cpu WHERE time > 0");
    assert_eq!(
        v["results"][0]["error"],
        "DROP SERIES doesn't support time in WHERE clause"
    );
    let want = vec![("a".to_string(), 300), ("c".to_string(), 1200)];
    assert_eq!(counts(&s, "cpu"), want);
    let series = influxql(&s, "GET", "SHOW SERIES FROM cpu");
    assert_eq!(
        series["results"][0]["series"][0]["values"],
        serde_json::json!([["cpu,host=a"], ["cpu,host=c"]])
    );
    let v = influxql(&s, "POST", "DROP MEASUREMENT mem");
    assert!(v["results"][0]["error"].is_null(), "{v}");
    let v = influxql(&s, "POST", "DROP MEASUREMENT nope");
    assert_eq!(v["results"][0]["error"], "measurement not found");
    let m = influxql(&s, "GET", "SHOW MEASUREMENTS");
    assert_eq!(
        m["results"][0]["series"][0]["values"],
        serde_json::json!([["cpu"]])
    );

    // Durable: after a kill (no clean stop) the same answers.
    s.kill();
    s.restart();
    assert_eq!(counts(&s, "cpu"), want);
    assert_eq!(counts(&s, "mem"), vec![]);

    // Compaction rewrites the tables without the deleted points; the
    // tombstones go with them.
    assert_eq!(s.req("POST", "/flush", &[], b"").status, 200);
    let t = Instant::now();
    while metric(&s, "pulsardb_tombstones") > 0.0 {
        assert!(t.elapsed() < Duration::from_secs(30), "tombstones left");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(metric(&s, "pulsardb_compactions_total") >= 1.0);
    assert_eq!(counts(&s, "cpu"), want);

    influxql(&s, "POST", "CREATE DATABASE other");
    let v = influxql(&s, "POST", "DROP DATABASE lab");
    assert!(v["results"][0]["error"].is_null(), "{v}");
    let v = influxql(&s, "POST", "DROP DATABASE never_was");
    assert!(v["results"][0]["error"].is_null(), "{v}");
    assert_eq!(s.stop(), 0);
    s.restart();
    let dbs = influxql(&s, "GET", "SHOW DATABASES");
    let names = dbs["results"][0]["series"][0]["values"].to_string();
    assert!(
        !names.contains("\"lab\"") && names.contains("\"other\""),
        "{names}"
    );
    println!(
        "deletes: DELETE, DROP SERIES, DROP MEASUREMENT, DROP DATABASE applied, durable across a kill, compacted away"
    );
}

/// Noisy points (about 8 bytes each encoded), `n` per week of `weeks`, in
/// time order from `start`.
fn noisy_lp(first: usize, n: usize, start: i64, step: i64, seed: &mut u64) -> String {
    let mut out = String::with_capacity(n * 48);
    for i in first..first + n {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let v = (*seed >> 11) as f64 / (1u64 << 53) as f64 * 1000.0;
        out.push_str(&format!(
            "m,host=h{} v={v} {}\n",
            i % 4,
            start + i as i64 * step
        ));
    }
    out
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_full_store_drops_its_oldest_windows() {
    let dir = TempDir::new("full-drop");
    let s = Server::start(
        &dir.0,
        Some(
            r#"{"storage": {"max_disk_mb": 16, "maintenance_interval_seconds": 1}, "max_memory_mb": 8}"#,
        ),
    );
    influxql(&s, "POST", "CREATE DATABASE lab");
    // 2.4 M points over 80 weeks (7-day windows): about 19 MiB of tables
    // for a 16 MiB store.
    let (batches, per) = (24usize, 100_000usize);
    let start = now_s() - 80 * 7 * 86_400;
    let step = 80 * 7 * 86_400 / (batches * per) as i64;
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;
    for b in 0..batches {
        let body = noisy_lp(b * per, per, start, step, &mut seed);
        let r = s.write_lp("db=lab&precision=s", &body);
        assert_eq!(r.status, 204, "batch {b}: {}", r.text());
    }
    assert_eq!(s.req("POST", "/flush", &[], b"").status, 200);
    wait_for("a window dropped", || {
        metric(&s, "pulsardb_dropped_windows_total") > 0.0
    });
    let cap = metric(&s, "pulsardb_device_capacity_bytes");
    let used = metric(&s, "pulsardb_device_used_bytes");
    assert!(used <= cap, "{used} > {cap}");
    // The newest data is all there; the oldest is gone.
    let last = start + ((batches - 1) * per) as i64 * step;
    let v = influxql(
        &s,
        "GET",
        &format!("SELECT count(v) FROM m WHERE time >= {last}s"),
    );
    assert_eq!(v["results"][0]["series"][0]["values"][0][1], per as i64);
    let v = influxql(
        &s,
        "GET",
        &format!(
            "SELECT count(v) FROM m WHERE time < {}s",
            start + 7 * 86_400
        ),
    );
    assert!(v["results"][0]["series"].is_null(), "{v}");
    let dropped = metric(
        &s,
        "pulsardb_dropped_points_total{reason=\"window_dropped\"}",
    );
    assert!(dropped > 0.0);
    println!(
        "full store, drop_oldest: {} points written to 16 MiB, {} windows ({dropped} points) dropped, {:.1} of {:.1} MiB used, newest {per} points intact",
        batches * per,
        metric(&s, "pulsardb_dropped_windows_total"),
        used / 1048576.0,
        cap / 1048576.0
    );
}

#[test]
fn with_on_full_reject_writes_get_507_until_room_is_back() {
    let dir = TempDir::new("full-reject");
    let s = Server::start(
        &dir.0,
        Some(
            r#"{"storage": {"max_disk_mb": 16, "on_full": "reject", "maintenance_interval_seconds": 1}, "max_memory_mb": 8}"#,
        ),
    );
    influxql(&s, "POST", "CREATE DATABASE lab");
    let start = now_s() - 80 * 7 * 86_400;
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let per = 100_000;
    let mut accepted = 0;
    let mut refused = None;
    for b in 0..40 {
        let body = noisy_lp(b * per, per, start, 20, &mut seed);
        let r = s.write_lp("db=lab&precision=s", &body);
        match r.status {
            204 => accepted += per,
            507 => {
                refused = Some(r.json()["error"].as_str().unwrap_or("").to_string());
                break;
            }
            other => panic!("batch {b}: {other} {}", r.text()),
        }
        // Flushed as it goes, so the store (not memory) is what fills.
        assert_eq!(s.req("POST", "/flush", &[], b"").status, 200);
    }
    let msg = refused.expect("never refused");
    assert!(
        msg.starts_with("storage full:") && msg.contains("on_full is \"reject\""),
        "{msg}"
    );
    // Nothing acknowledged was dropped, and queries work.
    let v = influxql(&s, "GET", "SELECT count(v) FROM m");
    let stored = v["results"][0]["series"][0]["values"][0][1]
        .as_i64()
        .unwrap_or(0);
    assert!(stored >= accepted as i64, "{stored} < {accepted}");
    assert_eq!(metric(&s, "pulsardb_dropped_windows_total"), 0.0);
    wait_for("the full flag", || {
        metric(&s, "pulsardb_storage_full") == 1.0
    });
    // Room comes back without a restart once data goes.
    influxql(&s, "POST", "DROP MEASUREMENT m");
    wait_for("writes accepted again", || {
        s.write_lp("db=lab&precision=s", &format!("m,host=x v=1 {}", now_s()))
            .status
            == 204
    });
    assert_eq!(metric(&s, "pulsardb_storage_full"), 0.0);
    println!(
        "full store, reject: {accepted} points accepted, then 507 ({msg}); writes resumed after DROP MEASUREMENT without a restart"
    );
}

#[test]
fn sparse_windows_are_packed_and_the_store_file_shrinks() {
    let dir = TempDir::new("packing");
    let s = Server::start(&dir.0, None);
    influxql(&s, "POST", "CREATE DATABASE lab");
    // Five sensors every 6 hours for 60 weeks: 60 seven-day windows of
    // about 840 points each, a few KiB of table per 64 KiB block.
    let start = now_s() - 60 * 7 * 86_400;
    let mut body = String::new();
    let mut n = 0;
    for i in 0..60 * 7 * 4 {
        for k in 0..5 {
            body.push_str(&format!(
                "env,sensor=s{k} t={}.{} {}\n",
                20 + (i * 7 + k) % 13,
                (i * 3 + k) % 100,
                start + i * 6 * 3600
            ));
            n += 1;
        }
    }
    let r = s.write_lp("db=lab&precision=s", &body);
    assert_eq!(r.status, 204, "{}", r.text());
    let flushed = s.req("POST", "/flush", &[], b"");
    assert_eq!(flushed.status, 200);
    let tables_flushed: f64 =
        serde_json::from_str::<Value>(&flushed.text()).unwrap()["tables_written"]
            .as_f64()
            .unwrap();
    // The flush kicks compaction: closed windows are packed (the open one
    // keeps its own table), tables move down and the file is cut after the
    // last block in use.
    let file = dir.0.join("pulsardb.store");
    wait_for("packing and the file cut", || {
        metric(&s, "pulsardb_tables") <= 2.0
            && std::fs::metadata(&file).map_or(u64::MAX, |m| m.len()) <= 16 * 65_536
    });
    let packings = metric(&s, "pulsardb_compaction_packings_total");
    assert!(packings >= 1.0);
    let v = influxql(&s, "GET", "SELECT count(t) FROM env");
    assert_eq!(v["results"][0]["series"][0]["values"][0][1], n, "{v}");
    let len = std::fs::metadata(&file).unwrap().len();
    println!(
        "packing: {n} points in {tables_flushed} flushed tables → {} table(s) after {packings} packings; store file {len} bytes ({:.2} B/point)",
        metric(&s, "pulsardb_tables"),
        len as f64 / n as f64
    );
}
