//! Crash consistency and fault handling of the storage foundation
//! (superblock, manifest, WAL): power cuts, bit flips, I/O errors.
//!
//! A workload of appends, syncs, checkpoints and clean reopens runs on a
//! `SimDevice` that cuts power at a chosen point; the device comes back on its
//! durable image and the store must open with every record whose `sync`
//! completed replayed exactly once, in order, byte for byte, and nothing that
//! was never appended. The exhaustive test cuts at every programmed byte
//! (one in `PULSARDB_CUT_STRIDE` with that set), every erase and every sync
//! of a 200+-append workload; the random test runs 10,000 seeded cuts on a
//! larger one.

mod common;

use std::collections::BTreeMap;

use common::{Rng, all_cuts, cut_stride, fill_for, policy_for, sim, stride_text};
use pulsardb_core::storage::{CutTrigger, EraseFill, SimDevice};
use pulsardb_core::{BlockDevice, Error, Geometry, Lsn, Store, StoreConfig};

#[derive(Clone, Debug)]
enum Op {
    Append(usize),
    Sync,
    Checkpoint,
    Reopen,
    /// First half of a split sync (the server's group commit, whose device
    /// sync runs outside the store's lock): the round's LSN joins the
    /// rounds in flight.
    Prepare,
    /// A device sync through another handle: every round in flight has
    /// now been synced since it was prepared (or last programmed headers).
    DevSync,
    /// The oldest round in flight, when a device sync followed it:
    /// `sync_done`; done → its records are acknowledged, otherwise it waits
    /// for another device sync.
    Done,
}

fn workload(seed: u64, appends: usize, max_len: usize) -> Vec<Op> {
    let mut r = Rng(seed);
    let mut ops = Vec::new();
    let mut n = 0;
    while n < appends {
        let len = match r.below(10) {
            0 => 0,
            1..=6 => 1 + r.below(64) as usize,
            7 | 8 => 64 + r.below(400) as usize,
            _ => r.below(max_len as u64) as usize,
        };
        ops.push(Op::Append(len));
        n += 1;
        match r.below(20) {
            0..=6 => ops.push(Op::Sync),
            7 => ops.push(Op::Checkpoint),
            8 if n % 7 == 0 => ops.push(Op::Reopen),
            _ => {}
        }
        if n % 8 == 0 {
            ops.push(Op::Checkpoint);
        }
    }
    ops.push(Op::Sync);
    ops
}

/// Appends with split syncs interleaved as concurrent writers make them: a
/// writer prepares (programs its records) while another writer's device sync
/// runs, so rounds overlap and headers of blocks started after a round was
/// prepared must wait for a later sync.
fn split_workload(seed: u64, appends: usize, max_len: usize) -> Vec<Op> {
    let mut r = Rng(seed);
    let mut ops = Vec::new();
    for n in 1..=appends {
        let len = match r.below(4) {
            0 => 1 + r.below(64) as usize,
            1 | 2 => 64 + r.below(400) as usize,
            _ => r.below(max_len as u64) as usize,
        };
        ops.push(Op::Append(len));
        match r.below(12) {
            0..=3 => ops.push(Op::Prepare),
            4 | 5 => ops.push(Op::DevSync),
            6..=8 => ops.push(Op::Done),
            9 => ops.push(Op::Sync),
            _ => {}
        }
        if n % 6 == 0 {
            ops.push(Op::Checkpoint);
        }
    }
    ops.extend([Op::Prepare, Op::DevSync, Op::Done, Op::DevSync, Op::Done]);
    ops.extend([Op::DevSync, Op::Done, Op::DevSync, Op::Done, Op::Sync]);
    ops
}

/// The bytes of the `i`-th append of a run: recognisable, so a record from the
/// wrong place can never match.
fn payload(i: usize, len: usize) -> Vec<u8> {
    let mut r = Rng(i as u64 * 0x1000_0001 + len as u64);
    (0..len).map(|_| r.next() as u8).collect()
}

