//! Authentication: every credential form the InfluxDB clients use, wrong and
//! missing tokens, and scopes.

use pulsardb_tests::{Server, TempDir, urlencode};

const RW: &str = "rw-token-0123456789abcdef";
const RO: &str = "read-token-0123456789abcdef";
const WO: &str = "write-token-0123456789abcdef";

fn basic(user: &str, pass: &str) -> String {
    // Base64 by hand: the test must not share the server's decoder.
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{pass}").into_bytes();
    let mut out = String::new();
    for c in input.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

fn server(metrics: &str) -> (TempDir, Server) {
    let dir = TempDir::new("auth");
    let cfg = format!(
        r#"{{"auth": {{"enabled": true, "metrics": "{metrics}", "tokens": [
            {{"name": "admin", "token": "{RW}", "scope": "read-write"}},
            {{"name": "grafana", "token": "{RO}", "scope": "read"}},
            {{"name": "telegraf", "token": "{WO}", "scope": "write"}}]}}}}"#
    );
    let s = Server::start(&dir.0, Some(&cfg));
    (dir, s)
}

#[test]
fn each_credential_form_and_scope() {
    let (_dir, s) = server("open");
    let w = |h: &[(&str, &str)], q: &str| {
        s.req("POST", &format!("/write?db=pulsardb{q}"), h, b"m v=1 1")
            .status
    };
    let tok = format!("Token {RW}");
    let bearer = format!("Bearer {RW}");
    let basic_rw = basic("anyone", RW);
    let mut checks = 0;
    for (what, status) in [
        ("Token", w(&[("Authorization", &tok)], "")),
        ("Bearer", w(&[("Authorization", &bearer)], "")),
        ("Basic", w(&[("Authorization", &basic_rw)], "")),
        ("u/p parameters", w(&[], &format!("&u=someone&p={RW}"))),
        (
            "write token",
            w(&[("Authorization", &format!("Token {WO}"))], ""),
        ),
    ] {
        assert_eq!(status, 204, "{what}");
        checks += 1;
    }
    // Missing and wrong tokens: 401 with WWW-Authenticate.
    for (what, h, q) in [
        ("no token", vec![], String::new()),
        (
            "wrong token",
            vec![(
                "Authorization",
                "Token wrong-token-0123456789abcdef".to_string(),
            )],
            String::new(),
        ),
        (
            "right token but one char",
            vec![("Authorization", format!("Token {}x", &RW[..RW.len() - 1]))],
            String::new(),
        ),
        (
            "token as a prefix",
            vec![("Authorization", format!("Token {RW}extra"))],
            String::new(),
        ),
        (
            "empty token",
            vec![("Authorization", "Token ".to_string())],
            String::new(),
        ),
        (
            "wrong Basic password",
            vec![("Authorization", basic("u", "nope"))],
            String::new(),
        ),
        (
            "malformed Basic",
            vec![("Authorization", "Basic !!!".to_string())],
            String::new(),
        ),
        (
            "unknown scheme",
            vec![("Authorization", format!("Digest {RW}"))],
            String::new(),
        ),
        ("wrong p", vec![], "&u=x&p=nope".to_string()),
    ] {
        let hs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = s.req("POST", &format!("/write?db=pulsardb{q}"), &hs, b"m v=2 2");
        assert_eq!(r.status, 401, "{what}: {}", r.text());
        assert!(
            r.header("www-authenticate").is_some(),
            "{what}: no WWW-Authenticate"
        );
        assert!(r.text().contains("authorization failed"), "{what}");
        checks += 1;
    }
    // A read token may not write, and a write token may not read.
    let r = s.req(
        "POST",
        "/write?db=pulsardb",
        &[("Authorization", &format!("Token {RO}"))],
        b"m v=3 3",
    );
    assert_eq!(r.status, 403, "{}", r.text());
    let q = format!("/query?db=pulsardb&q={}", urlencode("SELECT v FROM m"));
    let r = s.req("GET", &q, &[("Authorization", &format!("Token {RO}"))], b"");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["results"][0]["series"][0]["values"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let r = s.req("GET", &q, &[("Authorization", &format!("Token {WO}"))], b"");
    assert!(r.text().contains("not authorized"), "{}", r.text());
    let r = s.req(
        "POST",
        &format!("/query?q={}", urlencode("CREATE DATABASE x")),
        &[("Authorization", &format!("Token {RO}"))],
        b"",
    );
    assert!(r.text().contains("not authorized"), "{}", r.text());
    let r = s.req("GET", &q, &[], b"");
    assert_eq!(r.status, 401);
    // SELECT ... INTO reads and writes: neither token alone may run it.
    let into = format!(
        "/query?db=pulsardb&q={}",
        urlencode("SELECT v INTO m2 FROM m")
    );
    for (token, answer) in [
        (RO, "not authorized"),
        (WO, "not authorized"),
        (RW, "\"written\""),
    ] {
        let r = s.req(
            "POST",
            &into,
            &[("Authorization", &format!("Token {token}"))],
            b"",
        );
        assert!(r.text().contains(answer), "{}", r.text());
    }
    checks += 8;
    // Open endpoints.
    assert_eq!(s.req("GET", "/ping", &[], b"").status, 204);
    assert_eq!(s.req("GET", "/health", &[], b"").status, 200);
    assert_eq!(s.req("GET", "/metrics", &[], b"").status, 200);
    checks += 3;
    let m = s.req("GET", "/metrics", &[], b"").text();
    assert!(m.contains("pulsardb_auth_failures_total 11"), "{m}");
    println!("auth: {checks} checks (Token, Bearer, Basic, u/p; 9 refused forms with 401; scopes)");
}

#[test]
fn metrics_can_require_a_token() {
    let (_dir, s) = server("token");
    assert_eq!(s.req("GET", "/metrics", &[], b"").status, 401);
    assert_eq!(
        s.req(
            "GET",
            "/metrics",
            &[("Authorization", &format!("Token {RO}"))],
            b""
        )
        .status,
        200
    );
    assert_eq!(
        s.req(
            "GET",
            "/metrics",
            &[("Authorization", &format!("Token {WO}"))],
            b""
        )
        .status,
        403
    );
    assert_eq!(s.req("GET", "/ping", &[], b"").status, 204);
}
