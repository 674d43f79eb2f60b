//! PulsarDB in Cortex-M4 firmware, run under QEMU's mps2-an386 board.
//!
//! Opens a store on an emulated NOR flash (RAM-backed, 4 KiB erase sectors,
//! 4-byte program unit, each unit programmable once per erase — a second
//! program is an error, as on real NOR), writes a day of 10 s readings from
//! four sensors, flushes, "reboots" (drops every in-RAM structure and opens
//! the store again from the same flash), then queries the last value of
//! each sensor and its hourly means, checks them against the values it
//! wrote, prints them and exits 0 — non-zero on any mismatch or panic.
//!
//! Output and exit status go through semihosting; with the `defmt` feature
//! the results are logged through defmt (semihosting transport) instead.

#![no_std]
#![no_main]

extern crate alloc;

mod flash;
mod heap;
mod mem;
mod out;

use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use pulsardb_core::catalog::TagExpr;
use pulsardb_core::db::{OnFull, Policy};
use pulsardb_core::query::SeriesData;
use pulsardb_core::storage::NorFlashDevice;
use pulsardb_core::{Aggregation, Db, DbConfig, Query, Value, WriteBatch};

use cortex_m as _;

use flash::EmuNor;

/// 2025-01-01T00:00:00Z, ns.
const T0: i64 = 1_735_689_600_000_000_000;
const STEP: i64 = 10_000_000_000;
const HOUR: i64 = 3_600_000_000_000;
const STEPS: i64 = 8_640;
const SENSORS: [&str; 4] = ["s0", "s1", "s2", "s3"];

/// Reading `i` of sensor `s`, in quarters of a degree: a slow triangle wave,
/// different per sensor. Quarters keep every sum exact in an `f64`.
fn quarters(s: usize, i: i64) -> i64 {
    let tri = (i % 1440 - 720).abs();
    80 + 8 * s as i64 + tri / 9
}

fn reading(s: usize, i: i64) -> f64 {
    quarters(s, i) as f64 / 4.0
}

fn config() -> DbConfig {
    DbConfig {
        memtable_bytes: 4 * 1024,
        window_ns: 6 * HOUR,
        wal_record_bytes: 2 * 1024,
        max_query_windows: 64,
        // Small chunks and merges of few tables: the heap a merge or a read
        // needs is a decoded chunk per input.
        chunk_points: 128,
        max_merge_inputs: 4,
        query_batch_series: 1,
        ..DbConfig::default()
    }
}

#[entry]
fn main() -> ! {
    heap::init();
    let code = match run() {
        Ok(()) => {
            out::line("pulsardb-fw: all checks passed");
            debug::EXIT_SUCCESS
        }
        Err(e) => {
            out::fail(e);
            debug::EXIT_FAILURE
        }
    };
    debug::exit(code);
    #[allow(clippy::empty_loop)]
    loop {}
}

fn run() -> Result<(), &'static str> {
    let cfg = config();
    let nor = EmuNor::take();
    let dev = NorFlashDevice::new(nor);
    let geo_bytes = u64::from(dev_capacity(&dev));
    let policy = Policy::for_capacity(geo_bytes, cfg.memtable_bytes, 0, OnFull::DropOldest);
    let mut db = Db::create(dev, cfg).map_err(|_| "create failed")?;
    db.create_database("plant")
        .map_err(|_| "create database failed")?;

    // A day of readings, one batch per minute (6 steps × 4 sensors).
    let mut batch = WriteBatch::new();
    for minute in 0..STEPS / 6 {
        batch.clear();
        for i in minute * 6..minute * 6 + 6 {
            for (s, name) in SENSORS.iter().enumerate() {
                batch.push(
                    b"temp",
                    &[(b"sensor", name.as_bytes())],
                    &[(b"v", Value::Float(reading(s, i)))],
                    T0 + i * STEP,
                );
            }
        }
        let out = db.write("plant", &batch).map_err(|_| "write failed")?;
        if !out.rejected.is_empty() {
            return Err("a point was rejected");
        }
        db.sync().map_err(|_| "sync failed")?;
        // Housekeeping every simulated hour, as a main loop would.
        if (minute + 1) % 60 == 0 {
            let now = T0 + (minute + 1) * 6 * STEP;
            db.maintain(now, &policy, 4)
                .map_err(|_| "maintenance failed")?;
        }
    }
    db.flush().map_err(|_| "flush failed")?;
    let written = db.stats();
    let before_reboot = heap::peak();

    // Reboot: nothing survives but the flash.
    let nor = db.into_device().into_inner();
    heap::reset_peak();
    let stats = nor.stats();
    let (mut db, report) = Db::open(NorFlashDevice::new(nor), cfg).map_err(|_| "reopen failed")?;
    out::stat("points written", written.counters.points_written);
    out::stat("tables after the day", written.tables as u64);
    out::stat("compactions", written.counters.compactions);
    out::stat("flash bytes programmed", stats.programmed);
    out::stat("flash sector erases", stats.erases);
    out::stat("WAL records replayed at reopen", report.replayed);

    check_last_values(&mut db)?;
    check_hourly_means(&mut db)?;
    let after_reboot = heap::peak();
    out::stat(
        "peak heap bytes (write + flush + compaction)",
        before_reboot as u64,
    );
    out::stat("peak heap bytes (reopen + queries)", after_reboot as u64);
    out::stat(
        "peak heap bytes (whole run)",
        before_reboot.max(after_reboot) as u64,
    );
    Ok(())
}