/// What the test knows about the log while the workload runs.
#[derive(Default, Debug, Clone)]
struct Model {
    formatted: bool,
    records: BTreeMap<Lsn, Vec<u8>>,
    acked: Lsn,
    committed_cp: Lsn,
    requested_cp: Lsn,
}

type SimErr = pulsardb_core::storage::SimError;
type Replayed = Vec<(Lsn, Vec<u8>)>;

fn collect(dev: &mut SimDevice) -> Result<(Store<&mut SimDevice>, Replayed), Error<SimErr>> {
    let mut got = Vec::new();
    let (store, _) = Store::open(dev, StoreConfig::default(), |lsn, p| {
        got.push((lsn, p.to_vec()));
        Ok(())
    })?;
    Ok((store, got))
}

/// Checks a reopened store against the model; returns the model as the store
/// now stands (records lost from the unacknowledged tail forgotten).
fn verify(store: &Store<&mut SimDevice>, got: &[(Lsn, Vec<u8>)], m: &Model, ctx: &str) -> Model {
    let cp = store.manifest().wal.checkpoint_lsn;
    assert!(
        cp >= m.committed_cp && cp <= m.requested_cp.max(m.committed_cp),
        "{ctx}: checkpoint {cp} outside [{}, {}]",
        m.committed_cp,
        m.requested_cp
    );
    for (i, (lsn, p)) in got.iter().enumerate() {
        assert_eq!(*lsn, cp + 1 + i as u64, "{ctx}: replay out of order");
        match m.records.get(lsn) {
            Some(want) => assert_eq!(p, want, "{ctx}: record {lsn} differs"),
            None => panic!("{ctx}: record {lsn} was never appended"),
        }
    }
    let last = cp + got.len() as u64;
    assert!(
        last >= m.acked,
        "{ctx}: acknowledged record {} lost (replay ended at {last})",
        last + 1
    );
    assert_eq!(store.next_lsn(), last + 1, "{ctx}: next LSN");
    let mut now = m.clone();
    now.records.retain(|&l, _| l <= last);
    now.acked = last;
    now.committed_cp = cp;
    now.requested_cp = cp;
    now
}

/// Formats `dev` and runs `ops`, updating the model; stops at the first error.
fn run(dev: &mut SimDevice, ops: &[Op], m: &mut Model) -> Result<(), Error<SimErr>> {
    let mut store = Store::format(&mut *dev, StoreConfig::default())?;
    m.formatted = true;
    let mut appended = 0usize;
    // Split-sync rounds in flight: (LSN, synced since prepared).
    let mut rounds: std::collections::VecDeque<(Lsn, bool)> = Default::default();
    for op in ops {
        match op {
            Op::Prepare => rounds.push_back((store.prepare_sync()?, false)),
            Op::DevSync => {
                store.device_mut().sync().map_err(Error::Device)?;
                rounds.iter_mut().for_each(|r| r.1 = true);
            }
            Op::Done => {
                if let Some(&(lsn, true)) = rounds.front() {
                    if store.sync_done(lsn)? {
                        m.acked = m.acked.max(lsn);
                        rounds.pop_front();
                    } else if let Some(r) = rounds.front_mut() {
                        r.1 = false;
                    }
                }
            }
            Op::Append(len) => {
                let p = payload(appended, *len);
                appended += 1;
                let lsn = store.next_lsn();
                m.records.insert(lsn, p.clone());
                assert_eq!(store.append(&p)?, lsn);
            }
            Op::Sync => m.acked = m.acked.max(store.sync()?),
            Op::Checkpoint => {
                // Pretend the acknowledged records (every other time: the
                // older half of them) went to a table.
                let target = if m.acked % 2 == 0 {
                    m.acked
                } else {
                    (m.committed_cp + m.acked) / 2
                };
                if target > m.committed_cp {
                    m.requested_cp = m.requested_cp.max(target);
                    store.checkpoint(target)?;
                    m.committed_cp = target;
                    // A commit syncs the WAL first.
                    m.acked = m.acked.max(store.durable_lsn());
                }
            }
            Op::Reopen => {
                drop(store);
                let (s, got) = collect(&mut *dev)?;
                *m = verify(&s, &got, m, "clean reopen");
                store = s;
            }
        }
    }
    Ok(())
}

