//! Ingest throughput, bytes per point and peak heap of `Db<RamDevice>`.
//!
//! For the NAB data (58 real series) and the iot workload (1,000 devices × 5
//! fields every 10 s, 2-decimal values; 10 M points by default, `IOT_POINTS`
//! to change): line protocol is parsed, batched (5,000 lines) and written on
//! one core with the WAL and flushes included, then flushed. Printed:
//! points/s end to end and for writes alone, device bytes per point (tables,
//! catalog segments, manifest and WAL after the final flush; and whole blocks
//! in use), the same after compacting (flushes encode fast, compaction with
//! the best codecs: the size at rest), and peak heap. Speeds are the best of
//! `RUNS` runs (default 3), each into a new store.
//!
//! `ingest_bench [all|nab|iot]` (default all); `nab-writes` or `iot-writes`
//! run only the writes of prepared batches, `RUNS` times, printing each
//! run's speed: for profiling the write path.

use pulsardb_bench::alloc_counter::{self, Counting};
use pulsardb_bench::{data, timed};
use pulsardb_core::lineproto::{FieldValue, Line, Lines, Precision};
use pulsardb_core::storage::RamDevice;
use pulsardb_core::{Db, DbConfig, Geometry, Value, WriteBatch};

#[global_allocator]
static A: Counting = Counting;

fn to_batches(lp: &str, lines_per_batch: usize) -> (Vec<WriteBatch>, u64) {
    let mut batches = Vec::new();
    let mut b = WriteBatch::new();
    let mut points = 0u64;
    let mut lines = Lines::new(lp.as_bytes(), Precision::Seconds);
    let mut line = Line::new();
    let mut scratch = (Vec::new(), Vec::new());
    while let Some(r) = lines.next_into(&mut line) {
        r.expect("valid line protocol");
        add_line(&mut b, &line, &mut scratch);
        points += line.fields.len() as u64;
        if b.len() == lines_per_batch {
            batches.push(std::mem::take(&mut b));
        }
    }
    if !b.is_empty() {
        batches.push(b);
    }
    (batches, points)
}

/// Bytes of a name: the input itself, or its unescaped copy in `s`.
fn unescaped<'a>(e: &pulsardb_core::lineproto::Escaped<'a>, s: &'a mut Vec<u8>) -> &'a [u8] {
    if e.has_escapes() {
        s.clear();
        e.unescape_into(s);
        s
    } else {
        e.raw()
    }
}

fn add_line(b: &mut WriteBatch, line: &Line<'_>, scratch: &mut (Vec<u8>, Vec<u8>)) {
    b.begin(unescaped(&line.measurement, &mut scratch.0));
    for (k, v) in &line.tags {
        b.tag(unescaped(k, &mut scratch.0), unescaped(v, &mut scratch.1));
    }
    for (k, v) in &line.fields {
        let k = unescaped(k, &mut scratch.0);
        match v {
            FieldValue::Float(f) => b.field(k, Value::Float(*f)),
            FieldValue::Int(i) => b.field(k, Value::Integer(*i)),
            FieldValue::UInt(u) => b.field(k, Value::Unsigned(*u)),
            FieldValue::Bool(x) => b.field(k, Value::Boolean(*x)),
            FieldValue::Str(_) => b.string_field(k),
        }
    }
    b.end(line.timestamp_ns.unwrap_or(0));
}

/// The server's file geometry (16 KiB blocks), 512 MiB.
fn geometry() -> Geometry {
    Geometry {
        block_size: 16 << 10,
        block_count: 32768,
        write_size: 1,
    }
}

fn db_capacity() -> u64 {
    geometry().capacity_bytes()
}

fn new_db() -> Db<RamDevice> {
    let geo = geometry();
    let cfg = DbConfig {
        memtable_bytes: 64 << 20,
        window_ns: 7 * pulsardb_core::db::DAY_NS,
        ..DbConfig::default()
    };
    let mut db = Db::create(RamDevice::new(geo), cfg).expect("create");
    db.create_database("db").expect("create database");
    db
}

/// Parses, writes and flushes `lp` into a new store; returns it and the seconds taken.
fn ingest_lp(lp: &str) -> (Db<RamDevice>, f64) {
    let mut db = new_db();
    let ((), secs) = timed(|| {
        let mut b = WriteBatch::new();
        let mut lines = Lines::new(lp.as_bytes(), Precision::Seconds);
        let mut line = Line::new();
        let mut scratch = (Vec::new(), Vec::new());
        let mut n = 0;
        while let Some(r) = lines.next_into(&mut line) {
            r.expect("valid line protocol");
            add_line(&mut b, &line, &mut scratch);
            n += 1;
            if n == 5000 {
                db.write("db", &b).expect("write");
                db.sync().expect("sync");
                b.clear();
                n = 0;
            }
        }
        db.write("db", &b).expect("write");
        db.sync().expect("sync");
        db.flush().expect("flush");
    });
    (db, secs)
}

