//! Runs of one series in a batch take a shorter write path (the series head
//! and the field keys of the previous point are not validated or looked up
//! again). A batch must do exactly what its points do written one per batch:
//! the same rejections, with the same errors, and the same stored points;
//! with string fields refused and left out (`StringFields`).

mod common;

use common::Rng;
use pulsardb_core::catalog::Limits;
use pulsardb_core::query::SeriesData;
use pulsardb_core::storage::RamDevice;
use pulsardb_core::{Db, DbConfig, Geometry, PointError, Query, StringFields, Value, WriteBatch};

/// Measurement, tags, fields (`None`: a string value), timestamp.
type Point = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Vec<(&'static str, Option<Value>)>,
    i64,
);

fn new_db(max_series: usize) -> Db<RamDevice> {
    let geo = Geometry {
        block_size: 4096,
        block_count: 4096,
        write_size: 1,
    };
    let cfg = DbConfig {
        limits: Limits {
            max_series,
            ..Limits::default()
        },
        ..DbConfig::default()
    };
    let mut db = Db::create(RamDevice::new(geo), cfg).expect("create");
    db.create_database("db").expect("create database");
    db
}

fn batch_of(points: &[Point], strings: StringFields) -> WriteBatch {
    let mut b = WriteBatch::new();
    b.set_string_fields(strings);
    for (m, tags, fields, ts) in points {
        b.begin(m.as_bytes());
        for (k, v) in tags {
            b.tag(k.as_bytes(), v.as_bytes());
        }
        for (k, v) in fields {
            match v {
                Some(v) => b.field(k.as_bytes(), *v),
                None => b.string_field(k.as_bytes()),
            }
        }
        b.end(*ts);
    }
    b
}

fn everything(
    db: &mut Db<RamDevice>,
) -> Vec<(String, Vec<(String, String)>, String, Vec<(i64, Value)>)> {
    let mut out = Vec::new();
    for m in ["m", "n"] {
        let r = db.query(&Query::raw("db", m, None)).expect("query");
        for s in r.series {
            let SeriesData::Raw(points) = s.data else {
                panic!("raw query gave windows");
            };
            out.push((s.measurement, s.tags, s.field, points));
        }
    }
    out
}

/// Writes `points` as one batch and one point per batch; both stores must
/// agree. Returns how many points were rejected and how many string values
/// left out.
fn same_as_one_by_one(points: &[Point], max_series: usize, strings: StringFields) -> (usize, u64) {
    let mut whole = new_db(max_series);
    let out = whole
        .write("db", &batch_of(points, strings))
        .expect("write");
    let mut single = new_db(max_series);
    let mut rejected = Vec::new();
    let mut dropped = 0;
    for (i, p) in points.iter().enumerate() {
        let o = single
            .write("db", &batch_of(core::slice::from_ref(p), strings))
            .expect("write");
        rejected.extend(o.rejected.into_iter().map(|(_, e)| (i, e)));
        dropped += o.strings_dropped;
    }
    assert_eq!(out.rejected, rejected, "rejections of {points:?}");
    assert_eq!(
        out.strings_dropped, dropped,
        "strings left out of {points:?}"
    );
    assert_eq!(
        everything(&mut whole),
        everything(&mut single),
        "stored points of {points:?}"
    );
    if strings == StringFields::Drop {
        assert!(
            !rejected
                .iter()
                .any(|(_, e)| matches!(e, PointError::StringField { .. })),
            "a string refused under StringFields::Drop"
        );
    }
    (rejected.len(), dropped)
}

