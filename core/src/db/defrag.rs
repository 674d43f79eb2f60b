//! Moving tables down (file-backed stores).
//!
//! With the *compact* allocation policy data is written to the lowest free
//! blocks, but a compaction writes its output before its inputs are freed,
//! so the output lands above them and stays there. [`Db::move_down`] copies
//! the table (or catalog segment) holding the highest block in use, block by
//! block (no re-encoding: a table's bytes do not depend on where they are),
//! into the lowest free blocks when they all lie below it, and commits the
//! new extents; the old blocks are
//! freed once no query reads them. A manifest holding the highest block is
//! written again lower down. The file can then be cut shorter. Only
//! worth it when idle: it writes the table once more.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use super::Db;
use crate::error::Error;
use crate::layout::AllocPolicy;
use crate::manifest::Extent;
use crate::sstable::TableReader;
use crate::storage::{BlockDevice, BlockId};

impl<D: BlockDevice> Db<D> {
    /// Moves the table or catalog segment holding the highest block in use
    /// into the lowest free blocks, if they all lie below that block (or
    /// writes the manifest again lower down, if it holds it). Returns
    /// whether something moved. Only with [`AllocPolicy::Compact`], and not
    /// while a flush or a compaction runs.
    pub fn move_down(&mut self) -> Result<bool, Error<D::Error>> {
        if self.store.is_poisoned() {
            return Err(Error::Poisoned);
        }
        if self.flush_running
            || self.compaction_running
            || self.store.alloc_policy() != AllocPolicy::Compact
        {
            return Ok(false);
        }
        let Some(top) = self.store.highest_used_block() else {
            return Ok(false);
        };
        // The entry, not the reader: a reference held here would keep the
        // old copy's blocks from being freed by the `reap` below.
        if let Some(mut entry) = self
            .tables
            .iter()
            .find(|t| t.entry.blocks().any(|b| b == top))
            .map(|t| t.entry.clone())
        {
            let Some(extents) = self.copy_down(entry.blocks().collect(), entry.len)? else {
                return Ok(false);
            };
            entry.extents = extents;
            let moved = entry.clone();
            let id = entry.id;
            self.commit_moved(
                |m| {
                    if let Some(e) = m.tables.iter_mut().find(|e| e.id == id) {
                        *e = moved;
                    }
                },
                &entry.extents,
                &[],
            )?;
            let bs = self.store.geometry().block_size;
            let reader = TableReader::open(self.store.device_mut(), &entry, bs)?;
            if let Some(slot) = self.tables.iter_mut().find(|x| x.entry.id == id) {
                // Queries reading the old copy finish; its blocks go after.
                let old = core::mem::replace(slot, Arc::new(reader));
                self.retired.push(old);
            }
            self.reap();
            return Ok(true);
        }
        let seg = self
            .store
            .manifest()
            .catalog
            .iter()
            .find(|s| s.blocks().any(|b| b == top))
            .cloned();
        if let Some(seg) = seg {
            let old: Vec<BlockId> = seg.blocks().collect();
            let Some(extents) = self.copy_down(old.clone(), seg.len)? else {
                return Ok(false);
            };
            let id = seg.id;
            let new = extents.clone();
            // Nothing reads a segment after open: its blocks go with the commit.
            self.commit_moved(
                |m| {
                    if let Some(s) = m.catalog.iter_mut().find(|s| s.id == id) {
                        s.extents = new;
                    }
                },
                &extents,
                &old,
            )?;
            return Ok(true);
        }
        // Otherwise the top may be the manifest's block.
        self.store.relocate_manifest()
    }

    /// Copies `len` bytes held in `old` into as many free blocks (the lowest),
    /// if they all lie below the highest of `old` (each move lowers the top:
    /// repeated moves end); `None` (nothing taken) otherwise.
    fn copy_down(
        &mut self,
        old: Vec<BlockId>,
        len: u64,
    ) -> Result<Option<Vec<Extent>>, Error<D::Error>> {
        let highest_old = old.iter().copied().max().unwrap_or(0);
        let mut new: Vec<BlockId> = Vec::with_capacity(old.len());
        for _ in 0..old.len() {
            let b = self.store.alloc_block();
            if let Some(b) = b {
                new.push(b);
            }
            if b.is_none_or(|b| b >= highest_old) {
                for &b in &new {
                    self.store.release_uncommitted(b);
                }
                return Ok(None);
            }
        }
        let geo = self.store.geometry();
        let (bs, unit) = (geo.block_size as usize, (geo.write_size as usize).max(1));
        let mut buf = vec![0u8; bs];
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let mut r = Ok(());
        for (i, (&from, &to)) in old.iter().zip(&new).enumerate() {
            // Whole program units (the tail of the last one as it is).
            let n = len
                .saturating_sub(i * bs)
                .min(bs)
                .next_multiple_of(unit)
                .min(bs);
            let Some(chunk) = buf.get_mut(..n) else { break };
            r = self
                .store
                .device_mut()
                .read(from, 0, chunk)
                .map_err(Error::Device)
                .and_then(|()| self.store.erase(to))
                .and_then(|()| self.store.program(to, 0, chunk));
            if r.is_err() {
                break;
            }
        }
        if let Err(e) = r {
            for &b in &new {
                self.store.release_uncommitted(b);
            }
            if matches!(e, Error::Device(_)) {
                self.store.poison();
            }
            return Err(e);
        }
        Ok(Some(extents_of(&new)))
    }

    /// Commits a move; on failure the copy's blocks are given back.
    fn commit_moved(
        &mut self,
        edit: impl FnOnce(&mut crate::manifest::Manifest),
        copy: &[Extent],
        freed: &[BlockId],
    ) -> Result<(), Error<D::Error>> {
        let r = self.store.commit(edit, 0, freed);
        if let Err(e) = r {
            if !matches!(e, Error::Device(_) | Error::Corrupted(_)) {
                for b in copy.iter().flat_map(|e| e.blocks()) {
                    self.store.release_uncommitted(b);
                }
            }
            return Err(e);
        }
        Ok(())
    }
}

/// Runs of consecutive blocks.
fn extents_of(blocks: &[BlockId]) -> Vec<Extent> {
    let mut out: Vec<Extent> = Vec::new();
    for &b in blocks {
        match out.last_mut() {
            Some(e) if e.start.wrapping_add(e.count) == b => e.count += 1,
            _ => out.push(Extent { start: b, count: 1 }),
        }
    }
    out
}
