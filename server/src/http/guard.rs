//! The front door: the public socket, HTTP/1.1 framing and every limit,
//! before a request reaches a handler (see `super` for why this is not
//! tiny_http):
//!
//! - at most `max_connections` client connections. At the limit a new
//!   connection evicts the one that has waited longest for a request head
//!   (idle keep-alive or a client trickling its head in): slow clients
//!   cannot lock others out. Only when every connection is busy with a
//!   request does a newcomer get 503;
//! - a request head (request line and headers) of at most `max_head_bytes`
//!   and `max_headers` headers, read within `head_timeout`; otherwise 431 or
//!   408 and close;
//! - a body received within `body_timeout`, or 408 and close;
//! - an idle connection is closed after `idle_timeout`;
//! - a body over `max_body_bytes` is refused with 413 from its Content-Length,
//!   without reading it; a chunked body is counted and cut off at the limit;
//!   both Content-Length and Transfer-Encoding, or two different lengths, are
//!   refused (request smuggling);
//! - `Expect: 100-continue` is answered after those checks;
//! - at most `workers` requests run handlers at once (the others wait for
//!   a turn); a body over 64 KiB is received only with an upload slot (also
//!   `workers` of them), held until its handler is done, so memory for
//!   bodies and answers stays bounded (`workers` × `max_body_bytes` plus
//!   64 KiB per connection). Slots and turns are separate: clients trickling
//!   large bodies in can hold every slot, yet small requests still get
//!   turns.
//!
//! One thread per client connection reads a request, runs the handler and
//! writes the answer, in turn (HTTP/1.1 keep-alive; pipelined requests wait
//! in the socket). Answers always carry a Content-Length, or no body.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::Method;
use crate::engine::Engine;

/// Bodies up to this size are received before taking a handler turn.
const SMALL_BODY: u64 = 64 << 10;
/// Most trailer lines of a chunked body.
const MAX_TRAILERS: usize = 100;

/// Limits of the guard.
#[derive(Clone, Debug)]
pub struct GuardConfig {
    /// Most concurrent client connections.
    pub max_connections: usize,
    /// Largest request body.
    pub max_body_bytes: u64,
    /// Largest request head (request line and headers).
    pub max_head_bytes: usize,
    /// Most header lines.
    pub max_headers: usize,
    /// Time to send a request head once it started.
    pub head_timeout: Duration,
    /// Time to send a request body.
    pub body_timeout: Duration,
    /// Close a connection idle this long.
    pub idle_timeout: Duration,
    /// Most requests running handlers at once.
    pub workers: usize,
}

/// Turns to run a handler: a counting semaphore.
#[derive(Debug)]
struct Turns {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Turns {
    fn take(&self) -> TurnGuard<'_> {
        let mut n = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *n == 0 {
            n = self.freed.wait(n).unwrap_or_else(|e| e.into_inner());
        }
        *n -= 1;
        TurnGuard(self)
    }
}

/// A turn, given back when dropped.
struct TurnGuard<'a>(&'a Turns);

impl Drop for TurnGuard<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

/// What every connection thread shares.
struct Shared {
    cfg: GuardConfig,
    engine: Arc<Engine>,
    stats: Arc<GuardStats>,
    registry: Registry,
    turns: Turns,
    /// Slots to receive a large body in.
    uploads: Turns,
    stop: Arc<AtomicBool>,
}

/// A client connection, for eviction at the connection limit.
struct Slot {
    id: u64,
    sock: TcpStream,
    /// Since when it waits for a request head (`None`: busy with a request).
    waiting_since: Option<Instant>,
}

/// The open connections.
#[derive(Default)]
struct Registry {
    slots: Mutex<Vec<Slot>>,
    next_id: AtomicU64,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn add(&self, sock: &TcpStream) -> Option<u64> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let sock = sock.try_clone().ok()?;
        self.lock().push(Slot {
            id,
            sock,
            waiting_since: Some(Instant::now()),
        });
        Some(id)
    }

    fn remove(&self, id: u64) {
        self.lock().retain(|s| s.id != id);
    }

    fn set_waiting(&self, id: u64, waiting: bool) {
        if let Some(s) = self.lock().iter_mut().find(|s| s.id == id) {
            s.waiting_since = waiting.then(Instant::now);
        }
    }

    /// Closes the connection waiting longest for a request head; whether
    /// there was one.
    fn evict_oldest_waiting(&self) -> bool {
        let slots = self.lock();
        let Some(victim) = slots
            .iter()
            .filter_map(|s| s.waiting_since.map(|t| (t, s)))
            .min_by_key(|(t, _)| *t)
            .map(|(_, s)| s)
        else {
            return false;
        };
        let _ = victim.sock.shutdown(Shutdown::Both);
        true
    }
}

