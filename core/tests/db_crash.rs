//! Crash consistency of the whole engine: writes, syncs, flushes (tables,
//! catalog segments, checkpoints), deletes and series drops (tombstones),
//! compactions, retention drops and reopens on a `SimDevice` that loses
//! power at a chosen byte, erase or sync. After the cut the database must
//! open, return every point whose write was followed by a completed sync
//! (with its value, or a later write's), return no point whose delete or
//! retention drop completed (unless written again), and nothing that was
//! never written.

mod common;

use std::collections::BTreeMap;

use common::{Rng, all_cuts, cut_stride, fill_for, policy_for, stride_text};
use pulsardb_core::catalog::TagExpr;
use pulsardb_core::layout::AllocPolicy;
use pulsardb_core::query::SeriesData;
use pulsardb_core::storage::{CutTrigger, EraseFill, SimConfig, SimDevice, SimError};
use pulsardb_core::store::StoreConfig;
use pulsardb_core::{Db, DbConfig, Error, Geometry, Query, Value, WriteBatch};

#[derive(Clone, Debug)]
enum Op {
    /// Points: (host index, field index, timestamp step, value).
    Write(Vec<(usize, usize, i64, f64)>),
    Sync,
    Flush,
    Reopen,
    /// DELETE of one host's points in [lo, hi] steps, or DROP SERIES.
    Delete {
        host: usize,
        lo: i64,
        hi: i64,
        drop: bool,
    },
    /// Compactions until none is due.
    Compact,
    /// Flush, then drop the windows ending at or before this step.
    Retention(i64),
}

const HOSTS: [&str; 3] = ["a", "b", "c"];
const FIELDS: [&str; 2] = ["t", "h"];
const STEP: i64 = 10_000_000_000;
const WINDOW: i64 = 40;

fn workload(seed: u64, writes: usize) -> Vec<Op> {
    let mut r = Rng(seed);
    let mut ops = vec![];
    let mut t = 0i64;
    let mut cutoff = i64::MIN;
    for i in 0..writes {
        let n = 1 + r.below(5) as usize;
        let pts = (0..n)
            .map(|_| {
                t += r.below(2) as i64;
                // Sometimes rewrite or go back in time (never beyond a
                // retention cutoff: WINDOW + 5 behind the newest point).
                let ts = if r.chance(10) {
                    t - r.below(30) as i64
                } else {
                    t
                };
                (
                    r.below(3) as usize,
                    r.below(2) as usize,
                    ts,
                    (r.below(1000) as f64) / 4.0,
                )
            })
            .collect();
        ops.push(Op::Write(pts));
        match r.below(14) {
            0..=4 => ops.push(Op::Sync),
            5 => ops.push(Op::Flush),
            6 if i % 5 == 0 => {
                ops.push(Op::Sync);
                ops.push(Op::Reopen);
            }
            7 | 8 => {
                let drop = r.chance(25);
                let lo = t - r.below(40) as i64;
                ops.push(Op::Delete {
                    host: r.below(3) as usize,
                    lo: if drop { i64::MIN } else { lo },
                    hi: if drop {
                        i64::MAX
                    } else {
                        lo + r.below(20) as i64
                    },
                    drop,
                });
            }
            9 => ops.push(Op::Compact),
            10 => {
                let c = (t - WINDOW - 5).div_euclid(WINDOW) * WINDOW;
                if c > cutoff {
                    cutoff = c;
                    ops.push(Op::Retention(c));
                }
            }
            _ => {}
        }
    }
    ops.push(Op::Sync);
    ops
}

type Key = (usize, usize, i64);

#[derive(Default, Clone, Debug)]
struct Model {
    created: bool,
    /// Every value each key was given, in order (`None`: deleted), with
    /// whether it is acknowledged.
    writes: BTreeMap<Key, Vec<(Option<f64>, bool)>>,
    unacked: Vec<(Key, usize)>,
    /// The retention cutoff (steps), set again after every open as a server
    /// does: a packed table may hold expired windows until it is rewritten.
    cutoff: Option<i64>,
}