#[test]
fn runs_with_every_kind_of_difference() {
    let f = |x| Some(Value::Float(x));
    let i = |x| Some(Value::Integer(x));
    let s = None;
    let h1 = vec![("host", "a"), ("dc", "x")];
    let cases: Vec<Vec<Point>> = vec![
        // A plain run, then the same head with a new field, a missing field,
        // reordered fields.
        vec![
            ("m", h1.clone(), vec![("v", f(1.0))], 1),
            ("m", h1.clone(), vec![("v", f(2.0))], 2),
            ("m", h1.clone(), vec![("v", f(3.0)), ("w", f(0.5))], 3),
            ("m", h1.clone(), vec![("w", f(0.25)), ("v", f(4.0))], 4),
            ("m", h1.clone(), vec![("w", f(0.75))], 5),
        ],
        // A type conflict, NaN and infinity inside a run; the run goes on.
        vec![
            ("m", h1.clone(), vec![("v", f(1.0))], 1),
            ("m", h1.clone(), vec![("v", i(7))], 2),
            ("m", h1.clone(), vec![("v", f(f64::NAN))], 3),
            ("m", h1.clone(), vec![("v", f(f64::INFINITY))], 4),
            ("m", h1.clone(), vec![("v", f(5.0))], 5),
        ],
        // NaN and infinity right after an accepted point of the run.
        vec![
            ("m", h1.clone(), vec![("v", f(1.0))], 1),
            ("m", h1.clone(), vec![("v", f(f64::NAN))], 2),
            ("m", h1.clone(), vec![("v", f(2.0))], 3),
            ("m", h1.clone(), vec![("v", f(f64::NEG_INFINITY))], 4),
        ],
        // A repeated field key (last wins), then the same keys again.
        vec![
            ("m", h1.clone(), vec![("v", f(1.0)), ("v", f(2.0))], 1),
            ("m", h1.clone(), vec![("v", f(3.0)), ("v", f(4.0))], 2),
            ("m", h1.clone(), vec![("v", f(5.0))], 3),
        ],
        // The first point is rejected (reserved key; empty tag value): the
        // next, with the same head, is checked in full.
        vec![
            ("m", h1.clone(), vec![("time", f(1.0))], 1),
            ("m", h1.clone(), vec![("v", f(1.0))], 2),
            ("m", vec![("host", "")], vec![("v", f(1.0))], 3),
            ("m", vec![("host", "")], vec![("v", f(2.0))], 4),
        ],
        // Tags in another order, a tag more, another measurement.
        vec![
            ("m", h1.clone(), vec![("v", f(1.0))], 1),
            (
                "m",
                vec![("dc", "x"), ("host", "a")],
                vec![("v", f(2.0))],
                2,
            ),
            (
                "m",
                vec![("dc", "x"), ("host", "a"), ("rack", "1")],
                vec![("v", f(3.0))],
                3,
            ),
            ("n", h1.clone(), vec![("v", f(4.0))], 4),
            ("n", h1.clone(), vec![("v", f(5.0))], 5),
        ],
        // Duplicate timestamps in a run: the last write wins.
        vec![
            ("m", h1.clone(), vec![("v", f(1.0))], 1),
            ("m", h1.clone(), vec![("v", f(2.0))], 1),
            ("m", h1.clone(), vec![("v", f(3.0))], 1),
        ],
        // String values in a run: with a number, alone, after and before a
        // number of the same key, under the reserved key.
        vec![
            ("m", h1.clone(), vec![("v", f(1.0)), ("s", s)], 1),
            ("m", h1.clone(), vec![("v", f(2.0)), ("s", s)], 2),
            ("m", h1.clone(), vec![("s", s)], 3),
            ("m", h1.clone(), vec![("v", f(3.0)), ("v", s)], 4),
            ("m", h1.clone(), vec![("v", s), ("v", f(4.0))], 5),
            ("m", h1.clone(), vec![("time", s), ("v", f(5.0))], 6),
            ("m", h1.clone(), vec![("v", f(6.0))], 7),
        ],
        // After a point of strings alone on a known head, a point without
        // fields is still refused.
        vec![
            ("m", h1.clone(), vec![("v", f(1.0))], 1),
            ("m", h1.clone(), vec![("s", s)], 2),
            ("m", h1.clone(), vec![], 3),
            ("m", h1.clone(), vec![("v", f(2.0))], 4),
        ],
        // A point of strings alone first, a new head with strings alone, a
        // bad head with strings alone.
        vec![
            ("n", h1.clone(), vec![("s", s)], 1),
            ("n", h1.clone(), vec![("v", f(1.0))], 2),
            ("n", vec![("host", "c")], vec![("s", s), ("t", s)], 3),
            ("n", vec![("host", "")], vec![("s", s)], 4),
        ],
    ];
    let mut rejected = 0;
    let mut dropped = 0;
    for c in &cases {
        for strings in [StringFields::Reject, StringFields::Drop] {
            let (r, d) = same_as_one_by_one(c, 1_000_000, strings);
            rejected += r;
            dropped += d;
        }
    }
    // Two series at most: the run's new field is refused at the limit.
    let limited: Vec<Point> = vec![
        ("m", h1.clone(), vec![("v", f(1.0))], 1),
        ("m", h1.clone(), vec![("v", f(2.0)), ("w", f(1.0))], 2),
        (
            "m",
            h1.clone(),
            vec![("v", f(3.0)), ("w", f(1.0)), ("x", f(1.0))],
            3,
        ),
        ("m", h1.clone(), vec![("v", f(4.0))], 4),
    ];
    rejected += same_as_one_by_one(&limited, 2, StringFields::Reject).0;
    println!(
        "{} cases (each with strings refused and left out), {rejected} points rejected, {dropped} string values left out, all as one point per batch",
        cases.len() + 1
    );
    assert!(rejected >= 16, "the cases reject points: {rejected}");
    // 4 in the first string case (`v=3,v="x"` leaves `v` out: the last
    // value wins), 1 in the second, 3 in the third.
    assert_eq!(dropped, 8, "string values left out");
}

