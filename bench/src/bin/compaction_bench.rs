//! Write amplification, compaction throughput and peak memory for the iot
//! workload (1,000 devices × 5 fields every 10 s; 10 M points by default,
//! `IOT_POINTS` to change), run the way the server runs it.
//!
//! Line protocol is written in requests of 5,000 lines with a sync after each
//! (`sync: "always"`); the memtable is flushed when it reaches 16 MiB (a
//! quarter of the default 64 MiB memory budget) or every 10 minutes of data
//! time (`flush_interval_seconds`), and after every flush the housekeeping
//! policy runs (`Db::maintain`: tiered compaction of the week window). At
//! the end the window closes and is merged into one table. The device is a
//! sparse file, so resident memory is the engine's alone.
//!
//! Printed: device bytes programmed by kind, write amplification (device
//! bytes ÷ bytes of the points as first encoded, in the WAL records), how
//! often the encoded table data was written (flush + compaction output ÷
//! the final tables), compaction throughput, and peak heap and RSS.

use pulsardb_bench::alloc_counter::{self, Counting};
use pulsardb_bench::file_device::FileDev;
use pulsardb_bench::{data, peak_rss_bytes};
use pulsardb_core::db::{OnFull, Policy};
use pulsardb_core::lineproto::{FieldValue, Line, Lines, Precision};
use pulsardb_core::{Db, DbConfig, Geometry, Value, WriteBatch};

#[global_allocator]
static A: Counting = Counting;

const MEMTABLE: usize = 16 << 20;
const FLUSH_EVERY_NS: i64 = 600_000_000_000;

fn add_line(b: &mut WriteBatch, line: &Line<'_>) {
    b.begin(line.measurement.raw());
    for (k, v) in &line.tags {
        b.tag(k.raw(), v.raw());
    }
    for (k, v) in &line.fields {
        match v {
            FieldValue::Float(f) => b.field(k.raw(), Value::Float(*f)),
            FieldValue::Int(i) => b.field(k.raw(), Value::Integer(*i)),
            FieldValue::UInt(u) => b.field(k.raw(), Value::Unsigned(*u)),
            FieldValue::Bool(x) => b.field(k.raw(), Value::Boolean(*x)),
            FieldValue::Str(_) => b.string_field(k.raw()),
        }
    }
    b.end(line.timestamp_ns.unwrap_or(0));
}

fn current_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn mib(b: u64) -> f64 {
    b as f64 / (1 << 20) as f64
}

