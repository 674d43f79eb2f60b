//! The HTTP hardening: each limit, tried on the real binary. See
//! `server/src/http/guard.rs` for why each exists.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use pulsardb_tests::{Server, TempDir, read_response};

fn connect(s: &Server) -> TcpStream {
    let c = TcpStream::connect(s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    c
}

/// Regression: tiny_http drained an unread body by allocating its whole
/// declared length at once; a huge Content-Length must get a 413 and no
/// allocation, whether or not the client waits for 100-continue.
#[test]
fn huge_content_length_is_refused_without_reading() {
    let dir = TempDir::new("huge");
    let s = Server::start(&dir.0, None);
    for expect in ["", "Expect: 100-continue\r\n"] {
        let mut c = connect(&s);
        write!(c, "POST /write?db=pulsardb HTTP/1.1\r\nHost: x\r\n{expect}Content-Length: 100000000000\r\n\r\n").unwrap();
        let r = read_response(&mut BufReader::new(c)).unwrap();
        assert_eq!(r.status, 413);
        assert!(r.text().contains("100000000000 bytes exceeds the limit"));
    }
    assert_eq!(s.req("GET", "/ping", &[], b"").status, 204, "still alive");
}

/// Many clients each sending most of a large body and then stalling: only
/// `http.workers` of those bodies are received at a time, the rest wait in
/// their sockets, so the server's memory does not grow with them.
#[test]
fn stalled_large_bodies_do_not_pile_up_in_memory() {
    let dir = TempDir::new("bodies");
    let s = Server::start(
        &dir.0,
        Some(r#"{"http": {"workers": 2, "max_body_mb": 4, "body_timeout_seconds": 120}}"#),
    );
    let rss0 = s.rss_kib();
    let chunk = vec![b'#'; 64 << 10];
    let mut conns = Vec::new();
    for _ in 0..40 {
        let mut c = connect(&s);
        c.set_write_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        write!(
            c,
            "POST /write?db=pulsardb HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            4 << 20
        )
        .unwrap();
        // 3 of the 4 MiB, or as much as the socket takes.
        for _ in 0..48 {
            if c.write_all(&chunk).is_err() {
                break;
            }
        }
        conns.push(c);
    }
    std::thread::sleep(Duration::from_millis(500));
    let rss1 = s.rss_kib();
    let grown_mib = rss1.saturating_sub(rss0) / 1024;
    println!(
        "stalled bodies: 40 clients sent up to 3 of 4 MiB each and stalled; RSS {rss0} → {rss1} KiB (+{grown_mib} MiB)"
    );
    // Two bodies in memory (8 MiB of buffers) plus the server's own; all
    // 40 would be 120 MiB or more.
    assert!(grown_mib < 40, "RSS grew by {grown_mib} MiB");
    // The two receiving hold the upload slots, not the handler turns:
    // small requests are served meanwhile, not after the body deadline.
    let mut c = connect(&s);
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    let ping = read_response(&mut r).expect("no answer while large bodies are stalled");
    assert_eq!(ping.status, 204);
    let w = s.write_lp("db=pulsardb&precision=s", "m v=1 1\nm v=2 2\n");
    assert_eq!(w.status, 204, "{}", w.text());
    let q = s.req(
        "GET",
        "/query?db=pulsardb&q=SELECT%20count(v)%20FROM%20m",
        &[],
        b"",
    );
    assert!(
        q.text().contains("[\"1970-01-01T00:00:00Z\",2]"),
        "{}",
        q.text()
    );
    drop(conns);
    assert_eq!(s.req("GET", "/ping", &[], b"").status, 204, "still serving");
}

#[test]
fn expect_100_continue_and_keep_alive_work() {
    let dir = TempDir::new("expect");
    let s = Server::start(&dir.0, None);
    let mut c = connect(&s);
    let body = b"m v=1 1\n";
    write!(c, "POST /write?db=pulsardb HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n", body.len()).unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    let cont = read_response(&mut r).unwrap();
    assert_eq!(cont.status, 100);
    c.write_all(body).unwrap();
    assert_eq!(read_response(&mut r).unwrap().status, 204);
    // Same connection, pipelined: two requests sent at once.
    c.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut r).unwrap().status, 204);
    assert_eq!(read_response(&mut r).unwrap().status, 204);
    // Chunked body.
    c.write_all(b"POST /write?db=pulsardb HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nm v=\r\n4\r\n2 2\n\r\n0\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut r).unwrap().status, 204);
}

#[test]
fn oversized_head_and_chunked_bodies_are_cut_off() {
    let dir = TempDir::new("heads");
    let s = Server::start(&dir.0, Some(r#"{"http": {"max_body_mb": 1}}"#));
    // An endless header line.
    let mut c = connect(&s);
    c.write_all(b"GET /ping HTTP/1.1\r\nX-Long: ").unwrap();
    let chunk = vec![b'a'; 16 << 10];
    let mut sent = 0;
    while sent < (1 << 20) {
        if c.write_all(&chunk).is_err() {
            break;
        }
        sent += chunk.len();
    }
    let mut buf = Vec::new();
    let _ = c.read_to_end(&mut buf);
    assert!(
        String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 431"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
    // Too many header lines.
    let mut c = connect(&s);
    let mut head = String::from("GET /ping HTTP/1.1\r\n");
    for i in 0..200 {
        head.push_str(&format!("X-{i}: v\r\n"));
    }
    head.push_str("\r\n");
    c.write_all(head.as_bytes()).unwrap();
    assert_eq!(read_response(&mut BufReader::new(c)).unwrap().status, 431);
    // A chunked body growing past the limit.
    let mut c = connect(&s);
    c.write_all(
        b"POST /write?db=pulsardb HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .unwrap();
    let piece = format!("{:x}\r\n{}\r\n", 64 << 10, "m v=1 1\n".repeat(8 << 10));
    let mut r = Err(std::io::ErrorKind::Other.into());
    for _ in 0..40 {
        if c.write_all(piece.as_bytes()).is_err() {
            break;
        }
    }
    if let Ok(c2) = c.try_clone() {
        r = read_response(&mut BufReader::new(c2));
    }
    assert_eq!(r.map(|r| r.status).unwrap_or(413), 413);
    // Smuggling-shaped heads.
    let mut c = connect(&s);
    c.write_all(b"POST /write?db=pulsardb HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut BufReader::new(c)).unwrap().status, 400);
    assert_eq!(s.req("GET", "/ping", &[], b"").status, 204, "still alive");
}

#[test]
fn slow_and_idle_clients_are_disconnected() {
    let dir = TempDir::new("slow");
    let s = Server::start(&dir.0, Some(r#"{"http": {"idle_timeout_seconds": 1}}"#));
    // Idle after connecting: closed after the idle timeout, nothing sent.
    let mut c = connect(&s);
    let t0 = Instant::now();
    let mut buf = [0u8; 16];
    assert_eq!(c.read(&mut buf).unwrap_or(0), 0);
    assert!(t0.elapsed() >= Duration::from_millis(900) && t0.elapsed() < Duration::from_secs(10));
    // A head trickled byte by byte: 408 within the head timeout.
    let mut c = connect(&s);
    let t0 = Instant::now();
    let mut status = String::new();
    for b in b"GET /ping HTTP/1.1\r\nX-Slow: ".iter().cycle() {
        if c.write_all(&[*b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        c.set_nonblocking(true).unwrap();
        let mut tmp = [0u8; 64];
        if let Ok(n) = c.read(&mut tmp) {
            status = String::from_utf8_lossy(&tmp[..n]).into_owned();
            break;
        }
        c.set_nonblocking(false).unwrap();
        assert!(t0.elapsed() < Duration::from_secs(30), "never cut off");
    }
    assert!(
        status.starts_with("HTTP/1.1 408") || status.is_empty(),
        "{status}"
    );
    assert!(t0.elapsed() >= Duration::from_secs(9));
}

#[test]
fn connections_beyond_the_limit_evict_idle_ones_or_get_503() {
    let dir = TempDir::new("conns");
    let s = Server::start(
        &dir.0,
        Some(
            r#"{"http": {"max_connections": 8, "idle_timeout_seconds": 30, "body_timeout_seconds": 30}}"#,
        ),
    );
    // 8 idle keep-alive connections: a newcomer evicts the oldest.
    let mut idle = Vec::new();
    for _ in 0..8 {
        let mut c = connect(&s);
        c.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut r = BufReader::new(c.try_clone().unwrap());
        assert_eq!(read_response(&mut r).unwrap().status, 204);
        idle.push((c, r));
    }
    assert_eq!(
        s.req("GET", "/ping", &[], b"").status,
        204,
        "served by evicting"
    );
    let (mut first, mut first_r) = idle.remove(0);
    let _ = first.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        read_response(&mut first_r).is_err(),
        "the oldest idle connection was closed"
    );
    drop(idle);
    std::thread::sleep(Duration::from_millis(300));
    // 8 connections busy inside a request (half a body sent): a newcomer
    // gets 503.
    let mut busy = Vec::new();
    for _ in 0..8 {
        let mut c = connect(&s);
        c.write_all(
            b"POST /write?db=pulsardb HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nm v=1",
        )
        .unwrap();
        busy.push(c);
    }
    std::thread::sleep(Duration::from_millis(300));
    let c = connect(&s);
    let r = read_response(&mut BufReader::new(c)).unwrap();
    assert_eq!(r.status, 503);
    assert!(r.text().contains("too many connections"));
    drop(busy);
    // Freed: served again.
    let t0 = Instant::now();
    while s.req("GET", "/ping", &[], b"").status != 204 {
        assert!(t0.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn http_1_0_keep_alive_is_answered_in_kind() {
    let dir = TempDir::new("http10");
    let s = Server::start(&dir.0, None);
    let header = |r: &pulsardb_tests::Resp, name: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    // Asked for: the answer says keep-alive and the connection serves a
    // second request.
    let mut c = connect(&s);
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    for _ in 0..2 {
        c.write_all(b"GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let resp = read_response(&mut r).unwrap();
        assert_eq!(resp.status, 204);
        assert_eq!(header(&resp, "connection").as_deref(), Some("keep-alive"));
    }
    // Not asked for: HTTP/1.0 closes after the answer.
    let mut c = connect(&s);
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(b"GET /ping HTTP/1.0\r\n\r\n").unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    let resp = read_response(&mut r).unwrap();
    assert_eq!(resp.status, 204);
    assert_eq!(header(&resp, "connection").as_deref(), Some("close"));
    let mut rest = Vec::new();
    assert_eq!(r.read_to_end(&mut rest).unwrap(), 0, "closed");
}
