//! An arbitrary sequence of Db operations — writes (in and out of order,
//! duplicates, type conflicts), syncs, flushes, compactions, deletes, drops,
//! reopens and queries — checked against a `BTreeMap` model after every
//! query and at the end.

#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pulsardb_core::catalog::TagExpr;
use pulsardb_core::query::{AccSum, SeriesData};
use pulsardb_core::storage::RamDevice;
use pulsardb_core::{Aggregation, Db, DbConfig, Geometry, Query, Value, WriteBatch};

const HOSTS: [&str; 4] = ["a", "b", "c", "d"];
/// Fields and their types: "v" floats (quarters), "n" integers.
const FIELDS: [&str; 2] = ["v", "n"];
const STEP: i64 = 1_000_000_000;

#[derive(Arbitrary, Debug)]
enum Op {
    Write {
        host: u8,
        field: bool,
        t: u16,
        v: i16,
    },
    Run {
        host: u8,
        field: bool,
        t0: u16,
        n: u8,
        step: u8,
        v: i16,
    },
    Conflict {
        host: u8,
        t: u16,
    },
    Sync,
    Flush,
    Compact,
    Reopen,
    Delete {
        host: Option<u8>,
        lo: u16,
        len: u16,
    },
    Drop {
        host: u8,
    },
    Query {
        host: Option<u8>,
        field: bool,
        lo: u16,
        len: u16,
        window: Option<u8>,
    },
}

type Model = BTreeMap<(usize, usize), BTreeMap<i64, i64>>;

fn geo() -> Geometry {
    Geometry {
        block_size: 512,
        block_count: 2048,
        write_size: 1,
    }
}

fn cfg() -> DbConfig {
    DbConfig {
        memtable_bytes: 4096,
        wal_record_bytes: 1024,
        window_ns: 3000 * STEP,
        chunk_points: 16,
        max_tables_per_window: 2,
        max_merge_inputs: 3,
        query_batch_series: 2,
        ..DbConfig::default()
    }
}

fn value(field: usize, v: i64) -> Value {
    if field == 0 {
        Value::Float(v as f64 / 4.0)
    } else {
        Value::Integer(v)
    }
}

fn host_expr(h: Option<u8>) -> (TagExpr, Option<usize>) {
    match h {
        Some(h) => {
            let h = usize::from(h) % HOSTS.len();
            (TagExpr::Eq("host".into(), HOSTS[h].into()), Some(h))
        }
        None => (TagExpr::True, None),
    }
}

struct State {
    db: Option<Db<RamDevice>>,
    model: Model,
}

impl State {
    fn db(&mut self) -> &mut Db<RamDevice> {
        self.db.as_mut().expect("open")
    }

    fn write(&mut self, points: &[(usize, usize, i64, Value)], expect_reject: bool) {
        let mut b = WriteBatch::new();
        for &(h, f, t, v) in points {
            b.push(
                b"m",
                &[(b"host", HOSTS[h].as_bytes())],
                &[(FIELDS[f].as_bytes(), v)],
                t,
            );
        }
        let out = self.db().write("db", &b).expect("write");
        if expect_reject {
            assert_eq!(
                out.rejected.len(),
                points.len(),
                "a type conflict was written"
            );
            return;
        }
        assert!(out.rejected.is_empty(), "rejected: {:?}", out.rejected);
        for &(h, f, t, v) in points {
            let x = match v {
                Value::Float(x) => (x * 4.0) as i64,
                Value::Integer(x) => x,
                _ => unreachable!(),
            };
            self.model.entry((h, f)).or_default().insert(t, x);
        }
    }

    fn field_exists(&self, f: usize) -> bool {
        self.model.keys().any(|&(_, ff)| ff == f)
    }

