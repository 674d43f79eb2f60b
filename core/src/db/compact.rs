//! Time-window compaction.
//!
//! Tables belong to time windows. Within a window, compaction is tiered: a
//! flush makes a level-0 table (encoded fast: it will be rewritten), and
//! when a window holds more than `max_tables_per_window` tables of one
//! level, those are merged into one table a level up, encoded with the best
//! effort. Once the window has closed (`window_end + grace` passed), all its
//! tables are merged into one (a lone level-0 table too, to re-encode it);
//! late data flushed into an old window is merged the same way.
//!
//! Sparse data leaves most windows with a table of a few kilobytes, and a
//! table takes whole blocks (16 KiB in a gateway's file): a sensor writing
//! once a minute would use a block per week for a few kilobytes. So closed
//! windows holding one small table each are *packed*: neighbouring ones are
//! merged into one table of up to four blocks when that takes fewer blocks
//! than the tables apart. A packed table spans
//! several windows (its `window_start` is its oldest point's window, the
//! window of its `max_ts` its last); the manifest format is unchanged.
//! Compaction, retention and capacity drops work on *groups*, the tables
//! whose window spans overlap (see [`groups`]): late data flushed into a
//! packed window belongs to the packed table's group, so the two are merged
//! together and newer data keeps winning. Retention drops a group once its
//! last window has expired; a packed table whose older windows alone have
//! expired is rewritten without them.
//!
//! Why tiers: merging *all* of an open window's tables whenever there are
//! more than N would rewrite the window's accumulated data every N flushes —
//! quadratic in the flushes per window, the SD-card wear this exists to
//! avoid. With tiers a point is rewritten about log_N(flushes per window)
//! times, and the table count of an open window stays N per level.
//!
//! A merge's output takes the highest id of its inputs: ids order tables by
//! the age of their data (higher wins on equal timestamps), and a table
//! being flushed meanwhile, whose id was handed out before, holds newer data
//! than every input. Merges at one level take all of that level's tables,
//! whose ids all lie above the higher levels' and below the lower ones', so
//! no table outside a merge falls between its inputs.
//! Merging streams series by series with one decoded chunk per input table:
//! RAM is the inputs' indexes (1–2 % of their size) plus a chunk per input.
//! On equal timestamps the newer table (higher id) wins; tombstones newer than
//! an input drop its deleted points, which is how deletes leave the store.
//!
//! Like a flush, a compaction runs in three steps so a server never holds its
//! lock while merging: [`Db::plan_compaction`], [`CompactionJob::write`],
//! [`Db::finish_compaction`]. Tables the commit retires stay readable until
//! no query snapshot holds them; then their blocks are freed.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::Db;
use super::tombstone::Tombstone;
use crate::error::Error;
use crate::layout::stream::BlockSource;
use crate::manifest::{Extent, TableEntry};
use crate::sstable::reader::{ChunkScratch, IndexCursor};
use crate::sstable::{TableReader, TableWriter};
use crate::storage::{BlockDevice, BlockId};

/// A compaction in progress.
#[derive(Debug)]
pub struct CompactionJob {
    inputs: Vec<Arc<TableReader>>,
    tombstones: Vec<Tombstone>,
    window_start: i64,
    window_ns: i64,
    /// Points older than this are left out (retention of a packed table).
    keep_from: i64,
    /// A packing of small tables.
    pack: bool,
    out_id: u64,
    level: u8,
    block_size: u32,
    chunk_points: usize,
    output: Option<TableEntry>,
    /// Written, and nothing was left: the inputs are removed, no output.
    empty: bool,
    taken: Vec<Extent>,
    /// Bytes of the input tables.
    pub bytes_in: u64,
    /// Points read.
    pub points_in: u64,
}

/// Per input: its index and a cursor over one series' chunks.
struct Input<'a> {
    table: &'a TableReader,
    /// The input's index, a page at a time.
    index: IndexCursor,
    /// Tombstones that apply to this input (newer than its data).
    tombs: Vec<&'a Tombstone>,
}

impl CompactionJob {
    /// The window being compacted.
    pub fn window_start(&self) -> i64 {
        self.window_start
    }