const SMALL: Geometry = Geometry {
    block_size: 512,
    block_count: 32,
    write_size: 4,
};

const LARGE: Geometry = Geometry {
    block_size: 1024,
    block_count: 64,
    write_size: 8,
};

/// What the cut runs did.
#[derive(Default, Debug)]
struct Tally {
    runs: u64,
    cut_in_format: u64,
    cut_in_workload: u64,
    no_cut: u64,
    replayed: u64,
}

/// Runs `ops` with `cut` armed, power-cycles, reopens and verifies; then
/// writes more on the recovered store and verifies a clean reopen.
fn cut_and_check(
    geo: Geometry,
    ops: &[Op],
    cut: CutTrigger,
    k: u64,
    fill: EraseFill,
    t: &mut Tally,
) {
    let ctx = format!("{cut:?} policy {:?} fill {fill:?}", policy_for(k));
    t.runs += 1;
    let mut dev = sim(geo, fill);
    dev.set_faults(Some(cut), policy_for(k), k, None);
    let mut m = Model::default();
    match run(&mut dev, ops, &mut m) {
        Ok(()) => t.no_cut += 1,
        Err(Error::Device(_)) if !m.formatted => t.cut_in_format += 1,
        Err(Error::Device(_)) => t.cut_in_workload += 1,
        Err(e) => panic!("{ctx}: unexpected error {e:?}"),
    }
    dev.cut_now();
    let mut dev = dev.power_cycle();
    if !m.formatted {
        match Store::open(&mut dev, StoreConfig::default(), |_, _| Ok(())) {
            Ok(_) | Err(Error::NotFormatted) => return,
            Err(e) => panic!("{ctx}: after a cut in format: {e:?}"),
        }
    }
    let (mut s, got) = collect(&mut dev)
        .unwrap_or_else(|e| panic!("{ctx}: store did not open after the cut: {e}"));
    t.replayed += got.len() as u64;
    let mut m = verify(&s, &got, &m, &ctx);
    // The recovered store keeps working.
    for i in 0..3 {
        let p = payload(10_000 + i, 1 + i * 300);
        let lsn = s
            .append(&p)
            .unwrap_or_else(|e| panic!("{ctx}: append after recovery: {e:?}"));
        m.records.insert(lsn, p);
    }
    m.acked = s
        .sync()
        .unwrap_or_else(|e| panic!("{ctx}: sync after recovery: {e:?}"));
    drop(s);
    let (s2, got) =
        collect(&mut dev).unwrap_or_else(|e| panic!("{ctx}: reopen after recovery: {e:?}"));
    verify(&s2, &got, &m, &format!("{ctx} (after recovery)"));
}

/// Counts the programmed bytes, erases and syncs of an uncut run.
fn measure(geo: Geometry, ops: &[Op]) -> (u64, u64, u64) {
    let mut dev = sim(geo, EraseFill::Ones);
    let mut m = Model::default();
    run(&mut dev, ops, &mut m).expect("uncut run");
    let s = dev.stats();
    (s.bytes_programmed, s.erases, s.syncs)
}

/// Cuts `ops` on `SMALL` at every programmed byte (see [`all_cuts`]), erase
/// and sync; returns the tally and the uncut run's programmed bytes, erases
/// and syncs.
fn every_cut(ops: &[Op]) -> (Tally, u64, u64, u64) {
    let (bytes, erases, syncs) = measure(SMALL, ops);
    let cuts = all_cuts(bytes, erases, syncs);
    let mut t = Tally::default();
    for (k, cut) in cuts.iter().enumerate() {
        cut_and_check(SMALL, ops, *cut, k as u64, fill_for(k as u64), &mut t);
    }
    assert_eq!(t.runs, cuts.len() as u64);
    assert_eq!(t.runs, bytes.div_ceil(cut_stride()) + erases + syncs);
    (t, bytes, erases, syncs)
}