    fn check(&mut self, host: Option<u8>, f: usize, lo: i64, hi: i64, window: Option<u8>) {
        let (tags, h) = host_expr(host);
        let q = Query {
            db: "db".into(),
            measurement: "m".into(),
            tags,
            field: Some(FIELDS[f].into()),
            start_ns: lo,
            end_ns: hi,
            aggregation: window.map(|w| Aggregation {
                window_ns: Some((i64::from(w) + 1) * 7 * STEP),
                offset_ns: 0,
                zone: None,
                group_by: vec!["host".into()],
            }),
            limit: None,
        };
        let r = self.db().query(&q).expect("query");
        let mut want: BTreeMap<usize, Vec<(i64, i64)>> = BTreeMap::new();
        for (&(mh, mf), pts) in &self.model {
            if mf != f || h.is_some_and(|h| h != mh) {
                continue;
            }
            let v: Vec<(i64, i64)> = pts.range(lo..=hi).map(|(&t, &x)| (t, x)).collect();
            if !v.is_empty() {
                want.insert(mh, v);
            }
        }
        let mut got: BTreeMap<usize, Vec<(i64, i64)>> = BTreeMap::new();
        for s in &r.series {
            let gh = s
                .tags
                .iter()
                .find(|(k, _)| k == "host")
                .and_then(|(_, v)| HOSTS.iter().position(|x| x == v))
                .expect("host tag");
            match &s.data {
                SeriesData::Raw(p) => {
                    let v = p
                        .iter()
                        .map(|&(t, v)| match v {
                            Value::Float(x) => (t, (x * 4.0) as i64),
                            Value::Integer(x) => (t, x),
                            other => panic!("unexpected value {other:?}"),
                        })
                        .collect();
                    got.insert(gh, v);
                }
                SeriesData::Windows(w) => {
                    // Compare per-window counts and sums (exact: quarters).
                    let wn = (i64::from(window.unwrap_or(0)) + 1) * 7 * STEP;
                    let mut per: BTreeMap<i64, (u64, i64)> = BTreeMap::new();
                    for &(t, x) in want.get(&gh).map(Vec::as_slice).unwrap_or_default() {
                        let e = per.entry(t.div_euclid(wn) * wn).or_default();
                        e.0 += 1;
                        e.1 += x;
                    }
                    let gotw: BTreeMap<i64, (u64, i64)> = w
                        .iter()
                        .map(|(start, acc)| {
                            let sum = match acc.sum {
                                AccSum::Float(x) => (x * 4.0) as i64,
                                AccSum::Integer(x) => x as i64,
                                ref other => panic!("unexpected sum {other:?}"),
                            };
                            (*start, (acc.count, sum))
                        })
                        .collect();
                    assert_eq!(gotw, per, "windows of host {gh}");
                    got.insert(gh, want.get(&gh).cloned().unwrap_or_default());
                }
            }
        }
        assert_eq!(got, want, "query {q:?}");
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut db = Db::create(RamDevice::new(geo()), cfg()).expect("create");
    db.create_database("db").expect("database");
    let mut s = State {
        db: Some(db),
        model: Model::new(),
    };
    for op in ops.into_iter().take(200) {
        match op {
            Op::Write { host, field, t, v } => {
                let (h, f) = (usize::from(host) % HOSTS.len(), usize::from(field));
                s.write(
                    &[(h, f, i64::from(t) * STEP, value(f, i64::from(v)))],
                    false,
                );
            }
            Op::Run {
                host,
                field,
                t0,
                n,
                step,
                v,
            } => {
                let (h, f) = (usize::from(host) % HOSTS.len(), usize::from(field));
                let pts: Vec<_> = (0..i64::from(n))
                    .map(|i| {
                        let t = (i64::from(t0) + i * i64::from(step)) * STEP;
                        (h, f, t, value(f, i64::from(v) + i % 5))
                    })
                    .collect();
                if !pts.is_empty() {
                    s.write(&pts, false);
                }
            }
            Op::Conflict { host, t } => {
                // An integer into the float field, once floats exist there.
                if s.field_exists(0) {
                    let h = usize::from(host) % HOSTS.len();
                    s.write(&[(h, 0, i64::from(t) * STEP, Value::Integer(1))], true);
                }
            }
            Op::Sync => {
                s.db().sync().expect("sync");
            }
            Op::Flush => {
                s.db().flush().expect("flush");
            }
            Op::Compact => {
                let _ = s.db().compact(i64::MAX, 0).expect("compact");
            }
            Op::Reopen => {
                s.db().sync().expect("sync");
                let db = s.db.take().expect("open");
                let (db, _) = Db::open(db.into_device(), cfg()).expect("reopen");
                s.db = Some(db);
            }
            Op::Delete { host, lo, len } => {
                let (tags, h) = host_expr(host);
                let (lo, hi) = (
                    i64::from(lo) * STEP,
                    (i64::from(lo) + i64::from(len)) * STEP,
                );
                s.db()
                    .delete("db", Some("m"), &tags, lo, hi, false)
                    .expect("delete");
                for (&(mh, _), pts) in s.model.iter_mut() {
                    if h.is_none_or(|h| h == mh) {
                        pts.retain(|t, _| *t < lo || *t > hi);
                    }
                }
            }
            Op::Drop { host } => {
                let (tags, h) = host_expr(Some(host));
                s.db()
                    .delete("db", Some("m"), &tags, i64::MIN, i64::MAX, true)
                    .expect("drop");
                s.model.retain(|&(mh, _), _| Some(mh) != h);
            }
            Op::Query {
                host,
                field,
                lo,
                len,
                window,
            } => {
                let lo = i64::from(lo) * STEP;
                let hi = lo + i64::from(len) * STEP;
                s.check(host, usize::from(field), lo, hi, window);
            }
        }
    }
    for f in 0..FIELDS.len() {
        s.check(None, f, i64::MIN, i64::MAX, None);
    }
});