    /// Tables merged.
    pub fn inputs(&self) -> usize {
        self.inputs.len()
    }

    /// Merges the inputs into one table, taking blocks from `src`.
    pub fn write<D: BlockDevice, S: BlockSource>(
        &mut self,
        dev: &mut D,
        src: &mut S,
    ) -> Result<(), Error<D::Error>> {
        let mut ins: Vec<Input<'_>> = Vec::with_capacity(self.inputs.len());
        for t in &self.inputs {
            let tombs = self
                .tombstones
                .iter()
                .filter(|x| x.lsn > t.entry.max_lsn)
                .collect();
            ins.push(Input {
                table: t,
                index: IndexCursor::default(),
                tombs,
            });
        }
        let mut w =
            TableWriter::new(self.out_id, self.block_size).with_chunk_points(self.chunk_points);
        let r = merge(
            dev,
            src,
            &mut ins,
            &mut w,
            self.keep_from,
            &mut self.points_in,
        );
        let r = r.and_then(|()| w.finish(dev, src));
        match r {
            Ok(sum) if sum.points == 0 => {
                // Everything was deleted: the inputs go without an output.
                self.taken.extend_from_slice(&sum.extents);
                self.empty = true;
                Ok(())
            }
            Ok(sum) => {
                self.taken.extend_from_slice(&sum.extents);
                // The output has every tombstone of the plan applied: it is
                // as of the newest of them, so they no longer apply to it
                // (and are dropped once nothing older needs them).
                let max_lsn = self
                    .inputs
                    .iter()
                    .map(|t| t.entry.max_lsn)
                    .chain(self.tombstones.iter().map(|t| t.lsn))
                    .max()
                    .unwrap_or(0);
                // A packed or trimmed table starts at its oldest point's window.
                let window_start = self
                    .window_start
                    .max(super::flush::window_of(sum.min_ts, self.window_ns));
                self.output = Some(TableEntry {
                    id: self.out_id,
                    level: self.level,
                    window_start,
                    min_ts: sum.min_ts,
                    max_ts: sum.max_ts,
                    max_lsn,
                    points: sum.points,
                    len: sum.len,
                    extents: sum.extents,
                });
                Ok(())
            }
            Err(e) => {
                self.taken.extend(w.abandon());
                Err(e)
            }
        }
    }
}

/// One input's decoded chunk and position in it.
struct Head {
    ts: Vec<i64>,
    bits: Vec<u64>,
    pos: usize,
    next_chunk: usize,
}