/// Counters of what the guard refused.
#[derive(Debug, Default)]
pub struct GuardStats {
    /// Connections open now.
    pub open: AtomicUsize,
    /// Connections refused at the limit.
    pub refused: AtomicUsize,
    /// Requests refused (too large, malformed, too slow).
    pub rejected: AtomicUsize,
    /// Connections closed to make room for new ones.
    pub evicted: AtomicUsize,
}

/// Runs the accept loop until `stop` is set; then closes idle connections,
/// waits (up to 10 s) for requests in flight, and returns.
pub fn serve(listener: TcpListener, cfg: GuardConfig, engine: Arc<Engine>, stop: Arc<AtomicBool>) {
    let _ = listener.set_nonblocking(true);
    let shared = Arc::new(Shared {
        turns: Turns {
            free: Mutex::new(cfg.workers.max(1)),
            freed: Condvar::new(),
        },
        uploads: Turns {
            free: Mutex::new(cfg.workers.max(1)),
            freed: Condvar::new(),
        },
        stats: engine.metrics.guard.clone(),
        cfg,
        engine,
        registry: Registry::default(),
        stop,
    });
    let (stats, registry) = (&shared.stats, &shared.registry);
    while !shared.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((sock, _)) => {
                let _ = sock.set_nonblocking(false);
                let _ = sock.set_nodelay(true);
                if stats.open.load(Ordering::Relaxed) >= shared.cfg.max_connections {
                    if registry.evict_oldest_waiting() {
                        // The evicted thread ends at once; the newcomer may
                        // briefly make the count one over the limit.
                        stats.evicted.fetch_add(1, Ordering::Relaxed);
                    } else {
                        stats.refused.fetch_add(1, Ordering::Relaxed);
                        let mut s = sock;
                        let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
                        let _ = write_error(&mut s, 503, "too many connections; retry later", true);
                        continue;
                    }
                }
                let Some(id) = registry.add(&sock) else {
                    continue;
                };
                stats.open.fetch_add(1, Ordering::Relaxed);
                let sh = shared.clone();
                let spawned = std::thread::Builder::new()
                    .name("pulsardb-conn".into())
                    // Handlers run here: the default 2 MiB (virtual; only what the
                    // parser and planner touch is resident), as InfluxQL
                    // nesting limits were sized for.
                    .stack_size(2 << 20)
                    .spawn(move || {
                        let _ = serve_connection(sock, &sh, id);
                        sh.registry.remove(id);
                        sh.stats.open.fetch_sub(1, Ordering::Relaxed);
                    });
                if spawned.is_err() {
                    registry.remove(id);
                    stats.open.fetch_sub(1, Ordering::Relaxed);
                    crate::warn!("cannot start a connection thread; connection dropped");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => {
                // EMFILE and friends: keep serving the connections we have.
                crate::warn!("accept failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    drop(listener);
    // Idle connections are closed now; busy ones finish their request
    // (they see `stop` before reading another).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let busy = {
            let slots = registry.lock();
            for s in slots.iter().filter(|s| s.waiting_since.is_some()) {
                let _ = s.sock.shutdown(Shutdown::Both);
            }
            slots.len()
        };
        if busy == 0 || Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes a complete JSON error response.
fn write_error(w: &mut impl Write, status: u16, msg: &str, close: bool) -> io::Result<()> {
    let body = serde_json::json!({ "error": msg }).to_string();
    write!(
        w,
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n{body}",
        super::reason(status),
        body.len(),
        if close { "Connection: close\r\n" } else { "" }
    )?;
    w.flush()
}

/// A parsed request head.
struct Head {
    method: Method,
    /// Path and query string.
    target: String,
    /// Header lines (name as sent, value trimmed); framing headers
    /// (Transfer-Encoding, Expect, Connection, TE) are dealt with here.
    headers: Vec<(String, String)>,
    content_length: Option<u64>,
    chunked: bool,
    expect_continue: bool,
    close: bool,
    /// An HTTP/1.0 request.
    http10: bool,
    head_method: bool,
}

enum HeadError {
    /// Connection closed or idle before a request began.
    Gone,
    /// Status and message to send, then close.
    Reject(u16, String),
}

/// Reads one request head, bounded in size and time.
fn read_head(r: &mut BufReader<TcpStream>, cfg: &GuardConfig) -> Result<Head, HeadError> {
    let (max_head, max_headers) = (cfg.max_head_bytes, cfg.max_headers);
    let mut raw = Vec::with_capacity(1024);
    let mut lines = 0usize;
    // Idle until the first byte of a request; from then on the whole head
    // must arrive within `head_timeout`, however it trickles in (each read
    // is armed with what is left, not just the gap between bytes).
    let _ = r.get_ref().set_read_timeout(Some(cfg.idle_timeout));
    match r.fill_buf() {
        Ok([]) | Err(_) => return Err(HeadError::Gone),
        Ok(_) => {}
    }
    let mut head = Timed {
        r,
        deadline: Instant::now() + cfg.head_timeout,
        idle: cfg.head_timeout,
    };
    let mut started = false;
    loop {
        let before = raw.len();
        let room = max_head.saturating_sub(raw.len()) as u64 + 1;
        let n = match head.by_ref().take(room).read_until(b'\n', &mut raw) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(HeadError::Reject(
                    408,
                    format!(
                        "request head not received within {} s (http.head_timeout_seconds)",
                        cfg.head_timeout.as_secs()
                    ),
                ));
            }
            Err(_) => return Err(HeadError::Gone),
        };
        if n == 0 {
            return Err(if raw.is_empty() {
                HeadError::Gone
            } else {
                HeadError::Reject(400, "connection closed inside the request head".into())
            });
        }
        if !started {
            // Tolerate blank lines before a request (RFC 9112 §2.2).
            if raw == b"\r\n" || raw == b"\n" {
                raw.clear();
                continue;
            }
            started = true;
        }
        if raw.len() > max_head {
            return Err(HeadError::Reject(
                431,
                format!("request head over {max_head} bytes (http.max_header_bytes)"),
            ));
        }
        if !raw.ends_with(b"\n") {
            continue;
        }
        lines += 1;
        if lines > max_headers + 1 {
            return Err(HeadError::Reject(
                431,
                format!("more than {max_headers} header lines (http.max_headers)"),
            ));
        }
        let line = raw.get(before..).unwrap_or_default();
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let mut it = text.split('\n');
    let request_line = it.next().unwrap_or("").trim_end();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or("");
    let version = request_line.rsplit(' ').next().unwrap_or("");
    if method.is_empty() || !version.starts_with("HTTP/1.") {
        return Err(HeadError::Reject(400, "malformed request line".into()));
    }
    let target = parts.next().unwrap_or("").to_string();
    if target.is_empty() {
        return Err(HeadError::Reject(400, "malformed request line".into()));
    }
    let mut h = Head {
        method: Method::parse(method),
        target,
        headers: Vec::new(),
        content_length: None,
        chunked: false,
        expect_continue: false,
        close: version == "HTTP/1.0",
        http10: version == "HTTP/1.0",
        head_method: method == "HEAD",
    };
    for line in it {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(HeadError::Reject(400, "malformed header line".into()));
        };
        let (name_l, value) = (name.trim().to_ascii_lowercase(), value.trim());
        match name_l.as_str() {
            "content-length" => {
                let n: u64 = value
                    .parse()
                    .map_err(|_| HeadError::Reject(400, "invalid Content-Length".into()))?;
                if h.content_length.is_some_and(|m| m != n) {
                    return Err(HeadError::Reject(
                        400,
                        "conflicting Content-Length headers".into(),
                    ));
                }
                h.content_length = Some(n);
            }
            "transfer-encoding" => {
                if value
                    .to_ascii_lowercase()
                    .split(',')
                    .map(str::trim)
                    .next_back()
                    != Some("chunked")
                {
                    return Err(HeadError::Reject(
                        400,
                        format!("unsupported Transfer-Encoding: {value}"),
                    ));
                }
                h.chunked = true;
            }
            "expect" => {
                if !value.eq_ignore_ascii_case("100-continue") {
                    return Err(HeadError::Reject(
                        400,
                        format!("unsupported Expect: {value}"),
                    ));
                }
                h.expect_continue = true;
                continue;
            }
            "te" => continue,
            "connection" => {
                let v = value.to_ascii_lowercase();
                if v.contains("close") {
                    h.close = true;
                } else if v.contains("keep-alive") {
                    h.close = false;
                }
                if v.contains("upgrade") {
                    return Err(HeadError::Reject(
                        400,
                        "connection upgrades are not supported".into(),
                    ));
                }
            }
            _ => {}
        }
        h.headers.push((name.trim().to_string(), value.to_string()));
    }
    if h.chunked && h.content_length.is_some() {
        // RFC 9112 §6.1: a message with both is a smuggling attempt.
        return Err(HeadError::Reject(
            400,
            "both Content-Length and Transfer-Encoding".into(),
        ));
    }
    Ok(h)
}

/// The client's side of a request body: every read within the body's
/// deadline (a client trickling its body in is cut off at it).
struct Timed<'a> {
    r: &'a mut BufReader<TcpStream>,
    deadline: Instant,
    idle: Duration,
}

impl Timed<'_> {
    fn arm(&self) -> io::Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        let _ = self.r.get_ref().set_read_timeout(Some(left.min(self.idle)));
        Ok(())
    }
}

