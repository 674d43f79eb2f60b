//! Harness for PulsarDB's end-to-end scenarios: start the real `pulsardb`
//! binary on a free port with a temporary data directory, talk raw HTTP/1.1
//! to it, stop or kill it.
//!
//! The binary is `$PULSARDB_BIN`, or `target/debug/pulsardb` of this
//! workspace (`cargo build -p pulsardb-server` builds it; `scripts/test.sh`
//! does so before the tests). A missing binary fails the test: scenarios are
//! never skipped. `$PULSARDB_RUNNER` (e.g. `qemu-arm -L
//! /usr/arm-linux-gnueabihf`) runs it under an emulator: the scenarios then
//! test a cross-compiled server from the host.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A command running the pulsardb binary, under `$PULSARDB_RUNNER` when set
/// (an emulator such as `qemu-arm -L /usr/arm-linux-gnueabihf`).
pub fn command() -> Command {
    let runner = std::env::var("PULSARDB_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(emulator) => {
            let mut c = Command::new(emulator);
            c.args(words).arg(binary());
            c
        }
        None => Command::new(binary()),
    }
}

/// The pulsardb binary.
pub fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("PULSARDB_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let p = target.join("debug/pulsardb");
    assert!(
        p.exists(),
        "{} not found: run `cargo build -p pulsardb-server` first (scripts/test.sh does)",
        p.display()
    );
    p
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary directory (removed on drop).
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates one.
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "pulsardb-test-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    /// Its process.
    pub child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Its log file.
    pub log: PathBuf,
    config: Option<PathBuf>,
}

