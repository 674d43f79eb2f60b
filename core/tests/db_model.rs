//! Model test: random sequences of writes (in and out of order, duplicates,
//! type conflicts), flushes, reopens and queries, checked against a
//! `BTreeMap` oracle.
//!
//! Values are multiples of 1/4 and small integers, so sums are exact whatever
//! order the engine adds them in.

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;

use common::Rng;
use pulsardb_core::catalog::TagExpr;
use pulsardb_core::query::zone::zoned_start;
use pulsardb_core::query::{Acc, AccSum, ChunkCache, SeriesData, Zone};
use pulsardb_core::storage::RamDevice;
use pulsardb_core::{Aggregation, Db, DbConfig, FieldType, Geometry, Query, Value, WriteBatch};

type Key = (String, Vec<(String, String)>, String);
type Oracle = BTreeMap<Key, BTreeMap<i64, Value>>;

const MEAS: [&str; 2] = ["cpu", "env"];
const HOSTS: [&str; 3] = ["a", "b", "c"];
const FIELDS: [(&str, FieldType); 4] = [
    ("v", FieldType::Float),
    ("n", FieldType::Integer),
    ("u", FieldType::Unsigned),
    ("ok", FieldType::Boolean),
];

fn value(r: &mut Rng, ty: FieldType) -> Value {
    match ty {
        FieldType::Float => Value::Float((r.below(400) as f64 - 200.0) / 4.0),
        FieldType::Integer => Value::Integer(r.below(2000) as i64 - 1000),
        FieldType::Unsigned => Value::Unsigned(r.below(5000)),
        FieldType::Boolean => Value::Boolean(r.chance(50)),
    }
}

fn wrong_type(ty: FieldType) -> Value {
    match ty {
        FieldType::Float => Value::Integer(1),
        _ => Value::Float(0.5),
    }
}

struct Ctx {
    db: Db<RamDevice>,
    oracle: Oracle,
    /// Writes older than this are refused (retention).
    cutoff: i64,
    /// Types fixed per (measurement, field) once written.
    types: BTreeMap<(String, String), FieldType>,
    cfg: DbConfig,
    step: i64,
    /// Decoded chunks queries share (small: entries also get evicted).
    cache: RefCell<ChunkCache>,
    /// Queries checked against the same query through the cache.
    cached_checks: u64,
}