fn run(name: &str, lp: &str, runs: usize) {
    // End to end: parse + write + flush; the best of `runs` (one core of a
    // shared machine is noisy), heap measured on the first.
    alloc_counter::reset_peak();
    let base = alloc_counter::live();
    let (mut db, mut e2e_secs) = ingest_lp(lp);
    // The RAM device's image is the "disk", not engine memory.
    let peak_heap = alloc_counter::peak() - base - db_capacity() as usize;
    for _ in 1..runs {
        drop(db);
        let (d, secs) = ingest_lp(lp);
        db = d;
        e2e_secs = e2e_secs.min(secs);
    }
    let stats = db.stats();
    let points = stats.counters.points_written;
    let dev = db.store().device();
    let programmed = dev.bytes_programmed;
    let geo = db.store().geometry();
    let used_blocks_bytes = stats.capacity_bytes - stats.free_bytes;
    let tables = db.store().manifest().tables.len();
    let manifest_est = 4096u64; // one manifest block at most for these few tables
    let exact = stats.table_bytes + stats.segment_bytes + manifest_est;
    // Flushes encode fast; compaction (the server runs it in the
    // background) rewrites the tables with the best codecs: the size at rest.
    let ((), c_secs) = timed(|| while db.compact(i64::MAX, 0).expect("compact").is_some() {});
    let settled = db.stats();
    let settled_used = settled.capacity_bytes - settled.free_bytes;
    let settled_tables = db.store().manifest().tables.len();
    drop(db);

    // Writes alone: batches prepared beforehand.
    let (batches, pts) = to_batches(lp, 5000);
    let mut w_secs = f64::MAX;
    for _ in 0..runs {
        w_secs = w_secs.min(write_batches(&batches));
    }
    assert_eq!(pts, points);
    println!(
        "## {name}: {points} points, {} series, {} tables",
        stats.series, tables
    );
    println!("| measure | value |");
    println!("|---|---:|");
    println!(
        "| ingest, line protocol → flushed tables (1 core, best of {runs}) | {:.2} M points/s |",
        points as f64 / e2e_secs / 1e6
    );
    println!(
        "| ingest, prepared batches → flushed tables (1 core, best of {runs}) | {:.2} M points/s |",
        points as f64 / w_secs / 1e6
    );
    println!(
        "| table bytes / point | {:.3} |",
        stats.table_bytes as f64 / points as f64
    );
    println!(
        "| tables + catalog + manifest bytes / point | {:.3} |",
        exact as f64 / points as f64
    );
    println!(
        "| blocks in use (incl. WAL tail, {} KiB blocks) / point | {:.3} |",
        geo.block_size / 1024,
        used_blocks_bytes as f64 / points as f64
    );
    println!(
        "| after compaction ({settled_tables} tables, {:.2} s): table bytes / point | {:.3} |",
        c_secs,
        settled.table_bytes as f64 / points as f64
    );
    println!(
        "| after compaction: tables + catalog + manifest bytes / point | {:.3} |",
        (settled.table_bytes + settled.segment_bytes + manifest_est) as f64 / points as f64
    );
    println!(
        "| after compaction: blocks in use / point | {:.3} |",
        settled_used as f64 / points as f64
    );
    println!(
        "| device bytes programmed / point (WAL + tables, before compaction) | {:.2} |",
        programmed as f64 / points as f64
    );
    println!(
        "| peak heap, device image excluded (parse + write + flush) | {:.1} MiB |",
        peak_heap as f64 / (1 << 20) as f64
    );
    println!();
}

/// Writes `batches` (a sync after each) into a new store and flushes;
/// returns the seconds taken.
fn write_batches(batches: &[WriteBatch]) -> f64 {
    let mut db = new_db();
    let ((), secs) = timed(|| {
        for b in batches {
            db.write("db", b).expect("write");
            db.sync().expect("sync");
        }
        db.flush().expect("flush");
    });
    secs
}

/// Writes alone (prepared batches, `runs` times), printing only their
/// speed: for profiling the write path (`ingest_bench iot-writes`).
fn writes_only(name: &str, lp: &str, runs: usize) {
    let (batches, points) = to_batches(lp, 5000);
    for _ in 0..runs {
        let secs = write_batches(&batches);
        println!(
            "{name}: prepared batches → flushed tables: {:.2} M points/s",
            points as f64 / secs / 1e6
        );
    }
}

fn main() {
    let iot_points: u64 = std::env::var("IOT_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let which = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    if !["all", "nab", "iot", "nab-writes", "iot-writes"].contains(&which.as_str()) {
        eprintln!("usage: ingest_bench [all|nab|iot|nab-writes|iot-writes]");
        std::process::exit(2);
    }
    if which == "all" || which == "nab" {
        run("nab", &data::nab_lp(), runs);
    }
    if which == "all" || which == "iot" {
        run("iot", &data::iot_lp(iot_points), runs);
    }
    if which == "nab-writes" {
        writes_only("nab", &data::nab_lp(), runs);
    }
    if which == "iot-writes" {
        writes_only("iot", &data::iot_lp(iot_points), runs);
    }
}
