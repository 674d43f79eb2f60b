//! HTTP/1.1 for the gateway: the guard (`guard.rs`) owns the public
//! socket, reads each request within limits, and hands it to the router
//! here on the connection's own thread; handlers return a [`Reply`] that the
//! guard writes back.
//!
//! DESIGN.md names tiny-http for the endpoint. It served behind the guard
//! at first (on a private Unix socket), because tiny_http 0.12 has no
//! timeouts, no header or connection limits, and allocates an unread body's
//! whole declared length at once. But the guard then parsed every request
//! head and body framing anyway, and relaying cost each request two more
//! socket round trips and three thread wake-ups (guard → tiny_http's
//! connection thread → a worker → back): on a loaded 2-core machine a
//! one-series hourly mean went from 0.36 to 0.21 ms (median, keep-alive)
//! when the guard began dispatching directly. `http.workers` bounds how
//! many requests run handlers at once.
//!
//! Endpoints (InfluxDB 1.x paths, so its ecosystem works unchanged):
//! `POST /write`, `POST /api/v2/write`, `GET|POST /query`, `GET|HEAD /ping`,
//! `GET /health`, `GET /metrics`, and `POST /flush` (writes the memtable to
//! tables now; for operators and benchmarks). Every error body is JSON
//! `{"error": "..."}`.

pub mod auth;
pub mod guard;
mod query;
mod status;
pub mod write;

use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::engine::Engine;

/// Version reported in `X-Influxdb-Version` (clients check it is 1.x).
pub const INFLUX_VERSION: &str = "1.8.10";

/// A request method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
    /// OPTIONS
    Options,
    /// Anything else, as sent.
    Other(String),
}

impl Method {
    /// From the request line's token.
    pub fn parse(s: &str) -> Method {
        match s {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            other => Method::Other(other.to_string()),
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other(s) => s,
        })
    }
}

/// A response to send.
#[derive(Debug)]
pub struct Reply {
    status: u16,
    body: Vec<u8>,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// JSON body.
    pub fn json(status: u16, v: &serde_json::Value) -> Self {
        Self {
            status,
            body: v.to_string().into_bytes(),
            content_type: "application/json",
            headers: Vec::new(),
        }
    }

    /// `{"error": msg}`.
    pub fn error(status: u16, msg: impl Into<String>) -> Self {
        Self::json(status, &serde_json::json!({ "error": msg.into() }))
    }

    /// 204, no body.
    pub fn no_content() -> Self {
        Self {
            status: 204,
            body: Vec::new(),
            content_type: "",
            headers: Vec::new(),
        }
    }

    /// Plain text.
    pub fn text(status: u16, content_type: &'static str, body: String) -> Self {
        Self {
            status,
            body: body.into_bytes(),
            content_type,
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Writes the response: status line, headers (always a Content-Length
    /// when there is a body), body unless `head_method`. `close` says the
    /// connection ends after it; otherwise `http10` (an HTTP/1.0 client that
    /// asked for keep-alive) gets `Connection: keep-alive`, without which it
    /// would wait for the close.
    pub fn write_to(
        self,
        w: &mut impl Write,
        head_method: bool,
        close: bool,
        http10: bool,
    ) -> io::Result<()> {
        use std::fmt::Write as _;
        let mut h = String::with_capacity(256 + self.headers.len() * 64);
        let _ = write!(
            h,
            "HTTP/1.1 {} {}\r\nDate: {}\r\n",
            self.status,
            reason(self.status),
            crate::time::http_date(crate::time::now_ns())
        );
        if !self.content_type.is_empty() {
            let _ = write!(h, "Content-Type: {}\r\n", self.content_type);
        }
        let _ = write!(
            h,
            "X-Influxdb-Version: {INFLUX_VERSION}\r\nX-Influxdb-Build: OSS\r\nX-Pulsardb-Version: {}\r\n",
            env!("CARGO_PKG_VERSION")
        );
        for (k, v) in &self.headers {
            // Values come from handlers; never let one split the head.
            if !v.contains(['\r', '\n']) {
                let _ = write!(h, "{k}: {v}\r\n");
            }
        }
        let no_body = self.status == 204 || self.status == 304 || self.status < 200;
        if !no_body {
            let _ = write!(h, "Content-Length: {}\r\n", self.body.len());
        }
        if close {
            h.push_str("Connection: close\r\n");
        } else if http10 {
            h.push_str("Connection: keep-alive\r\n");
        }
        h.push_str("\r\n");
        if no_body || head_method || self.body.is_empty() {
            w.write_all(h.as_bytes())?;
        } else if self.body.len() <= 16 << 10 {
            // One write for small answers (one segment on the wire).
            let mut all = h.into_bytes();
            all.extend_from_slice(&self.body);
            w.write_all(&all)?;
        } else {
            w.write_all(h.as_bytes())?;
            w.write_all(&self.body)?;
        }
        w.flush()
    }
}

/// The reason phrase of a status code.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        507 => "Insufficient Storage",
        _ => "Status",
    }
}

/// A request being handled: method, path, decoded query parameters,
/// headers and the body as received (the guard read it within its limits).
#[derive(Debug)]
pub struct Req<'a> {
    /// Method.
    pub method: Method,
    /// Path without the query string.
    pub path: String,
    /// Query parameters, decoded, in order.
    pub params: Vec<(String, String)>,
    /// Header lines: name as sent, value trimmed.
    pub headers: &'a [(String, String)],
    /// The body, still encoded (see [`Req::body`]).
    raw_body: Vec<u8>,
}

