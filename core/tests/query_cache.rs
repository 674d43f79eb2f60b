//! The chunk cache through the database: repeated queries find their
//! chunks; a scan keeps no more than 16 of its chunks.

use std::cell::RefCell;

use pulsardb_core::query::{ChunkCache, SeriesData};
use pulsardb_core::storage::RamDevice;
use pulsardb_core::{Db, DbConfig, Geometry, Query, Value, WriteBatch};

const SEC: i64 = 1_000_000_000;

fn db_with_chunks(chunks: i64) -> Db<RamDevice> {
    let geo = Geometry {
        block_size: 64 << 10,
        block_count: 256,
        write_size: 1,
    };
    let cfg = DbConfig {
        window_ns: 365 * 24 * 3600 * SEC,
        ..DbConfig::default()
    };
    let mut db = Db::create(RamDevice::new(geo), cfg).expect("create");
    db.create_database("db").expect("db");
    let mut b = WriteBatch::new();
    for i in 0..chunks * 1024 {
        let v = Value::Float((i % 977) as f64 / 8.0);
        b.push(b"m", &[(b"host", b"a")], &[(b"v", v)], i * SEC);
    }
    db.write("db", &b).expect("write");
    db.flush().expect("flush");
    while db.compact(i64::MAX, 0).expect("compact").is_some() {}
    db
}

fn count(r: &pulsardb_core::QueryResult) -> usize {
    r.series
        .iter()
        .map(|s| match &s.data {
            SeriesData::Raw(p) => p.len(),
            _ => 0,
        })
        .sum()
}

#[test]
fn a_scan_keeps_16_chunks_and_a_repeated_query_finds_its_own() {
    let mut db = db_with_chunks(40);
    let cache = RefCell::new(ChunkCache::new(1 << 20));
    let all = Query::raw("db", "m", None);
    let r = db.query_cached(&all, &cache).expect("scan");
    assert_eq!(count(&r), 40 * 1024);
    let (hits, misses, bytes) = {
        let c = cache.borrow();
        (c.hits, c.misses, c.bytes())
    };
    println!("scan of 40 chunks: {hits} found, {misses} decoded, {bytes} bytes kept");
    assert_eq!((hits, misses), (0, 40));
    assert_eq!(bytes, 16 * 1024 * 16, "16 chunks kept, not 40");

    // A short range inside one chunk not kept: decoded once, then found.
    let q = Query {
        start_ns: 30 * 1024 * SEC + 100 * SEC,
        end_ns: 30 * 1024 * SEC + 500 * SEC,
        ..Query::raw("db", "m", None)
    };
    let first = db.query_cached(&q, &cache).expect("query");
    let again = db.query_cached(&q, &cache).expect("query again");
    assert_eq!(first, again);
    assert_eq!(first, db.query(&q).expect("uncached"));
    assert_eq!(count(&first), 401);
    let c = cache.borrow();
    println!(
        "then a range in chunk 30 twice: {} found, {} decoded",
        c.hits, c.misses
    );
    assert_eq!((c.hits, c.misses), (1, 41));
}
