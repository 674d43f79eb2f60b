//! Flush: memtable → tables (one per time window) + catalog segment, then one
//! commit that adds them and moves the WAL checkpoint past their records.
//!
//! In three steps, so that a server can write tables without holding its
//! lock: [`Db::begin_flush`] freezes the memtable (brief), [`FlushJob::write`]
//! encodes and writes the tables through any device handle and block source,
//! [`Db::finish_flush`] writes the catalog segment and commits (brief). One
//! job runs at a time, oldest frozen memtable first, so checkpoints only move
//! forward. [`Db::flush`] runs the three steps in place.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::Db;
use crate::catalog::segment;
use crate::error::Error;
use crate::layout::stream::{BlockSource, StreamWriter};
use crate::manifest::{Extent, SegmentEntry, TableEntry};
use crate::memtable::Frozen;
use crate::sstable::TableWriter;
use crate::storage::{BlockDevice, BlockId};

/// Start of the window of `w` ns holding `ts`.
pub(crate) fn window_of(ts: i64, w: i64) -> i64 {
    let w = w.max(1);
    ts.div_euclid(w).saturating_mul(w)
}

/// A flush in progress: the tables of one frozen memtable.
#[derive(Debug)]
pub struct FlushJob {
    frozen: Arc<Frozen>,
    windows: Vec<i64>,
    window_ns: i64,
    first_id: u64,
    block_size: u32,
    chunk_points: usize,
    tables: Vec<TableEntry>,
    /// Blocks taken so far (released if the job is abandoned).
    taken: Vec<Extent>,
    written: bool,
}

impl FlushJob {
    /// Points the job flushes.
    pub fn points(&self) -> u64 {
        self.frozen.points()
    }

    /// Bytes of memtable the job flushes.
    pub fn memtable_bytes(&self) -> usize {
        self.frozen.bytes()
    }

    /// Tables the job writes (one per time window).
    pub fn tables(&self) -> usize {
        self.windows.len()
    }

    /// Writes the tables, taking blocks from `src`.
    pub fn write<D: BlockDevice, S: BlockSource>(
        &mut self,
        dev: &mut D,
        src: &mut S,
    ) -> Result<(), Error<D::Error>> {
        for (k, &w) in self.windows.iter().enumerate() {
            let id = self.first_id + k as u64;
            let end = w.saturating_add(self.window_ns.max(1));
            let mut tw = TableWriter::new(id, self.block_size)
                .with_effort(crate::codec::Effort::Fast)
                .with_chunk_points(self.chunk_points);
            let r = (|| {
                for s in self.frozen.series() {
                    let ts = s.timestamps();
                    let lo = ts.partition_point(|&x| x < w);
                    let hi = ts.partition_point(|&x| x < end);
                    if let (Some(t), Some(v)) = (ts.get(lo..hi), s.values().get(lo..hi)) {
                        tw.add_series(dev, src, s.id, s.ty, t, v)?;
                    }
                }
                tw.finish(dev, src)
            })();
            match r {
                Ok(sum) => {
                    self.taken.extend_from_slice(&sum.extents);
                    self.tables.push(TableEntry {
                        id,
                        level: 0,
                        window_start: w,
                        min_ts: sum.min_ts,
                        max_ts: sum.max_ts,
                        max_lsn: self.frozen.max_lsn,
                        points: sum.points,
                        len: sum.len,
                        extents: sum.extents,
                    });
                }
                Err(e) => {
                    self.taken.extend(tw.abandon());
                    return Err(e);
                }
            }
        }
        self.written = true;
        Ok(())
    }
}