/// What a point of strings and numbers stores under each setting, checked
/// against the expected answer rather than against another write path.
#[test]
fn string_values_left_out_or_refused() {
    let points: Vec<Point> = vec![
        (
            "m",
            vec![("host", "a")],
            vec![("v", Some(Value::Float(1.5))), ("s", None)],
            1,
        ),
        (
            "m",
            vec![("host", "a")],
            vec![("v", Some(Value::Float(2.5))), ("v", None)],
            2,
        ),
        ("only", vec![("host", "a")], vec![("s", None)], 3),
        (
            "m",
            vec![("host", "a"), ("host", "b")],
            vec![("s", None)],
            4,
        ),
    ];
    let mut db = new_db(1_000_000);
    let out = db
        .write("db", &batch_of(&points, StringFields::Drop))
        .expect("write");
    assert_eq!((out.points, out.strings_dropped), (1, 3));
    let errors: Vec<usize> = out.rejected.iter().map(|r| r.0).collect();
    assert_eq!(errors, [3], "a bad point of strings alone is still checked");
    let stored = everything(&mut db);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(
        (stored[0].2.as_str(), &stored[0].3[..]),
        ("v", &[(1, Value::Float(1.5))][..])
    );
    let names = db.measurements("db");
    assert_eq!(names, ["m"], "a point of strings alone creates nothing");

    let mut db = new_db(1_000_000);
    let out = db
        .write("db", &batch_of(&points, StringFields::Reject))
        .expect("write");
    assert_eq!((out.points, out.strings_dropped), (0, 0));
    assert_eq!(out.rejected.len(), 4);
    assert!(matches!(&out.rejected[0].1, PointError::StringField { field } if field == "s"));
}

#[test]
fn random_runs_match_one_by_one() {
    const MEAS: [&str; 2] = ["m", "n"];
    const HOSTS: [&str; 2] = ["a", "b"];
    const KEYS: [&str; 3] = ["v", "w", "time"];
    let mut total = (0usize, 0usize, 0u64);
    for seed in 0..300u64 {
        let mut r = Rng(seed * 31 + 7);
        let mut points: Vec<Point> = Vec::new();
        for ts in 0..40 {
            let repeat = points.last().cloned().filter(|_| r.chance(70));
            let (m, tags) = match &repeat {
                Some((m, tags, _, _)) => (*m, tags.clone()),
                None => {
                    let mut tags = vec![("host", HOSTS[r.below(2) as usize])];
                    if r.chance(30) {
                        tags.push(("dc", if r.chance(50) { "" } else { "x" }));
                    }
                    (MEAS[r.below(2) as usize], tags)
                }
            };
            let keys: Vec<&str> = match &repeat {
                Some((_, _, fields, _)) if r.chance(70) => fields.iter().map(|f| f.0).collect(),
                _ => {
                    // Now and then a point without fields (refused).
                    let n = if r.chance(3) { 0 } else { 1 + r.below(2) };
                    let mut keys = Vec::new();
                    for _ in 0..n {
                        let kinds = if r.chance(5) { 3 } else { 2 };
                        keys.push(KEYS[r.below(kinds) as usize]);
                    }
                    keys
                }
            };
            let fields = keys
                .into_iter()
                .map(|k| {
                    let v = match r.below(20) {
                        0 => Some(Value::Integer(r.below(9) as i64)),
                        1 => Some(Value::Float(f64::NAN)),
                        2 | 3 => None,
                        _ => Some(Value::Float(r.below(100) as f64 / 4.0)),
                    };
                    (k, v)
                })
                .collect();
            points.push((m, tags, fields, ts / 2));
        }
        let max_series = if r.chance(20) { 3 } else { 1_000_000 };
        let strings = if seed % 2 == 0 {
            StringFields::Reject
        } else {
            StringFields::Drop
        };
        total.0 += points.len();
        let (rejected, dropped) = same_as_one_by_one(&points, max_series, strings);
        total.1 += rejected;
        total.2 += dropped;
    }
    println!(
        "300 batches, {} points, {} rejected, {} string values left out, all as one point per batch",
        total.0, total.1, total.2
    );
    assert!(total.2 > 0);
}

