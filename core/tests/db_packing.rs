//! Packing: closed windows holding one small table each are merged into one
//! table spanning them; late data, retention and capacity drops then work on
//! the group of windows.

use pulsardb_core::query::SeriesData;
use pulsardb_core::storage::RamDevice;
use pulsardb_core::{Db, DbConfig, Geometry, Query, Value, WriteBatch};

const SEC: i64 = 1_000_000_000;
const WINDOW: i64 = 3600 * SEC;

fn cfg() -> DbConfig {
    DbConfig {
        window_ns: WINDOW,
        ..DbConfig::default()
    }
}

fn geo() -> Geometry {
    Geometry {
        block_size: 4096,
        block_count: 512,
        write_size: 1,
    }
}

fn write(db: &mut Db<RamDevice>, pts: &[(i64, f64)]) {
    let mut b = WriteBatch::new();
    for &(ts, v) in pts {
        b.push(b"m", &[(b"host", b"a")], &[(b"v", Value::Float(v))], ts);
    }
    let out = db.write("db", &b).expect("write");
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    db.sync().expect("sync");
}

fn points(db: &mut Db<RamDevice>) -> Vec<(i64, f64)> {
    let r = db.query(&Query::raw("db", "m", None)).expect("query");
    let mut out = Vec::new();
    for s in &r.series {
        let SeriesData::Raw(p) = &s.data else {
            panic!("raw")
        };
        for &(t, v) in p {
            let Value::Float(v) = v else { panic!("type") };
            out.push((t, v));
        }
    }
    out
}

/// Ten windows, three points each, each flushed on its own.
fn sparse() -> (Db<RamDevice>, Vec<(i64, f64)>) {
    let mut db = Db::create(RamDevice::new(geo()), cfg()).expect("create");
    db.create_database("db").expect("db");
    let mut all = Vec::new();
    for w in 0..10 {
        let pts: Vec<(i64, f64)> = (0..3)
            .map(|k| (w * WINDOW + k * 600 * SEC, (w * 10 + k) as f64))
            .collect();
        write(&mut db, &pts);
        db.flush().expect("flush");
        all.extend(pts);
    }
    (db, all)
}

fn compact_all(db: &mut Db<RamDevice>) -> u64 {
    let mut n = 0;
    while db.compact(i64::MAX, 0).expect("compact").is_some() {
        n += 1;
    }
    n
}

#[test]
fn sparse_windows_pack_into_one_table() {
    let (mut db, all) = sparse();
    assert_eq!(db.stats().tables, 10);
    let free_before = db.free_bytes();
    compact_all(&mut db);
    let s = db.stats();
    println!(
        "packing: 10 windows → {} table(s), {} packings, {} blocks freed",
        s.tables,
        s.counters.packs,
        (db.free_bytes() - free_before) / 4096
    );
    assert_eq!(s.tables, 1, "one table for the ten small windows");
    assert!(s.counters.packs >= 1);
    assert_eq!(db.free_bytes() - free_before, 9 * 4096);
    assert_eq!(points(&mut db), all);
    // After a reopen too.
    let (mut db, _) = Db::open(db.into_device(), cfg()).expect("reopen");
    assert_eq!(points(&mut db), all);
}

/// Windows whose tables take most of a block each: packed several to a
/// table of up to four blocks, when that takes fewer blocks than apart.
#[test]
fn tables_of_most_of_a_block_pack_into_fewer_blocks() {
    let mut db = Db::create(RamDevice::new(geo()), cfg()).expect("create");
    db.create_database("db").expect("db");
    let mut all = Vec::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for w in 0..8 {
        // 700 noisy values: a table of about 3 KiB, one 4 KiB block.
        let pts: Vec<(i64, f64)> = (0..700)
            .map(|k| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (w * WINDOW + k * 5 * SEC, (x % 1_000_000_000) as f64 / 1e6)
            })
            .collect();
        write(&mut db, &pts);
        db.flush().expect("flush");
        all.extend(pts);
    }
    let blocks = |db: &Db<RamDevice>| -> u64 {
        db.store()
            .manifest()
            .tables
            .iter()
            .map(|t| t.extents.iter().map(|e| u64::from(e.count)).sum::<u64>())
            .sum()
    };
    let flushed: Vec<u64> = db.store().manifest().tables.iter().map(|t| t.len).collect();
    let before = blocks(&db);
    assert_eq!((flushed.len(), before), (8, 8), "{flushed:?}");
    compact_all(&mut db);
    let after = blocks(&db);
    let packed: Vec<u64> = db.store().manifest().tables.iter().map(|t| t.len).collect();
    let total: u64 = packed.iter().sum();
    println!(
        "packing: 8 windows in {before} blocks (tables of {flushed:?} bytes as flushed) → {packed:?} in {after} blocks"
    );
    assert!(db.stats().counters.packs >= 1);
    // More than a block of data in all (so more than one table) ...
    assert!(total > 4 * 4096, "{packed:?}");
    // ... each at most four blocks, in fewer blocks than a window each.
    assert!(packed.iter().all(|&l| l <= 4 * 4096), "{packed:?}");
    assert!(after < before && packed.len() >= 2);
    assert_eq!(points(&mut db), all);
    let (mut db, _) = Db::open(db.into_device(), cfg()).expect("reopen");
    assert_eq!(points(&mut db), all);
}

