//! JSON write bodies: the server's parser must not panic, must account for
//! every point (accepted or refused with a message), and the engine must
//! take or refuse the accepted batch cleanly.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pulsardb_core::storage::RamDevice;
use pulsardb_core::{Db, DbConfig, Geometry, PointError, Value};
use pulsardb_server::config::StringFields;
use pulsardb_server::http::write::parse_json_points;

fuzz_target!(|body: &[u8]| {
    let Ok(p) = parse_json_points(body, 1_700_000_000_000_000_000, StringFields::Reject) else {
        return;
    };
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
    // The batch written refusing strings, then leaving them out (which
    // never rejects a point for a string; it may reject others, say for a
    // type its left-out neighbours no longer set first).
    let mut outcomes = Vec::new();
    for strings in [StringFields::Reject, StringFields::Drop] {
        let mut db = Db::create(RamDevice::new(geo), DbConfig::default()).expect("create");
        db.create_database("db").expect("create database");
        let mut batch = p.batch.clone();
        batch.set_string_fields(strings);
        match db.write("db", &batch) {
            Ok(o) => outcomes.push(o),
            Err(_) => return,
        }
    }
    let (reject, drop) = (&outcomes[0], &outcomes[1]);
    assert_eq!(reject.strings_dropped, 0);
    for (i, e) in &drop.rejected {
        assert!(
            !matches!(e, PointError::StringField { .. }),
            "point {i}: {e:?}"
        );
    }
});