impl Ctx {
    fn write(&mut self, r: &mut Rng) {
        let mut batch = WriteBatch::new();
        let mut expected_rejects = Vec::new();
        let mut accepted: Vec<(Key, i64, Value)> = Vec::new();
        let n = 1 + r.below(20) as usize;
        // Runs of one series are the common case the write path shortcuts:
        // often a point repeats the previous one's measurement and tags, and
        // sometimes its field keys too.
        let mut prev: Option<(&str, Vec<(String, String)>, Vec<&str>)> = None;
        for i in 0..n {
            let repeat = prev.as_ref().filter(|_| r.chance(50)).cloned();
            let (m, tags) = match &repeat {
                Some((m, tags, _)) => (*m, tags.clone()),
                None => {
                    let m = MEAS[r.below(2) as usize];
                    let mut tags =
                        vec![("host".to_string(), HOSTS[r.below(3) as usize].to_string())];
                    if r.chance(40) {
                        tags.push((
                            "dc".to_string(),
                            if r.chance(50) { "x" } else { "y" }.to_string(),
                        ));
                    }
                    // Given out of order sometimes; the engine sorts.
                    if r.chance(50) {
                        tags.reverse();
                    }
                    (m, tags)
                }
            };
            let ts = r.below(300) as i64 * self.step - 40 * self.step;
            let keys: Vec<&str> = match repeat {
                Some((_, _, keys)) if r.chance(50) => keys,
                _ => (0..1 + r.below(3))
                    .map(|_| FIELDS[r.below(4) as usize].0)
                    .collect(),
            };
            let mut fields = Vec::new();
            for &f in &keys {
                let ty = FIELDS
                    .iter()
                    .find(|x| x.0 == f)
                    .map_or(FieldType::Float, |x| x.1);
                let fixed = *self
                    .types
                    .get(&(m.to_string(), f.to_string()))
                    .unwrap_or(&ty);
                let v = if r.chance(3) {
                    wrong_type(fixed)
                } else {
                    value(r, fixed)
                };
                fields.push((f, v));
            }
            prev = Some((m, tags.clone(), keys));
            let tag_refs: Vec<(&[u8], &[u8])> = tags
                .iter()
                .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
                .collect();
            let field_refs: Vec<(&[u8], Value)> =
                fields.iter().map(|(f, v)| (f.as_bytes(), *v)).collect();
            batch.push(m.as_bytes(), &tag_refs, &field_refs, ts);
            // The oracle: a repeated field key keeps its last value; a field
            // whose type differs from the one its measurement has rejects the point.
            let mut dedup: Vec<(&str, Value)> = Vec::new();
            for &(f, v) in &fields {
                match dedup.iter_mut().find(|(g, _)| *g == f) {
                    Some(x) => x.1 = v,
                    None => dedup.push((f, v)),
                }
            }
            if ts < self.cutoff {
                expected_rejects.push(i);
                continue;
            }
            let conflict = dedup.iter().any(|(f, v)| {
                self.types
                    .get(&(m.to_string(), f.to_string()))
                    .is_some_and(|t| *t != v.field_type())
            });
            if conflict {
                expected_rejects.push(i);
                continue;
            }
            let mut sorted = tags.clone();
            sorted.sort();
            for (f, v) in dedup {
                self.types
                    .insert((m.to_string(), f.to_string()), v.field_type());
                accepted.push(((m.to_string(), sorted.clone(), f.to_string()), ts, v));
            }
        }
        let out = self.db.write("db", &batch).expect("write");
        let rejected: Vec<usize> = out.rejected.iter().map(|(i, _)| *i).collect();
        assert_eq!(rejected, expected_rejects, "rejections: {:?}", out.rejected);
        for (k, ts, v) in accepted {
            self.oracle.entry(k).or_default().insert(ts, v);
        }
    }

    /// DELETE (keep the series) or DROP SERIES on one measurement.
    fn delete(&mut self, r: &mut Rng) {
        let m = MEAS[r.below(2) as usize];
        let host = HOSTS[r.below(3) as usize];
        let tags = if r.chance(70) {
            TagExpr::Eq("host".into(), host.into())
        } else {
            TagExpr::True
        };
        let drop = r.chance(30);
        let (lo, hi) = if drop || r.chance(20) {
            (i64::MIN, i64::MAX)
        } else {
            let a = r.below(300) as i64 * self.step - 50 * self.step;
            (a, a + r.below(150) as i64 * self.step)
        };
        self.db
            .delete("db", Some(m), &tags, lo, hi, drop)
            .expect("delete");
        let keys: Vec<Key> = self
            .oracle
            .keys()
            .filter(|k| {
                k.0 == m
                    && tags.eval(&|name: &str| {
                        k.1.iter().find(|(a, _)| a == name).map(|(_, v)| v.as_str())
                    })
            })
            .cloned()
            .collect();
        for k in keys {
            if drop {
                self.oracle.remove(&k);
            } else if let Some(p) = self.oracle.get_mut(&k) {
                p.retain(|t, _| *t < lo || *t > hi);
            }
        }
        // A field's type is what its remaining series have.
        if drop {
            self.types
                .retain(|(mm, f), _| self.oracle.keys().any(|k| &k.0 == mm && &k.2 == f));
        }
    }