impl Model {
    fn ack(&mut self) {
        for (k, i) in self.unacked.drain(..) {
            if let Some(w) = self.writes.get_mut(&k).and_then(|v| v.get_mut(i)) {
                w.1 = true;
            }
        }
    }

    /// Records a change that may or may not land until acknowledged.
    fn change(&mut self, k: Key, v: Option<f64>) {
        let e = self.writes.entry(k).or_default();
        e.push((v, false));
        self.unacked.push((k, e.len() - 1));
    }

    /// Marks the keys `hit` selects as deleted (only those that exist).
    fn delete(&mut self, hit: impl Fn(&Key) -> bool) {
        let keys: Vec<Key> = self
            .writes
            .iter()
            .filter(|(k, _)| hit(k))
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            self.change(k, None);
        }
    }
}

thread_local! {
    /// The allocation policy of this test's stores: the exhaustive test
    /// uses flash's (rotate), the random one files' (compact).
    static POLICY: std::cell::Cell<AllocPolicy> = const { std::cell::Cell::new(AllocPolicy::Rotate) };
}

fn cfg() -> DbConfig {
    DbConfig {
        memtable_bytes: 1500,
        window_ns: WINDOW * STEP,
        max_tables_per_window: 2,
        max_merge_inputs: 3,
        chunk_points: 32,
        store: StoreConfig {
            alloc_policy: POLICY.get(),
            ..StoreConfig::default()
        },
        ..DbConfig::default()
    }
}

fn write(
    db: &mut Db<&mut SimDevice>,
    pts: &[(usize, usize, i64, f64)],
    m: &mut Model,
) -> Result<(), Error<SimError>> {
    let mut b = WriteBatch::new();
    for &(h, f, ts, v) in pts {
        b.push(
            b"m",
            &[(b"host", HOSTS[h].as_bytes())],
            &[(FIELDS[f].as_bytes(), Value::Float(v))],
            ts * STEP,
        );
    }
    // Record before writing: a write cut short may or may not have landed.
    for &(h, f, ts, v) in pts {
        m.change((h, f, ts), Some(v));
    }
    let out = db.write("db", &b)?;
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    Ok(())
}

#[derive(Default)]
struct OpCounts {
    deletes: u64,
    compactions: u64,
    retention_drops: u64,
    wal_moves: u64,
    moves: u64,
    packs: u64,
    retention_rewrites: u64,
}

fn run(
    dev: &mut SimDevice,
    ops: &[Op],
    m: &mut Model,
    n: &mut OpCounts,
) -> Result<(), Error<SimErr>> {
    let mut db = Db::create(&mut *dev, cfg())?;
    db.create_database("db")?;
    db.sync()?;
    m.created = true;
    for op in ops {
        match op {
            Op::Write(p) => write(&mut db, p, m)?,
            Op::Sync => {
                db.sync()?;
                m.ack();
            }
            Op::Flush => {
                db.flush()?;
                m.ack();
                // Files: the idle WAL moves down (a manifest commit).
                if db.relocate_wal()? {
                    n.wal_moves += 1;
                }
            }
            Op::Reopen => {
                drop(db);
                let (d, _) = Db::open(&mut *dev, cfg())?;
                db = d;
                if let Some(c) = m.cutoff {
                    db.set_retention_cutoff(c * STEP);
                }
            }
            &Op::Delete { host, lo, hi, drop } => {
                m.delete(|k| k.0 == host && k.2 >= lo && k.2 <= hi);
                let tags = TagExpr::Eq("host".into(), HOSTS[host].into());
                let (lo_ns, hi_ns) = (lo.saturating_mul(STEP), hi.saturating_mul(STEP));
                let out = db.delete("db", Some("m"), &tags, lo_ns, hi_ns, drop)?;
                if out.series > 0 {
                    // Durable on return (the WAL before it too).
                    m.ack();
                    n.deletes += 1;
                }
            }
            Op::Compact => {
                let mut any = false;
                let before = db.stats().counters;
                while db.compact(i64::MAX, 0)?.is_some() {
                    any = true;
                    n.compactions += 1;
                }
                let after = db.stats().counters;
                n.packs += after.packs - before.packs;
                n.retention_rewrites += after.retention_rewrites - before.retention_rewrites;
                if any {
                    m.ack();
                }
                // Files: tables and segments move down (copy + commit).
                for _ in 0..16 {
                    if !db.move_down()? {
                        break;
                    }
                    n.moves += 1;
                }
            }
            &Op::Retention(cutoff) => {
                db.flush()?;
                m.ack();
                // Every point is in a table now: the windows ending at or
                // before the cutoff go whole.
                m.delete(|k| k.2.div_euclid(WINDOW) * WINDOW + WINDOW <= cutoff);
                m.cutoff = Some(cutoff);
                db.set_retention_cutoff(cutoff * STEP);
                let out = db.apply_retention(cutoff * STEP)?;
                if out.tables > 0 {
                    m.ack();
                    n.retention_drops += out.windows;
                }
            }
        }
    }
    Ok(())
}