impl<D: BlockDevice> Db<D> {
    /// Writes the memtable (and any memtable left frozen by a failed flush)
    /// to tables and commits them. A no-op when there is nothing to flush.
    pub fn flush(&mut self) -> Result<(), Error<D::Error>> {
        // Bounded: each round commits (and drops) one frozen memtable, and
        // at most one new memtable is frozen.
        for _ in 0..self.frozen.len() + 2 {
            let Some(mut job) = self.begin_flush()? else {
                return Ok(());
            };
            let r = self
                .store
                .writer_parts()
                .and_then(|(dev, alloc)| job.write(dev, alloc));
            match r {
                Ok(()) => self.finish_flush(job)?,
                Err(e) => {
                    self.abort_flush(job);
                    if matches!(e, Error::Device(_)) {
                        self.store.poison();
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Moves an idle WAL down to the lowest free block (files: see
    /// [`Store::relocate_wal`](crate::store::Store::relocate_wal)).
    pub fn relocate_wal(&mut self) -> Result<bool, Error<D::Error>> {
        self.store.relocate_wal()
    }

    /// Whether a flush job is running.
    pub fn flush_in_progress(&self) -> bool {
        self.flush_running
    }

    /// Starts a flush: freezes the active memtable unless an older frozen one
    /// is waiting. `None` if there is nothing to flush or a job is running.
    pub fn begin_flush(&mut self) -> Result<Option<FlushJob>, Error<D::Error>> {
        if self.flush_running {
            return Ok(None);
        }
        if self.store.is_poisoned() {
            return Err(Error::Poisoned);
        }
        if self.frozen.is_empty() {
            let (s, d) = self.catalog.unpersisted();
            let catalog_dirty = !s.is_empty() || !d.is_empty() || self.catalog.needs_full_rewrite();
            if self.active.is_empty() && self.active.max_lsn() == 0 && !catalog_dirty {
                return Ok(None);
            }
            let frozen = Arc::new(core::mem::take(&mut self.active).freeze());
            self.frozen.push(frozen);
        }
        let Some(frozen) = self.frozen.first().cloned() else {
            return Ok(None);
        };
        let window_ns = self.cfg.window_ns.max(1);
        // The windows the points fall in, sorted, each once. Series mostly
        // share windows: kept small by skipping repeats and compacting.
        let mut windows: Vec<i64> = Vec::new();
        let mut limit = 4096;
        let compact = |w: &mut Vec<i64>| {
            crate::sort::sort(w);
            w.dedup();
        };
        for s in frozen.series() {
            let ts = s.timestamps();
            let mut i = 0;
            while let Some(&t) = ts.get(i) {
                let w = window_of(t, window_ns);
                if windows.last() != Some(&w) {
                    windows.push(w);
                    if windows.len() >= limit {
                        compact(&mut windows);
                        limit = limit.max(2 * windows.len());
                    }
                }
                let end = w.saturating_add(window_ns);
                let step = ts
                    .get(i..)
                    .unwrap_or_default()
                    .partition_point(|&x| x < end);
                i += step.max(1);
            }
        }
        compact(&mut windows);
        let first_id = self.next_table_id;
        self.next_table_id += windows.len() as u64;
        self.flush_running = true;
        Ok(Some(FlushJob {
            frozen,
            windows,
            window_ns,
            first_id,
            block_size: self.store.geometry().block_size,
            chunk_points: self.cfg.chunk_points,
            tables: Vec::new(),
            taken: Vec::new(),
            written: false,
        }))
    }

    /// Gives up a job: its blocks are released, its memtable stays frozen
    /// (and queryable) for the next flush.
    pub fn abort_flush(&mut self, job: FlushJob) {
        self.release_all(&job.taken);
        self.flush_running = false;
    }

    /// Takes a free block for a flush job running outside the engine.
    pub fn alloc_block(&mut self) -> Option<BlockId> {
        self.store.alloc_block()
    }

    pub(crate) fn release_all(&mut self, extents: &[Extent]) {
        for e in extents {
            for b in e.blocks() {
                self.store.release_uncommitted(b);
            }
        }
    }

    /// Completes a written job: catalog segment, commit with the checkpoint.
    pub fn finish_flush(&mut self, mut job: FlushJob) -> Result<(), Error<D::Error>> {
        self.flush_running = false;
        if !job.written {
            self.release_all(&job.taken);
            return Ok(());
        }
        let bs = self.store.geometry().block_size;
        // Catalog segment: new series and databases, or everything when the
        // segments are to be merged.
        let (n_series, n_dbs) = {
            let (s, d) = self.catalog.unpersisted();
            (s.len(), d.len())
        };
        let mut new_segment = None;
        let mut replace_segments = false;
        if n_series > 0 || n_dbs > 0 || self.catalog.needs_full_rewrite() {
            replace_segments = self.catalog.needs_full_rewrite()
                || self.store.manifest().catalog.len() >= self.cfg.max_catalog_segments;
            let bytes = if replace_segments {
                let all: Vec<u32> = (0..self.catalog.series_slots() as u32)
                    .filter(|&i| self.catalog.series(i).is_some_and(|s| !s.dead))
                    .collect();
                let dbs: Vec<u32> = (0..self.catalog.all_dbs().len() as u32)
                    .filter(|&i| {
                        self.catalog
                            .all_dbs()
                            .get(i as usize)
                            .is_some_and(|d| !d.removed)
                    })
                    .collect();
                segment::encode(&self.catalog, &all, &dbs)
            } else {
                let (s, d) = self.catalog.unpersisted();
                segment::encode(&self.catalog, s, d)
            };
            let mut sw = StreamWriter::new(bs);
            let r = self.store.writer_parts().and_then(|(dev, alloc)| {
                sw.write(dev, alloc, &bytes)?;
                sw.finish(dev, alloc)
            });
            match r {
                Ok((len, extents)) => {
                    job.taken.extend_from_slice(&extents);
                    new_segment = Some(SegmentEntry {
                        id: self.next_table_id,
                        series: n_series as u64,
                        len,
                        extents,
                    });
                    self.next_table_id += 1;
                }
                Err(e) => {
                    job.taken.extend_from_slice(sw.extents());
                    self.release_all(&job.taken);
                    if matches!(e, Error::Device(_)) {
                        self.store.poison();
                    }
                    return Err(e);
                }
            }
        }
        let mut freed: Vec<BlockId> = Vec::new();
        if replace_segments {
            for s in &self.store.manifest().catalog {
                freed.extend(s.blocks());
            }
        }
        let next_series = self.catalog.next_series_id();
        let next_table = self.next_table_id;
        let added = job.tables.clone();
        let seg = new_segment;
        let tombs = self.tombstones_after(&[], None);
        let r = self.store.commit(
            |m| {
                m.tables.extend(added);
                if let Some(s) = seg {
                    if replace_segments {
                        m.catalog.clear();
                    }
                    m.catalog.push(s);
                }
                m.next_table_id = next_table;
                m.next_series_id = next_series;
                m.tombstones = tombs;
            },
            job.frozen.max_lsn,
            &freed,
        );
        if let Err(e) = r {
            // After a device error the store is poisoned and nothing is
            // reused anyway; otherwise the blocks were never committed.
            if !matches!(e, Error::Device(_) | Error::Corrupted(_)) {
                self.release_all(&job.taken);
            }
            return Err(e);
        }
        self.catalog.mark_persisted(n_series, n_dbs);
        if replace_segments {
            self.catalog.full_rewrite_done();
        }
        self.frozen.retain(|f| !Arc::ptr_eq(f, &job.frozen));
        let mut written = 0;
        for t in &job.tables {
            written += t.len;
            let reader = self.open_table(t)?;
            self.tables.push(Arc::new(reader));
        }
        self.counters.flushes += 1;
        self.counters.flushed_bytes += written;
        Ok(())
    }
}