fn main() {
    let points: u64 = std::env::var("IOT_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let lp = data::iot_lp(points);
    let geo = Geometry {
        block_size: 64 << 10,
        block_count: 16384,
        write_size: 1,
    };
    let path =
        std::env::temp_dir().join(format!("pulsardb-compaction-bench-{}", std::process::id()));
    let dev = FileDev::create(&path, geo).expect("device file");
    let cfg = DbConfig {
        memtable_bytes: MEMTABLE,
        auto_flush: false,
        window_ns: pulsardb_core::db::window_for_retention(0),
        ..DbConfig::default()
    };
    let policy = Policy::for_capacity(geo.capacity_bytes(), MEMTABLE, 0, OnFull::DropOldest);
    let mut db = Db::create(dev, cfg).expect("create");
    db.create_database("db").expect("create database");
    alloc_counter::reset_peak();
    let base_heap = alloc_counter::live();
    // The input held in memory is not the engine's: measured from here.
    let base_rss = current_rss_bytes();

    let t0 = std::time::Instant::now();
    let mut compaction_secs = 0.0;
    let mut flushes = 0u64;
    let mut next_flush: Option<i64> = None;
    let mut b = WriteBatch::new();
    let mut lines = Lines::new(lp.as_bytes(), Precision::Seconds);
    let mut line = Line::new();
    let mut n = 0;
    let mut last_ts = 0;
    let maintain = |db: &mut Db<FileDev>, now: i64, secs: &mut f64| {
        let t = std::time::Instant::now();
        db.maintain(now, &policy, u64::MAX).expect("maintain");
        *secs += t.elapsed().as_secs_f64();
    };
    while let Some(r) = lines.next_into(&mut line) {
        r.expect("valid line protocol");
        let ts = line.timestamp_ns.unwrap_or(0);
        last_ts = ts;
        add_line(&mut b, &line);
        n += 1;
        if n == 5000 {
            db.write("db", &b).expect("write");
            db.sync().expect("sync");
            b.clear();
            n = 0;
            let due = *next_flush.get_or_insert(ts + FLUSH_EVERY_NS);
            if ts >= due || db.memtable_bytes() >= MEMTABLE {
                db.flush().expect("flush");
                flushes += 1;
                next_flush = Some(ts + FLUSH_EVERY_NS);
                maintain(&mut db, ts, &mut compaction_secs);
            }
        }
    }
    db.write("db", &b).expect("write");
    db.sync().expect("sync");
    db.flush().expect("flush");
    flushes += 1;
    let open_tables = db.stats().tables;
    // The window closes: its tables become one.
    maintain(
        &mut db,
        last_ts + 8 * pulsardb_core::db::DAY_NS,
        &mut compaction_secs,
    );
    let total_secs = t0.elapsed().as_secs_f64();
    let peak_heap = alloc_counter::peak() - base_heap;

    let s = db.stats();
    let c = s.counters;
    let programmed = db.store().device().programmed;
    let table_writes = c.flushed_bytes + c.compacted_bytes_out;
    let others = programmed.saturating_sub(table_writes + c.logged_bytes);
    println!(
        "## iot: {} points, {} series, {flushes} flushes, {} compactions, {} table(s) before the window closed, {} after",
        c.points_written, s.series, c.compactions, open_tables, s.tables
    );
    println!("| measure | value |");
    println!("|---|---:|");
    println!(
        "| points as first encoded (WAL records) | {:.1} MiB ({:.2} B/point) |",
        mib(c.logged_bytes),
        c.logged_bytes as f64 / c.points_written as f64
    );
    println!(
        "| tables written by flushes | {:.1} MiB |",
        mib(c.flushed_bytes)
    );
    println!(
        "| tables written by compactions | {:.1} MiB |",
        mib(c.compacted_bytes_out)
    );
    println!(
        "| WAL framing, manifests, catalog | {:.1} MiB |",
        mib(others)
    );
    println!(
        "| device bytes programmed | {:.1} MiB ({:.2} B/point) |",
        mib(programmed),
        programmed as f64 / c.points_written as f64
    );
    println!(
        "| **write amplification** (device bytes ÷ points as first encoded) | **{:.2}×** |",
        programmed as f64 / c.logged_bytes as f64
    );
    println!(
        "| final tables | {:.2} MiB ({:.3} B/point) |",
        mib(s.table_bytes),
        s.table_bytes as f64 / c.points_written as f64
    );
    println!(
        "| table data written ÷ final tables (flush once + compaction rewrites) | {:.2}× |",
        table_writes as f64 / s.table_bytes.max(1) as f64
    );
    println!(
        "| compaction throughput | {:.1} M points/s ({:.1} M points, {:.1} MiB of tables read in {:.2} s) |",
        c.compacted_points_in as f64 / compaction_secs.max(1e-9) / 1e6,
        c.compacted_points_in as f64 / 1e6,
        mib(c.compacted_bytes_in),
        compaction_secs
    );
    println!(
        "| ingest incl. flushes and compactions (1 core) | {:.2} M points/s |",
        c.points_written as f64 / total_secs / 1e6
    );
    println!("| peak heap | {:.1} MiB |", mib(peak_heap as u64));
    println!(
        "| peak RSS above the loaded input ({:.0} MiB of line protocol) | {:.1} MiB |",
        mib(base_rss),
        mib(peak_rss_bytes().unwrap_or(0).saturating_sub(base_rss))
    );
    drop(db);
    let _ = std::fs::remove_file(&path);
}
