//! Opening arbitrary device images (superblock, manifest, WAL replay,
//! tables, catalog): the store opens or answers an error, never panics;
//! when it opens, every point a query returns is one that was written.
//!
//! The first input byte picks the image: odd, the rest of the input is the
//! raw image; even, a valid store (a few flushed tables, a compaction, and
//! synced WAL records not yet flushed) with the rest of the input applied as
//! (offset u16, xor u8) mutations. An unmutated image must open with every
//! point.

#![no_main]

use std::collections::BTreeSet;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pulsardb_core::catalog::TagExpr;
use pulsardb_core::query::SeriesData;
use pulsardb_core::storage::RamDevice;
use pulsardb_core::{Db, DbConfig, Geometry, Query, Value, WriteBatch};

const HOSTS: [&str; 3] = ["a", "b", "c"];
const STEP: i64 = 10_000_000_000;

fn geo() -> Geometry {
    Geometry {
        block_size: 512,
        block_count: 96,
        write_size: 1,
    }
}

fn cfg() -> DbConfig {
    DbConfig {
        memtable_bytes: 2048,
        wal_record_bytes: 512,
        window_ns: 200 * STEP,
        chunk_points: 32,
        ..DbConfig::default()
    }
}

fn value(h: usize, i: i64) -> f64 {
    (i % 41 + h as i64 * 100) as f64 / 4.0
}

/// Every (host, ts, value bits) written to the valid image.
fn written() -> &'static BTreeSet<(usize, i64, u64)> {
    static W: OnceLock<BTreeSet<(usize, i64, u64)>> = OnceLock::new();
    W.get_or_init(|| {
        let mut w = BTreeSet::new();
        for i in 0..400 {
            for h in 0..HOSTS.len() {
                w.insert((h, i * STEP, value(h, i).to_bits()));
            }
        }
        w
    })
}

fn valid_image() -> &'static [u8] {
    static IMG: OnceLock<Vec<u8>> = OnceLock::new();
    IMG.get_or_init(|| {
        let mut db = Db::create(RamDevice::new(geo()), cfg()).expect("create");
        db.create_database("db").expect("database");
        let mut b = WriteBatch::new();
        for chunk in 0..40 {
            b.clear();
            for i in chunk * 10..chunk * 10 + 10 {
                for (h, host) in HOSTS.iter().enumerate() {
                    b.push(
                        b"m",
                        &[(b"host", host.as_bytes())],
                        &[(b"v", Value::Float(value(h, i)))],
                        i * STEP,
                    );
                }
            }
            db.write("db", &b).expect("write");
            db.sync().expect("sync");
            if chunk == 30 {
                db.flush().expect("flush");
                while db.compact(i64::MAX, 0).expect("compact").is_some() {}
            }
        }
        assert!(db.stats().tables > 0);
        db.into_device().image().to_vec()
    })
}

fn query() -> Query {
    Query {
        db: "db".into(),
        measurement: "m".into(),
        tags: TagExpr::True,
        field: Some("v".into()),
        start_ns: i64::MIN,
        end_ns: i64::MAX,
        aggregation: None,
        limit: None,
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let size = (geo().block_size * geo().block_count) as usize;
    let (image, pristine) = if mode & 1 == 1 {
        let mut img = rest.to_vec();
        img.resize(size, 0xff);
        (img, false)
    } else {
        let mut img = valid_image().to_vec();
        for m in rest.chunks_exact(3) {
            let at = usize::from(u16::from_le_bytes([m[0], m[1]])) % img.len();
            img[at] ^= m[2];
        }
        (img, rest.len() < 3)
    };
    let dev = RamDevice::from_image(geo(), image).expect("image size");
    let Ok((mut db, _)) = Db::open(dev, cfg()) else {
        assert!(!pristine, "the valid image must open");
        return;
    };
    let Ok(r) = db.query(&query()) else {
        assert!(!pristine, "the valid image must answer");
        return;
    };
    let mut got = BTreeSet::new();
    for s in &r.series {
        let Some(h) = s
            .tags
            .iter()
            .find(|(k, _)| k == "host")
            .and_then(|(_, v)| HOSTS.iter().position(|x| x == v))
        else {
            assert!(!pristine, "unknown series {:?}", s.tags);
            continue;
        };
        if let SeriesData::Raw(points) = &s.data {
            for &(t, v) in points {
                let Value::Float(f) = v else { continue };
                got.insert((h, t, f.to_bits()));
            }
        }
    }
    if mode & 1 == 0 {
        // Mutated images only lose points: CRCs keep any changed byte from
        // passing as data.
        assert!(
            got.is_subset(written()),
            "a point that was never written came back"
        );
    }
    if pristine {
        assert_eq!(&got, written(), "the valid image must hold every point");
    }
});