fn dev_capacity(d: &NorFlashDevice<EmuNor>) -> u32 {
    use pulsardb_core::storage::BlockDevice;
    let g = d.geometry();
    g.block_size * g.block_count
}

fn query(tags: TagExpr, aggregation: Option<Aggregation>) -> Query {
    Query {
        db: "plant".to_string(),
        measurement: "temp".to_string(),
        tags,
        field: Some("v".to_string()),
        start_ns: T0,
        end_ns: T0 + STEPS * STEP - 1,
        aggregation,
        limit: None,
    }
}

/// The last reading of each sensor.
fn check_last_values(db: &mut Db<NorFlashDevice<EmuNor>>) -> Result<(), &'static str> {
    let q = query(
        TagExpr::True,
        Some(Aggregation {
            window_ns: None,
            offset_ns: 0,
            zone: None,
            group_by: vec!["sensor".to_string()],
        }),
    );
    let r = db.query(&q).map_err(|_| "last-value query failed")?;
    if r.series.len() != SENSORS.len() {
        return Err("last-value query: wrong number of sensors");
    }
    for (s, series) in r.series.iter().enumerate() {
        let SeriesData::Windows(w) = &series.data else {
            return Err("last-value query: not windows");
        };
        let Some((_, acc)) = w.first() else {
            return Err("last-value query: no window");
        };
        let want = reading(s, STEPS - 1);
        if acc.last != (T0 + (STEPS - 1) * STEP, Value::Float(want)) || acc.count != STEPS as u64 {
            return Err("last-value query: wrong value");
        }
        out::last(SENSORS[s], quarters(s, STEPS - 1));
    }
    Ok(())
}

/// Hourly means of each sensor: 24 windows of 360 readings. One sensor per
/// query, as a firmware would ask: the answer is what the heap holds.
fn check_hourly_means(db: &mut Db<NorFlashDevice<EmuNor>>) -> Result<(), &'static str> {
    for (s, name) in SENSORS.iter().enumerate() {
        let q = query(
            TagExpr::Eq("sensor".to_string(), name.to_string()),
            Some(Aggregation {
                window_ns: Some(HOUR),
                offset_ns: 0,
                zone: None,
                group_by: Vec::new(),
            }),
        );
        let r = db.query(&q).map_err(|_| "hourly query failed")?;
        let [series] = r.series.as_slice() else {
            return Err("hourly query: not one series");
        };
        let SeriesData::Windows(w) = &series.data else {
            return Err("hourly query: not windows");
        };
        if w.len() != 24 {
            return Err("hourly query: not 24 windows");
        }
        let mut means: Vec<i64> = Vec::with_capacity(24);
        for (h, (start, acc)) in w.iter().enumerate() {
            let first = h as i64 * 360;
            let sum_q: i64 = (first..first + 360).map(|i| quarters(s, i)).sum();
            let sum = match acc.sum {
                pulsardb_core::query::AccSum::Float(x) => x,
                _ => return Err("hourly query: not a float sum"),
            };
            if *start != T0 + h as i64 * HOUR || acc.count != 360 || sum != sum_q as f64 / 4.0 {
                return Err("hourly query: wrong count or sum");
            }
            // Mean in hundredths, rounded half up.
            means.push((sum_q * 100 + 4 * 180) / (4 * 360));
        }
        out::means(name, &means);
    }
    Ok(())
}