type SimErr = SimError;

fn check(db: &mut Db<&mut SimDevice>, m: &Model, ctx: &str) -> BTreeMap<Key, f64> {
    let mut got: BTreeMap<Key, f64> = BTreeMap::new();
    let r = db
        .query(&Query::raw("db", "m", None))
        .unwrap_or_else(|e| panic!("{ctx}: query: {e:?}"));
    for s in &r.series {
        let h = HOSTS
            .iter()
            .position(|x| s.tags == [("host".to_string(), x.to_string())])
            .expect("host");
        let f = FIELDS.iter().position(|x| *x == s.field).expect("field");
        let SeriesData::Raw(p) = &s.data else {
            panic!()
        };
        for &(t, v) in p {
            let Value::Float(v) = v else {
                panic!("{ctx}: type")
            };
            assert!(
                got.insert((h, f, t / STEP), v).is_none(),
                "{ctx}: duplicate point"
            );
        }
    }
    for (k, ws) in &m.writes {
        let last_ack = ws.iter().rposition(|w| w.1);
        let have = got.get(k).copied();
        match last_ack {
            Some(j) => assert!(
                ws[j..].iter().any(|w| w.0 == have),
                "{ctx}: {k:?} = {have:?}, but the acknowledged state is {:?} (later changes {:?})",
                ws[j].0,
                &ws[j + 1..]
            ),
            None => assert!(
                have.is_none() || ws.iter().any(|w| w.0 == have),
                "{ctx}: {k:?} = {have:?} never written"
            ),
        }
    }
    for k in got.keys() {
        assert!(
            m.writes.contains_key(k),
            "{ctx}: point {k:?} was never written"
        );
    }
    got
}

fn geo() -> Geometry {
    Geometry {
        block_size: 512,
        block_count: 96,
        write_size: 4,
    }
}

#[derive(Default)]
struct Tally {
    runs: u64,
    cut_before_create: u64,
    cut: u64,
    points_checked: u64,
}