#[test]
fn late_data_in_a_packed_window_wins() {
    let (mut db, mut all) = sparse();
    compact_all(&mut db);
    // Overwrite a point of window 4 and add one to window 6.
    write(&mut db, &[(4 * WINDOW, -1.0), (6 * WINDOW + 5 * SEC, -2.0)]);
    db.flush().expect("flush");
    if let Some(p) = all.iter_mut().find(|p| p.0 == 4 * WINDOW) {
        p.1 = -1.0;
    }
    all.push((6 * WINDOW + 5 * SEC, -2.0));
    all.sort_by_key(|p| p.0);
    assert_eq!(points(&mut db), all, "before compaction");
    compact_all(&mut db);
    assert_eq!(db.stats().tables, 1);
    assert_eq!(points(&mut db), all, "after compaction");
    // A window after the packed ones, then late data into the packed span
    // again: still one group, merged, newest wins.
    write(&mut db, &[(12 * WINDOW, 5.0)]);
    db.flush().expect("flush");
    write(&mut db, &[(4 * WINDOW, -3.0)]);
    db.flush().expect("flush");
    compact_all(&mut db);
    if let Some(p) = all.iter_mut().find(|p| p.0 == 4 * WINDOW) {
        p.1 = -3.0;
    }
    all.push((12 * WINDOW, 5.0));
    assert_eq!(points(&mut db), all, "after the second compaction");
}

#[test]
fn retention_cuts_a_packed_table_at_a_window_boundary() {
    let (mut db, all) = sparse();
    compact_all(&mut db);
    assert_eq!(db.stats().tables, 1);
    // Windows 0..=3 end at or before the cutoff.
    let cutoff = 4 * WINDOW + 10 * SEC;
    db.set_retention_cutoff(cutoff);
    let dropped = db.apply_retention(cutoff).expect("retention");
    assert_eq!(
        dropped.tables, 0,
        "the packed table still holds live windows"
    );
    let kept: Vec<(i64, f64)> = all.iter().copied().filter(|p| p.0 >= 4 * WINDOW).collect();
    assert_eq!(points(&mut db), kept, "expired windows are hidden at once");
    compact_all(&mut db);
    let s = db.stats();
    assert_eq!(s.counters.retention_rewrites, 1);
    assert_eq!(s.table_points, kept.len() as u64, "and rewritten away");
    assert_eq!(points(&mut db), kept);
    // Everything expired: the group goes whole.
    let cutoff = 11 * WINDOW;
    db.set_retention_cutoff(cutoff);
    let dropped = db.apply_retention(cutoff).expect("retention");
    assert_eq!((dropped.tables, dropped.windows), (1, 6));
    assert!(points(&mut db).is_empty());
}

#[test]
fn dropping_the_oldest_window_takes_the_packed_group() {
    let (mut db, all) = sparse();
    compact_all(&mut db);
    write(&mut db, &[(20 * WINDOW, 1.0)]);
    db.flush().expect("flush");
    let out = db.drop_oldest_window().expect("drop");
    assert_eq!(
        (out.tables, out.windows, out.points),
        (1, 10, all.len() as u64)
    );
    assert_eq!(points(&mut db), vec![(20 * WINDOW, 1.0)]);
}