    /// Flush, then drop the windows that end before a rising cutoff.
    fn retention(&mut self, r: &mut Rng) {
        self.db.flush().expect("flush");
        let cutoff =
            (self.cutoff.max(-60 * self.step)).saturating_add(r.below(40) as i64 * self.step);
        self.cutoff = cutoff;
        self.db.set_retention_cutoff(cutoff);
        self.db.apply_retention(cutoff).expect("retention");
        let w = self.cfg.window_ns;
        for p in self.oracle.values_mut() {
            p.retain(|t, _| t.div_euclid(w) * w + w > cutoff);
        }
    }

    fn reopen(&mut self) {
        self.db.sync().expect("sync");
        let db = std::mem::replace(
            &mut self.db,
            Db::create(RamDevice::new(small_geo()), self.cfg).unwrap(),
        );
        let (mut db, _) = Db::open(db.into_device(), self.cfg).expect("reopen");
        db.set_retention_cutoff(self.cutoff);
        self.db = db;
    }

    fn random_query(&mut self, r: &mut Rng) -> Query {
        let m = MEAS[r.below(2) as usize];
        let tags = match r.below(5) {
            0 => TagExpr::Eq("host".into(), HOSTS[r.below(3) as usize].into()),
            1 => TagExpr::Ne("host".into(), HOSTS[r.below(3) as usize].into()),
            2 => TagExpr::or(
                TagExpr::Eq("dc".into(), "x".into()),
                TagExpr::Eq("host".into(), "c".into()),
            ),
            3 => TagExpr::Eq("dc".into(), String::new()),
            _ => TagExpr::True,
        };
        let field = if r.chance(80) {
            Some(FIELDS[r.below(4) as usize].0.to_string())
        } else {
            None
        };
        let (start, end) = if r.chance(30) {
            (i64::MIN, i64::MAX)
        } else {
            let a = r.below(300) as i64 * self.step - 50 * self.step;
            (a, a + r.below(200) as i64 * self.step)
        };
        let aggregation = if r.chance(50) {
            Some(Aggregation {
                window_ns: if r.chance(70) {
                    Some((1 + r.below(60) as i64) * self.step)
                } else {
                    None
                },
                offset_ns: if r.chance(30) {
                    r.below(10) as i64 * self.step
                } else {
                    0
                },
                // Wall-clock windows of a made-up zone whose offset changes
                // a few times inside the points' span, by up to 3 steps
                // either way (so windows grow, shrink and overlap).
                zone: r.chance(30).then(|| {
                    let mut changes: Vec<(i64, i64)> = (0..1 + r.below(3))
                        .map(|_| {
                            (
                                r.below(300) as i64 * self.step - 40 * self.step
                                    + r.below(3) as i64,
                                (r.below(7) as i64 - 3) * self.step,
                            )
                        })
                        .collect();
                    changes.sort_unstable();
                    Zone {
                        base_ns: (r.below(7) as i64 - 3) * self.step,
                        changes,
                    }
                }),
                group_by: if r.chance(50) {
                    vec!["host".into()]
                } else {
                    vec![]
                },
            })
        } else {
            None
        };
        Query {
            db: "db".into(),
            measurement: m.into(),
            tags,
            field,
            start_ns: start,
            end_ns: end,
            aggregation,
            limit: None,
        }
    }