#[test]
fn exhaustive_cuts_small_workload() {
    let ops = workload(7, 220, 1400);
    let appends = ops.iter().filter(|o| matches!(o, Op::Append(_))).count();
    let (t, bytes, erases, syncs) = every_cut(&ops);
    println!(
        "exhaustive: {appends} appends; cut points tried: {} ({bytes} programmed bytes cut {}, {erases} erases, {syncs} syncs); \
         cut in format {}, cut in workload {}, no cut {}; records replayed {}",
        t.runs,
        stride_text(),
        t.cut_in_format,
        t.cut_in_workload,
        t.no_cut,
        t.replayed
    );
    assert!(appends >= 200);
    assert!(
        t.cut_in_workload > t.runs / 2,
        "most cuts must land in the workload"
    );
}

#[test]
fn exhaustive_cuts_split_sync() {
    let ops = split_workload(11, 160, 1400);
    let prepares = ops.iter().filter(|o| matches!(o, Op::Prepare)).count();
    let (t, bytes, erases, syncs) = every_cut(&ops);
    println!(
        "split sync: {} ops, {prepares} prepared rounds; cut points tried: {} ({bytes} programmed bytes cut {}, {erases} erases, {syncs} syncs); \
         cut in workload {}, no cut {}; records replayed {}",
        ops.len(),
        t.runs,
        stride_text(),
        t.cut_in_workload,
        t.no_cut,
        t.replayed
    );
    assert!(t.cut_in_workload > t.runs / 2);
}

/// A program unit (64 bytes) that does not divide the WAL block header: the
/// WAL syncs each block before starting the next instead of deferring the
/// next block's header to the group commit.
const WIDE_UNIT: Geometry = Geometry {
    block_size: 1024,
    block_count: 64,
    write_size: 64,
};

fn random_cuts(geo: Geometry, runs: u64) -> Tally {
    let ops = workload(99, 600, 4000);
    let (bytes, erases, syncs) = measure(geo, &ops);
    let mut r = Rng(2024);
    let mut t = Tally::default();
    for k in 0..runs {
        let cut = match r.below(10) {
            0..=6 => CutTrigger::ProgrammedByte(1 + r.below(bytes)),
            7 | 8 => CutTrigger::Erase(1 + r.below(erases)),
            _ => CutTrigger::Sync(1 + r.below(syncs)),
        };
        cut_and_check(geo, &ops, cut, r.next(), fill_for(k), &mut t);
    }
    println!(
        "random (program unit {}): {runs} seeded cuts over {bytes} programmed bytes / {erases} erases / {syncs} syncs; \
         cut in format {}, cut in workload {}, no cut {}; records replayed {}",
        geo.write_size, t.cut_in_format, t.cut_in_workload, t.no_cut, t.replayed
    );
    assert_eq!(t.runs, runs);
    assert_eq!(t.no_cut, 0, "every run must be cut");
    t
}