fn cut_and_check(ops: &[Op], cut: CutTrigger, k: u64, fill: EraseFill, t: &mut Tally) {
    let ctx = format!("{cut:?} {:?} {fill:?}", policy_for(k));
    t.runs += 1;
    let mut c = SimConfig::new(geo());
    c.erase_fill = fill;
    let mut dev = SimDevice::new(c);
    dev.set_faults(Some(cut), policy_for(k), k, None);
    let mut m = Model::default();
    match run(&mut dev, ops, &mut m, &mut OpCounts::default()) {
        Ok(()) => {}
        Err(Error::Device(_)) => t.cut += 1,
        Err(e) => panic!("{ctx}: {e:?}"),
    }
    dev.cut_now();
    let mut dev = dev.power_cycle();
    if !m.created {
        t.cut_before_create += 1;
        match Db::open(&mut dev, cfg()) {
            Ok(_) | Err(Error::NotFormatted) => return,
            Err(e) => panic!("{ctx}: after a cut in create: {e:?}"),
        }
    }
    let (mut db, _) =
        Db::open(&mut dev, cfg()).unwrap_or_else(|e| panic!("{ctx}: did not open: {e}"));
    if !db.has_database("db") {
        // Cut before the database's creation was durable: nothing was acknowledged.
        assert!(
            m.writes.values().all(|w| w.iter().all(|x| !x.1)),
            "{ctx}: database lost"
        );
        return;
    }
    if let Some(c) = m.cutoff {
        db.set_retention_cutoff(c * STEP);
    }
    let got = check(&mut db, &m, &ctx);
    t.points_checked += got.len() as u64;
    // The recovered database keeps working, and a flush of what it recovered
    // is sound: from here on, what was recovered is the acknowledged state.
    let mut m2 = Model {
        created: true,
        writes: got
            .into_iter()
            .map(|(k, v)| (k, vec![(Some(v), true)]))
            .collect(),
        unacked: Vec::new(),
        cutoff: m.cutoff,
    };
    write(
        &mut db,
        &[(0, 0, 10_000, 1.5), (2, 1, 10_001, 2.5)],
        &mut m2,
    )
    .unwrap_or_else(|e| panic!("{ctx}: write after recovery: {e:?}"));
    db.flush()
        .unwrap_or_else(|e| panic!("{ctx}: flush after recovery: {e:?}"));
    m2.ack();
    drop(db);
    let (mut db, _) =
        Db::open(&mut dev, cfg()).unwrap_or_else(|e| panic!("{ctx}: reopen after recovery: {e}"));
    if let Some(c) = m.cutoff {
        db.set_retention_cutoff(c * STEP);
    }
    check(&mut db, &m2, &format!("{ctx} after recovery"));
}

/// Runs the workload uncut: the device's byte, erase and sync counts (the
/// cut points), and what the workload exercised.
fn measure(ops: &[Op]) -> (u64, u64, u64, OpCounts) {
    let mut dev = SimDevice::new(SimConfig::new(geo()));
    let mut m = Model::default();
    let mut n = OpCounts::default();
    run(&mut dev, ops, &mut m, &mut n).expect("uncut run");
    let s = dev.stats();
    (s.bytes_programmed, s.erases, s.syncs, n)
}

#[test]
fn exhaustive_cuts_small_db_workload() {
    let ops = workload(10, 40);
    let (bytes, erases, syncs, n) = measure(&ops);
    let cuts = all_cuts(bytes, erases, syncs);
    let mut t = Tally::default();
    for (k, cut) in cuts.iter().enumerate() {
        cut_and_check(&ops, *cut, k as u64, fill_for(k as u64), &mut t);
    }
    let flushes = ops.iter().filter(|o| matches!(o, Op::Flush)).count();
    println!(
        "db exhaustive: {} ops ({flushes} flushes, {} deletes, {} compactions of which {} packings and {} retention rewrites, {} windows dropped by retention); cut points tried: {} ({bytes} programmed bytes cut {}, {erases} erases, {syncs} syncs); cut before create {}; points checked {}",
        ops.len(),
        n.deletes,
        n.compactions,
        n.packs,
        n.retention_rewrites,
        n.retention_drops,
        t.runs,
        stride_text(),
        t.cut_before_create,
        t.points_checked
    );
    assert_eq!(t.runs, cuts.len() as u64);
    assert_eq!(t.runs, bytes.div_ceil(cut_stride()) + erases + syncs);
    assert!(t.cut >= t.runs - 1);
    assert!(
        n.deletes > 0 && n.compactions > 0 && n.retention_drops > 0,
        "workload too tame"
    );
}

