//! Moving tables down on a file-like store (compact allocation): a
//! compaction's output lands above the holes its inputs leave; moving the
//! blocks that have a free block below them fills the holes, even for a
//! table too large to move whole, without freeing a block a running query
//! still reads.

mod common;

use common::Shared;
use pulsardb_core::layout::AllocPolicy;
use pulsardb_core::query::SeriesData;
use pulsardb_core::store::StoreConfig;
use pulsardb_core::{Db, DbConfig, Geometry, Query, Value, WriteBatch};

const SEC: i64 = 1_000_000_000;

fn cfg() -> DbConfig {
    DbConfig {
        window_ns: 30 * 24 * 3600 * SEC,
        store: StoreConfig {
            alloc_policy: AllocPolicy::Compact,
            ..StoreConfig::default()
        },
        ..DbConfig::default()
    }
}

/// `n` points per host from `t0`, values with many digits (a few bytes
/// each once compressed: multi-block tables).
fn write(db: &mut Db<Shared>, t0: i64, n: i64, all: &mut Vec<(String, i64, f64)>) {
    let mut b = WriteBatch::new();
    for host in ["a", "b", "c"] {
        for i in 0..n {
            let ts = (t0 + i) * SEC;
            let v = ((ts / SEC) as f64 * 0.7 + host.len() as f64).sin() * 1234.567_891;
            b.push(
                b"m",
                &[(b"host", host.as_bytes())],
                &[(b"v", Value::Float(v))],
                ts,
            );
            all.push((host.to_string(), ts, v));
        }
    }
    let out = db.write("db", &b).expect("write");
    assert!(out.rejected.is_empty());
    db.sync().expect("sync");
}

fn points(r: &pulsardb_core::QueryResult) -> Vec<(String, i64, f64)> {
    let mut out = Vec::new();
    for s in &r.series {
        let host = s
            .tags
            .iter()
            .find(|(k, _)| k == "host")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let SeriesData::Raw(p) = &s.data else {
            panic!("raw")
        };
        for &(t, v) in p {
            let Value::Float(v) = v else { panic!("type") };
            out.push((host.clone(), t, v));
        }
    }
    out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    out
}

fn sorted(mut v: Vec<(String, i64, f64)>) -> Vec<(String, i64, f64)> {
    v.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    v
}

/// What the server does when idle: the WAL moves down, then tables and
/// segments. Returns the moves made.
fn pack(db: &mut Db<Shared>) -> u32 {
    let mut moves = 0;
    loop {
        let wal = db.relocate_wal().expect("move the WAL down");
        let table = db.move_down().expect("move down");
        if !wal && !table {
            return moves;
        }
        moves += 1;
        assert!(moves < 1000);
    }
}

/// Blocks in use and the highest of them plus one: equal when packed.
fn layout(db: &Db<Shared>) -> (u32, u32) {
    let s = db.store();
    let used = s.geometry().block_count - s.free_blocks();
    (used, s.highest_used_block().map_or(0, |b| b + 1))
}

#[test]
fn a_large_table_fills_the_holes_below_it_while_a_query_reads_it() {
    let geo = Geometry {
        block_size: 4096,
        block_count: 4096,
        write_size: 1,
    };
    let dev = Shared::new(geo);
    let mut db = Db::create(dev.clone(), cfg()).expect("create");
    db.create_database("db").expect("db");
    let mut all = Vec::new();
    for f in 0..4 {
        write(&mut db, f * 6000, 6000, &mut all);
        db.flush().expect("flush");
    }
    while db.compact(i64::MAX, 0).expect("compact").is_some() {}
    let table_blocks: u32 = db.store().manifest().tables[0]
        .extents
        .iter()
        .map(|e| e.count)
        .sum();
    let (used, end) = layout(&db);
    println!(
        "after compaction: 1 table of {table_blocks} blocks; {used} blocks in use, file end at {end}"
    );
    assert!(
        end > used + table_blocks / 2,
        "holes below the output expected"
    );

    // A query captures the table, then its blocks move.
    let q = Query::raw("db", "m", None);
    let prepared = db.prepare(&q).expect("prepare");
    let mut moves = pack(&mut db);
    // New data takes free blocks: none the query still reads.
    let mut later = Vec::new();
    write(&mut db, 100_000, 3000, &mut later);
    db.flush().expect("flush");
    let got = points(
        &prepared
            .execute(&mut dev.clone())
            .expect("query on the old copy"),
    );
    assert_eq!(got, sorted(all.clone()), "the query read its copy whole");

    // Once no query holds the old copy, its blocks go and the rest moves.
    db.reap();
    moves += pack(&mut db);
    let (used2, end2) = layout(&db);
    println!("{moves} moves; then {used2} blocks in use, file end at {end2}");
    assert_eq!(end2, used2, "packed");
    all.extend(later);
    let all = sorted(all);
    assert_eq!(points(&db.query(&q).expect("query")), all);
    drop(db);
    let (mut db, _) = Db::open(dev, cfg()).expect("reopen");
    assert_eq!(points(&db.query(&q).expect("query")), all);
}