impl Server {
    /// Starts `pulsardb` on `data_dir` with an optional JSON config, and
    /// waits until `/ping` answers.
    pub fn start(data_dir: &Path, config_json: Option<&str>) -> Server {
        let port = free_port();
        let config = config_json.map(|c| {
            let p = data_dir.with_extension(format!("config-{port}.json"));
            std::fs::write(&p, c).expect("config");
            p
        });
        let mut s = Server {
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            data_dir: data_dir.to_path_buf(),
            log: data_dir.with_extension(format!("log-{port}")),
            config,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        let mut cmd = command();
        cmd.arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--http-addr")
            .arg(self.addr.to_string());
        if let Some(c) = &self.config {
            cmd.arg("--config").arg(c);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn pulsardb");
        self.child = Some(child);
        let t0 = Instant::now();
        loop {
            if let Ok(r) = try_request(self.addr, "GET", "/ping", &[], b"")
                && r.status == 204
            {
                return;
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(st)) = c.try_wait()
            {
                panic!(
                    "pulsardb exited during startup ({st}); log:\n{}",
                    self.log_text()
                );
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "pulsardb did not answer /ping; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server process's resident memory (VmRSS), KiB; 0 if unknown.
    pub fn rss_kib(&self) -> u64 {
        let pid = self.child.as_ref().map_or(0, |c| c.id());
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A request; panics on connection failure.
    pub fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        try_request(self.addr, method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}; log:\n{}", self.log_text()))
    }

    /// Runs `python` on `script` (in `tests/compat/`) with `args`, against
    /// this server; prints its output and fails the test, with the server's
    /// log, unless it exits 0.
    pub fn run_compat_script(&self, python: &Path, script: &str, args: &[String]) {
        let out = Command::new(python)
            .arg(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("compat")
                    .join(script),
            )
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        println!("{stdout}");
        assert!(
            out.status.success(),
            "{script} failed:\n{stdout}\n{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log_text()
        );
    }

    /// POST line protocol to /write.
    pub fn write_lp(&self, query: &str, body: &str) -> Resp {
        self.req("POST", &format!("/write?{query}"), &[], body.as_bytes())
    }

    /// POST a JSON query.
    pub fn json_query(&self, q: &serde_json::Value) -> serde_json::Value {
        let r = self.req(
            "POST",
            "/query",
            &[("Content-Type", "application/json")],
            q.to_string().as_bytes(),
        );
        assert_eq!(r.status, 200, "query {q}: {}", r.text());
        r.json()
    }

    /// SIGTERM and wait; returns the exit code.
    pub fn stop(&mut self) -> i32 {
        let Some(mut c) = self.child.take() else {
            return 0;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let t0 = Instant::now();
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return st.code().unwrap_or(-1);
            }
            if t0.elapsed() > Duration::from_secs(60) {
                let _ = c.kill();
                panic!(
                    "pulsardb did not stop on SIGTERM; log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL (no shutdown at all) and wait.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the same server again (same port, directory and config).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill it first");
        self.spawn();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if let Some(c) = &self.config {
            let _ = std::fs::remove_file(c);
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A response.
#[derive(Debug, Clone)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Resp {
    /// Body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// Body as JSON (panics if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    /// A header.
    pub fn header(&self, name: &str) -> Option<&str> {
        let n = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response from a buffered stream.
pub fn read_response(r: &mut impl BufRead) -> std::io::Result<Resp> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let mut body = vec![0; len.unwrap_or(0)];
    r.read_exact(&mut body)?;
    Ok(Resp {
        status,
        headers,
        body,
    })
}

/// One request on a fresh connection.
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    read_response(&mut BufReader::new(s))
}

/// Gzip-compresses bytes.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

/// All points of a measurement and field via the JSON query:
/// `(tags as "k=v,..", [ms, value])`.
pub fn points(s: &Server, db: &str, metric: &str) -> Vec<(String, i64, serde_json::Value)> {
    let r = s.json_query(&serde_json::json!({ "db": db, "metric": metric }));
    let mut out = Vec::new();
    for series in r["series"].as_array().cloned().unwrap_or_default() {
        let tags = series["tags"]
            .as_object()
            .map(|t| {
                t.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        for p in series["points"].as_array().cloned().unwrap_or_default() {
            out.push((
                format!("{tags}|{}", series["field"].as_str().unwrap_or("")),
                p[0].as_i64().unwrap_or(0),
                p[1].clone(),
            ));
        }
    }
    out
}

/// (folder, file) → seconds → value.
pub type NabOracle =
    std::collections::BTreeMap<(String, String), std::collections::BTreeMap<i64, f64>>;

/// The NAB series (`testdata/nab`) as line protocol — what
/// `bench/gen_lp.py nab` produces: `<folder>,file=<name> value=<v> <unix s>` —
/// and the oracle: (folder, file) → seconds → value, the last write of a
/// repeated timestamp winning.
pub fn nab() -> (String, NabOracle) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/nab");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("testdata/nab")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut lp = String::new();
    let mut oracle = std::collections::BTreeMap::new();
    for d in dirs {
        let folder = d
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .expect("dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "csv"))
            .collect();
        files.sort();
        for f in files {
            let name = f
                .file_stem()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&f).expect("csv");
            let series: &mut std::collections::BTreeMap<i64, f64> =
                oracle.entry((folder.clone(), name.clone())).or_default();
            for line in text.lines().skip(1) {
                let Some((ts, v)) = line.split_once(',') else {
                    continue;
                };
                let secs = parse_utc(ts.trim());
                let v = v.trim();
                lp.push_str(&format!("{folder},file={name} value={v} {secs}\n"));
                series.insert(secs, v.parse::<f64>().expect("number"));
            }
        }
    }
    (lp, oracle)
}

/// Seconds since the epoch of "YYYY-MM-DD HH:MM:SS" read as UTC.
pub fn parse_utc(s: &str) -> i64 {
    let n = |a: usize, b: usize| s.get(a..b).and_then(|x| x.parse::<i64>().ok()).unwrap_or(0);
    let (y, mo, d, h, mi, se) = (n(0, 4), n(5, 7), n(8, 10), n(11, 13), n(14, 16), n(17, 19));
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400 + h * 3600 + mi * 60 + se
}

/// Percent-encodes a query-string value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Loads line protocol in batches of `lines` lines (precision s).
pub fn load_lp(s: &Server, db: &str, lp: &str, lines: usize) {
    let all: Vec<&str> = lp.lines().collect();
    for chunk in all.chunks(lines) {
        let body = chunk.join("\n");
        let r = s.req(
            "POST",
            &format!("/write?db={db}&precision=s"),
            &[],
            body.as_bytes(),
        );
        assert_eq!(r.status, 204, "{}", r.text());
    }
}