/// Sparse windows: a point or two per series in each of eight windows,
/// flushed one window at a time, so every window holds a small table. Then
/// packing, late data into a packed window, a delete, retention expiring
/// the older half of a packed table (rewritten without it), a reopen.
fn sparse_workload() -> Vec<Op> {
    let mut ops = vec![];
    for w in 0..8i64 {
        let t = w * WINDOW;
        ops.push(Op::Write(vec![
            (0, 0, t + 1, w as f64),
            (1, 1, t + 2, 0.5 + w as f64),
            (2, 0, t + 3 + w, 0.25),
        ]));
        ops.push(Op::Flush);
    }
    ops.push(Op::Compact);
    // Late data for packed windows: a new point and an overwrite.
    ops.push(Op::Write(vec![
        (1, 0, 2 * WINDOW + 7, 9.0),
        (0, 0, 3 * WINDOW + 1, 8.5),
    ]));
    ops.push(Op::Sync);
    ops.push(Op::Flush);
    ops.push(Op::Compact);
    ops.push(Op::Delete {
        host: 2,
        lo: 4 * WINDOW,
        hi: 5 * WINDOW,
        drop: false,
    });
    ops.push(Op::Retention(3 * WINDOW));
    ops.push(Op::Compact);
    ops.push(Op::Reopen);
    ops.push(Op::Write(vec![(0, 1, 9 * WINDOW, 1.0)]));
    ops.push(Op::Sync);
    ops
}

#[test]
fn exhaustive_cuts_packing_workload() {
    let ops = sparse_workload();
    let (bytes, erases, syncs, n) = measure(&ops);
    let cuts = all_cuts(bytes, erases, syncs);
    let mut t = Tally::default();
    for (k, cut) in cuts.iter().enumerate() {
        cut_and_check(&ops, *cut, k as u64, fill_for(k as u64), &mut t);
    }
    println!(
        "db packing exhaustive: {} ops ({} compactions of which {} packings and {} retention rewrites, {} deletes, {} windows dropped by retention); cut points tried: {} ({bytes} programmed bytes cut {}, {erases} erases, {syncs} syncs); points checked {}",
        ops.len(),
        n.compactions,
        n.packs,
        n.retention_rewrites,
        n.deletes,
        n.retention_drops,
        t.runs,
        stride_text(),
        t.points_checked
    );
    assert_eq!(t.runs, cuts.len() as u64);
    assert_eq!(t.runs, bytes.div_ceil(cut_stride()) + erases + syncs);
    assert!(t.cut >= t.runs - 1);
    assert!(
        n.packs >= 2 && n.retention_rewrites > 0 && n.deletes > 0,
        "packing workload did not pack, or did not expire a packed window"
    );
}