fn merge<D: BlockDevice, S: BlockSource>(
    dev: &mut D,
    src: &mut S,
    ins: &mut [Input<'_>],
    w: &mut TableWriter,
    keep_from: i64,
    points_in: &mut u64,
) -> Result<(), Error<D::Error>> {
    let mut scratch = ChunkScratch::default();
    let mut heads: Vec<Option<Head>> = (0..ins.len()).map(|_| None).collect();
    let chunk = w.chunk_points();
    let mut out_ts: Vec<i64> = Vec::with_capacity(chunk);
    let mut out_bits: Vec<u64> = Vec::with_capacity(chunk);
    // Bounded: every round consumes one series from at least one input.
    loop {
        for i in ins.iter_mut() {
            i.index.fill(i.table, dev)?;
        }
        let Some(sid) = ins
            .iter()
            .filter_map(|i| i.index.front().map(|s| s.id))
            .min()
        else {
            return Ok(());
        };
        let mut ty = None;
        for (k, i) in ins.iter().enumerate() {
            if let Some(s) = i.index.front()
                && s.id == sid
            {
                if ty.is_some_and(|t| t != s.ty) {
                    return Err(Error::Corrupted(crate::error::Corruption {
                        what: "tables disagree on a series' field type",
                        block: i.table.entry.extents.first().map_or(0, |e| e.start),
                        offset: 0,
                    }));
                }
                ty = Some(s.ty);
                if let Some(h) = heads.get_mut(k) {
                    *h = Some(Head {
                        ts: Vec::new(),
                        bits: Vec::new(),
                        pos: 0,
                        next_chunk: 0,
                    });
                }
            }
        }
        let Some(ty) = ty else { return Ok(()) };
        // k-way merge of this series.
        loop {
            // Refill exhausted heads from their next chunk.
            for (k, i) in ins.iter().enumerate() {
                let Some(Some(h)) = heads.get_mut(k) else {
                    continue;
                };
                while h.pos >= h.ts.len() {
                    let Some(chunks) = i.index.front().map(|s| &s.chunks) else {
                        break;
                    };
                    let Some(m) = chunks.get(h.next_chunk) else {
                        break;
                    };
                    h.ts.clear();
                    h.bits.clear();
                    h.pos = 0;
                    i.table
                        .read_chunk(dev, ty, m, &mut h.ts, &mut h.bits, &mut scratch)?;
                    *points_in += h.ts.len() as u64;
                    h.next_chunk += 1;
                }
            }
            // The smallest timestamp; the newest table (highest id) wins ties.
            let mut best: Option<(i64, u64, usize)> = None;
            for (k, i) in ins.iter().enumerate() {
                let Some(Some(h)) = heads.get(k) else {
                    continue;
                };
                let Some(&t) = h.ts.get(h.pos) else { continue };
                let id = i.table.entry.id;
                if best.is_none_or(|(bt, bid, _)| t < bt || (t == bt && id > bid)) {
                    best = Some((t, id, k));
                }
            }
            let Some((t, _, k)) = best else { break };
            let bit = heads
                .get(k)
                .and_then(|h| h.as_ref())
                .and_then(|h| h.bits.get(h.pos))
                .copied()
                .unwrap_or(0);
            // Advance every input past this timestamp (older duplicates lose).
            for h in heads.iter_mut().flatten() {
                if h.ts.get(h.pos) == Some(&t) {
                    h.pos += 1;
                }
            }
            let deleted = ins
                .get(k)
                .is_some_and(|i| i.tombs.iter().any(|x| x.covers(sid, t)));
            if !deleted && t >= keep_from {
                out_ts.push(t);
                out_bits.push(bit);
                if out_ts.len() == chunk {
                    w.push(dev, src, sid, ty, &out_ts, &out_bits)?;
                    out_ts.clear();
                    out_bits.clear();
                }
            }
        }
        w.push(dev, src, sid, ty, &out_ts, &out_bits)?;
        out_ts.clear();
        out_bits.clear();
        w.end_series(dev, src)?;
        for (k, i) in ins.iter_mut().enumerate() {
            if i.index.front().is_some_and(|s| s.id == sid) {
                i.index.advance();
            }
            if let Some(h) = heads.get_mut(k) {
                *h = None;
            }
        }
    }
}

impl<D: BlockDevice> Db<D> {
    /// Runs one compaction in place (plan, merge, commit); `None` if no
    /// window needs one.
    pub fn compact(
        &mut self,
        now_ns: i64,
        grace_ns: i64,
    ) -> Result<Option<CompactionOutcome>, Error<D::Error>> {
        let Some(mut job) = self.plan_compaction(now_ns, grace_ns) else {
            return Ok(None);
        };
        let r = self
            .store
            .writer_parts()
            .and_then(|(dev, alloc)| job.write(dev, alloc));
        match r {
            Ok(()) => self.finish_compaction(job).map(Some),
            Err(e) => {
                self.abort_compaction(job);
                if matches!(e, Error::Device(_)) {
                    self.store.poison();
                }
                Err(e)
            }
        }
    }

    /// Picks tables to merge, by rule, first match:
    ///
    /// 1. *crowded*: the group with the longest run of same-level tables
    ///    beyond `max_tables_per_window`;
    /// 2. *closed*: the oldest closed group (its last window's end plus
    ///    `grace_ns` before `now_ns`) holding several tables, or a flush's;
    /// 3. *purge*: the oldest group holding a table a tombstone applies to
    ///    (rewriting it removes the deleted points, then the tombstone);
    /// 4. *expired*: the oldest group holding points older than the
    ///    retention cutoff while it is not wholly expired (a packed table
    ///    whose oldest windows passed the cutoff): rewritten without them;
    /// 5. *pack*: the oldest run of neighbouring closed groups of one table
    ///    each that together fit in four blocks and take fewer blocks than
    ///    apart.
    ///
    /// `None` if there is nothing to do or a compaction runs.
    pub fn plan_compaction(&mut self, now_ns: i64, grace_ns: i64) -> Option<CompactionJob> {
        if self.compaction_running || self.store.is_poisoned() {
            return None;
        }
        let w = self.cfg.window_ns.max(1);
        let bs = u64::from(self.store.geometry().block_size);
        let mut groups = groups(&self.tables, w);
        for g in &mut groups {
            crate::sort::sort_by_key(&mut g.tables, |t| t.entry.id);
        }
        let closed_at = |g: &Group<'_>| g.last.saturating_add(w).saturating_add(grace_ns) < now_ns;
        // The longest run of same-level tables (consecutive by id within the
        // group) beyond the limit: a merge takes a run, so no table outside
        // it has an id between its inputs'.
        let mut crowded: Option<(usize, usize, usize)> = None;
        for (gi, g) in groups.iter().enumerate() {
            let mut i = 0;
            while let Some(first) = g.tables.get(i) {
                let level = first.entry.level;
                let run = g
                    .tables
                    .get(i..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|t| t.entry.level == level)
                    .count()
                    .max(1);
                if run > self.cfg.max_tables_per_window && crowded.is_none_or(|c| run > c.0) {
                    crowded = Some((run, gi, i));
                }
                i += run;
            }
        }
        let closed = || {
            groups.iter().position(|g| {
                // Several tables, or a flush's (written fast): merged into
                // one, encoded with the best effort.
                (g.tables.len() > 1 || g.tables.iter().any(|t| t.entry.level == 0)) && closed_at(g)
            })
        };
        let purge = || {
            groups.iter().position(|g| {
                g.tables.iter().any(|t| {
                    self.tombstones
                        .iter()
                        .any(|x| x.applies_to(t.entry.max_lsn, t.entry.min_ts, t.entry.max_ts))
                })
            })
        };
        let cutoff = self.min_write_ts;
        let keep_from = if cutoff == i64::MIN {
            i64::MIN
        } else {
            super::flush::window_of(cutoff, w)
        };
        let expired = || {
            groups.iter().position(|g| {
                keep_from != i64::MIN && g.tables.iter().any(|t| t.entry.min_ts < keep_from)
            })
        };
        let max_inputs = self.cfg.max_merge_inputs.max(2);
        let mut pack = false;
        let (inputs, window_start, keep_from): (Vec<Arc<TableReader>>, i64, i64) =
            if let Some((run, gi, at)) = crowded {
                let g = groups.get(gi)?;
                let t = g.tables.iter().skip(at).take(run.min(max_inputs));
                (t.map(|t| Arc::clone(t)).collect(), g.key, i64::MIN)
            } else if let Some((gi, keep)) = closed()
                .map(|gi| (gi, i64::MIN))
                .or_else(|| purge().map(|gi| (gi, i64::MIN)))
                .or_else(|| expired().map(|gi| (gi, keep_from)))
            {
                // At most `max_merge_inputs`, the oldest first: each input
                // holds a decoded chunk and an index page while merging.
                let g = groups.get(gi)?;
                let t = g.tables.iter().take(max_inputs);
                (t.map(|t| Arc::clone(t)).collect(), g.key, keep)
            } else {
                let run = pack_run(&groups, bs, max_inputs, closed_at)?;
                pack = true;
                let key = run.first()?.key;
                let t = run.iter().filter_map(|g| g.tables.first());
                (t.map(|t| Arc::clone(t)).collect(), key, i64::MIN)
            };
        let level = inputs
            .iter()
            .map(|t| t.entry.level)
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        let out_id = inputs.iter().map(|t| t.entry.id).max()?;
        self.compaction_running = true;
        Some(CompactionJob {
            bytes_in: inputs.iter().map(|t| t.entry.len).sum(),
            points_in: 0,
            tombstones: self.tombstones.clone(),
            inputs,
            window_start,
            window_ns: w,
            keep_from,
            pack,
            out_id,
            level,
            block_size: self.store.geometry().block_size,
            chunk_points: self.cfg.chunk_points,
            output: None,
            empty: false,
            taken: Vec::new(),
        })
    }

    /// Gives up a compaction; its blocks are released.
    pub fn abort_compaction(&mut self, job: CompactionJob) {
        self.release_all(&job.taken);
        self.compaction_running = false;
    }

    /// Commits a written compaction: its output replaces its inputs.
    pub fn finish_compaction(
        &mut self,
        mut job: CompactionJob,
    ) -> Result<CompactionOutcome, Error<D::Error>> {
        self.compaction_running = false;
        let ids: Vec<u64> = job.inputs.iter().map(|t| t.entry.id).collect();
        // Inputs dropped by retention meanwhile: the output is stale.
        let stale = !ids
            .iter()
            .all(|id| self.tables.iter().any(|t| t.entry.id == *id));
        if stale || (job.output.is_none() && !job.empty) {
            self.release_all(&job.taken);
            return Ok(CompactionOutcome::default());
        }
        if job.empty {
            // The blocks of the empty table were never committed.
            self.release_all(&job.taken);
            job.inputs.clear();
            self.remove_tables(&ids)?;
            self.count_kind(&job);
            self.counters.compactions += 1;
            self.counters.compacted_points_in += job.points_in;
            self.counters.compacted_bytes_in += job.bytes_in;
            return Ok(CompactionOutcome {
                inputs: ids.len(),
                bytes_in: job.bytes_in,
                bytes_out: 0,
                points: 0,
            });
        }
        let Some(out) = job.output.clone() else {
            return Ok(CompactionOutcome::default());
        };
        let added = out.clone();
        let next_table = self.next_table_id;
        let remaining_tombs = self.tombstones_after(&ids, Some(&out));
        let tombs = remaining_tombs.clone();
        let r = self.store.commit(
            |m| {
                m.tables.retain(|t| !ids.contains(&t.id));
                m.tables.push(added);
                crate::sort::sort_by_key(&mut m.tables, |t| t.id);
                m.next_table_id = m.next_table_id.max(next_table);
                m.tombstones = tombs;
            },
            0,
            &[],
        );
        if let Err(e) = r {
            if !matches!(e, Error::Device(_) | Error::Corrupted(_)) {
                self.release_all(&job.taken);
            }
            return Err(e);
        }
        self.tombstones = remaining_tombs;
        let reader = self.open_table(&out)?;
        let mut retired = Vec::new();
        self.tables.retain(|t| {
            if ids.contains(&t.entry.id) {
                retired.push(Arc::clone(t));
                false
            } else {
                true
            }
        });
        self.tables.push(Arc::new(reader));
        crate::sort::sort_by_key(&mut self.tables, |t| t.entry.id);
        self.retired.extend(retired);
        // The job's own references would keep the inputs' blocks.
        job.inputs.clear();
        self.reap();
        self.count_kind(&job);
        self.counters.compactions += 1;
        self.counters.compacted_bytes_in += job.bytes_in;
        self.counters.compacted_points_in += job.points_in;
        self.counters.compacted_bytes_out += out.len;
        Ok(CompactionOutcome {
            inputs: ids.len(),
            bytes_in: job.bytes_in,
            bytes_out: out.len,
            points: out.points,
        })
    }

    fn count_kind(&mut self, job: &CompactionJob) {
        if job.pack {
            self.counters.packs += 1;
        }
        if job.keep_from != i64::MIN {
            self.counters.retention_rewrites += 1;
        }
    }

    /// Frees the blocks of retired tables no query still reads.
    pub fn reap(&mut self) {
        let (done, keep): (Vec<_>, Vec<_>) = core::mem::take(&mut self.retired)
            .into_iter()
            .partition(|t| Arc::strong_count(t) == 1);
        self.retired = keep;
        if done.is_empty() {
            return;
        }
        // A table moved down keeps its id and the blocks that did not move:
        // those stay, in use by its live copy or by a retired copy a query
        // still reads.
        let mut held: Vec<BlockId> = Vec::new();
        for t in self.tables.iter().chain(&self.retired) {
            if done.iter().any(|d| d.entry.id == t.entry.id) {
                held.extend(t.entry.blocks());
            }
        }
        let mut free: Vec<BlockId> = done.iter().flat_map(|t| t.entry.blocks()).collect();
        crate::sort::sort_by_key(&mut free, |&b| b);
        free.dedup();
        crate::sort::sort_by_key(&mut held, |&b| b);
        for b in free {
            if held.binary_search(&b).is_err() {
                self.store.free_committed(b);
            }
        }
    }
}

/// What a compaction did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompactionOutcome {
    /// Tables merged (0: nothing committed).
    pub inputs: usize,
    /// Bytes read.
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
    /// Points in the output.
    pub points: u64,
}

