//! Flush: memtable → tables (one per time window) + catalog segment, then one
//! commit that adds them and moves the WAL checkpoint past their records.

use alloc::collections::BTreeSet;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::{Db, DbConfig};
use crate::catalog::segment;
use crate::error::Error;
use crate::layout::stream::StreamWriter;
use crate::manifest::{SegmentEntry, TableEntry};
use crate::memtable::Frozen;
use crate::sstable::{TableReader, TableWriter};
use crate::storage::{BlockDevice, BlockId};

/// Start of the window holding `ts`.
pub(crate) fn window_of(ts: i64, cfg: &DbConfig) -> i64 {
    let w = cfg.window_ns.max(1);
    ts.div_euclid(w).saturating_mul(w)
}

impl<D: BlockDevice> Db<D> {
    /// Writes the memtable to tables and commits them. A no-op when there is
    /// nothing to flush.
    pub fn flush(&mut self) -> Result<(), Error<D::Error>> {
        let (series, dbs) = self.catalog.unpersisted();
        let catalog_dirty = !series.is_empty() || !dbs.is_empty();
        if self.active.is_empty()
            && self.active.max_lsn() == 0
            && !catalog_dirty
            && self.frozen.is_empty()
        {
            return Ok(());
        }
        if !self.active.is_empty() || self.active.max_lsn() != 0 || catalog_dirty {
            let frozen = Arc::new(core::mem::take(&mut self.active).freeze());
            self.frozen.push(frozen);
        }
        // Oldest first: a failed flush leaves its memtable frozen and queryable,
        // and the next flush retries it.
        while let Some(f) = self.frozen.first().cloned() {
            self.flush_frozen(&f)?;
            self.frozen.remove(0);
        }
        Ok(())
    }

    fn release_all(&mut self, extents: &[crate::manifest::Extent]) {
        for e in extents {
            for b in e.blocks() {
                self.store.release_uncommitted(b);
            }
        }
    }

    fn flush_frozen(&mut self, frozen: &Frozen) -> Result<(), Error<D::Error>> {
        let cfg = self.cfg;
        let bs = self.store.geometry().block_size;
        let mut windows = BTreeSet::new();
        for s in frozen.series() {
            let ts = s.timestamps();
            let mut i = 0;
            while let Some(&t) = ts.get(i) {
                let w = window_of(t, &cfg);
                windows.insert(w);
                let end = w.saturating_add(cfg.window_ns.max(1));
                i += ts
                    .get(i..)
                    .unwrap_or_default()
                    .partition_point(|&x| x < end);
            }
        }
        let mut next_id = self.store.manifest().next_table_id;
        let mut new_tables: Vec<TableEntry> = Vec::new();
        let mut outcome = Ok(());
        for &w in &windows {
            let end = w.saturating_add(cfg.window_ns.max(1));
            let mut tw = TableWriter::new(next_id, bs);
            let r = (|| {
                let (dev, alloc) = self.store.writer_parts()?;
                for s in frozen.series() {
                    let ts = s.timestamps();
                    let lo = ts.partition_point(|&x| x < w);
                    let hi = ts.partition_point(|&x| x < end);
                    let (Some(t), Some(v)) = (ts.get(lo..hi), s.values().get(lo..hi)) else {
                        continue;
                    };
                    let ty = self
                        .catalog
                        .series(s.idx)
                        .map(|m| m.ty)
                        .unwrap_or(crate::value::FieldType::Float);
                    tw.add_series(dev, alloc, s.id, ty, t, v)?;
                }
                Ok(())
            })();
            let r = r.and_then(|()| {
                let (dev, alloc) = self.store.writer_parts()?;
                tw.finish(dev, alloc)
            });
            match r {
                Ok(sum) => {
                    new_tables.push(TableEntry {
                        id: next_id,
                        level: 0,
                        window_start: w,
                        min_ts: sum.min_ts,
                        max_ts: sum.max_ts,
                        max_lsn: frozen.max_lsn,
                        points: sum.points,
                        len: sum.len,
                        extents: sum.extents,
                    });
                    next_id += 1;
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }

        // Catalog segment: new series and databases, or everything when the
        // segments are to be merged.
        let mut new_segment = None;
        let mut replace_segments = false;
        let (n_series, n_dbs) = {
            let (s, d) = self.catalog.unpersisted();
            (s.len(), d.len())
        };
        if outcome.is_ok() && (n_series > 0 || n_dbs > 0) {
            replace_segments = self.store.manifest().catalog.len() >= cfg.max_catalog_segments;
            let bytes = if replace_segments {
                let all: Vec<u32> = (0..self.catalog.series_count() as u32).collect();
                let dbs: Vec<u32> = (0..self.catalog.all_dbs().len() as u32).collect();
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
                    new_segment = Some(SegmentEntry {
                        id: next_id,
                        series: n_series as u64,
                        len,
                        extents,
                    });
                    next_id += 1;
                }
                Err(e) => outcome = Err(e),
            }
        }
        if let Err(e) = outcome {
            for t in &new_tables {
                self.release_all(&t.extents);
            }
            if matches!(e, Error::Device(_)) {
                self.store.poison();
            }
            return Err(e);
        }

        let mut freed: Vec<BlockId> = Vec::new();
        if replace_segments {
            for s in &self.store.manifest().catalog {
                freed.extend(s.blocks());
            }
        }
        let next_series = self.catalog.next_series_id();
        let added = new_tables.clone();
        let seg = new_segment.clone();
        let r = self.store.commit(
            |m| {
                m.tables.extend(added);
                if let Some(s) = seg {
                    if replace_segments {
                        m.catalog.clear();
                    }
                    m.catalog.push(s);
                }
                m.next_table_id = next_id;
                m.next_series_id = next_series;
            },
            frozen.max_lsn,
            &freed,
        );
        if let Err(e) = r {
            if !matches!(e, Error::Device(_) | Error::Corrupted(_)) {
                for t in &new_tables {
                    self.release_all(&t.extents);
                }
                if let Some(s) = &new_segment {
                    self.release_all(&s.extents);
                }
            }
            return Err(e);
        }
        self.catalog.mark_persisted(n_series, n_dbs);
        let mut written = 0;
        for t in &new_tables {
            written += t.len;
            let reader = TableReader::open(self.store.device_mut(), t, bs)?;
            self.tables.push(Arc::new(reader));
        }
        self.counters.flushes += 1;
        self.counters.flushed_bytes += written;
        Ok(())
    }
}
