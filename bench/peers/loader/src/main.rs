//! lp-loader: read an InfluxDB line-protocol file, cut it into batches of B
//! lines and POST each batch exactly once to a URL with W concurrent workers
//! over HTTP/1.1 keep-alive connections (std only, no retries).
//!
//! Prints one JSON summary line on stdout:
//!   {"points":..,"lines":..,"seconds":..,"points_per_sec":..,"batches":..,
//!    "errors":..,"p50_ms":..,"p99_ms":..,...}
//! `points` counts field values (a line `m,t=a x=1,y=2 123` is 2 points).
//! Exit status is 0 when every response was 2xx, 1 otherwise, 2 on bad usage.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::exit;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const USAGE: &str =
    "usage: lp-loader --file FILE.lp --url http://HOST:PORT/write?db=DB&precision=s \
[--batch 5000] [--workers 2] [--timeout 120] [--dry-run]";

struct Args {
    file: String,
    url: String,
    batch: usize,
    workers: usize,
    timeout_s: u64,
    dry_run: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        file: String::new(),
        url: String::new(),
        batch: 5000,
        workers: 2,
        timeout_s: 120,
        dry_run: false,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    let need = |i: usize| -> String {
        argv.get(i + 1).cloned().unwrap_or_else(|| {
            eprintln!("missing value for {}\n{}", argv[i], USAGE);
            exit(2)
        })
    };
    while i < argv.len() {
        let num = |s: String| -> u64 {
            s.parse().unwrap_or_else(|_| {
                eprintln!("not a number: {s}\n{USAGE}");
                exit(2)
            })
        };
        match argv[i].as_str() {
            "--file" | "-f" => {
                a.file = need(i);
                i += 1;
            }
            "--url" | "-u" => {
                a.url = need(i);
                i += 1;
            }
            "--batch" | "-b" => {
                a.batch = num(need(i)) as usize;
                i += 1;
            }
            "--workers" | "-w" => {
                a.workers = num(need(i)) as usize;
                i += 1;
            }
            "--timeout" => {
                a.timeout_s = num(need(i));
                i += 1;
            }
            "--dry-run" => a.dry_run = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                exit(0)
            }
            other => {
                eprintln!("unknown argument {other}\n{USAGE}");
                exit(2)
            }
        }
        i += 1;
    }
    if a.file.is_empty() || (a.url.is_empty() && !a.dry_run) || a.batch == 0 || a.workers == 0 {
        eprintln!("{USAGE}");
        exit(2);
    }
    a
}

struct Url {
    host: String,
    port: u16,
    path: String,
}

fn parse_url(u: &str) -> Url {
    let rest = u.strip_prefix("http://").unwrap_or_else(|| {
        eprintln!("only http:// URLs are supported: {u}");
        exit(2)
    });
    let (hostport, path) = match rest.find('/') {
        Some(p) => (&rest[..p], rest[p..].to_string()),
        None => (rest, "/".to_string()),
    };
    let (host, port) = match hostport.rfind(':') {
        Some(p) if !hostport.ends_with(']') => (
            hostport[..p].to_string(),
            hostport[p + 1..].parse().unwrap_or_else(|_| {
                eprintln!("bad port in {u}");
                exit(2)
            }),
        ),
        _ => (hostport.to_string(), 80),
    };
    Url { host, port, path }
}

/// Number of fields in one line-protocol line, or None for a malformed line.
/// Handles backslash escapes and double-quoted string field values.
fn count_fields(line: &[u8]) -> Option<usize> {
    let n = line.len();
    let mut i = 0;
    // measurement + tag set: up to the first unescaped space
    while i < n {
        match line[i] {
            b'\\' => i += 2,
            b' ' => break,
            _ => i += 1,
        }
    }
    if i >= n {
        return None;
    }
    i += 1;
    if i >= n {
        return None;
    }
    let mut count = 1;
    let mut in_quotes = false;
    while i < n {
        let c = line[i];
        if c == b'\\' {
            i += 2;
            continue;
        }
        if in_quotes {
            if c == b'"' {
                in_quotes = false;
            }
        } else {
            match c {
                b'"' => in_quotes = true,
                b',' => count += 1,
                b' ' => break,
                _ => {}
            }
        }
        i += 1;
    }
    Some(count)
}

struct Batch {
    request: Vec<u8>, // full HTTP request: headers + body
}

struct Prepared {
    batches: Vec<Batch>,
    lines: usize,
    points: usize,
    body_bytes: usize,
    malformed: usize,
}