/// The server sizes its free-space check with `logged_bytes_bound`: it must
/// hold when every point creates series and the batch stores shared names
/// once (here a long measurement on every point, each with new tags and
/// three fields).
#[test]
fn logged_bytes_stay_within_the_bound() {
    let long = "m".repeat(200);
    let mut b = WriteBatch::new();
    let names: Vec<String> = (0..2000).map(|i| format!("h{i}")).collect();
    for (i, h) in names.iter().enumerate() {
        b.push(
            long.as_bytes(),
            &[(b"dc", b"west"), (b"host", h.as_bytes())],
            &[
                (b"v", Value::Float(i as f64)),
                (b"w", Value::Integer(i as i64)),
                (b"x", Value::Boolean(i % 2 == 0)),
            ],
            i as i64,
        );
    }
    let mut db = new_db(1_000_000);
    let db_name = "db";
    let bound = b.logged_bytes_bound(db_name);
    // The store's bound counts the series it lacks: all of them here.
    let store_bound = db.logged_bytes_bound(db_name, &b);
    let out = db.write(db_name, &b).expect("write");
    assert!(out.rejected.is_empty());
    let logged = db.stats().counters.logged_bytes;
    // Written again: no series is new, nothing is defined.
    let again_bound = db.logged_bytes_bound(db_name, &b);
    db.write(db_name, &b).expect("write again");
    let again = db.stats().counters.logged_bytes - logged;
    println!(
        "2000 points, 6000 new series: {logged} bytes logged, batch bound {bound}, store bound {store_bound}; written again: {again} bytes, store bound {again_bound}; batch arena {}",
        b.arena_bytes()
    );
    assert!(
        logged <= store_bound as u64,
        "logged {logged} > store bound {store_bound}"
    );
    assert!(store_bound <= bound, "the store's bound is the tighter");
    assert!(
        again <= again_bound as u64,
        "logged {again} > store bound {again_bound}"
    );
    assert!(
        again_bound < store_bound / 3,
        "existing series are not counted again"
    );
    // The names are held once per distinct value, yet defined per series.
    assert!((b.arena_bytes() as u64) < logged / 4);

    // String values are never logged (refused with their point, or left
    // out): the bounds of a batch carrying them are those of the batch
    // without them, and still hold.
    for strings in [StringFields::Reject, StringFields::Drop] {
        let mut with = WriteBatch::new();
        with.set_string_fields(strings);
        let mut without = WriteBatch::new();
        for (i, h) in names.iter().enumerate().take(500) {
            with.begin(long.as_bytes());
            without.begin(long.as_bytes());
            for b in [&mut with, &mut without] {
                b.tag(b"host", h.as_bytes());
                b.field(b"v", Value::Float(i as f64));
            }
            with.string_field(b"friendly_name_str");
            with.string_field(b"device_class_str");
            with.end(i as i64);
            without.end(i as i64);
        }
        // An aborted point with strings leaves no trace in the bound.
        with.begin(b"x");
        with.string_field(b"s");
        with.abort();
        assert_eq!(
            with.logged_bytes_bound("db2"),
            without.logged_bytes_bound("db2")
        );
        let mut db = new_db(1_000_000);
        db.create_database("db2").expect("create database");
        let store_bound = db.logged_bytes_bound("db2", &with);
        assert_eq!(store_bound, db.logged_bytes_bound("db2", &without));
        let before = db.stats().counters.logged_bytes;
        let out = db.write("db2", &with).expect("write");
        let logged = db.stats().counters.logged_bytes - before;
        assert!(
            logged <= store_bound as u64,
            "{strings:?}: logged {logged} > {store_bound}"
        );
        let want = if strings == StringFields::Drop {
            500
        } else {
            0
        };
        assert_eq!(out.points, want, "{strings:?}");
    }
}

