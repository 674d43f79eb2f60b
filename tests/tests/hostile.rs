//! Hostile input against the real binary: malformed and oversized requests,
//! bodies that lie about themselves, bytes no text should hold, values no
//! store should take, queries no parser should accept. Each must get a clear
//! 4xx; the server must stay up, not grow, and keep the data it had.
//!
//! Also: slow clients (a slow-loris crowd and a stalled body) do not lock a
//! normal client out, and are cut off by the deadlines.

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use pulsardb_tests::{Server, TempDir, gzip, read_response, urlencode};
use serde_json::Value;

/// Sends raw bytes on a fresh connection; returns the status (0 if the
/// server closed without answering) and the time it took.
fn raw(s: &Server, bytes: &[u8], close_after: bool) -> (u16, String, Duration) {
    let t = Instant::now();
    let mut c = TcpStream::connect(s.addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let _ = c.write_all(bytes);
    if close_after {
        let _ = c.shutdown(Shutdown::Write);
    }
    match read_response(&mut BufReader::new(c)) {
        Ok(r) => (r.status, r.text(), t.elapsed()),
        Err(_) => (0, String::new(), t.elapsed()),
    }
}

fn post(path: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    v.extend_from_slice(body);
    v
}

/// A case: what, the raw request, the statuses accepted.
struct Case {
    what: String,
    bytes: Vec<u8>,
    want: Vec<u16>,
    /// The client ends its side of the stream after sending.
    half_close: bool,
}

fn case(what: impl Into<String>, bytes: Vec<u8>, want: &[u16]) -> Case {
    Case {
        what: what.into(),
        bytes,
        want: want.to_vec(),
        half_close: false,
    }
}

/// The invalid inputs of the line-protocol conformance corpus (text ones).
fn corpus_errors() -> Vec<(String, Vec<u8>, &'static str)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/line-protocol-corpus/corpus.json"
    );
    let json: Value = serde_json::from_slice(&std::fs::read(path).expect("corpus")).expect("json");
    let mut out: Vec<(String, Vec<u8>, &'static str)> = json["decode"]
        .as_object()
        .expect("decode")
        .iter()
        .filter(|(_, c)| c["output"].get("error").is_some())
        .filter_map(|(k, c)| {
            let text = c["input"]["text"].as_str()?;
            let p = match c["input"]["precision"].as_str()? {
                "1ns" => "ns",
                "1us" => "u",
                "1ms" => "ms",
                "1s" => "s",
                "1m" => "m",
                "1h" => "h",
                _ => return None,
            };
            Some((k.clone(), text.as_bytes().to_vec(), p))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn hostile_requests_get_4xx_and_change_nothing() {
    let dir = TempDir::new("hostile");
    let s = Server::start(
        &dir.0,
        Some(
            r#"{"http": {"max_body_mb": 1, "body_timeout_seconds": 2, "head_timeout_seconds": 2},
                 "limits": {"max_tags_per_point": 64, "max_line_bytes": 65536}}"#,
        ),
    );
    // Data written before: must read back unchanged.
    let mut before = String::new();
    for i in 0..500 {
        before.push_str(&format!(
            "keep,host=a v={}.25,n={i}i {}\n",
            i % 7,
            1_700_000_000 + i
        ));
    }
    assert_eq!(s.write_lp("db=pulsardb&precision=s", &before).status, 204);
    let q = "/query?db=pulsardb&epoch=s&q=SELECT%20*%20FROM%20keep";
    let snapshot = s.req("GET", q, &[], b"").text();
    assert!(snapshot.contains("\"values\""));
    // Field types fixed for the conflict cases below.
    assert_eq!(
        s.write_lp("db=pulsardb", "typed v=1.5,i=1i,b=true 1")
            .status,
        204
    );

    let mut cases: Vec<Case> = Vec::new();
    // --- request heads -------------------------------------------------
    for line in [
        "GARBAGE\r\n\r\n",
        "GET\r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "GET /ping SPDY/3\r\n\r\n",
        " / HTTP/1.1\r\n\r\n",
        "GET /ping HTTP/1.1\r\nno colon here\r\n\r\n",
        "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        "GET /ping HTTP/1.1\r\nExpect: 200-ok\r\n\r\n",
        "POST /write?db=pulsardb HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "POST /write?db=pulsardb HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST /write?db=pulsardb HTTP/1.1\r\nContent-Length: 1e9\r\n\r\n",
        "POST /write?db=pulsardb HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nm v=1",
        "POST /write?db=pulsardb HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /write?db=pulsardb HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST /write?db=pulsardb HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
        "POST /write?db=pulsardb HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "POST /write?db=pulsardb HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n",
        "POST /write?db=pulsardb HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "POST /write?db=pulsardb HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\n",
        "GET /nope HTTP/1.1\r\n\r\n",
        "DELETE /write HTTP/1.1\r\n\r\n",
        "PUT /query HTTP/1.1\r\n\r\n",
        "GET /ping\0 HTTP/1.1\r\n\r\n",
        "GET /query?q=%ZZ HTTP/1.1\r\n\r\n",
    ] {
        cases.push(case(
            format!("head {:?}", line.get(..40.min(line.len())).unwrap_or(line)),
            line.as_bytes().to_vec(),
            &[400, 404, 405, 408, 411, 413, 431, 501],
        ));
    }
    let long = format!(
        "GET /ping HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20 << 10)
    );
    cases.push(case("a 20 KiB header", long.into_bytes(), &[431]));
    let mut many = String::from("GET /ping HTTP/1.1\r\n");
    for i in 0..100 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    cases.push(case("100 header lines", many.into_bytes(), &[431]));
    // --- bodies ----------------------------------------------------------
    // The client ends the stream inside its body. (A client that goes
    // silent instead is cut off by the body deadline: tests/guard.rs.)
    cases.push(Case {
        half_close: true,
        ..case(
            "truncated body (Content-Length 100, 10 sent, then end of stream)",
            b"POST /write?db=pulsardb HTTP/1.1\r\nContent-Length: 100\r\n\r\nm v=1 1\nm ".to_vec(),
            &[400],
        )
    });
    cases.push(Case {
        half_close: true,
        ..case(
            "truncated chunked body (end of stream inside a chunk)",
            b"POST /write?db=pulsardb HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nm v=1"
                .to_vec(),
            &[400],
        )
    });
    let bomb = gzip(&vec![b'a'; 50 << 20]);
    cases.push(case(
        format!("gzip bomb ({} KiB to 50 MiB)", bomb.len() >> 10),
        post("/write?db=pulsardb", "Content-Encoding: gzip\r\n", &bomb),
        &[413],
    ));
    cases.push(case(
        "invalid gzip",
        post(
            "/write?db=pulsardb",
            "Content-Encoding: gzip\r\n",
            b"\x1f\x8b\x08not gzip",
        ),
        &[400],
    ));
    cases.push(case(
        "body over max_body_mb",
        post("/write?db=pulsardb", "", &vec![b'#'; (1 << 20) + 1]),
        &[413],
    ));
    // --- line protocol ------------------------------------------------
    let mut lp: Vec<(&str, Vec<u8>)> = vec![
        ("NUL in measurement", b"m\0x v=1 1".to_vec()),
        ("NUL in tag", b"m,t=a\0b v=1 1".to_vec()),
        ("NUL in field key", b"m v\0=1 1".to_vec()),
        ("invalid UTF-8 measurement", b"m\xff\xfe v=1 1".to_vec()),
        ("invalid UTF-8 tag value", b"m,t=\xc3\x28 v=1 1".to_vec()),
        ("invalid UTF-8 field key", b"m \xed\xa0\x80=1 1".to_vec()),
        ("NaN", b"m v=NaN 1".to_vec()),
        ("nan", b"m v=nan 1".to_vec()),
        ("Inf", b"m v=Inf 1".to_vec()),
        ("+Inf", b"m v=+Inf 1".to_vec()),
        ("-inf", b"m v=-inf 1".to_vec()),
        ("float overflow", b"m v=1e400 1".to_vec()),
        ("integer overflow", b"m v=9223372036854775808i 1".to_vec()),
        ("unsigned overflow", b"m v=18446744073709551616u 1".to_vec()),
        (
            "timestamp beyond i64",
            b"m v=1 99999999999999999999".to_vec(),
        ),
        (
            "timestamp overflows at precision h",
            b"m v=1 9999999999999".to_vec(),
        ),
        ("type conflict float→int", b"typed v=1i 2".to_vec()),
        ("type conflict int→float", b"typed i=1.5 2".to_vec()),
        ("type conflict bool→string", b"typed b=\"yes\" 2".to_vec()),
        ("type conflict int→bool", b"typed i=true 2".to_vec()),
        ("no fields", b"m 1".to_vec()),
        ("empty measurement", b",t=1 v=1 1".to_vec()),
        ("unterminated string", b"m v=\"open 1".to_vec()),
        ("trailing escape", b"m\\ v=1 1\\".to_vec()),
        (
            "a 100 KiB line",
            format!("m v=1,s=\"{}\" 1", "x".repeat(100 << 10)).into_bytes(),
        ),
    ];
    let mut tags = String::from("m");
    for i in 0..100_000 {
        tags.push_str(&format!(",t{i}=v"));
    }
    tags.push_str(" v=1 1");
    lp.push(("100,000 tags", tags.into_bytes()));
    let mut few = String::from("m");
    for i in 0..65 {
        few.push_str(&format!(",t{i}=v"));
    }
    few.push_str(" v=1 1");
    lp.push(("65 tags (limit 64)", few.into_bytes()));
    for (what, body) in lp {
        let prec = if what.contains("precision h") {
            "h"
        } else {
            "ns"
        };
        cases.push(case(
            format!("line protocol: {what}"),
            post(&format!("/write?db=pulsardb&precision={prec}"), "", &body),
            &[400, 413],
        ));
    }
    cases.push(case(
        "unknown database",
        post("/write?db=nope", "", b"m v=1 1"),
        &[404],
    ));
    cases.push(case("no database", post("/write", "", b"m v=1 1"), &[400]));
    cases.push(case(
        "bad precision",
        post("/write?db=pulsardb&precision=fortnight", "", b"m v=1 1"),
        &[400],
    ));
    let corpus = corpus_errors();
    let corpus_n = corpus.len().min(150);
    for (k, text, p) in corpus.into_iter().take(corpus_n) {
        cases.push(case(
            format!("corpus {k}"),
            post(&format!("/write?db=pulsardb&precision={p}"), "", &text),
            &[400],
        ));
    }
    // --- JSON ------------------------------------------------------------
    let json = "Content-Type: application/json\r\n";
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for (what, body) in [
        ("deeply nested JSON write", deep.clone()),
        ("not JSON", "{nope".to_string()),
        (
            "NaN in JSON",
            r#"[{"metric":"m","value":NaN,"timestamp":1}]"#.to_string(),
        ),
        (
            "value as object",
            r#"[{"metric":"m","value":{},"timestamp":1}]"#.to_string(),
        ),
        (
            "timestamp as string",
            r#"[{"metric":"m","value":1,"timestamp":"x"}]"#.to_string(),
        ),
        (
            "huge timestamp",
            r#"[{"metric":"m","value":1,"timestamp":1e300}]"#.to_string(),
        ),
        ("no metric", r#"[{"value":1,"timestamp":1}]"#.to_string()),
        (
            "empty metric",
            r#"[{"metric":"","value":1,"timestamp":1}]"#.to_string(),
        ),
        (
            "tags not an object",
            r#"[{"metric":"m","value":1,"timestamp":1,"tags":[1]}]"#.to_string(),
        ),
    ] {
        cases.push(case(
            format!("JSON write: {what}"),
            post("/write", json, body.as_bytes()),
            &[400],
        ));
    }
    cases.push(case(
        "deeply nested JSON query",
        post("/query", json, deep.as_bytes()),
        &[400],
    ));
    // --- InfluxQL -----------------------------------------------------------
    for q in [
        "SELEC v FROM m",
        "SELECT FROM m",
        "SELECT v FROM",
        "SELECT v FROM m WHERE",
        "SELECT v FROM m WHERE time >",
        "SELECT v FROM m GROUP BY time(",
        "SELECT v FROM m LIMIT -1",
        "SELECT \"v FROM m",
        "SELECT v FROM /unclosed",
        "SELECT v FROM m; SELEC",
        "DROP",
        "SHOW",
        "SHOW TAG VALUES FROM m",
        "CREATE DATABASE",
        "SELECT mean(v FROM m",
        &format!("SELECT v FROM m WHERE {}", "(".repeat(10_000)),
        &"SELECT ".repeat(5000),
        "SELECT v FROM m WHERE t = 'open",
        "\0\0\0",
        "SELECT \u{fffd}\u{0} FROM m",
    ] {
        cases.push(case(
            format!("InfluxQL {:?}", q.get(..30.min(q.len())).unwrap_or(q)),
            post(
                "/query",
                "Content-Type: application/x-www-form-urlencoded\r\n",
                format!("db=pulsardb&q={}", urlencode(q)).as_bytes(),
            ),
            &[400],
        ));
    }

    let rss0 = s.rss_kib();
    let mut worst = Duration::ZERO;
    let mut lat: Vec<Duration> = Vec::new();
    let mut failures = Vec::new();
    for c in &cases {
        let (status, body, took) = raw(&s, &c.bytes, c.half_close);
        lat.push(took);
        worst = worst.max(took);
        if !c.want.contains(&status) {
            failures.push(format!("{}: got {status} {body}", c.what));
        } else if !body.is_empty() && serde_json::from_str::<Value>(&body).is_err() {
            failures.push(format!("{}: body is not JSON: {body}", c.what));
        }
    }
    // Twice more, to see memory settle rather than grow.
    for _ in 0..2 {
        for c in &cases {
            let _ = raw(&s, &c.bytes, c.half_close);
        }
    }
    let rss1 = s.rss_kib();
    lat.sort();
    let p99 = lat.get(lat.len() * 99 / 100).copied().unwrap_or_default();
    println!(
        "hostile: {} cases ({corpus_n} from the conformance corpus), each answered 4xx: {}; slowest {:.0} ms, p99 {:.0} ms; RSS {} → {} KiB over 3 passes",
        cases.len(),
        cases.len() - failures.len(),
        worst.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0,
        rss0,
        rss1
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(cases.len() >= 200);
    assert_eq!(s.req("GET", "/ping", &[], b"").status, 204, "still alive");
    assert_eq!(s.req("GET", q, &[], b"").text(), snapshot, "data changed");
    let log = s.log_text();
    assert!(!log.contains("panicked"), "a panic:\n{log}");
    assert!(rss1 < rss0 + 5 * 1024, "RSS grew from {rss0} to {rss1} KiB");
}

#[test]
fn slow_clients_do_not_lock_out_a_normal_one() {
    let dir = TempDir::new("slow");
    let s = Server::start(
        &dir.0,
        Some(
            r#"{"http": {"max_connections": 128, "head_timeout_seconds": 10, "body_timeout_seconds": 5}}"#,
        ),
    );
    // 200 connections trickling a request head, a byte a second.
    let slow: Vec<std::thread::JoinHandle<bool>> = (0..200)
        .map(|_| {
            let addr = s.addr;
            std::thread::spawn(move || {
                let Ok(mut c) = TcpStream::connect(addr) else {
                    return true;
                };
                let head = b"POST /write?db=pulsardb HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
                for b in head {
                    if c.write_all(&[*b]).is_err() {
                        return true; // closed by the server
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
                false // never closed
            })
        })
        .collect();
    // One that sends its head, then stalls in the body.
    let mut stalled = TcpStream::connect(s.addr).expect("connect");
    stalled
        .write_all(b"POST /write?db=pulsardb HTTP/1.1\r\nContent-Length: 1000\r\n\r\nm v=1 1\n")
        .expect("head");
    stalled
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let stall_t = Instant::now();
    // A normal client meanwhile: writes and queries for 12 s.
    std::thread::sleep(Duration::from_millis(500));
    let mut lat = Vec::new();
    let t0 = Instant::now();
    let mut i = 0;
    while t0.elapsed() < Duration::from_secs(12) {
        let t = Instant::now();
        let r = s.write_lp("db=pulsardb", &format!("normal v={i} {}", 1_000 + i));
        assert_eq!(r.status, 204, "normal write {i}: {}", r.text());
        let r = s.req("GET", "/ping", &[], b"");
        assert_eq!(r.status, 204);
        lat.push(t.elapsed());
        i += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    // The stalled body was cut off by its deadline, with a 408.
    let mut buf = Vec::new();
    let _ = stalled.read_to_end(&mut buf);
    let stall_secs = stall_t.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 408"), "stalled body: {text}");
    // Every slow connection was closed (head deadline or eviction).
    let closed = slow
        .into_iter()
        .map(|h| h.join().unwrap_or(false))
        .filter(|c| *c)
        .count();
    assert_eq!(closed, 200, "slow connections left open");
    lat.sort();
    let p99 = lat.get(lat.len() * 99 / 100).copied().unwrap_or_default();
    let metrics = s.req("GET", "/metrics", &[], b"").text();
    println!(
        "slow clients: 200 trickling heads and a stalled body; normal client {} write+ping rounds all answered, p99 {:.1} ms; the stalled body got 408 (body deadline 5 s; read back after {stall_secs:.1} s); all 200 slow connections closed; {}",
        lat.len(),
        p99.as_secs_f64() * 1000.0,
        metrics
            .lines()
            .filter(|l| l.starts_with("pulsardb_http_refused_total{"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let count: i64 = s
        .req(
            "GET",
            "/query?db=pulsardb&q=SELECT%20count(v)%20FROM%20normal",
            &[],
            b"",
        )
        .json()["results"][0]["series"][0]["values"][0][1]
        .as_i64()
        .unwrap_or(0);
    assert_eq!(count, i);
}