fn random_cut_runs() -> u64 {
    std::env::var("PULSARDB_RANDOM_CUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

#[test]
fn random_cuts_larger_workload() {
    random_cuts(LARGE, random_cut_runs());
}

#[test]
fn random_cuts_wide_program_unit() {
    random_cuts(WIDE_UNIT, random_cut_runs() / 4);
}

/// Classifies what a store opened on a damaged image returned.
#[derive(Default, Debug)]
struct FlipTally {
    flips: u64,
    harmless: u64,
    detected: u64,
    truncated_last: u64,
}

#[test]
fn every_single_bit_flip_is_detected_or_harmless() {
    // A small store with history: syncs in groups, checkpoints, a reopen
    // (which abandons a tail), and a final stretch of records synced one by one.
    let mut ops = workload(3, 40, 900);
    ops.push(Op::Reopen);
    for i in 0..6 {
        ops.push(Op::Append(10 + i * 37));
        ops.push(Op::Sync);
    }
    let mut dev = sim(SMALL, EraseFill::Ones);
    let mut m = Model::default();
    run(&mut dev, &ops, &mut m).expect("clean run");
    let clean = dev.power_cycle();
    let (expected, cp) = {
        let mut d = clean.clone();
        let (s, got) = collect(&mut d).expect("clean open");
        (got, s.manifest().wal.checkpoint_lsn)
    };
    assert!(expected.len() >= 6, "the store must hold records to damage");
    let mut t = FlipTally::default();
    let bits = SMALL.block_size as u64 * 8;
    for block in 0..SMALL.block_count {
        for bit in 0..bits {
            t.flips += 1;
            let mut d = clean.clone();
            d.flip_bit(block, (bit / 8) as u32, (bit % 8) as u8);
            let ctx = format!("flip block {block} byte {} bit {}", bit / 8, bit % 8);
            let mut got = Vec::new();
            let r = Store::open(&mut d, StoreConfig::default(), |lsn, p| {
                got.push((lsn, p.to_vec()));
                Ok(())
            });
            match r {
                Err(Error::Corrupted(_)) => t.detected += 1,
                Err(e) => panic!("{ctx}: unexpected error {e:?}"),
                Ok((s, _)) => {
                    assert_eq!(s.manifest().wal.checkpoint_lsn, cp, "{ctx}");
                    for (g, w) in got.iter().zip(&expected) {
                        assert_eq!(g, w, "{ctx}: a wrong record was returned");
                    }
                    if got.len() == expected.len() {
                        t.harmless += 1;
                    } else if got.len() + 1 == expected.len() {
                        t.truncated_last += 1;
                    } else {
                        panic!(
                            "{ctx}: {} of {} records replayed",
                            got.len(),
                            expected.len()
                        );
                    }
                }
            }
        }
    }
    println!(
        "bit flips: {} tried over {} blocks; detected (Corrupted) {}, torn-tail truncation of the last record {}, harmless {}",
        t.flips, SMALL.block_count, t.detected, t.truncated_last, t.harmless
    );
    assert_eq!(t.flips, t.detected + t.truncated_last + t.harmless);
    assert!(t.detected > 0 && t.truncated_last > 0);
}

#[test]
fn final_group_damage_is_truncated_and_counted() {
    // Several records synced together at the end: damage to the first of them
    // cannot be told from a torn write of that group, so replay truncates it —
    // and reports the valid fragments it discarded.
    let mut dev = sim(SMALL, EraseFill::Ones);
    let mut s = Store::format(&mut dev, StoreConfig::default()).unwrap();
    s.append(b"synced alone").unwrap();
    s.sync().unwrap();
    for i in 0..4u8 {
        s.append(&[i; 20]).unwrap();
    }
    s.sync().unwrap();
    drop(s);
    // Find the first record of the final group in the image and damage it.
    let img = dev.durable_image().to_vec();
    let needle = [0u8; 20];
    let at = img
        .windows(20)
        .position(|w| w == needle)
        .expect("record in image");
    let (block, off) = ((at / 512) as u32, (at % 512) as u32);
    dev.flip_bit(block, off, 0);
    let mut got = Vec::new();
    let (_, report) = Store::open(&mut dev, StoreConfig::default(), |l, p| {
        got.push((l, p.to_vec()));
        Ok(())
    })
    .unwrap();
    assert_eq!(got, vec![(1, b"synced alone".to_vec())]);
    assert_eq!(report.discarded_fragments, 3);
}

#[test]
fn injected_io_errors_never_panic_and_the_store_reopens() {
    let ops = workload(11, 60, 900);
    let total_ops = {
        let mut dev = sim(SMALL, EraseFill::Ones);
        let mut m = Model::default();
        run(&mut dev, &ops, &mut m).expect("clean run");
        dev.ops()
    };
    let mut failed_writes = 0u64;
    let mut failed_in_open = 0u64;
    for k in 1..=total_ops {
        let ctx = format!("fail op {k}");
        let mut dev = sim(SMALL, fill_for(k));
        dev.set_faults(None, pulsardb_core::storage::CutPolicy::Random, k, Some(k));
        let mut m = Model::default();
        match run(&mut dev, &ops, &mut m) {
            Err(Error::Device(pulsardb_core::storage::SimError::Injected)) => failed_writes += 1,
            Err(e) => panic!("{ctx}: unexpected error {e:?}"),
            Ok(()) => panic!("{ctx}: the failure was not reported"),
        }
        if !m.formatted {
            continue;
        }
        // Restart the process (same media) and, separately, power-cycle.
        for (name, mut d) in [("restart", dev.clone()), ("power cycle", dev.power_cycle())] {
            let (s, got) = match collect(&mut d) {
                Ok(x) => x,
                Err(e) => panic!("{ctx} then {name}: store did not open: {e:?}"),
            };
            verify(&s, &got, &m, &format!("{ctx} then {name}"));
        }
        // A failure while opening is reported, and a retry opens.
        let mut d = dev.power_cycle();
        d.set_faults(
            None,
            pulsardb_core::storage::CutPolicy::Random,
            0,
            Some(1 + k % 5),
        );
        if collect(&mut d).is_err() {
            failed_in_open += 1;
            let mut d = dev.power_cycle();
            let (s, got) = collect(&mut d).unwrap_or_else(|e| panic!("{ctx}: retry open: {e:?}"));
            verify(&s, &got, &m, &ctx);
        }
    }
    println!(
        "io errors: failed each of {total_ops} device operations in turn ({failed_writes} reported as errors); {failed_in_open} failed opens retried"
    );
    assert_eq!(failed_writes, total_ops);
}

#[test]
fn poisoned_after_a_device_error() {
    let mut dev = sim(SMALL, EraseFill::Ones);
    let mut s = Store::format(&mut dev, StoreConfig::default()).unwrap();
    s.append(b"a").unwrap();
    let next_op = s.device().ops() + 1;
    s.device_mut().set_faults(
        None,
        pulsardb_core::storage::CutPolicy::Random,
        0,
        Some(next_op),
    );
    assert!(matches!(s.sync(), Err(Error::Device(_))));
    assert!(s.is_poisoned());
    assert_eq!(s.append(b"b"), Err(Error::Poisoned));
    assert_eq!(s.sync(), Err(Error::Poisoned));
}

#[test]
fn geometry_must_match() {
    let mut dev = sim(SMALL, EraseFill::Ones);
    drop(Store::format(&mut dev, StoreConfig::default()).unwrap());
    let img = dev.durable_image().to_vec();
    // Same bytes on a device with another block size: the superblock is still
    // found (it is at offset 0), and refused with both shapes in the message.
    let other = Geometry {
        block_size: 1024,
        block_count: 16,
        write_size: 4,
    };
    let mut d2 = sim(other, EraseFill::Ones);
    d2.erase(0).unwrap();
    d2.program(0, 0, &img[..512]).unwrap();
    match Store::open(&mut d2, StoreConfig::default(), |_, _| Ok(())) {
        Err(e @ Error::GeometryMismatch { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("512") && msg.contains("1024"), "{msg}");
        }
        Err(e) => panic!("unexpected {e:?}"),
        Ok(_) => panic!("opened on the wrong geometry"),
    }
    // A blank device is not a store.
    let mut blank = sim(SMALL, EraseFill::Ones);
    assert!(matches!(
        Store::open(&mut blank, StoreConfig::default(), |_, _| Ok(())),
        Err(Error::NotFormatted)
    ));
}