impl Read for Timed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.arm()?;
        self.r.read(buf)
    }
}

impl BufRead for Timed<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.arm()?;
        self.r.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.r.consume(n);
    }
}

/// Copies exactly `n` bytes.
fn copy_exact(r: &mut impl Read, w: &mut impl Write, mut n: u64, buf: &mut [u8]) -> io::Result<()> {
    while n > 0 {
        let want = (buf.len() as u64).min(n) as usize;
        let got = r.read(buf.get_mut(..want).unwrap_or_default())?;
        if got == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        w.write_all(buf.get(..got).unwrap_or_default())?;
        n -= got as u64;
    }
    Ok(())
}

enum BodyError {
    TooLarge,
    Io,
    Malformed,
    Slow,
}

fn body_error(e: &io::Error) -> BodyError {
    if matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    ) {
        BodyError::Slow
    } else {
        BodyError::Io
    }
}

/// Decodes a chunked body into `w`, counting its payload against `max`.
fn copy_chunked(
    r: &mut impl BufRead,
    w: &mut impl Write,
    max: u64,
    buf: &mut [u8],
) -> Result<(), BodyError> {
    let mut total = 0u64;
    loop {
        let mut line = Vec::new();
        r.by_ref()
            .take(1024)
            .read_until(b'\n', &mut line)
            .map_err(|e| body_error(&e))?;
        if !line.ends_with(b"\n") {
            return Err(BodyError::Malformed);
        }
        let text = String::from_utf8_lossy(&line);
        let size_hex = text.trim().split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size_hex, 16).map_err(|_| BodyError::Malformed)?;
        total = total.saturating_add(size);
        if total > max {
            return Err(BodyError::TooLarge);
        }
        if size == 0 {
            // Trailers (ignored), then the final CRLF.
            for _ in 0..MAX_TRAILERS {
                let mut t = Vec::new();
                r.by_ref()
                    .take(8192)
                    .read_until(b'\n', &mut t)
                    .map_err(|e| body_error(&e))?;
                if t == b"\r\n" || t == b"\n" || t.is_empty() {
                    return Ok(());
                }
            }
            return Err(BodyError::Malformed);
        }
        copy_exact(r, w, size, buf).map_err(|e| body_error(&e))?;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf).map_err(|e| body_error(&e))?;
        if &crlf != b"\r\n" {
            return Err(BodyError::Malformed);
        }
    }
}