    fn check(&mut self, q: &Query) {
        let got = self.db.query(q).expect("query");
        // Through the cache (tables and chunks it holds from earlier
        // queries, some since compacted, deleted from or moved): the same.
        let cached = self.db.query_cached(q, &self.cache).expect("cached query");
        assert_eq!(cached, got, "through the chunk cache");
        self.cached_checks += 1;
        let tag = |tags: &[(String, String)], k: &str| {
            tags.iter()
                .find(|(a, _)| a == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let selected: Vec<(&Key, &BTreeMap<i64, Value>)> = self
            .oracle
            .iter()
            .filter(|(k, _)| k.0 == q.measurement && q.field.as_ref().is_none_or(|f| *f == k.2))
            .filter(|(k, _)| {
                q.tags.eval(&|name: &str| {
                    k.1.iter().find(|(a, _)| a == name).map(|(_, v)| v.as_str())
                })
            })
            .collect();
        match &q.aggregation {
            None => {
                let mut want: Vec<(Vec<(String, String)>, String, Vec<(i64, Value)>)> = selected
                    .iter()
                    .map(|(k, pts)| {
                        (
                            k.1.clone(),
                            k.2.clone(),
                            pts.range(q.start_ns..=q.end_ns)
                                .map(|(&t, &v)| (t, v))
                                .collect::<Vec<_>>(),
                        )
                    })
                    .filter(|x| !x.2.is_empty())
                    .collect();
                want.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
                let have: Vec<(Vec<(String, String)>, String, Vec<(i64, Value)>)> = got
                    .series
                    .iter()
                    .map(|s| match &s.data {
                        SeriesData::Raw(p) => (s.tags.clone(), s.field.clone(), p.clone()),
                        _ => panic!("windows for a raw query"),
                    })
                    .collect();
                assert_eq!(have, want, "raw query {q:?}");
            }
            Some(a) => {
                // Computed from the points, independently of the engine's
                // accumulator.
                let mut pts_by_window: BTreeMap<
                    (Vec<(String, String)>, String),
                    BTreeMap<i64, Vec<(i64, Value)>>,
                > = BTreeMap::new();
                let mut ordered = selected.clone();
                ordered.sort_by(|x, y| (&x.0.1, &x.0.2).cmp(&(&y.0.1, &y.0.2)));
                for (k, pts) in &ordered {
                    let group: Vec<(String, String)> = a
                        .group_by
                        .iter()
                        .map(|g| (g.clone(), tag(&k.1, g)))
                        .collect();
                    for (&t, &v) in pts.range(q.start_ns..=q.end_ns) {
                        let w = match (a.window_ns, &a.zone) {
                            (Some(w), Some(z)) => zoned_start(t, w, a.offset_ns, z),
                            (Some(w), None) => {
                                pulsardb_core::query::window_start(t, w, a.offset_ns)
                            }
                            (None, _) => q.start_ns,
                        };
                        pts_by_window
                            .entry((group.clone(), k.2.clone()))
                            .or_default()
                            .entry(w)
                            .or_default()
                            .push((t, v));
                    }
                }
                let mut want: BTreeMap<(Vec<(String, String)>, String), BTreeMap<i64, Acc>> =
                    BTreeMap::new();
                for (g, ws) in pts_by_window {
                    let e = want.entry(g).or_default();
                    for (w, pts) in ws {
                        let num = |v: &Value| v.as_f64();
                        let min = *pts
                            .iter()
                            .map(|(_, v)| v)
                            .min_by(|a, b| num(a).partial_cmp(&num(b)).unwrap())
                            .unwrap();
                        let max = *pts
                            .iter()
                            .map(|(_, v)| v)
                            .max_by(|a, b| num(a).partial_cmp(&num(b)).unwrap())
                            .unwrap();
                        // The earliest point holding the extreme.
                        let min_at = pts
                            .iter()
                            .filter(|p| num(&p.1) == num(&min))
                            .map(|p| p.0)
                            .min()
                            .unwrap();
                        let max_at = pts
                            .iter()
                            .filter(|p| num(&p.1) == num(&max))
                            .map(|p| p.0)
                            .min()
                            .unwrap();
                        let tmin = pts.iter().map(|p| p.0).min().unwrap();
                        let tmax = pts.iter().map(|p| p.0).max().unwrap();
                        // Several series at one time: the larger value
                        // (booleans: `first` false, `last` true), as InfluxDB.
                        let tie_key = |v: &Value, first: bool| match v {
                            Value::Boolean(b) => f64::from(u8::from(*b != first)),
                            v => num(v),
                        };
                        let pick = |t: i64, first: bool| {
                            *pts.iter()
                                .filter(|p| p.0 == t)
                                .max_by(|a, b| {
                                    tie_key(&a.1, first)
                                        .partial_cmp(&tie_key(&b.1, first))
                                        .unwrap()
                                })
                                .unwrap()
                        };
                        let first = pick(tmin, true);
                        let last = pick(tmax, false);
                        let sum = match pts[0].1 {
                            Value::Float(_) => {
                                AccSum::Float(pts.iter().map(|p| p.1.as_f64()).sum())
                            }
                            Value::Integer(_) => AccSum::Integer(
                                pts.iter()
                                    .map(|p| {
                                        if let Value::Integer(i) = p.1 {
                                            i as i128
                                        } else {
                                            0
                                        }
                                    })
                                    .sum(),
                            ),
                            Value::Unsigned(_) => AccSum::Unsigned(
                                pts.iter()
                                    .map(|p| {
                                        if let Value::Unsigned(u) = p.1 {
                                            u as u128
                                        } else {
                                            0
                                        }
                                    })
                                    .sum(),
                            ),
                            Value::Boolean(_) => AccSum::Boolean(
                                pts.iter().filter(|p| p.1 == Value::Boolean(true)).count() as u64,
                            ),
                        };
                        e.insert(
                            w,
                            Acc {
                                count: pts.len() as u64,
                                sum,
                                min,
                                max,
                                min_at,
                                max_at,
                                first,
                                last,
                            },
                        );
                    }
                }
                let have: BTreeMap<(Vec<(String, String)>, String), BTreeMap<i64, Acc>> = got
                    .series
                    .iter()
                    .map(|s| match &s.data {
                        SeriesData::Windows(w) => (
                            (s.tags.clone(), s.field.clone()),
                            w.iter().copied().collect(),
                        ),
                        _ => panic!("raw for an aggregate query"),
                    })
                    .collect();
                assert_eq!(have.len(), want.len(), "groups of {q:?}");
                for (k, w) in &want {
                    let h = have
                        .get(k)
                        .unwrap_or_else(|| panic!("group {k:?} missing from {q:?}"));
                    assert_eq!(h.len(), w.len(), "windows of {k:?} in {q:?}");
                    for ((tw, wa), (th, ha)) in w.iter().zip(h) {
                        assert_eq!(tw, th, "window start in {q:?}");
                        assert_eq!(ha.count, wa.count, "count {k:?}@{tw} in {q:?}");
                        assert_eq!(ha.min, wa.min, "min {k:?}@{tw} in {q:?}");
                        assert_eq!(ha.max, wa.max, "max {k:?}@{tw} in {q:?}");
                        assert_eq!(ha.min_at, wa.min_at, "min time {k:?}@{tw} in {q:?}");
                        assert_eq!(ha.max_at, wa.max_at, "max time {k:?}@{tw} in {q:?}");
                        assert_eq!(ha.first.1, wa.first.1, "first {k:?}@{tw} in {q:?}");
                        assert_eq!(ha.last.1, wa.last.1, "last {k:?}@{tw} in {q:?}");
                        match (ha.sum, wa.sum) {
                            (AccSum::Float(x), AccSum::Float(y)) => {
                                assert_eq!(x, y, "sum {k:?}@{tw} in {q:?}")
                            }
                            (x, y) => assert_eq!(x, y, "sum {k:?}@{tw} in {q:?}"),
                        }
                    }
                }
            }
        }
    }
}

fn small_geo() -> Geometry {
    Geometry {
        block_size: 1024,
        block_count: 4096,
        write_size: 1,
    }
}

#[test]
fn random_sequences_match_a_btreemap_oracle() {
    let sequences: u64 = std::env::var("PULSARDB_MODEL_SEQUENCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut totals = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut extra = (0u64, 0u64, 0u64);
    // Compactions that packed small tables, that rewrote a packed table past
    // the retention cutoff.
    let mut kinds = (0u64, 0u64);
    // Queries run through the chunk cache too; chunks found there, decoded.
    let mut cached = (0u64, 0u64, 0u64);
    for seed in 0..sequences {
        let mut r = Rng(seed * 7919 + 1);
        let step = 1_000_000_000;
        let cfg = DbConfig {
            memtable_bytes: 2048 + r.below(16 << 10) as usize,
            window_ns: (20 + r.below(100) as i64) * step,
            // Small chunks and merges of few tables (firmware settings)
            // half of the time.
            chunk_points: if r.chance(50) {
                16 + r.below(64) as usize
            } else {
                1024
            },
            max_merge_inputs: 2 + r.below(6) as usize,
            query_batch_series: 1 + r.below(4) as usize,
            ..DbConfig::default()
        };
        let mut db = Db::create(RamDevice::new(small_geo()), cfg).expect("create");
        db.create_database("db").unwrap();
        let mut c = Ctx {
            db,
            cutoff: i64::MIN,
            oracle: BTreeMap::new(),
            types: BTreeMap::new(),
            cfg,
            step,
            cache: RefCell::new(ChunkCache::new(8 << 10)),
            cached_checks: 0,
        };
        let ops = 20 + r.below(80);
        let trace = std::env::var_os("PULSARDB_MODEL_TRACE").is_some();
        for _ in 0..ops {
            let op = r.below(24);
            if trace {
                eprintln!("seed {seed} op {op}");
            }
            match op {
                0..=9 => {
                    c.write(&mut r);
                    totals.0 += 1;
                }
                10 | 11 => {
                    c.db.flush().expect("flush");
                    totals.1 += 1;
                }
                12 => {
                    c.reopen();
                    totals.2 += 1;
                }
                13 => {
                    c.delete(&mut r);
                    extra.0 += 1;
                }
                14 => {
                    let before = c.db.stats().counters;
                    while c.db.compact(i64::MAX, 0).expect("compact").is_some() {
                        extra.1 += 1;
                    }
                    let after = c.db.stats().counters;
                    kinds.0 += after.packs - before.packs;
                    kinds.1 += after.retention_rewrites - before.retention_rewrites;
                }
                15 if r.chance(30) => {
                    c.retention(&mut r);
                    extra.2 += 1;
                }
                _ => {
                    let q = c.random_query(&mut r);
                    c.check(&q);
                    totals.3 += 1;
                }
            }
        }
        // Deletes leave the store: once everything is flushed and compacted,
        // no tombstone is left.
        c.db.flush().expect("flush");
        while c.db.compact(i64::MAX, 0).expect("compact").is_some() {}
        assert!(
            c.db.tombstones().is_empty(),
            "seed {seed}: tombstones left: {:?}",
            c.db.tombstones()
        );
        // Every sequence ends with a full check after a reopen.
        c.reopen();
        for m in MEAS {
            let q = Query::raw("db", m, None);
            c.check(&q);
            totals.4 += 1;
        }
        let cache = c.cache.borrow();
        cached.0 += c.cached_checks;
        cached.1 += cache.hits;
        cached.2 += cache.misses;
    }
    println!(
        "model: {sequences} sequences; {} write batches, {} flushes, {} reopens, {} deletes, {} compactions ({} packings, {} retention rewrites), {} retention passes, {} random queries, {} final full checks — all equal to the oracle; each also through a chunk cache ({} queries: {} chunks found there, {} decoded) — the same",
        totals.0,
        totals.1,
        totals.2,
        extra.0,
        extra.1,
        kinds.0,
        kinds.1,
        extra.2,
        totals.3,
        totals.4,
        cached.0,
        cached.1,
        cached.2
    );
    assert!(
        sequences < 1000 || cached.1 > 1000,
        "the cache never hit: {cached:?}"
    );
    assert!(
        sequences < 1000 || (extra.0 > 500 && extra.1 > 500 && extra.2 > 100),
        "{extra:?}"
    );
    assert!(sequences < 1000 || totals.3 > 5000);
    assert!(
        sequences < 1000 || (kinds.0 > 100 && kinds.1 > 0),
        "packing or retention rewrites not exercised: {kinds:?}"
    );
}