/// The windows a table holds points of: from its `window_start` to the
/// window of its newest point (the same one unless the table is packed).
pub(crate) fn span(e: &TableEntry, w: i64) -> (i64, i64) {
    let first = e.window_start;
    (first, super::flush::window_of(e.max_ts, w).max(first))
}

/// Tables whose windows overlap, directly or through others: the unit of
/// compaction and retention. A packed table spanning several windows and
/// the late data flushed into any of them are one group, so merges and
/// drops see every table that may hold the same (series, timestamp).
#[derive(Debug)]
pub(crate) struct Group<'a> {
    /// Its first window.
    pub key: i64,
    /// Its last window.
    pub last: i64,
    /// Its tables.
    pub tables: Vec<&'a Arc<TableReader>>,
}

/// The groups of `tables`, oldest first.
pub(crate) fn groups(tables: &[Arc<TableReader>], w: i64) -> Vec<Group<'_>> {
    let mut by_start: Vec<(i64, i64, &Arc<TableReader>)> = tables
        .iter()
        .map(|t| {
            let (a, b) = span(&t.entry, w);
            (a, b, t)
        })
        .collect();
    crate::sort::sort_by_key(&mut by_start, |&(a, b, t)| (a, b, t.entry.id));
    let mut out: Vec<Group<'_>> = Vec::new();
    for (a, b, t) in by_start {
        match out.last_mut() {
            Some(g) if a <= g.last => {
                g.last = g.last.max(b);
                g.tables.push(t);
            }
            _ => out.push(Group {
                key: a,
                last: b,
                tables: alloc::vec![t],
            }),
        }
    }
    out
}

