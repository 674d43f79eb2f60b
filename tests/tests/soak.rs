//! Soak: a long run of 1,000 series at 10 s on a 64 MiB device with 30-day
//! retention, driven through the same housekeeping policy the server runs
//! (`Db::maintain`: retention, capacity, compaction). Checks, as simulated
//! time goes by:
//!
//! - the device never fills: every write is accepted, the free space stays
//!   above zero, and what is dropped is counted;
//! - memory is flat: resident memory after warm-up grows less than 10 %,
//!   and so does the peak heap outside the simulated device (its 64 MiB
//!   are part of the RSS);
//! - queries over retained data are exact: every day, random raw and
//!   aggregate queries are compared with the values the generator gives
//!   (data is a pure function of series and time, so the model is exact
//!   without storing it); dropped data is gone, oldest window first.
//!
//! CI runs 36 simulated days (the device fills after about 27 and the
//! oldest windows go from then on); set
//! `PULSARDB_SOAK_DAYS=365` for the year-long run.

#![allow(
    unsafe_code,
    reason = "a global allocator that counts and forwards to the system allocator"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use pulsardb_core::db::{OnFull, Policy, window_for_retention};
use pulsardb_core::query::SeriesData;
use pulsardb_core::storage::RamDevice;
use pulsardb_core::{Aggregation, Db, DbConfig, Geometry, Query, Value, WriteBatch};

/// Counts live heap bytes and their peak, so memory can be reported apart
/// from the 64 MiB the simulated device occupies.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only
// counters are updated around it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's arguments.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = LIVE.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The heap peak since the last call, then restarts it from what is live.
fn take_peak() -> usize {
    PEAK.swap(LIVE.load(Ordering::Relaxed), Ordering::Relaxed)
}

const DEVICES: usize = 100;
const FIELDS: usize = 10;
const STEP_NS: i64 = 10_000_000_000;
const DAY_NS: i64 = 86_400_000_000_000;
/// 2025-01-01T00:00:00Z.
const T0: i64 = 1_735_689_600_000_000_000;
const FIELD_NAMES: [&str; FIELDS] = ["t0", "t1", "t2", "t3", "t4", "t5", "c0", "c1", "c2", "vib"];

fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn h(d: usize, f: usize, t: i64) -> u64 {
    mix((d as u64) << 48 ^ (f as u64) << 40 ^ t as u64)
}

/// The value of device `d`, field `f` at `t` (ns): temperatures in tenths
/// following the day with a little noise, counters, and one noisy
/// vibration reading per device.
fn value(d: usize, f: usize, t: i64) -> Value {
    let s = (t - T0) / STEP_NS;
    match f {
        0..=5 => {
            let phase = (h(d, f, 0) % 8640) as f64;
            let day = ((s as f64 + phase) / 8640.0 * std::f64::consts::TAU).sin();
            let noise = (h(d, f, s / 30) % 3) as i64 - 1;
            let tenths = 150 + 10 * f as i64 + (day * 40.0).round() as i64 + noise;
            Value::Float(tenths as f64 / 10.0)
        }
        6..=8 => {
            let rate = 1 + (h(d, f, 0) % 5) as i64;
            Value::Integer(s * rate + (h(d, f, s) % 3) as i64)
        }
        _ => Value::Float((h(d, f, s / 6) % 1000) as f64 / 10.0),
    }
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0) % n.max(1)
    }
}

