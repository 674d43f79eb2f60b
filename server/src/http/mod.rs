//! HTTP: the guard on the public socket, tiny_http behind it on a private Unix
//! socket, and a pool of worker threads running the handlers.
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

use std::io::{Cursor, Read};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tiny_http::{Header, Method, Request, Response, Server};

use crate::engine::Engine;

/// Version reported in `X-Influxdb-Version` (clients check it is 1.x).
pub const INFLUX_VERSION: &str = "1.8.10";

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

    fn into_response(self) -> Response<Cursor<Vec<u8>>> {
        // Always a Content-Length: the guard relays responses by their length.
        let mut r = Response::from_data(self.body)
            .with_status_code(self.status)
            .with_chunked_threshold(usize::MAX);
        let mut add = |k: &str, v: &str| {
            if let Ok(h) = Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                r.add_header(h);
            }
        };
        if !self.content_type.is_empty() {
            add("Content-Type", self.content_type);
        }
        add("X-Influxdb-Version", INFLUX_VERSION);
        add("X-Influxdb-Build", "OSS");
        add("X-Pulsardb-Version", env!("CARGO_PKG_VERSION"));
        for (k, v) in &self.headers {
            add(k, v);
        }
        r
    }
}

/// A request being handled: method, path, decoded query parameters, headers.
#[allow(missing_debug_implementations)] // wraps tiny_http's request
pub struct Req<'a> {
    /// The tiny_http request (for the body).
    pub inner: &'a mut Request,
    /// Method.
    pub method: Method,
    /// Path without the query string.
    pub path: String,
    /// Query parameters, decoded, in order.
    pub params: Vec<(String, String)>,
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
        self.inner
            .headers()
            .iter()
            .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str().to_string())
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

    /// Reads the body: at most `max` bytes (413 beyond), gzip decoded when
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
        let mut raw = Vec::new();
        if let Some(n) = self.inner.body_length()
            && n as u64 > max
        {
            return Err(too_large(&format!(" of {n} bytes")));
        }
        // Reading to the end keeps tiny_http's own draining from ever
        // allocating; the guard already refused larger bodies.
        self.inner
            .as_reader()
            .take(max + 1)
            .read_to_end(&mut raw)
            .map_err(|e| Reply::error(400, format!("cannot read request body: {e}")))?;
        if raw.len() as u64 > max {
            return Err(too_large(""));
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

fn handle(engine: &Engine, mut request: Request) {
    let url = request.url().to_string();
    let (path, qs) = url.split_once('?').unwrap_or((&url, ""));
    let (path, params) = (path.to_string(), parse_query_string(qs));
    let method = request.method().clone();
    let reply = {
        let mut req = Req {
            inner: &mut request,
            method,
            path,
            params,
        };
        route(engine, &mut req)
    };
    if reply.status >= 500 {
        crate::warn!("{} {} -> {}", request.method(), request.url(), reply.status);
    }
    // Drain any unread body in small reads: tiny_http would allocate it at once.
    let mut sink = [0u8; 8192];
    let r = request.as_reader();
    while matches!(r.read(&mut sink), Ok(n) if n > 0) {}
    let _ = request.respond(reply.into_response());
}

/// The running HTTP server.
pub struct Http {
    stop: Arc<AtomicBool>,
    server: Arc<Server>,
    threads: Vec<JoinHandle<()>>,
    socket: PathBuf,
}

/// Where tiny_http listens: a Unix socket only this process uses.
fn socket_path(data_dir: &std::path::Path) -> PathBuf {
    let p = data_dir.join("http.sock");
    if p.as_os_str().len() < 100 {
        p
    } else {
        std::env::temp_dir().join(format!("pulsardb-{}.sock", std::process::id()))
    }
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("socket", &self.socket)
            .finish()
    }
}

impl Http {
    /// Binds and starts serving.
    pub fn start(engine: Arc<Engine>) -> Result<Http, String> {
        let cfg = engine.config().clone();
        let addr = cfg.bind_addr();
        let listener =
            TcpListener::bind(&addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let socket = socket_path(&cfg.data_dir);
        let _ = std::fs::remove_file(&socket);
        let server = Arc::new(
            Server::http_unix(&socket)
                .map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?,
        );
        let stop = Arc::new(AtomicBool::new(false));
        let guard_stats = engine.metrics.guard.clone();
        let mut threads = Vec::new();
        {
            let gcfg = guard::GuardConfig {
                max_connections: cfg.max_connections,
                max_body_bytes: cfg.max_body_bytes,
                max_head_bytes: cfg.max_header_bytes,
                max_headers: cfg.max_headers,
                head_timeout: Duration::from_secs(cfg.head_timeout_seconds),
                body_timeout: Duration::from_secs(cfg.body_timeout_seconds),
                idle_timeout: Duration::from_secs(cfg.idle_timeout_seconds),
                upstream: socket.clone(),
            };
            let (stop, stats) = (stop.clone(), guard_stats.clone());
            threads.push(
                std::thread::Builder::new()
                    .name("pulsardb-accept".into())
                    .spawn(move || guard::serve(listener, gcfg, stats, stop))
                    .map_err(|e| format!("cannot start the accept thread: {e}"))?,
            );
        }
        for i in 0..cfg.workers {
            let (server, engine, stop) = (server.clone(), engine.clone(), stop.clone());
            threads.push(
                std::thread::Builder::new()
                    .name(format!("pulsardb-http-{i}"))
                    .spawn(move || {
                        while !stop.load(Ordering::Relaxed) {
                            match server.recv_timeout(Duration::from_millis(200)) {
                                Ok(Some(rq)) => handle(&engine, rq),
                                Ok(None) => {}
                                Err(e) => {
                                    crate::error!("HTTP worker: {e}");
                                    std::thread::sleep(Duration::from_millis(100));
                                }
                            }
                        }
                    })
                    .map_err(|e| format!("cannot start a worker thread: {e}"))?,
            );
        }
        Ok(Http {
            stop,
            server,
            threads,
            socket,
        })
    }

    /// Stops accepting, lets in-flight requests finish, joins the threads.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.server.unblock();
        for t in self.threads {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}
