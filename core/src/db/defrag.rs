//! Moving tables down (file-backed stores).
//!
//! With the *compact* allocation policy data is written to the lowest free
//! blocks, but a compaction writes its output before its inputs are freed,
//! so the output lands above them and stays there, with the holes its
//! inputs leave below. [`Db::move_down`] takes the table (or catalog
//! segment) holding the highest block in use and copies its blocks that
//! have a free block below them, highest first, each into the lowest free
//! block (no re-encoding: a table's bytes do not depend on where they are);
//! its other blocks stay. A large table thus fills the holes below its top
//! without needing room for all of itself there. The new extents are
//! committed; the blocks left are freed once no query reads the old copy.
//! A manifest holding the highest block is written again lower down. The
//! file can then be cut shorter. Only worth it when idle: it writes the
//! moved blocks once more.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use super::Db;
use crate::error::Error;
use crate::layout::AllocPolicy;
use crate::manifest::Extent;
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
            let old: Vec<BlockId> = entry.blocks().collect();
            let Some(moved) = self.copy_down(&old, entry.len)? else {
                return Ok(false);
            };
            entry.extents = moved.extents;
            let edited = entry.clone();
            let id = entry.id;
            self.commit_moved(
                |m| {
                    if let Some(e) = m.tables.iter_mut().find(|e| e.id == id) {
                        *e = edited;
                    }
                },
                &moved.taken,
                &[],
            )?;
            let reader = self.open_table(&entry)?;
            if let Some(slot) = self.tables.iter_mut().find(|x| x.entry.id == id) {
                // Queries reading the old copy finish; the blocks it left go
                // after (`reap` keeps those the new copy still uses).
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
            let Some(moved) = self.copy_down(&old, seg.len)? else {
                return Ok(false);
            };
            let id = seg.id;
            let new = moved.extents;
            // Nothing reads a segment after open: its blocks go with the commit.
            self.commit_moved(
                |m| {
                    if let Some(s) = m.catalog.iter_mut().find(|s| s.id == id) {
                        s.extents = new;
                    }
                },
                &moved.taken,
                &moved.vacated,
            )?;
            return Ok(true);
        }
        // Otherwise the top may be the manifest's block.
        self.store.relocate_manifest()
    }

    /// Moves the blocks of a stream of `len` bytes held in `old` (in stream
    /// order) that have a free block below them, highest first, each into
    /// the lowest free block; the others stay where they are. `None`
    /// (nothing taken) if no block has a free block below it. Every move
    /// lowers a block: repeated moves end.
    fn copy_down(&mut self, old: &[BlockId], len: u64) -> Result<Option<Moved>, Error<D::Error>> {
        let mut new = old.to_vec();
        let mut order: Vec<usize> = (0..old.len()).collect();
        crate::sort::sort_by_key(&mut order, |&i| core::cmp::Reverse(old.get(i).copied()));
        let mut moves: Vec<usize> = Vec::new();
        for i in order {
            let (Some(&from), Some(to)) = (old.get(i), self.store.alloc_block()) else {
                break;
            };
            if to >= from {
                // No free block below this one, nor below the rest (lower).
                self.store.release_uncommitted(to);
                break;
            }
            if let Some(slot) = new.get_mut(i) {
                *slot = to;
            }
            moves.push(i);
        }
        let taken: Vec<BlockId> = moves.iter().filter_map(|&i| new.get(i).copied()).collect();
        if taken.is_empty() {
            return Ok(None);
        }
        let geo = self.store.geometry();
        let (bs, unit) = (geo.block_size as usize, (geo.write_size as usize).max(1));
        let mut buf = vec![0u8; bs];
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let mut r = Ok(());
        for &i in &moves {
            let (Some(&from), Some(&to)) = (old.get(i), new.get(i)) else {
                continue;
            };
            // Whole program units (the tail of the last one as it is).
            let n = len
                .saturating_sub(i.saturating_mul(bs))
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
            for &b in &taken {
                self.store.release_uncommitted(b);
            }
            if matches!(e, Error::Device(_)) {
                self.store.poison();
            }
            return Err(e);
        }
        let vacated = moves.iter().filter_map(|&i| old.get(i).copied()).collect();
        Ok(Some(Moved {
            extents: extents_of(&new),
            taken: extents_of(&taken),
            vacated,
        }))
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

/// What [`Db::copy_down`] did.
struct Moved {
    /// The stream's new placement.
    extents: Vec<Extent>,
    /// Blocks it took (to give back if the move is not committed).
    taken: Vec<Extent>,
    /// Blocks it left.
    vacated: Vec<BlockId>,
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