/// Compares random queries with the generator; returns how many points were checked.
fn check_day(db: &mut Db<RamDevice>, r: &mut Rng, oldest: i64, now: i64) -> u64 {
    let mut checked = 0;
    for _ in 0..6 {
        let d = r.below(DEVICES as u64) as usize;
        let f = r.below(FIELDS as u64) as usize;
        // A range somewhere in the last 40 days, partly before what is kept.
        let span = (1 + r.below(6 * 60)) as i64 * 60 * STEP_NS;
        let lo = now - (r.below(40 * 24 * 60) as i64 * 6) * STEP_NS;
        let hi = (lo + span).min(now - STEP_NS);
        let dev = format!("d{d:03}");
        let tags = pulsardb_core::catalog::TagExpr::Eq("device".into(), dev.clone());
        // Every 10 s step in [lo, hi] that is kept.
        let first = lo.max(oldest);
        let first = T0 + (first - T0 + STEP_NS - 1).div_euclid(STEP_NS) * STEP_NS;
        let want: Vec<(i64, Value)> = (0..)
            .map(|i| first + i * STEP_NS)
            .take_while(|&t| t <= hi)
            .map(|t| (t, value(d, f, t)))
            .collect();
        let q = Query {
            db: "soak".into(),
            measurement: "sensors".into(),
            tags: tags.clone(),
            field: Some(FIELD_NAMES[f].into()),
            start_ns: lo,
            end_ns: hi,
            aggregation: None,
            limit: None,
        };
        let res = db.query(&q).expect("query");
        let got: Vec<(i64, Value)> = res
            .series
            .iter()
            .flat_map(|s| match &s.data {
                SeriesData::Raw(p) => p.clone(),
                _ => panic!("windows for a raw query"),
            })
            .collect();
        assert_eq!(
            got.len(),
            want.len(),
            "{dev} {} [{lo}, {hi}], kept from {oldest}",
            FIELD_NAMES[f]
        );
        assert!(
            got == want,
            "{dev} {} [{lo}, {hi}]: values differ",
            FIELD_NAMES[f]
        );
        checked += got.len() as u64;
        // The same range as hourly windows: count, min, max, sum.
        if want.is_empty() {
            continue;
        }
        let agg = Query {
            aggregation: Some(Aggregation {
                window_ns: Some(360 * STEP_NS),
                offset_ns: 0,
                zone: None,
                group_by: vec![],
            }),
            ..q
        };
        let res = db.query(&agg).expect("aggregate query");
        let windows = match res.series.first().map(|s| &s.data) {
            Some(SeriesData::Windows(w)) => w.clone(),
            other => panic!("aggregate answer {other:?}"),
        };
        let mut n = 0;
        for (w, acc) in &windows {
            let pts: Vec<f64> = want
                .iter()
                .filter(|(t, _)| pulsardb_core::query::window_start(*t, 360 * STEP_NS, 0) == *w)
                .map(|(_, v)| v.as_f64())
                .collect();
            assert_eq!(acc.count as usize, pts.len(), "count of window {w}");
            let mn = pts.iter().cloned().fold(f64::MAX, f64::min);
            let mx = pts.iter().cloned().fold(f64::MIN, f64::max);
            assert_eq!(
                (acc.min.as_f64(), acc.max.as_f64()),
                (mn, mx),
                "min/max of window {w}"
            );
            n += pts.len();
        }
        assert_eq!(n, want.len(), "windows cover the range");
    }
    checked
}

