//! Scenarios against the real binary: writes and queries over HTTP, restarts,
//! SIGKILL after acknowledged writes, bad input, a second server.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use pulsardb_tests::{Server, TempDir, gzip, points};
use serde_json::json;

#[test]
fn json_write_and_query() {
    let dir = TempDir::new("json");
    let s = Server::start(&dir.0, None);
    let body = json!([
        {"metric": "temp", "value": 21.5, "timestamp": 1_700_000_000_000i64, "tags": {"room": "kitchen"}},
        {"metric": "temp", "value": 22.0, "timestamp": 1_700_000_060_000i64, "tags": {"room": "kitchen"}},
        {"metric": "temp", "fields": {"value": 19.0, "ok": true}, "timestamp": 1_700_000_000_000i64, "tags": {"room": "hall"}}
    ]);
    let r = s.req(
        "POST",
        "/write",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    // One point, and {"points": [...]}.
    let r = s.req(
        "POST",
        "/write",
        &[("Content-Type", "application/json")],
        br#"{"metric":"temp","value":23,"timestamp":1700000120000,"tags":{"room":"kitchen"}}"#,
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let r = s.req(
        "POST",
        "/write",
        &[("Content-Type", "application/json")],
        br#"{"points":[{"metric":"hum","value":40,"timestamp":1700000000000}]}"#,
    );
    assert_eq!(r.status, 204, "{}", r.text());

    let got =
        s.json_query(&json!({"metric": "temp", "tags": {"room": "kitchen"}, "field": "value"}));
    assert_eq!(
        got["series"][0]["points"],
        json!([
            [1_700_000_000_000i64, 21.5],
            [1_700_000_060_000i64, 22.0],
            [1_700_000_120_000i64, 23.0]
        ])
    );
    let got = s.json_query(&json!({"metric": "temp", "field": "value", "aggregate": "mean", "window": "1h", "group_by": ["room"]}));
    let series = got["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(series[0]["tags"], json!({"room": "hall"}));
    assert_eq!(series[0]["points"][0][1], json!(19.0));
    assert_eq!(series[1]["points"][0][1], json!(22.166666666666668));
    let got = s.json_query(&json!({"metric": "temp", "field": "ok"}));
    assert_eq!(got["series"][0]["points"][0][1], json!(true));
    let got = s.json_query(&json!({"metric": "temp", "field": "value", "start": "2023-11-14T22:13:20Z", "end": 1_700_000_060_000i64, "aggregate": "count"}));
    // Both rooms, no group_by: one window over the range, three points.
    assert_eq!(got["series"][0]["points"][0][1], json!(3));
}

#[test]
fn line_protocol_write_and_query_with_precision_gzip_and_v2() {
    let dir = TempDir::new("lp");
    let s = Server::start(&dir.0, Some(r#"{"auto_create_databases": true}"#));
    let r = s.write_lp("db=farm&precision=s", "sensors,device=d1,site=s1 temperature=21.37,humidity=40.1 1704067200\nsensors,device=d1,site=s1 temperature=21.41,humidity=40.3 1704067210\n");
    assert_eq!(r.status, 204, "{}", r.text());
    // precision=ms, gzip body.
    let r = s.req(
        "POST",
        "/write?db=farm&precision=ms",
        &[("Content-Encoding", "gzip")],
        &gzip(b"sensors,device=d2,site=s1 temperature=19.5 1704067200000\n"),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    // InfluxDB 2.x endpoint with a token.
    let r = s.req(
        "POST",
        "/api/v2/write?org=o&bucket=farm&precision=s",
        &[("Authorization", "Token abc")],
        b"sensors,device=d3,site=s2 temperature=18 1704067200",
    );
    assert_eq!(r.status, 204, "{}", r.text());
    // Integer, unsigned and boolean fields.
    let r = s.write_lp(
        "db=farm&precision=s",
        "counts,device=d1 n=5i,u=7u,ok=t 1704067200",
    );
    assert_eq!(r.status, 204, "{}", r.text());

    let p = points(&s, "farm", "sensors");
    let temps: Vec<_> = p.iter().filter(|x| x.0.ends_with("|temperature")).collect();
    assert_eq!(temps.len(), 4, "{p:?}");
    assert!(temps.iter().any(|x| x.0 == "device=d1,site=s1|temperature"
        && x.1 == 1_704_067_210_000
        && x.2 == json!(21.41)));
    assert!(temps.iter().any(|x| x.0 == "device=d2,site=s1|temperature"
        && x.1 == 1_704_067_200_000
        && x.2 == json!(19.5)));
    assert!(
        temps
            .iter()
            .any(|x| x.0 == "device=d3,site=s2|temperature" && x.2 == json!(18.0))
    );
    let c = points(&s, "farm", "counts");
    assert!(
        c.contains(&("device=d1|n".into(), 1_704_067_200_000, json!(5))),
        "{c:?}"
    );
    assert!(c.contains(&("device=d1|u".into(), 1_704_067_200_000, json!(7))));
    assert!(c.contains(&("device=d1|ok".into(), 1_704_067_200_000, json!(true))));
    // Empty body: 204.
    assert_eq!(s.write_lp("db=farm", "").status, 204);
}

#[test]
fn restart_keeps_data_and_flushed_tables() {
    let dir = TempDir::new("restart");
    let mut s = Server::start(&dir.0, None);
    let mut lines = String::new();
    for i in 0..2000 {
        lines.push_str(&format!(
            "m,host=h{} v={} {}\n",
            i % 7,
            i,
            1_600_000_000 + i
        ));
    }
    assert_eq!(s.write_lp("db=pulsardb&precision=s", &lines).status, 204);
    // Half flushed to a table, half only in the WAL.
    let r = s.req("POST", "/flush", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let mut more = String::new();
    for i in 2000..3000 {
        more.push_str(&format!(
            "m,host=h{} v={} {}\n",
            i % 7,
            i,
            1_600_000_000 + i
        ));
    }
    assert_eq!(s.write_lp("db=pulsardb&precision=s", &more).status, 204);
    let before = points(&s, "pulsardb", "m");
    assert_eq!(before.len(), 3000);
    assert_eq!(s.stop(), 0, "clean stop; log:\n{}", s.log_text());
    assert!(s.log_text().contains("stopped cleanly"));
    s.restart();
    assert_eq!(points(&s, "pulsardb", "m"), before);
    // After a SIGKILL too.
    s.kill();
    s.restart();
    assert_eq!(points(&s, "pulsardb", "m"), before);
}

/// Concurrent writers; the server is SIGKILLed while they write; every
/// write that got its 204 must be there after the restart. 20 rounds.
#[test]
fn sigkill_after_acknowledged_writes_loses_nothing() {
    let dir = TempDir::new("sigkill");
    let mut s = Server::start(
        &dir.0,
        Some(r#"{"flush_interval_seconds": 1, "max_memory_mb": 8}"#),
    );
    let mut acked_total = 0usize;
    let mut all_acked: BTreeSet<(u64, u64)> = BTreeSet::new();
    for round in 0..20u64 {
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicU64::new(0));
        let addr = s.addr;
        let mut handles = Vec::new();
        for w in 0..4u64 {
            let (stop, next) = (stop.clone(), next.clone());
            handles.push(std::thread::spawn(move || {
                let mut acked = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    let mut body = String::new();
                    for k in 0..50u64 {
                        body.push_str(&format!(
                            "k,round=r{round},writer=w{w} v={} {}\n",
                            b * 100 + k,
                            b * 100 + k + 1
                        ));
                    }
                    match pulsardb_tests::try_request(
                        addr,
                        "POST",
                        "/write?db=pulsardb&precision=s",
                        &[],
                        body.as_bytes(),
                    ) {
                        Ok(r) if r.status == 204 => acked.push(b),
                        Ok(r) => panic!("write answered {}: {}", r.status, r.text()),
                        Err(_) => break, // killed
                    }
                }
                acked.into_iter().map(|b| (w, b)).collect::<Vec<_>>()
            }));
        }
        std::thread::sleep(Duration::from_millis(150 + (round % 5) * 40));
        s.kill();
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            for (w, b) in h.join().unwrap() {
                all_acked.insert((round * 10 + w, b));
            }
        }
        s.restart();
        // Every acknowledged batch of this and earlier rounds is there, whole.
        let got = points(&s, "pulsardb", "k");
        let have: BTreeSet<(String, i64)> = got.iter().map(|p| (p.0.clone(), p.1)).collect();
        let mut round_acked = 0;
        for &(rw, b) in &all_acked {
            let (r, w) = (rw / 10, rw % 10);
            for k in 0..50u64 {
                let key = (
                    format!("round=r{r},writer=w{w}|v"),
                    ((b * 100 + k + 1) * 1000) as i64,
                );
                assert!(
                    have.contains(&key),
                    "round {round}: acknowledged point {key:?} lost; log:\n{}",
                    s.log_text()
                );
            }
            if r == round {
                round_acked += 1;
            }
        }
        assert!(
            round_acked > 0,
            "round {round}: no write was acknowledged before the kill"
        );
        acked_total += round_acked;
    }
    println!(
        "sigkill: 20 rounds, {acked_total} acknowledged batches of 50 points checked after restarts"
    );
}

#[test]
fn bad_input_gets_4xx_json_and_the_server_keeps_serving() {
    let dir = TempDir::new("bad");
    let s = Server::start(&dir.0, Some(r#"{"http": {"max_body_mb": 1}}"#));
    let err = |r: pulsardb_tests::Resp, status: u16, needle: &str| {
        assert_eq!(r.status, status, "{}", r.text());
        let e = r.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(e.contains(needle), "error {e:?} lacks {needle:?}");
        e
    };
    // Malformed line protocol: partial write naming the line.
    let e = err(
        s.write_lp("db=pulsardb", "ok v=1 1\nbroken,tag v=2 2\nok v=3 3\n"),
        400,
        "partial write",
    );
    assert!(e.contains("line 2") && e.contains("dropped=1"), "{e}");
    assert_eq!(
        points(&s, "pulsardb", "ok").len(),
        2,
        "good lines are written"
    );
    // A field type conflict names the field and the types.
    let e = err(
        s.write_lp("db=pulsardb", "ok v=\"text\" 4\nok v=5i 5\n"),
        400,
        "partial write",
    );
    assert!(
        e.contains("string") && e.contains("integer") && e.contains("dropped=2"),
        "{e}"
    );
    // NaN is rejected by the parser.
    err(s.write_lp("db=pulsardb", "ok v=NaN 6"), 400, "line 1");
    // Malformed JSON.
    err(
        s.req(
            "POST",
            "/write",
            &[("Content-Type", "application/json")],
            b"{\"metric\": ",
        ),
        400,
        "invalid JSON",
    );
    err(
        s.req(
            "POST",
            "/write",
            &[("Content-Type", "application/json")],
            br#"{"metric":"x","value":"high"}"#,
        ),
        400,
        "string",
    );
    err(
        s.req(
            "POST",
            "/query",
            &[("Content-Type", "application/json")],
            br#"{"metric":"x","aggregate":"median2"}"#,
        ),
        400,
        "unknown aggregate",
    );
    // Unknown database, missing db, bad precision.
    err(s.write_lp("db=nope", "x v=1"), 404, "database not found");
    err(s.write_lp("", "x v=1"), 400, "database is required");
    err(
        s.write_lp("db=pulsardb&precision=fortnight", "x v=1"),
        400,
        "invalid precision",
    );
    // Oversized body: refused from its Content-Length.
    let big = vec![b'x'; 2 << 20];
    err(
        s.req("POST", "/write?db=pulsardb", &[], &big),
        413,
        "exceeds the limit",
    );
    // A gzip bomb is bounded by the same limit after decoding.
    let bomb = gzip(&vec![b'a'; 4 << 20]);
    err(
        s.req(
            "POST",
            "/write?db=pulsardb",
            &[("Content-Encoding", "gzip")],
            &bomb,
        ),
        413,
        "decompressed",
    );
    err(
        s.req(
            "POST",
            "/write?db=pulsardb",
            &[("Content-Encoding", "gzip")],
            b"not gzip",
        ),
        400,
        "invalid gzip",
    );
    // Unknown paths and methods.
    err(s.req("GET", "/nowhere", &[], b""), 404, "not found");
    err(s.req("DELETE", "/write", &[], b""), 405, "not allowed");
    // Still serving.
    assert_eq!(s.req("GET", "/ping", &[], b"").status, 204);
    assert_eq!(s.write_lp("db=pulsardb", "ok v=7 7").status, 204);
    assert_eq!(points(&s, "pulsardb", "ok").len(), 3);
}

#[test]
fn a_second_server_on_the_same_directory_fails_clearly() {
    let dir = TempDir::new("lock");
    let s = Server::start(&dir.0, None);
    let out = pulsardb_tests::command()
        .arg("--data-dir")
        .arg(&dir.0)
        .arg("--http-addr")
        .arg(format!("127.0.0.1:{}", pulsardb_tests::free_port()))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in use by another pulsardb process")
            && err.contains(&format!("pid {}", s.child.as_ref().unwrap().id())),
        "{err}"
    );
    assert_eq!(s.req("GET", "/ping", &[], b"").status, 204);
}

/// The configuration shipped for gateways loads and serves (its data
/// directory and address overridden by the command line).
#[test]
fn the_gateway_board_config_starts() {
    let dir = TempDir::new("board");
    let cfg = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../boards/linux-gateway/pulsardb.json"),
    )
    .expect("boards/linux-gateway/pulsardb.json");
    let s = Server::start(&dir.0, Some(&cfg));
    let r = s.req("POST", "/write?db=sensors", &[], b"t,room=a v=21.5");
    assert_eq!(r.status, 204, "{}", r.text());
    let h = s.req("GET", "/health", &[], b"");
    assert_eq!(h.status, 200);
}

#[test]
fn ping_health_metrics_and_config_errors() {
    let dir = TempDir::new("status");
    let s = Server::start(&dir.0, None);
    let r = s.req("GET", "/ping", &[], b"");
    assert_eq!(r.status, 204);
    assert_eq!(r.header("X-Influxdb-Version"), Some("1.8.10"));
    assert_eq!(s.req("HEAD", "/ping", &[], b"").status, 204);
    let h = s.req("GET", "/health", &[], b"").json();
    assert_eq!(h["status"], "pass");
    assert!(h["uptime_seconds"].is_u64() && h["store"]["writable"] == true);
    assert_eq!(s.write_lp("db=pulsardb", "m v=1 1\nm v=x 2").status, 400);
    let m = s.req("GET", "/metrics", &[], b"");
    assert!(
        m.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let t = m.text();
    for needle in [
        "pulsardb_points_total{outcome=\"written\"} 1",
        "pulsardb_points_total{outcome=\"rejected\"} 1",
        "pulsardb_write_requests_total{outcome=\"partial\"} 1",
        "pulsardb_query_duration_seconds_bucket{le=\"+Inf\"}",
        "pulsardb_memtable_bytes",
        "pulsardb_wal_bytes",
        "pulsardb_device_capacity_bytes 1073741824",
        "pulsardb_device_used_bytes",
        "pulsardb_flushes_total",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    ] {
        assert!(t.contains(needle), "metrics lack {needle:?}:\n{t}");
    }
    // A bad config names the key and exits 1.
    let cfg = dir.0.join("bad.json");
    std::fs::write(&cfg, r#"{"storage": {"sync": "sometimes"}}"#).unwrap();
    let out = pulsardb_tests::command()
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"storage.sync\""));
    let out = pulsardb_tests::command().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("pulsardb "));
}

/// String field values: refused by default (400 naming the line, the field
/// and the setting; the point's numbers are not written either), left out
/// with `"string_fields": "drop"` (the numbers written, a point of strings
/// alone writes nothing, errors still name the right line, /metrics counts
/// what was left out).
#[test]
fn string_fields_refused_or_left_out() {
    let dir = TempDir::new("strings-reject");
    let s = Server::start(&dir.0, None);
    let r = s.write_lp(
        "db=pulsardb&precision=s",
        "m,h=a a=1,s=\"x\" 1\nm,h=a a=2 2\n",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let e = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(
        e.contains("line 1") && e.contains("\"s\" is a string") && e.contains("string_fields"),
        "{e}"
    );
    assert_eq!(points(&s, "pulsardb", "m").len(), 1, "only the second line");

    let dir = TempDir::new("strings-drop");
    let s = Server::start(&dir.0, Some(r#"{"string_fields": "drop"}"#));
    let r = s.write_lp(
        "db=pulsardb&precision=s",
        "m,h=a s=\"x\" 1\nm,h=a a=1,s=\"y\" 2\nm,h=a a=1i 3\nother s=\"z\" 4\nm,h=a,h=b s=\"w\" 5\n",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let e = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(
        e.contains("line 3")
            && e.contains("integer")
            && e.contains("line 5")
            && e.contains("dropped=2"),
        "a type conflict and a bad tag are still refused, naming their lines: {e}"
    );
    let got = points(&s, "pulsardb", "m");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].1, got[0].2.as_f64()), (2_000, Some(1.0)), "ms");
    assert!(points(&s, "pulsardb", "other").is_empty());
    let r = s.req(
        "POST",
        "/write",
        &[("Content-Type", "application/json")],
        br#"[{"metric":"j","value":2.5,"fields":{"state":"on"},"timestamp":1000},
             {"metric":"j","value":"off","timestamp":2000}]"#,
    );
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(points(&s, "pulsardb", "j").len(), 1);
    let t = s.req("GET", "/metrics", &[], b"").text();
    for needle in [
        "pulsardb_points_total{outcome=\"written\"} 2",
        "pulsardb_points_total{outcome=\"rejected\"} 2",
        "pulsardb_points_total{outcome=\"dropped_string\"} 5",
    ] {
        assert!(t.contains(needle), "metrics lack {needle:?}:\n{t}");
    }
    let r = s.req("POST", "/query?q=SHOW+MEASUREMENTS&db=pulsardb", &[], b"");
    assert!(!r.text().contains("other"), "{}", r.text());
    // SELECT ... INTO leaves a string column (a tag not grouped by) out
    // instead of refusing the statement.
    let into = pulsardb_tests::urlencode("SELECT a, h INTO copies FROM m");
    let r = s.req("POST", &format!("/query?db=pulsardb&q={into}"), &[], b"");
    assert!(
        r.text()
            .contains(r#""columns":["time","written"],"values":[["1970-01-01T00:00:00Z",1]]"#),
        "{}",
        r.text()
    );
    let got = points(&s, "pulsardb", "copies");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "|a", "the number, without the tag: {got:?}");
}