fn prepare(data: &[u8], batch: usize, url: &Url) -> Prepared {
    let mut p = Prepared {
        batches: Vec::new(),
        lines: 0,
        points: 0,
        body_bytes: 0,
        malformed: 0,
    };
    let mut body: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut in_batch = 0usize;
    let host_header = if url.port == 80 {
        url.host.clone()
    } else {
        format!("{}:{}", url.host, url.port)
    };
    let flush = |body: &mut Vec<u8>, p: &mut Prepared| {
        if body.is_empty() {
            return;
        }
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: lp-loader/0.1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n",
            url.path, host_header, body.len()
        );
        let mut req = Vec::with_capacity(head.len() + body.len());
        req.extend_from_slice(head.as_bytes());
        req.extend_from_slice(body);
        p.body_bytes += body.len();
        p.batches.push(Batch { request: req });
        body.clear();
    };
    for raw in data.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let trimmed_start = line.iter().position(|&b| b != b' ' && b != b'\t');
        let Some(s) = trimmed_start else { continue };
        if line[s] == b'#' {
            continue;
        }
        match count_fields(&line[s..]) {
            Some(c) => p.points += c,
            None => p.malformed += 1,
        }
        p.lines += 1;
        body.extend_from_slice(line);
        body.push(b'\n');
        in_batch += 1;
        if in_batch == batch {
            flush(&mut body, &mut p);
            in_batch = 0;
        }
    }
    flush(&mut body, &mut p);
    p
}

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

fn connect(url: &Url, timeout: Duration) -> std::io::Result<Conn> {
    let addr = (url.host.as_str(), url.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let w = s.try_clone()?;
    Ok(Conn {
        reader: BufReader::with_capacity(64 * 1024, s),
        writer: w,
    })
}

struct Resp {
    status: u16,
    body: Vec<u8>,
    close: bool,
}

fn io_err(msg: String) -> std::io::Error {
    std::io::Error::other(msg)
}

fn read_response(r: &mut BufReader<TcpStream>) -> std::io::Result<Resp> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io_err("connection closed before response".into()));
    }
    let mut parts = line.split_whitespace();
    let version = parts.next().unwrap_or("");
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io_err(format!("bad status line {line:?}")))?;
    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    let mut close = version == "HTTP/1.0";
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(io_err("eof in headers".into()));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim();
            match k.as_str() {
                "content-length" => content_length = v.parse().ok(),
                "transfer-encoding" => chunked = v.to_ascii_lowercase().contains("chunked"),
                "connection" => {
                    let v = v.to_ascii_lowercase();
                    if v.contains("close") {
                        close = true;
                    } else if v.contains("keep-alive") {
                        close = false;
                    }
                }
                _ => {}
            }
        }
    }
    let mut body = Vec::new();
    if status == 204 || status == 304 || (100..200).contains(&status) {
        // no body
    } else if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| io_err(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                // trailers until empty line
                loop {
                    line.clear();
                    if r.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            line.clear();
            r.read_line(&mut line)?; // CRLF after chunk
        }
    } else if let Some(n) = content_length {
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else {
        r.read_to_end(&mut body)?;
        close = true;
    }
    Ok(Resp {
        status,
        body,
        close,
    })
}

