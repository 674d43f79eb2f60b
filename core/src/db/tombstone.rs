//! Deletes: `DELETE`, `DROP SERIES`, `DROP MEASUREMENT`, `DROP DATABASE`.
//!
//! A delete is a WAL record (so replay redoes it), applied at once to the
//! active memtable, and kept as a [`Tombstone`] in the manifest for the
//! older sources — frozen memtables and tables whose data predates it — which
//! are filtered when read and rewritten without the points by compaction.
//! A tombstone is dropped once no older source overlaps it. Dropping series
//! also removes them from the catalog; the next flush then rewrites the
//! catalog segments whole.

use alloc::vec::Vec;

pub use crate::manifest::Tombstone;

use super::Db;
use super::record;
use crate::catalog::{SeriesIdx, TagExpr};
use crate::error::Error;
use crate::manifest::TableEntry;
use crate::storage::BlockDevice;
use crate::value::SeriesId;
use crate::wal::Lsn;

/// What a delete touched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// Series whose points were deleted (or which were dropped).
    pub series: usize,
}

impl<D: BlockDevice> Db<D> {
    /// Deletes points of database `db` within `[min_ts, max_ts]`: of
    /// `measurement` (all measurements when `None`), of the series `tags`
    /// selects. `drop_series` also removes the series from the catalog
    /// (DROP SERIES / DROP MEASUREMENT). Durable when it returns.
    pub fn delete(
        &mut self,
        db: &str,
        measurement: Option<&str>,
        tags: &TagExpr,
        min_ts: i64,
        max_ts: i64,
        drop_series: bool,
    ) -> Result<DeleteOutcome, Error<D::Error>> {
        if self.store.is_poisoned() {
            return Err(Error::Poisoned);
        }
        let dbi = self.catalog.db(db).ok_or(Error::DatabaseNotFound)?;
        let measurements: Vec<alloc::string::String> = match measurement {
            Some(m) => alloc::vec![m.into()],
            None => self
                .catalog
                .measurements(dbi)
                .into_iter()
                .map(Into::into)
                .collect(),
        };
        let mut series: Vec<(SeriesId, SeriesIdx)> = Vec::new();
        for m in &measurements {
            for t in self.catalog.select_tagsets(dbi, m, tags) {
                if let Some(ts) = self.catalog.tagset(t) {
                    for &(_, s) in &ts.fields {
                        if let Some(meta) = self.catalog.series(s) {
                            series.push((meta.id, s));
                        }
                    }
                }
            }
        }
        if series.is_empty() {
            return Ok(DeleteOutcome::default());
        }
        crate::sort::sort(&mut series);
        let ids: Vec<SeriesId> = series.iter().map(|s| s.0).collect();
        let lsn = self
            .store
            .append(&record::delete(&ids, min_ts, max_ts, drop_series))?;
        self.active.note_lsn(lsn);
        self.apply_delete(lsn, &series, min_ts, max_ts, drop_series);
        self.commit_tombstones()?;
        Ok(DeleteOutcome {
            series: series.len(),
        })
    }

    /// Drops a database: its series and points go, then its name.
    pub fn drop_database(&mut self, db: &str) -> Result<DeleteOutcome, Error<D::Error>> {
        let Some(dbi) = self.catalog.db(db) else {
            return Err(Error::DatabaseNotFound);
        };
        let out = self.delete(db, None, &TagExpr::True, i64::MIN, i64::MAX, true)?;
        let lsn = self.store.append(&record::drop_db(db))?;
        self.active.note_lsn(lsn);
        self.catalog.remove_db(dbi);
        self.store.sync()?;
        Ok(out)
    }

    /// Applies a delete to the memtable, the tombstones and the catalog.
    pub(crate) fn apply_delete(
        &mut self,
        lsn: Lsn,
        series: &[(SeriesId, SeriesIdx)],
        min_ts: i64,
        max_ts: i64,
        drop: bool,
    ) {
        for &(_, idx) in series {
            self.active.remove_range(idx, min_ts, max_ts);
            if drop {
                self.catalog.remove_series(idx);
            }
        }
        let mut ids: Vec<SeriesId> = series.iter().map(|s| s.0).collect();
        crate::sort::sort(&mut ids);
        ids.dedup();
        if !self.tombstones.iter().any(|t| t.lsn == lsn) {
            self.tombstones.push(Tombstone {
                lsn,
                series: ids,
                min_ts,
                max_ts,
            });
        }
    }

    /// Commits the tombstone list (pruned of those nothing needs).
    pub(crate) fn commit_tombstones(&mut self) -> Result<(), Error<D::Error>> {
        let tombs = self.tombstones_after(&[], None);
        let keep = tombs.clone();
        self.store.commit(|m| m.tombstones = keep, 0, &[])?;
        self.tombstones = tombs;
        Ok(())
    }

    /// The tombstones still needed once tables `removed` are gone and
    /// `added` is in: those some older table or frozen memtable overlaps.
    pub(crate) fn tombstones_after(
        &self,
        removed: &[u64],
        added: Option<&TableEntry>,
    ) -> Vec<Tombstone> {
        self.tombstones
            .iter()
            .filter(|t| {
                let tables = self
                    .tables
                    .iter()
                    .map(|r| &r.entry)
                    .filter(|e| !removed.contains(&e.id))
                    .chain(added);
                let mut needed = false;
                for e in tables {
                    if t.applies_to(e.max_lsn, e.min_ts, e.max_ts) {
                        needed = true;
                        break;
                    }
                }
                needed
                    || self
                        .frozen
                        .iter()
                        .any(|f| t.applies_to(f.max_lsn, f.min_ts, f.max_ts))
            })
            .cloned()
            .collect()
    }

    /// The tombstones in force.
    pub fn tombstones(&self) -> &[Tombstone] {
        &self.tombstones
    }
}
