//! Retention and capacity: whole time windows leave the store.
//!
//! - [`Db::apply_retention`] drops every table of a window that ends at or
//!   before the cutoff (now − retention) — of a group of windows, for packed
//!   tables (see the compaction module); [`Db::set_retention_cutoff`] makes
//!   writes older than the cutoff rejected as
//!   [`PointError::BeyondRetention`](super::PointError::BeyondRetention).
//! - [`Db::drop_oldest_window`] frees room when the device is nearly full
//!   (the server's `on_full: "drop_oldest"`).
//!
//! Dropped tables are retired like compaction inputs: a query already
//! reading them finishes; their blocks are freed after.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::Db;
use super::compact::{groups, span};
use crate::error::Error;
use crate::storage::BlockDevice;

/// What a retention pass or a capacity drop removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropOutcome {
    /// Windows dropped.
    pub windows: u64,
    /// Tables dropped.
    pub tables: u64,
    /// Points in them.
    pub points: u64,
    /// Their bytes.
    pub bytes: u64,
    /// End of the newest window dropped (exclusive; `i64::MIN` if none):
    /// windows go oldest first, so nothing older is left.
    pub through_ns: i64,
}

impl DropOutcome {
    fn add(&mut self, o: DropOutcome) {
        self.windows += o.windows;
        self.tables += o.tables;
        self.points += o.points;
        self.bytes += o.bytes;
        self.through_ns = self.through_ns.max(o.through_ns);
    }
}

impl<D: BlockDevice> Db<D> {
    /// Writes of points older than `cutoff_ns` are refused from now on.
    pub fn set_retention_cutoff(&mut self, cutoff_ns: i64) {
        self.min_write_ts = cutoff_ns;
    }

    /// The oldest timestamp writes accept.
    pub fn retention_cutoff(&self) -> i64 {
        self.min_write_ts
    }

    /// Drops the windows that end at or before `cutoff_ns`: every group of
    /// tables (see `compact::groups`) whose last window does. A packed table
    /// whose older windows alone have expired is rewritten without them by
    /// the next compaction.
    pub fn apply_retention(&mut self, cutoff_ns: i64) -> Result<DropOutcome, Error<D::Error>> {
        let w = self.cfg.window_ns.max(1);
        let ids: Vec<u64> = groups(&self.tables, w)
            .iter()
            .filter(|g| g.last.saturating_add(w) <= cutoff_ns)
            .flat_map(|g| g.tables.iter().map(|t| t.entry.id))
            .collect();
        self.drop_tables(&ids)
    }

    /// Bytes of the device not in use (free blocks).
    pub fn free_bytes(&self) -> u64 {
        u64::from(self.store.free_blocks()) * u64::from(self.store.geometry().block_size)
    }

    /// The capacity policy `on_full: "drop_oldest"`: drops the oldest windows
    /// until `reserve_bytes` are free. The newest window is never dropped;
    /// it stops early, too, when a drop frees nothing at once (its tables
    /// are still read by a query: their blocks come back when it finishes).
    pub fn make_room(&mut self, reserve_bytes: u64) -> Result<DropOutcome, Error<D::Error>> {
        let mut total = DropOutcome {
            through_ns: i64::MIN,
            ..DropOutcome::default()
        };
        while self.free_bytes() < reserve_bytes {
            if groups(&self.tables, self.cfg.window_ns.max(1)).len() < 2 {
                break;
            }
            let before = self.free_bytes();
            let o = self.drop_oldest_window()?;
            total.add(o);
            if o.tables == 0 || self.free_bytes() <= before {
                break;
            }
        }
        Ok(total)
    }

    /// Drops every table of the oldest window, or of the oldest packed
    /// windows (to make room).
    pub fn drop_oldest_window(&mut self) -> Result<DropOutcome, Error<D::Error>> {
        let ids: Vec<u64> = groups(&self.tables, self.cfg.window_ns.max(1))
            .first()
            .map(|g| g.tables.iter().map(|t| t.entry.id).collect())
            .unwrap_or_default();
        self.drop_tables(&ids)
    }

    fn drop_tables(&mut self, ids: &[u64]) -> Result<DropOutcome, Error<D::Error>> {
        let out = self.remove_tables(ids)?;
        self.counters.dropped_windows += out.windows;
        self.counters.dropped_tables += out.tables;
        self.counters.dropped_points += out.points;
        Ok(out)
    }

    /// Removes tables from the store (one commit); their blocks are freed
    /// once no query reads them.
    pub(crate) fn remove_tables(&mut self, ids: &[u64]) -> Result<DropOutcome, Error<D::Error>> {
        let mut out = DropOutcome {
            through_ns: i64::MIN,
            ..DropOutcome::default()
        };
        if ids.is_empty() {
            return Ok(out);
        }
        let w = self.cfg.window_ns.max(1);
        let mut spans: Vec<(i64, i64)> = Vec::new();
        for t in self.tables.iter().filter(|t| ids.contains(&t.entry.id)) {
            out.tables += 1;
            out.points += t.entry.points;
            out.bytes += t.entry.len;
            let (first, last) = span(&t.entry, w);
            spans.push((first, last));
            out.through_ns = out.through_ns.max(last.saturating_add(w));
        }
        out.windows = windows_in(&mut spans, w);
        let tombs = self.tombstones_after(ids, None);
        let keep = tombs.clone();
        let dropped: Vec<u64> = ids.to_vec();
        self.store.commit(
            |m| {
                m.tables.retain(|t| !dropped.contains(&t.id));
                m.tombstones = keep;
            },
            0,
            &[],
        )?;
        self.tombstones = tombs;
        let mut retired = Vec::new();
        self.tables.retain(|t| {
            if ids.contains(&t.entry.id) {
                retired.push(Arc::clone(t));
                false
            } else {
                true
            }
        });
        self.retired.extend(retired);
        self.reap();
        Ok(out)
    }
}

/// Windows covered by the union of `spans` (first and last window starts).
fn windows_in(spans: &mut [(i64, i64)], w: i64) -> u64 {
    crate::sort::sort(spans);
    let (mut n, mut upto) = (0u64, i64::MIN);
    for &(a, b) in spans.iter() {
        let from = if upto == i64::MIN {
            a
        } else {
            a.max(upto.saturating_add(w))
        };
        if b >= from {
            n += (b.saturating_sub(from) / w) as u64 + 1;
        }
        upto = upto.max(b);
    }
    n
}
