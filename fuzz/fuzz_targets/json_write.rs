//! JSON write bodies: the server's parser must not panic, must account for
//! every point (accepted or refused with a message), and the engine must
//! take or refuse the accepted batch cleanly.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pulsardb_core::storage::RamDevice;
use pulsardb_core::{Db, DbConfig, Geometry, Value};
use pulsardb_server::config::StringFields;
use pulsardb_server::http::write::parse_json_points;

fuzz_target!(|body: &[u8]| {
    let Ok(p) = parse_json_points(body, 1_700_000_000_000_000_000, StringFields::Reject) else {
        return;
    };
    // Leaving string fields out refuses no more than refusing them, and
    // accepts only points with a stored field.
    let d = parse_json_points(body, 1_700_000_000_000_000_000, StringFields::Drop)
        .expect("the same body parses");
    assert!(d.errors.len() <= p.errors.len());
    assert!(d.index_of.len() + d.errors.len() <= p.index_of.len() + p.errors.len());
    for pt in d.batch.points() {
        assert!(pt.fields().len() > 0 && pt.fields().all(|(_, v)| v.is_some()));
    }
    let mut accepted: Vec<usize> = p.index_of.clone();
    accepted.extend(p.errors.iter().map(|(i, _)| *i));
    accepted.sort_unstable();
    let n = accepted.len();
    accepted.dedup();
    assert_eq!(accepted.len(), n, "a point both accepted and refused");
    assert!(
        accepted.iter().enumerate().all(|(k, &i)| k == i),
        "every point is accepted or refused"
    );
    for (_, msg) in &p.errors {
        assert!(!msg.is_empty());
    }
    for pt in p.batch.points() {
        for (_, v) in pt.fields() {
            if let Some(Value::Float(f)) = v {
                assert!(!f.is_nan(), "NaN accepted");
            }
        }
    }
    if p.batch.is_empty() {
        return;
    }
    let geo = Geometry {
        block_size: 1024,
        block_count: 64,
        write_size: 1,
    };
    let mut db = Db::create(RamDevice::new(geo), DbConfig::default()).expect("create");
    db.create_database("db").expect("create database");
    let _ = db.write("db", &p.batch);
});