#[test]
fn simulated_months_stay_bounded_and_exact() {
    let days: i64 = std::env::var("PULSARDB_SOAK_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(36);
    let retention = 30 * DAY_NS;
    let capacity: u64 = 64 << 20;
    let memtable = 8 << 20;
    let geo = Geometry {
        block_size: 64 << 10,
        block_count: (capacity / (64 << 10)) as u32,
        write_size: 1,
    };
    let cfg = DbConfig {
        memtable_bytes: memtable,
        window_ns: window_for_retention(retention),
        ..DbConfig::default()
    };
    let policy = Policy::for_capacity(capacity, memtable, retention, OnFull::DropOldest);
    let mut db = Db::create(RamDevice::new(geo), cfg).expect("create");
    db.create_database("soak").expect("create database");

    let devices: Vec<String> = (0..DEVICES).map(|d| format!("d{d:03}")).collect();
    let mut batch = WriteBatch::new();
    let mut r = Rng(7);
    let mut oldest = T0; // nothing before this is kept
    let (mut written, mut checked, mut min_free) = (0u64, 0u64, u64::MAX);
    let (mut warm_rss, mut max_rss_after, mut warm_day) = (0u64, 0u64, None);
    let (mut warm_heap, mut max_heap_after) = (0usize, 0usize);
    let device_bytes = capacity as usize;
    let mut compactions = 0;
    let steps_per_day = DAY_NS / STEP_NS;
    let t_start = std::time::Instant::now();
    for day in 0..days {
        for hour in 0..24 {
            // One hour of points, in 10-minute batches.
            for chunk in 0..6 {
                batch.clear();
                for s in 0..60 {
                    let step = day * steps_per_day + hour * 360 + chunk * 60 + s;
                    let t = T0 + step * STEP_NS;
                    for (d, name) in devices.iter().enumerate() {
                        let fields: [(&[u8], Value); FIELDS] =
                            std::array::from_fn(|f| (FIELD_NAMES[f].as_bytes(), value(d, f, t)));
                        batch.push(b"sensors", &[(b"device", name.as_bytes())], &fields, t);
                    }
                }
                let out = db.write("soak", &batch).expect("write");
                assert!(
                    out.rejected.is_empty(),
                    "day {day}: {:?}",
                    out.rejected.first()
                );
                written += out.points;
            }
            let now = T0 + (day * steps_per_day + (hour + 1) * 360) * STEP_NS;
            let m = db.maintain(now, &policy, 16).expect("maintain");
            compactions += m.compactions;
            for o in [m.enforced.retention, m.enforced.capacity] {
                if o.tables > 0 {
                    oldest = oldest.max(o.through_ns);
                }
            }
            assert!(!m.enforced.full, "day {day}: the store is full");
            min_free = min_free.min(db.free_bytes());
        }
        let now = T0 + (day + 1) * DAY_NS;
        checked += check_day(&mut db, &mut r, oldest, now);
        let rss = rss_bytes();
        // Heap peak of the day, without the device's own buffer.
        let heap = take_peak().saturating_sub(device_bytes);
        let c = db.stats().counters;
        if warm_day.is_none() && c.dropped_windows > 0 {
            // Warm: the store is as full as it gets and dropping.
            warm_day = Some(day + 1);
        } else if let Some(w) = warm_day
            && day == w
        {
            warm_rss = rss;
            warm_heap = heap;
        } else if warm_day.is_some_and(|w| day > w) {
            max_rss_after = max_rss_after.max(rss);
            max_heap_after = max_heap_after.max(heap);
        }
        if (day + 1) % 5 == 0 || day + 1 == days {
            let s = db.stats();
            println!(
                "day {:>3}: {:>5.1} M points written, {} tables, {:.1} MiB of tables ({:.3} B/pt), {:.1} MiB free, kept from day {:.1}, {} windows dropped ({:.1} M points), {} compactions, RSS {:.1} MiB, heap peak {:.1} MiB besides the device, {:.0} s",
                day + 1,
                written as f64 / 1e6,
                s.tables,
                s.table_bytes as f64 / (1 << 20) as f64,
                s.table_bytes as f64 / s.table_points.max(1) as f64,
                s.free_bytes as f64 / (1 << 20) as f64,
                (oldest - T0) as f64 / DAY_NS as f64,
                c.dropped_windows,
                c.dropped_points as f64 / 1e6,
                compactions,
                rss as f64 / (1 << 20) as f64,
                heap as f64 / (1 << 20) as f64,
                t_start.elapsed().as_secs_f64()
            );
        }
    }
    let c = db.stats().counters;
    println!(
        "soak: {days} days, {written} points written, {checked} points checked exactly against the generator; least free {:.1} MiB of 64 (reserve {:.1}); dropped {} windows / {} points; RSS {:.1} MiB at warm-up (day {}), at most {:.1} MiB after; heap peak besides the device {:.1} MiB at warm-up, at most {:.1} MiB after",
        min_free as f64 / (1 << 20) as f64,
        policy.reserve_bytes as f64 / (1 << 20) as f64,
        c.dropped_windows,
        c.dropped_points,
        warm_rss as f64 / (1 << 20) as f64,
        warm_day.unwrap_or(0) + 1,
        max_rss_after as f64 / (1 << 20) as f64,
        warm_heap as f64 / (1 << 20) as f64,
        max_heap_after as f64 / (1 << 20) as f64,
    );
    assert!(
        c.dropped_windows > 0 && c.dropped_points > 0,
        "nothing was ever dropped"
    );
    assert!(min_free > 0);
    assert!(checked > 0);
    assert!(warm_rss > 0, "too short to warm up");
    assert!(
        max_rss_after as f64 <= warm_rss as f64 * 1.10,
        "RSS grew from {warm_rss} to {max_rss_after}"
    );
    assert!(
        max_heap_after as f64 <= warm_heap as f64 * 1.10,
        "heap peak grew from {warm_heap} to {max_heap_after}"
    );
}