/// utime+stime of this process in seconds (Linux /proc, USER_HZ = 100), None elsewhere.
fn self_cpu_s() -> Option<f64> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime = field 14, stime = field 15
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // nearest-rank
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn main() {
    let args = parse_args();
    let url = parse_url(if args.url.is_empty() {
        "http://127.0.0.1:1/"
    } else {
        &args.url
    });
    let data = fs::read(&args.file).unwrap_or_else(|e| {
        eprintln!("cannot read {}: {e}", args.file);
        exit(2)
    });
    let prep = prepare(&data, args.batch, &url);
    drop(data);
    if prep.malformed > 0 {
        eprintln!(
            "warning: {} malformed line(s) (no field set); sent as-is, counted as 0 points",
            prep.malformed
        );
    }
    if args.dry_run {
        println!(
            "{{\"points\":{},\"lines\":{},\"batches\":{},\"body_bytes\":{},\"malformed\":{}}}",
            prep.points,
            prep.lines,
            prep.batches.len(),
            prep.body_bytes,
            prep.malformed
        );
        return;
    }
    let timeout = Duration::from_secs(args.timeout_s);
    let batches = Arc::new(prep.batches);
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let reconnects = Arc::new(AtomicUsize::new(0));
    let first_errors: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let url = Arc::new(url);

    let cpu0 = self_cpu_s();
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..args.workers {
        let (batches, next, errors, reconnects, first_errors, url) = (
            batches.clone(),
            next.clone(),
            errors.clone(),
            reconnects.clone(),
            first_errors.clone(),
            url.clone(),
        );
        handles.push(thread::spawn(move || {
            let mut lat: Vec<f64> = Vec::new();
            let mut conn: Option<Conn> = None;
            let note = |msg: String| {
                let mut fe = first_errors.lock().unwrap();
                if fe.len() < 5 {
                    fe.push(msg);
                }
            };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= batches.len() {
                    break;
                }
                let b = &batches[i];
                let t0 = Instant::now();
                if conn.is_none() {
                    match connect(&url, timeout) {
                        Ok(c) => conn = Some(c),
                        Err(e) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            note(format!("batch {i}: connect: {e}"));
                            lat.push(t0.elapsed().as_secs_f64() * 1e3);
                            continue;
                        }
                    }
                }
                let c = conn.as_mut().unwrap();
                let result = c
                    .writer
                    .write_all(&b.request)
                    .and_then(|_| read_response(&mut c.reader));
                lat.push(t0.elapsed().as_secs_f64() * 1e3);
                match result {
                    Ok(r) => {
                        if !(200..300).contains(&r.status) {
                            errors.fetch_add(1, Ordering::Relaxed);
                            let body = String::from_utf8_lossy(&r.body[..r.body.len().min(300)])
                                .to_string();
                            note(format!("batch {i}: HTTP {}: {}", r.status, body.trim()));
                        }
                        if r.close {
                            conn = None;
                            reconnects.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        note(format!("batch {i}: io: {e}"));
                        conn = None;
                        reconnects.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat
        }));
    }
    let mut lat: Vec<f64> = Vec::new();
    for h in handles {
        lat.extend(h.join().expect("worker panicked"));
    }
    let secs = start.elapsed().as_secs_f64();
    let loader_cpu = match (cpu0, self_cpu_s()) {
        (Some(a), Some(b)) => format!("{:.2}", b - a),
        _ => "null".to_string(),
    };
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let errors = errors.load(Ordering::Relaxed);
    for e in first_errors.lock().unwrap().iter() {
        eprintln!("error: {e}");
    }
    println!(
        "{{\"points\":{},\"lines\":{},\"seconds\":{:.4},\"points_per_sec\":{:.1},\"lines_per_sec\":{:.1},\"batches\":{},\"errors\":{},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3},\"body_bytes\":{},\"batch_lines\":{},\"workers\":{},\"reconnects\":{},\"loader_cpu_s\":{},\"url\":{}}}",
        prep.points,
        prep.lines,
        secs,
        prep.points as f64 / secs,
        prep.lines as f64 / secs,
        batches.len(),
        errors,
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0),
        prep.body_bytes,
        args.batch,
        args.workers,
        reconnects.load(Ordering::Relaxed),
        loader_cpu,
        json_str(&args.url),
    );
    exit(if errors == 0 { 0 } else { 1 });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_fields() {
        assert_eq!(count_fields(b"m,t=a v=1 1"), Some(1));
        assert_eq!(count_fields(b"m,t=a a=1,b=2,c=3 1"), Some(3));
        assert_eq!(count_fields(b"m a=1,b=2"), Some(2));
        assert_eq!(count_fields(b"m\\ x,t=a\\ b a=1,b=\"x, y z\" 1"), Some(2));
        assert_eq!(count_fields(b"m,t=a\\,b a=\"q\\\"x,\",b=1i 1"), Some(2));
        assert_eq!(count_fields(b"m"), None);
    }

    #[test]
    fn batches_and_skips() {
        let url = parse_url("http://127.0.0.1:8086/write?db=x&precision=s");
        assert_eq!(url.port, 8086);
        assert_eq!(url.path, "/write?db=x&precision=s");
        let data = b"# comment\nm v=1 1\n\nm v=2,w=3 2\r\nm v=3 3\nm v=4 4\nm v=5 5";
        let p = prepare(data, 2, &url);
        assert_eq!(p.lines, 5);
        assert_eq!(p.points, 6);
        assert_eq!(p.batches.len(), 3);
        let last = String::from_utf8(p.batches[2].request.clone()).unwrap();
        assert!(last.ends_with("\r\n\r\nm v=5 5\n"));
        assert!(last.contains("Content-Length: 8\r\n"));
    }

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=100).map(|x| x as f64).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
    }
}