/// Serves one client connection: requests in turn until it closes, errs,
/// idles out, or the server stops.
fn serve_connection(sock: TcpStream, sh: &Shared, id: u64) -> io::Result<()> {
    let cfg = &sh.cfg;
    let _ = sock.set_write_timeout(Some(cfg.idle_timeout));
    let mut client_w = sock.try_clone()?;
    let mut client = BufReader::with_capacity(16 << 10, sock);
    let mut buf = vec![0u8; 16 << 10];
    while !sh.stop.load(Ordering::Relaxed) {
        sh.registry.set_waiting(id, true);
        let head = read_head(&mut client, cfg);
        sh.registry.set_waiting(id, false);
        let head = match head {
            Ok(h) => h,
            Err(HeadError::Gone) => break,
            Err(HeadError::Reject(status, msg)) => {
                sh.stats.rejected.fetch_add(1, Ordering::Relaxed);
                let _ = write_error(&mut client_w, status, &msg, true);
                break;
            }
        };
        if let Some(n) = head.content_length
            && n > cfg.max_body_bytes
        {
            sh.stats.rejected.fetch_add(1, Ordering::Relaxed);
            let msg = format!(
                "request body of {n} bytes exceeds the limit of {} bytes (http.max_body_mb)",
                cfg.max_body_bytes
            );
            let _ = write_error(&mut client_w, 413, &msg, true);
            break;
        }
        if head.expect_continue {
            client_w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        let too_slow = || {
            format!(
                "request body not received within {} s (http.body_timeout_seconds)",
                cfg.body_timeout.as_secs()
            )
        };
        let mut body_r = Timed {
            r: &mut client,
            deadline: Instant::now() + cfg.body_timeout,
            idle: cfg.idle_timeout,
        };
        // A body of more than SMALL_BODY bytes (or of unknown length) is
        // received holding an upload slot, until its handler is done: at
        // most `workers` large bodies are in memory at once, the others wait
        // in their sockets. A handler turn is only taken once the body is
        // in, so a slow sender holds no turn.
        let large = head.chunked || head.content_length.is_some_and(|n| n > SMALL_BODY);
        let _upload = large.then(|| sh.uploads.take());
        let mut body = Vec::new();
        if head.chunked {
            if let Err(e) = copy_chunked(&mut body_r, &mut body, cfg.max_body_bytes, &mut buf) {
                sh.stats.rejected.fetch_add(1, Ordering::Relaxed);
                let (status, msg) = match e {
                    BodyError::TooLarge => (
                        413,
                        format!(
                            "request body exceeds the limit of {} bytes (http.max_body_mb)",
                            cfg.max_body_bytes
                        ),
                    ),
                    BodyError::Malformed => (400, "malformed chunked body".into()),
                    BodyError::Io => (400, "request body not received".into()),
                    BodyError::Slow => (408, too_slow()),
                };
                let _ = write_error(&mut client_w, status, &msg, true);
                break;
            }
        } else if let Some(n) = head.content_length {
            // Grows as bytes arrive: a declared length costs nothing until sent.
            body.reserve(usize::try_from(n.min(SMALL_BODY)).unwrap_or(0));
            if let Err(e) = copy_exact(&mut body_r, &mut body, n, &mut buf) {
                sh.stats.rejected.fetch_add(1, Ordering::Relaxed);
                if matches!(body_error(&e), BodyError::Slow) {
                    let _ = write_error(&mut client_w, 408, &too_slow(), true);
                } else if e.kind() == io::ErrorKind::UnexpectedEof {
                    // The client ended its side early; it may still read.
                    let msg = format!(
                        "request body ended after {} of its {n} bytes (Content-Length)",
                        body.len()
                    );
                    let _ = write_error(&mut client_w, 400, &msg, true);
                }
                break;
            }
        }
        let reply = {
            let _turn = sh.turns.take();
            super::dispatch(&sh.engine, head.method, &head.target, &head.headers, body)
        };
        let close = head.close || sh.stop.load(Ordering::Relaxed);
        reply.write_to(&mut client_w, head.head_method, close, head.http10)?;
        if close {
            break;
        }
    }
    let _ = client_w.shutdown(Shutdown::Both);
    Ok(())
}