/// Packed tables hold at most this many blocks: enough that tables of a
/// few kilobytes to a block each share blocks, few enough that rewriting a
/// packed table whose oldest windows expired stays cheap.
const PACK_BLOCKS: u64 = 4;

/// The oldest run of neighbouring groups worth packing into one table: each
/// closed and holding one table, together at most [`PACK_BLOCKS`] blocks,
/// at least two of them, and taking at least one block less packed than
/// apart (each table takes whole blocks). A window of sparse data otherwise
/// holds a block, most of it unused, for its table's few kilobytes.
fn pack_run<'g, 'a>(
    groups: &'g [Group<'a>],
    block_size: u64,
    max_inputs: usize,
    closed: impl Fn(&Group<'_>) -> bool,
) -> Option<&'g [Group<'a>]> {
    let bs = block_size.max(1);
    let limit = bs * PACK_BLOCKS;
    let small = |g: &Group<'_>| {
        closed(g) && g.tables.len() == 1 && g.tables.first().is_some_and(|t| t.entry.len <= limit)
    };
    let mut i = 0;
    while i < groups.len() {
        let (mut j, mut bytes, mut apart) = (i, 0u64, 0u64);
        while let Some(g) = groups.get(j) {
            let len = g.tables.first().map_or(0, |t| t.entry.len);
            if !small(g) || bytes + len > limit || j - i == max_inputs {
                break;
            }
            bytes += len;
            apart += len.div_ceil(bs);
            j += 1;
        }
        if j - i >= 2 && apart > bytes.div_ceil(bs) {
            return groups.get(i..j);
        }
        i = j.max(i + 1);
    }
    None
}