impl Req<'_> {
    /// First value of a query parameter.
    pub fn param(&self, k: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }

    /// The media type of the body, lowercased, without parameters.
    pub fn content_type(&self) -> String {
        self.header("Content-Type")
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default()
    }

    /// Takes the body: at most `max` bytes (413 beyond), gzip decoded when
    /// `Content-Encoding: gzip` (the decoded size is bounded by `max` too).
    pub fn body(&mut self, max: u64) -> Result<Vec<u8>, Reply> {
        let too_large = |n: &str| {
            Reply::error(
                413,
                format!("request body{n} exceeds the limit of {max} bytes (http.max_body_mb)"),
            )
        };
        let gzip = self
            .header("Content-Encoding")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
        let raw = std::mem::take(&mut self.raw_body);
        if raw.len() as u64 > max {
            return Err(too_large(&format!(" of {} bytes", raw.len())));
        }
        if !gzip {
            return Ok(raw);
        }
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .take(max + 1)
            .read_to_end(&mut out)
            .map_err(|e| Reply::error(400, format!("invalid gzip body: {e}")))?;
        if out.len() as u64 > max {
            return Err(too_large(" (decompressed)"));
        }
        Ok(out)
    }
}

/// Decodes `%XX` and `+` in a query-string component.
pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `a=1&b=2` into decoded pairs.
pub fn parse_query_string(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (url_decode(k), url_decode(v)),
            None => (url_decode(p), String::new()),
        })
        .collect()
}

fn route(engine: &Engine, req: &mut Req<'_>) -> Reply {
    let access = match engine.config().auth.check(req) {
        Ok(a) => a,
        Err(r) => {
            engine
                .metrics
                .auth_failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return r;
        }
    };
    let m = &req.method;
    match req.path.as_str() {
        "/write" if *m == Method::Post => write::v1(engine, req),
        "/api/v2/write" if *m == Method::Post => write::v2(engine, req),
        "/query" if matches!(m, Method::Get | Method::Post) => query::handle(engine, req, access),
        "/ping" if matches!(m, Method::Get | Method::Head) => status::ping(req),
        "/health" if matches!(m, Method::Get | Method::Head) => status::health(engine),
        "/metrics" if *m == Method::Get => status::metrics(engine),
        "/flush" if *m == Method::Post => status::flush(engine),
        "/write" | "/api/v2/write" | "/query" | "/ping" | "/health" | "/metrics" | "/flush" => {
            Reply::error(405, format!("method {m} not allowed on {}", req.path))
        }
        p => Reply::error(404, format!("not found: {p}")),
    }
}

/// Runs one request: `target` is the request line's path and query string.
pub fn dispatch(
    engine: &Engine,
    method: Method,
    target: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Reply {
    let (path, qs) = target.split_once('?').unwrap_or((target, ""));
    let mut req = Req {
        method,
        path: path.to_string(),
        params: parse_query_string(qs),
        headers,
        raw_body: body,
    };
    let reply = route(engine, &mut req);
    if reply.status >= 500 {
        crate::warn!("{} {} -> {}", req.method, target, reply.status);
    }
    reply
}

/// The running HTTP server.
#[derive(Debug)]
pub struct Http {
    stop: Arc<AtomicBool>,
    accept: JoinHandle<()>,
}

impl Http {
    /// Binds and starts serving.
    pub fn start(engine: Arc<Engine>) -> Result<Http, String> {
        let cfg = engine.config().clone();
        let addr = cfg.bind_addr();
        let listener =
            TcpListener::bind(&addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let gcfg = guard::GuardConfig {
            max_connections: cfg.max_connections,
            max_body_bytes: cfg.max_body_bytes,
            max_head_bytes: cfg.max_header_bytes,
            max_headers: cfg.max_headers,
            head_timeout: Duration::from_secs(cfg.head_timeout_seconds),
            body_timeout: Duration::from_secs(cfg.body_timeout_seconds),
            idle_timeout: Duration::from_secs(cfg.idle_timeout_seconds),
            workers: cfg.workers.max(1),
        };
        let stop2 = stop.clone();
        let accept = std::thread::Builder::new()
            .name("pulsardb-accept".into())
            .spawn(move || guard::serve(listener, gcfg, engine, stop2))
            .map_err(|e| format!("cannot start the accept thread: {e}"))?;
        Ok(Http { stop, accept })
    }

    /// Stops accepting, lets requests in flight finish (up to a deadline),
    /// closes idle connections, and returns.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.accept.join();
    }
}