#[test]
fn random_cuts_db_workload() {
    let runs: u64 = std::env::var("PULSARDB_RANDOM_CUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    // A longer campaign varies the workload and the cuts with a seed.
    let seed: u64 = std::env::var("PULSARDB_CUT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    POLICY.set(AllocPolicy::Compact);
    let ops = workload(77 + seed, 150);
    let (bytes, erases, syncs, n) = measure(&ops);
    let mut r = Rng(99 + seed);
    let mut t = Tally::default();
    for k in 0..runs {
        let cut = match r.below(10) {
            0..=6 => CutTrigger::ProgrammedByte(1 + r.below(bytes)),
            7 | 8 => CutTrigger::Erase(1 + r.below(erases)),
            _ => CutTrigger::Sync(1 + r.below(syncs)),
        };
        cut_and_check(&ops, cut, r.next(), fill_for(k), &mut t);
    }
    println!(
        "db random (seed {seed}): {runs} seeded cuts over {bytes} programmed bytes / {erases} erases / {syncs} syncs ({} deletes, {} compactions of which {} packings and {} retention rewrites, {} windows dropped by retention, {} WAL moves, {} table/segment moves); points checked {}",
        n.deletes,
        n.compactions,
        n.packs,
        n.retention_rewrites,
        n.retention_drops,
        n.wal_moves,
        n.moves,
        t.points_checked
    );
    assert_eq!(t.cut, runs);
    // The default workload is known to reach every path; other seeds' reach
    // is what the line above prints.
    if seed == 0 {
        assert!(
            n.wal_moves > 0 && n.moves > 0,
            "the WAL or a table never moved"
        );
        assert!(
            n.deletes > 0 && n.compactions > 0 && n.retention_drops > 0,
            "workload too tame"
        );
    }
}

#[test]
fn every_bit_flip_in_a_table_is_detected() {
    let geo = Geometry {
        block_size: 512,
        block_count: 64,
        write_size: 4,
    };
    let mut dev = SimDevice::new(SimConfig::new(geo));
    let mut want = Vec::new();
    {
        let mut db = Db::create(&mut dev, DbConfig::default()).unwrap();
        db.create_database("db").unwrap();
        let mut b = WriteBatch::new();
        for i in 0..300i64 {
            let v = 20.0 + (i % 17) as f64 * 0.25;
            b.push(
                b"m",
                &[(b"host", b"a")],
                &[(b"t", Value::Float(v)), (b"n", Value::Integer(i * 3))],
                i * STEP,
            );
            want.push((i * STEP, v, i * 3));
        }
        db.write("db", &b).unwrap();
        db.flush().unwrap();
    }
    let tables = {
        let (db, _) = Db::open(&mut dev, DbConfig::default()).unwrap();
        db.store().manifest().tables.clone()
    };
    assert_eq!(tables.len(), 1);
    let clean = dev.power_cycle();
    let (mut flips, mut detected, mut harmless) = (0u64, 0u64, 0u64);
    let table_blocks: Vec<u32> = tables[0].blocks().collect();
    let table_len = tables[0].len as usize;
    for (bi, &block) in table_blocks.iter().enumerate() {
        let in_block = (table_len - bi * 512).min(512);
        for bit in 0..in_block * 8 {
            flips += 1;
            let mut d = clean.clone();
            d.flip_bit(block, (bit / 8) as u32, (bit % 8) as u8);
            let ctx = format!("flip table block {block} byte {} bit {}", bit / 8, bit % 8);
            let mut db = match Db::open(&mut d, DbConfig::default()) {
                Ok((db, _)) => db,
                Err(Error::Corrupted(_)) => {
                    detected += 1;
                    continue;
                }
                Err(e) => panic!("{ctx}: {e:?}"),
            };
            let agg = Query {
                aggregation: Some(pulsardb_core::Aggregation {
                    window_ns: Some(60 * STEP),
                    offset_ns: 0,
                    zone: None,
                    group_by: vec![],
                }),
                ..Query::raw("db", "m", None)
            };
            match (db.query(&Query::raw("db", "m", None)), db.query(&agg)) {
                (Ok(r), Ok(_)) => {
                    let mut got_t = Vec::new();
                    let mut got_n = Vec::new();
                    for s in r.series {
                        let SeriesData::Raw(p) = s.data else { panic!() };
                        match s.field.as_str() {
                            "t" => got_t = p,
                            "n" => got_n = p,
                            f => panic!("{ctx}: field {f}"),
                        }
                    }
                    let wt: Vec<(i64, Value)> =
                        want.iter().map(|&(t, v, _)| (t, Value::Float(v))).collect();
                    let wn: Vec<(i64, Value)> = want
                        .iter()
                        .map(|&(t, _, n)| (t, Value::Integer(n)))
                        .collect();
                    assert_eq!(got_t, wt, "{ctx}: wrong float values");
                    assert_eq!(got_n, wn, "{ctx}: wrong integer values");
                    harmless += 1;
                }
                (Err(Error::Corrupted(_)), _) | (_, Err(Error::Corrupted(_))) => detected += 1,
                (Err(e), _) | (_, Err(e)) => panic!("{ctx}: {e:?}"),
            }
        }
    }
    println!(
        "table bit flips: {flips} tried; detected (Corrupted) {detected}, harmless {harmless}"
    );
    assert!(detected > 0);
    assert_eq!(flips, detected + harmless);
}
