//! Line-protocol parsing speed: MB/s, lines/s and field values/s, floats parsed.
//!
//! ```sh
//! python3 bench/gen_lp.py iot --out /tmp/iot.lp --devices 1000 --points 2000000 --seed 42
//! cargo run --release -p pulsardb-bench --bin lineproto_bench -- /tmp/iot.lp
//! ```
//!
//! Datasets: the iot file given as the argument (without one, the same shape
//! generated here: 1,000 devices, 3 tags, 5 two-decimal floats, a timestamp in
//! seconds), and the NAB CSVs of `testdata/nab` converted to line protocol as
//! `gen_lp.py nab` does. Each is parsed by [`Lines`] (a whole body in memory)
//! and by [`StreamParser`] (64 KiB buffer over an in-memory reader); the best
//! of several runs is shown, on one core.

use std::hint::black_box;
use std::path::Path;

use pulsardb_bench::{testdata, timed};
use pulsardb_core::lineproto::{FieldValue, Line, Lines, Precision, StreamParser};

/// What a parse saw; summed so the optimiser cannot drop the work.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Tally {
    lines: u64,
    fields: u64,
    errors: u64,
    sum: f64,
}

impl Tally {
    fn add(&mut self, line: &Line<'_>) {
        self.lines += 1;
        self.fields += line.fields.len() as u64;
        for (_, v) in &line.fields {
            if let FieldValue::Float(x) = v {
                self.sum += x;
            }
        }
        self.sum += line.tags.len() as f64 + line.timestamp_ns.unwrap_or(0) as f64 * 1e-18;
    }
}

fn parse_buffer(data: &[u8]) -> Tally {
    let mut t = Tally::default();
    let mut lines = Lines::new(data, Precision::Seconds);
    let mut line = Line::new();
    while let Some(r) = lines.next_into(&mut line) {
        match r {
            Ok(()) => t.add(&line),
            Err(_) => t.errors += 1,
        }
    }
    t
}

fn parse_stream(data: &[u8], buf: &mut [u8]) -> Tally {
    let mut t = Tally::default();
    let mut parser = StreamParser::new(data, buf, Precision::Seconds);
    while let Some(r) = parser.next_with(|line| t.add(line)) {
        if r.is_err() {
            t.errors += 1;
        }
    }
    t
}

fn report(name: &str, data: &[u8], runs: usize) {
    let mut best = f64::INFINITY;
    let mut best_stream = f64::INFINITY;
    let mut tally = Tally::default();
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..runs {
        let (t, secs) = timed(|| parse_buffer(black_box(data)));
        tally = black_box(t);
        best = best.min(secs);
        let (t, secs) = timed(|| parse_stream(black_box(data), &mut buf));
        assert_eq!(
            black_box(t).lines,
            tally.lines,
            "the stream parser saw other lines"
        );
        best_stream = best_stream.min(secs);
    }
    let mb = data.len() as f64 / 1e6;
    println!(
        "{name}: {:.1} MB, {} lines, {} field values, {} errors (checksum {:.3})",
        mb, tally.lines, tally.fields, tally.errors, tally.sum
    );
    for (how, secs) in [
        ("Lines (buffer)", best),
        ("StreamParser (64 KiB)", best_stream),
    ] {
        println!(
            "  {how:<22} {:>7.1} MB/s {:>6.2} M lines/s {:>6.2} M field values/s  ({:.1} ns/line, best of {runs})",
            mb / secs,
            tally.lines as f64 / secs / 1e6,
            tally.fields as f64 / secs / 1e6,
            secs * 1e9 / tally.lines.max(1) as f64
        );
    }
}

/// The iot shape of `gen_lp.py iot`, for when no file is given.
fn generate_iot(lines: usize) -> Vec<u8> {
    use std::fmt::Write as _;
    const MODELS: [&str; 5] = ["th-100", "th-200", "env-3", "env-5x", "ws-9"];
    let devices = 1000;
    let mut state: u64 = 42;
    let mut rnd = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let mut s = String::with_capacity(lines * 140);
    for i in 0..lines {
        let d = i % devices;
        let ts = 1_704_067_200 + (i / devices) * 10;
        let _ = writeln!(
            s,
            "sensors,device=dev-{d:05},site=site-{:03},model={} temperature={:.2},humidity={:.1},pressure={:.2},battery={:.3},rssi={} {ts}",
            d % 50,
            MODELS[d % 5],
            15.0 + 15.0 * rnd(),
            30.0 + 40.0 * rnd(),
            995.0 + 35.0 * rnd(),
            3.6 + 0.6 * rnd(),
            -95 + (50.0 * rnd()) as i32
        );
    }
    s.into_bytes()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) to Unix seconds.
fn unix_seconds(s: &str) -> Option<i64> {
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    Some(
        days_from_civil(n(0..4)?, n(5..7)?, n(8..10)?) * 86_400
            + n(11..13)? * 3600
            + n(14..16)? * 60
            + n(17..19)?,
    )
}

fn escape(s: &str, specials: &[char]) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c == '\\' || specials.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Every NAB CSV as `<folder>,file=<name> value=<v> <unix seconds>`, like `gen_lp.py nab`.
fn nab_line_protocol(root: &Path) -> std::io::Result<Vec<u8>> {
    let mut files = Vec::new();
    for folder in std::fs::read_dir(root)? {
        let folder = folder?.path();
        if folder.is_dir() {
            for f in std::fs::read_dir(&folder)? {
                let f = f?.path();
                if f.extension().is_some_and(|e| e == "csv") {
                    files.push(f);
                }
            }
        }
    }
    files.sort();
    let mut out = String::new();
    for path in files {
        let folder = path
            .parent()
            .and_then(Path::file_name)
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let prefix = format!(
            "{},file={} value=",
            escape(folder, &[',', ' ']),
            escape(name, &[',', '=', ' '])
        );
        for row in std::fs::read_to_string(&path)?.lines().skip(1) {
            let Some((ts, v)) = row.split_once(',') else {
                continue;
            };
            if let Some(t) = unix_seconds(ts.trim()) {
                out.push_str(&prefix);
                out.push_str(v.trim());
                out.push(' ');
                out.push_str(&t.to_string());
                out.push('\n');
            }
        }
    }
    Ok(out.into_bytes())
}

fn main() {
    let iot = match std::env::args().nth(1) {
        Some(path) => match std::fs::read(&path) {
            Ok(data) => (format!("iot ({path})"), data),
            Err(e) => {
                eprintln!("cannot read {path}: {e}");
                std::process::exit(2);
            }
        },
        None => (
            "iot (generated: 400,000 lines)".to_string(),
            generate_iot(400_000),
        ),
    };
    report(&iot.0, &iot.1, 7);
    match nab_line_protocol(&testdata("nab")) {
        Ok(nab) => report("nab (testdata/nab as line protocol)", &nab, 15),
        Err(e) => eprintln!("nab: cannot read testdata/nab: {e}"),
    }
}