/// `write_with` calls its `between` after every `POLL_POINTS` points and
/// once at the end; a sync run there (what the server's group commit
/// does) leaves the batch's outcome and stored points as `write` gives them.
#[test]
fn write_with_polls_between_slices_and_writes_the_same() {
    use pulsardb_core::db::POLL_POINTS;
    let hosts = ["a", "b", "c", "d", "e", "f", "g"];
    let points: Vec<Point> = (0..1000i64)
        .map(|i| {
            let host = hosts[(i as usize * 5) % hosts.len()];
            let mut fields = vec![("v", Some(Value::Float(i as f64 / 8.0)))];
            if i % 3 == 0 {
                fields.push(("w", Some(Value::Integer(i))));
            }
            if i % 97 == 0 {
                fields.push(("v", Some(Value::Float(f64::NAN))));
            }
            ("m", vec![("host", host)], fields, i / 3)
        })
        .collect();
    let batch = batch_of(&points, StringFields::Reject);
    let mut plain = new_db(1_000_000);
    let want = plain.write("db", &batch).expect("write");
    let mut polled = new_db(1_000_000);
    let mut calls = 0usize;
    let mut synced = 0u64;
    let got = polled
        .write_with("db", &batch, |db| {
            calls += 1;
            let lsn = db.prepare_sync().expect("prepare");
            while !db.sync_done(lsn).expect("sync done") {}
            synced = synced.max(lsn);
        })
        .expect("write_with");
    assert_eq!(calls, points.len() / POLL_POINTS + 1);
    assert_eq!((got.points, &got.rejected), (want.points, &want.rejected));
    assert_eq!(synced, got.lsn, "the last call comes after the last record");
    assert_eq!(everything(&mut polled), everything(&mut plain));
    println!(
        "write_with: {} points, {calls} calls, {} rejected",
        points.len(),
        got.rejected.len()
    );
}

/// A NUL byte anywhere in a batch's names rejects exactly the points that
/// carry it, whichever part holds it; the batch's other points are written.
#[test]
fn nul_bytes_in_names_reject_their_points_only() {
    let f = |x| Some(Value::Float(x));
    let points: Vec<Point> = vec![
        ("m", vec![("host", "a")], vec![("v", f(1.0))], 1),
        ("m\0x", vec![("host", "a")], vec![("v", f(2.0))], 2),
        ("m", vec![("host", "a\0")], vec![("v", f(3.0))], 3),
        ("m", vec![("ho\0st", "a")], vec![("v", f(4.0))], 4),
        ("m", vec![("host", "a")], vec![("v\0", f(5.0))], 5),
        ("m", vec![("host", "b")], vec![("v", f(6.0))], 6),
    ];
    let mut db = new_db(1_000_000);
    let out = db
        .write("db", &batch_of(&points, StringFields::Reject))
        .expect("write");
    let rejected: Vec<(usize, &'static str)> = out
        .rejected
        .iter()
        .map(|(i, e)| match e {
            PointError::NulByte { what } => (*i, *what),
            other => panic!("point {i}: {other:?}"),
        })
        .collect();
    assert_eq!(
        rejected,
        [
            (1, "measurement name"),
            (2, "tag value"),
            (3, "tag key"),
            (4, "field key")
        ]
    );
    assert_eq!(out.points, 2);
    assert_eq!(
        same_as_one_by_one(&points, 1_000_000, StringFields::Reject),
        (4, 0)
    );
}
