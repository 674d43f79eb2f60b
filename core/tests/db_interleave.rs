//! A flush and a compaction running at the same time (as in the server,
//! where both write outside the engine's lock, through their own device
//! handles): in every order of their steps the newest write of a timestamp
//! wins and nothing is lost.

mod common;

use common::Shared;
use pulsardb_core::layout::stream::BlockSource;
use pulsardb_core::query::SeriesData;
use pulsardb_core::storage::BlockId;
use pulsardb_core::{Db, DbConfig, Geometry, Query, Value, WriteBatch};

/// Blocks for a job, taken from the engine one at a time.
struct Blocks<'a>(&'a mut Db<Shared>);

impl BlockSource for Blocks<'_> {
    fn take(&mut self) -> Option<BlockId> {
        self.0.alloc_block()
    }
}

fn put(db: &mut Db<Shared>, ts: i64, v: f64) {
    let mut b = WriteBatch::new();
    b.push(b"m", &[(b"k", b"x")], &[(b"v", Value::Float(v))], ts);
    db.write("db", &b).expect("write");
}

fn values(db: &mut Db<Shared>) -> Vec<(i64, Value)> {
    let r = db.query(&Query::raw("db", "m", Some("v"))).expect("query");
    match r.series.first().map(|s| &s.data) {
        Some(SeriesData::Raw(p)) => p.clone(),
        _ => Vec::new(),
    }
}

/// Each job has three steps (start, write, finish); every interleaving of
/// the two sequences is run: C(6, 3) = 20 orders.
#[test]
fn flush_and_compaction_interleaved_keep_the_newest_value() {
    let want = vec![
        (1_000, Value::Float(3.0)),
        (2_000, Value::Float(1.0)),
        (3_000, Value::Float(3.0)),
    ];
    let mut orders = 0;
    for mask in 0u32..64 {
        if mask.count_ones() != 3 {
            continue;
        }
        orders += 1;
        let geo = Geometry {
            block_size: 1024,
            block_count: 1024,
            write_size: 1,
        };
        let cfg = DbConfig {
            max_tables_per_window: 1,
            auto_flush: false,
            ..DbConfig::default()
        };
        let dev = Shared::new(geo);
        let mut db = Db::create(dev.clone(), cfg).expect("create");
        db.create_database("db").expect("db");
        // Two level-0 tables of one window: a compaction is due.
        put(&mut db, 1_000, 1.0);
        put(&mut db, 2_000, 1.0);
        db.flush().expect("flush");
        put(&mut db, 1_000, 2.0);
        db.flush().expect("flush");
        // Newer values, in the memtable the flush will take.
        put(&mut db, 1_000, 3.0);
        put(&mut db, 3_000, 3.0);
        let (mut flush, mut compaction) = (None, None);
        let (mut f, mut c) = (0, 0);
        for step in 0..6 {
            if mask >> step & 1 == 1 {
                match f {
                    0 => flush = Some(db.begin_flush().expect("begin").expect("a flush job")),
                    1 => {
                        let mut d = dev.clone();
                        let job = flush.as_mut().expect("job");
                        job.write(&mut d, &mut Blocks(&mut db))
                            .expect("flush write");
                    }
                    _ => db
                        .finish_flush(flush.take().expect("job"))
                        .expect("finish flush"),
                }
                f += 1;
            } else {
                match c {
                    0 => compaction = Some(db.plan_compaction(i64::MAX, 0).expect("a compaction")),
                    1 => {
                        let mut d = dev.clone();
                        let job = compaction.as_mut().expect("job");
                        job.write(&mut d, &mut Blocks(&mut db))
                            .expect("compaction write");
                    }
                    _ => {
                        db.finish_compaction(compaction.take().expect("job"))
                            .expect("finish compaction");
                    }
                }
                c += 1;
            }
            assert_eq!(values(&mut db), want, "order {mask:06b} after step {step}");
        }
        let dev2 = db.into_device();
        let (mut db, _) = Db::open(dev2, cfg).expect("reopen");
        assert_eq!(values(&mut db), want, "order {mask:06b} after reopen");
    }
    println!(
        "flush/compaction interleavings: {orders} orders, checked after each of 6 steps and after a reopen"
    );
    assert_eq!(orders, 20);
}

/// A merge reads each input's index a page at a time: a series whose chunk
/// list spans several index pages (600 k points: ~600 chunks, two pages and more per table) between
/// short ones comes out whole and in order.
#[test]
fn compaction_reads_long_series_across_index_pages() {
    let geo = Geometry {
        block_size: 4096,
        block_count: 4096,
        write_size: 1,
    };
    let cfg = DbConfig {
        max_tables_per_window: 1,
        auto_flush: false,
        window_ns: i64::MAX / 4,
        ..DbConfig::default()
    };
    let dev = Shared::new(geo);
    let mut db = Db::create(dev, cfg).expect("create");
    db.create_database("db").expect("db");
    let mut want: Vec<(i64, Value)> = Vec::new();
    for round in 0..2i64 {
        let mut b = WriteBatch::new();
        for i in 0..300_000i64 {
            let t = (i * 2 + round) * 1000;
            let v = Value::Float(((i * 7 + round) % 1000) as f64 / 4.0);
            b.push(b"m", &[(b"k", b"x")], &[(b"v", v)], t);
            want.push((t, v));
            if i % 1000 == 0 {
                // Short series around the long one.
                b.push(b"m", &[(b"k", b"a")], &[(b"v", Value::Float(1.0))], t);
                b.push(b"m", &[(b"k", b"z")], &[(b"v", Value::Float(2.0))], t);
            }
        }
        db.write("db", &b).expect("write");
        db.flush().expect("flush");
    }
    want.sort_by_key(|p| p.0);
    let before = db.stats().tables;
    let out = db
        .compact(i64::MAX, 0)
        .expect("compact")
        .expect("a compaction");
    assert_eq!((before, out.inputs, db.stats().tables), (2, 2, 1));
    let q = Query {
        tags: pulsardb_core::catalog::TagExpr::Eq("k".into(), "x".into()),
        ..Query::raw("db", "m", Some("v"))
    };
    let r = db.query(&q).expect("query");
    let got = match &r.series[0].data {
        SeriesData::Raw(p) => p.clone(),
        _ => Vec::new(),
    };
    assert_eq!(got.len(), 600_000);
    assert!(got == want, "the long series differs after the merge");
    let all = db.query(&Query::raw("db", "m", Some("v"))).expect("query");
    assert_eq!(all.series.len(), 3);
    println!("merge across index pages: 600,000-point series between two short ones, intact");
}
