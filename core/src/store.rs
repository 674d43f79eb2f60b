//! `Store`: the storage foundation the database is built on.
//!
//! It ties the layers together: the superblock log, the allocator, the
//! manifest and the WAL, over one [`BlockDevice`]. It offers durable appends
//! (`append` + `sync`, group commit), replay at open, checkpoints, and atomic
//! commits of manifest changes (tables added or removed).
//!
//! A commit: sync the WAL, write the new manifest copy-on-write, sync, append
//! the superblock record, sync. Blocks the commit releases become reusable only
//! after that, so the previous commit stays intact until the new one is durable.
//!
//! Every open bumps the manifest's epoch with a commit *before* the WAL writes
//! anything, so the stamps of new WAL blocks can never equal those of blocks a
//! crashed session left behind.

use alloc::vec::Vec;

use crate::error::{Error, corrupted};
use crate::layout::alloc::AllocPolicy;
use crate::layout::superblock::CommitRecord;
use crate::layout::{Allocator, SUPERBLOCK_BLOCKS, SuperblockLog};
use crate::manifest::blob::{self, Arena};
use crate::manifest::{Manifest, WalHead};
use crate::storage::{BlockDevice, BlockId, Geometry};
use crate::wal::{self, Lsn, Wal};

/// Tunables of a [`Store`].
#[derive(Clone, Copy, Debug)]
pub struct StoreConfig {
    /// Largest WAL record accepted (bytes); bounds replay's memory.
    pub max_record_len: u32,
    /// Which free block is taken: rotate over the device (flash) or keep
    /// data packed at its start (files).
    pub alloc_policy: AllocPolicy,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            max_record_len: 8 << 20,
            alloc_policy: AllocPolicy::Rotate,
        }
    }
}

/// What [`Store::open`] found.
#[derive(Clone, Debug, Default)]
pub struct OpenReport {
    /// Generation of the commit opened.
    pub generation: u64,
    /// WAL records replayed (above the checkpoint).
    pub replayed: u64,
    /// WAL records at or below the checkpoint, skipped.
    pub skipped: u64,
    /// Offset in the WAL's last block where valid records end.
    pub tail_offset: u32,
    /// Valid fragments after the torn point, discarded (never acknowledged).
    pub discarded_fragments: u32,
    /// Blocks in the WAL chain.
    pub wal_blocks: u32,
}

/// A store half-opened: superblock and manifest read, WAL not yet replayed.
#[derive(Debug)]
pub struct Opening<D: BlockDevice> {
    dev: D,
    cfg: StoreConfig,
    rec: CommitRecord,
    sb: SuperblockLog,
    manifest: Manifest,
    manifest_blocks: Vec<BlockId>,
    manifest_len: usize,
}

impl<D: BlockDevice> Opening<D> {
    /// The committed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The device, for reading what the manifest references.
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.dev
    }

    /// Replays the WAL (`deliver(lsn, payload)` for every record above the
    /// checkpoint, in order), rebuilds the free set, and commits the new
    /// open epoch before anything else is written.
    pub fn finish<F>(self, deliver: F) -> Result<(Store<D>, OpenReport), Error<D::Error>>
    where
        F: FnMut(Lsn, &[u8]) -> Result<(), Error<D::Error>>,
    {
        let Opening {
            mut dev,
            cfg,
            rec,
            sb,
            manifest,
            manifest_blocks,
            manifest_len,
        } = self;
        let geo = dev.geometry();
        let replay = wal::replay(&mut dev, &manifest.wal, cfg.max_record_len, deliver)?;

        let mut alloc = Allocator::new(
            geo.block_count,
            manifest.alloc_cursor,
            reserve_for(&geo, manifest_len),
        );
        alloc.set_policy(cfg.alloc_policy);
        let mut claim = |b: BlockId, what: &'static str| -> Result<(), Error<D::Error>> {
            if !alloc.mark_used(b) {
                corrupted!(what, b, 0);
            }
            Ok(())
        };
        for b in SUPERBLOCK_BLOCKS {
            claim(b, "block map (superblock)")?;
        }
        for &b in &manifest_blocks {
            claim(b, "block map (manifest)")?;
        }
        for t in &manifest.tables {
            for b in t.blocks() {
                claim(b, "block map (table)")?;
            }
        }
        for s in &manifest.catalog {
            for b in s.blocks() {
                claim(b, "block map (catalog)")?;
            }
        }
        for c in &replay.chain {
            claim(c.block, "block map (WAL)")?;
        }
        let Some(tail) = replay.chain.back().copied() else {
            corrupted!("WAL chain", manifest.wal.block, 0);
        };
        claim(tail.header.next, "block map (WAL reserve)")?;

        let mut meta = Meta {
            alloc,
            sb,
            generation: rec.generation,
            manifest: manifest.clone(),
            manifest_blocks,
            arena: Arena::default(),
            geo,
        };
        let mut next = manifest;
        next.epoch = next.epoch.wrapping_add(1);
        meta.commit(&mut dev, next)?;

        let report = OpenReport {
            generation: meta.generation,
            replayed: replay.replayed,
            skipped: replay.skipped,
            tail_offset: replay.tail_offset,
            discarded_fragments: replay.discarded_fragments,
            wal_blocks: replay.chain.len() as u32,
        };
        let wal = Wal::start(
            &mut dev,
            &mut meta.alloc,
            replay.chain,
            tail.header.next,
            Some(&tail.header),
            replay.next_lsn,
            meta.manifest.epoch,
            cfg.max_record_len,
        )?;
        Ok((
            Store {
                dev,
                meta,
                wal,
                poisoned: false,
            },
            report,
        ))
    }
}

/// The committed metadata and the machinery that commits it.
#[derive(Debug)]
struct Meta {
    alloc: Allocator,
    sb: SuperblockLog,
    generation: u64,
    manifest: Manifest,
    manifest_blocks: Vec<BlockId>,
    arena: Arena,
    geo: Geometry,
}

impl Meta {
    /// Writes `next` as the new committed manifest. The WAL must be synced.
    fn commit<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        mut next: Manifest,
    ) -> Result<(), Error<D::Error>> {
        next.alloc_cursor = self.alloc.cursor();
        let bytes = next.encode();
        let (blob, blocks) = self.arena.write(dev, &mut self.alloc, &bytes)?;
        dev.sync().map_err(Error::Device)?;
        let rec = CommitRecord {
            generation: self.generation + 1,
            geometry: self.geo,
            manifest: blob,
        };
        self.sb.commit(dev, &rec)?;
        self.generation += 1;
        for b in core::mem::take(&mut self.manifest_blocks) {
            if !blocks.contains(&b) {
                self.alloc.release(b);
            }
        }
        self.manifest_blocks = blocks;
        self.manifest = next;
        for b in self.alloc.commit_durable() {
            // Best effort: the block is free whatever the device says.
            let _ = dev.discard(b);
        }
        self.alloc.set_reserve(reserve_for(&self.geo, bytes.len()));
        Ok(())
    }
}

/// Blocks kept back so that a commit can always be written, even on a full
/// device: enough for two copies of a manifest of this size.
fn reserve_for(geo: &Geometry, manifest_len: usize) -> u32 {
    let per = (geo.block_size - blob::HEADER_LEN) as usize;
    2 * (manifest_len + per / 2).div_ceil(per).max(1) as u32
}

/// The storage foundation: device, allocator, manifest, WAL.
#[derive(Debug)]
pub struct Store<D: BlockDevice> {
    dev: D,
    meta: Meta,
    wal: Wal,
    poisoned: bool,
}

impl<D: BlockDevice> Store<D> {
    /// Creates an empty store on `dev`, destroying whatever it held.
    pub fn format(mut dev: D, cfg: StoreConfig) -> Result<Self, Error<D::Error>> {
        let geo = dev.geometry();
        if !geo.is_valid() {
            return Err(Error::InvalidGeometry(geo));
        }
        for b in SUPERBLOCK_BLOCKS {
            dev.erase(b).map_err(Error::Device)?;
        }
        let mut alloc = Allocator::new(
            geo.block_count,
            SUPERBLOCK_BLOCKS.len() as u32,
            reserve_for(&geo, 0),
        );
        alloc.set_policy(cfg.alloc_policy);
        for b in SUPERBLOCK_BLOCKS {
            alloc.mark_used(b);
        }
        let epoch = 1;
        let first = alloc.alloc().ok_or(Error::DeviceFull)?;
        let mut wal = Wal::start(
            &mut dev,
            &mut alloc,
            Default::default(),
            first,
            None,
            1,
            epoch,
            cfg.max_record_len,
        )?;
        wal.sync(&mut dev)?;
        let head = wal
            .head()
            .map(|c| (c.block, c.header))
            .ok_or(Error::DeviceFull)?;
        let manifest = Manifest {
            epoch,
            wal: WalHead {
                block: head.0,
                stamp: head.1.stamp,
                seq: head.1.seq,
                checkpoint_lsn: 0,
            },
            next_table_id: 1,
            next_series_id: 1,
            ..Manifest::default()
        };
        let mut meta = Meta {
            alloc,
            sb: SuperblockLog::fresh(&geo),
            generation: 0,
            manifest: Manifest::default(),
            manifest_blocks: Vec::new(),
            arena: Arena::default(),
            geo,
        };
        meta.commit(&mut dev, manifest)?;
        Ok(Self {
            dev,
            meta,
            wal,
            poisoned: false,
        })
    }

    /// Opens the store on `dev`, calling `deliver(lsn, payload)` for every WAL
    /// record above the checkpoint, in order.
    pub fn open<F>(
        dev: D,
        cfg: StoreConfig,
        deliver: F,
    ) -> Result<(Self, OpenReport), Error<D::Error>>
    where
        F: FnMut(Lsn, &[u8]) -> Result<(), Error<D::Error>>,
    {
        Self::begin_open(dev, cfg)?.finish(deliver)
    }

    /// The geometry a formatted device was created with (its newest valid
    /// commit record's), without opening it; `None` if it holds no valid
    /// commit record. A record names the geometry it was written under, so
    /// a device presented with a different block size finds the records at
    /// the start of block 0 all the same: that is how a host learns a
    /// store's block size before presenting the device properly.
    pub fn stored_geometry(dev: &mut D) -> Result<Option<Geometry>, Error<D::Error>> {
        if !dev.geometry().is_valid() {
            return Err(Error::InvalidGeometry(dev.geometry()));
        }
        Ok(SuperblockLog::open(dev)?.map(|(rec, _)| rec.geometry))
    }

    /// First half of [`Store::open`]: reads the superblock and the manifest.
    /// The caller may read what the manifest references (through
    /// [`Opening::device_mut`]) before replaying the WAL with [`Opening::finish`].
    pub fn begin_open(mut dev: D, cfg: StoreConfig) -> Result<Opening<D>, Error<D::Error>> {
        let geo = dev.geometry();
        if !geo.is_valid() {
            return Err(Error::InvalidGeometry(geo));
        }
        let Some((rec, sb)) = SuperblockLog::open(&mut dev)? else {
            return Err(Error::NotFormatted);
        };
        let stored = rec.geometry;
        if stored.block_size != geo.block_size
            || stored.write_size != geo.write_size
            || stored.block_count > geo.block_count
        {
            return Err(Error::GeometryMismatch {
                stored,
                device: geo,
            });
        }
        let max_manifest = u32::try_from(geo.capacity_bytes()).unwrap_or(u32::MAX);
        let (bytes, manifest_blocks) = blob::read(&mut dev, &rec.manifest, max_manifest)?;
        let manifest = Manifest::decode(&bytes, (rec.manifest.block, rec.manifest.offset))?;
        Ok(Opening {
            dev,
            cfg,
            rec,
            sb,
            manifest,
            manifest_blocks,
            manifest_len: bytes.len(),
        })
    }

    fn guard<T>(&mut self, r: Result<T, Error<D::Error>>) -> Result<T, Error<D::Error>> {
        if matches!(r, Err(Error::Device(_)) | Err(Error::Corrupted(_))) {
            self.poisoned = true;
        }
        r
    }

    fn check(&self) -> Result<(), Error<D::Error>> {
        if self.poisoned {
            Err(Error::Poisoned)
        } else {
            Ok(())
        }
    }

    /// Appends a WAL record; durable after [`Store::sync`].
    pub fn append(&mut self, payload: &[u8]) -> Result<Lsn, Error<D::Error>> {
        self.check()?;
        let r = self
            .wal
            .append(&mut self.dev, &mut self.meta.alloc, payload);
        self.guard(r)
    }

    /// Makes every appended record durable; returns the highest durable LSN.
    pub fn sync(&mut self) -> Result<Lsn, Error<D::Error>> {
        self.check()?;
        let r = self.wal.sync(&mut self.dev);
        self.guard(r)
    }

    /// First half of a sync that does not hold the caller's lock during the
    /// device sync: programs the buffered WAL bytes and returns the LSN that
    /// is durable once done. Then sync the device (a second handle to it)
    /// and call [`Store::sync_done`], again after another device sync while
    /// it returns `false`.
    pub fn prepare_sync(&mut self) -> Result<Lsn, Error<D::Error>> {
        self.check()?;
        let r = self.wal.prepare_sync(&mut self.dev);
        self.guard(r)
    }

    /// After a device sync that followed [`Store::prepare_sync`] returning
    /// `lsn`: `true` when everything up to `lsn` is durable, `false` when
    /// WAL block headers the sync covered were just programmed and the
    /// device must be synced once more (then call this again).
    pub fn sync_done(&mut self, lsn: Lsn) -> Result<bool, Error<D::Error>> {
        self.check()?;
        let r = self.wal.sync_done(&mut self.dev, lsn);
        self.guard(r)
    }

    /// Records that everything at or below `lsn` is durable elsewhere and
    /// releases the WAL blocks that hold only such records (one commit).
    pub fn checkpoint(&mut self, lsn: Lsn) -> Result<(), Error<D::Error>> {
        self.commit(|_| {}, lsn.min(self.wal.next_lsn().saturating_sub(1)), &[])
    }

    /// Commits a manifest change together with a checkpoint at `checkpoint_lsn`
    /// (no lower than the current one) and releases `freed` blocks once durable.
    pub fn commit<F: FnOnce(&mut Manifest)>(
        &mut self,
        edit: F,
        checkpoint_lsn: Lsn,
        freed: &[BlockId],
    ) -> Result<(), Error<D::Error>> {
        self.check()?;
        // With small-code, one copy of the commit for every caller's edit.
        #[cfg(feature = "small-code")]
        let mut edit = {
            let mut once = Some(edit);
            move |m: &mut Manifest| {
                if let Some(e) = once.take() {
                    e(m);
                }
            }
        };
        #[cfg(feature = "small-code")]
        let edit: &mut dyn FnMut(&mut Manifest) = &mut edit;
        let r = self.commit_inner(edit, checkpoint_lsn, freed);
        self.guard(r)
    }

    #[cfg_attr(feature = "small-code", inline(never))]
    fn commit_inner<F: FnOnce(&mut Manifest)>(
        &mut self,
        edit: F,
        checkpoint_lsn: Lsn,
        freed: &[BlockId],
    ) -> Result<(), Error<D::Error>> {
        self.wal.sync(&mut self.dev)?;
        let mut next = self.meta.manifest.clone();
        edit(&mut next);
        let cp = checkpoint_lsn.max(next.wal.checkpoint_lsn);
        let released = self.wal.checkpoint(cp);
        if let Some(head) = self.wal.head() {
            next.wal = WalHead {
                block: head.block,
                stamp: head.header.stamp,
                seq: head.header.seq,
                checkpoint_lsn: cp,
            };
        }
        for &b in released.iter().chain(freed) {
            self.meta.alloc.release(b);
        }
        self.meta.commit(&mut self.dev, next)
    }

    /// The committed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.meta.manifest
    }

    /// Generation of the last commit.
    pub fn generation(&self) -> u64 {
        self.meta.generation
    }

    /// The LSN the next record gets.
    pub fn next_lsn(&self) -> Lsn {
        self.wal.next_lsn()
    }

    /// The highest durable LSN.
    pub fn durable_lsn(&self) -> Lsn {
        self.wal.durable_lsn()
    }

    /// Whether an earlier device error stopped writes.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// The device's shape.
    pub fn geometry(&self) -> Geometry {
        self.meta.geo
    }

    /// Free blocks (the commit reserve included).
    pub fn free_blocks(&self) -> u32 {
        self.meta.alloc.free_blocks()
    }

    /// Files: when the manifest holds the highest block in use and a lower
    /// block is free, writes the manifest again (a commit changing nothing)
    /// into the lowest free blocks, so the file can be cut below it. Returns
    /// whether it moved.
    pub fn relocate_manifest(&mut self) -> Result<bool, Error<D::Error>> {
        self.check()?;
        if self.meta.alloc.policy() != AllocPolicy::Compact {
            return Ok(false);
        }
        let Some(top) = self.meta.alloc.highest_used() else {
            return Ok(false);
        };
        if !self.meta.manifest_blocks.contains(&top) {
            return Ok(false);
        }
        let Some(lowest) = self.meta.alloc.alloc() else {
            return Ok(false);
        };
        self.meta.alloc.release_now(lowest);
        if lowest > top {
            return Ok(false);
        }
        self.meta.arena.retire();
        self.commit(|_| {}, 0, &[])?;
        Ok(true)
    }

    /// Moves an idle WAL to the lowest free block when that and the block
    /// it reserves next are below its current block or reserved successor
    /// (with [`AllocPolicy::Compact`], so that a file can be
    /// cut short after the data moved down). Only when every record is
    /// durable and checkpointed; one manifest commit. Returns whether it moved.
    pub fn relocate_wal(&mut self) -> Result<bool, Error<D::Error>> {
        self.check()?;
        let cp = self.meta.manifest.wal.checkpoint_lsn;
        let tail = self.wal.chain().last().map(|c| c.block);
        if self.meta.alloc.policy() != AllocPolicy::Compact
            || !self.wal.is_settled()
            || cp + 1 < self.wal.next_lsn()
            || self.wal.chain().count() != 1
        {
            return Ok(false);
        }
        let Some(tail) = tail else { return Ok(false) };
        // The chain and its reserved successor move when the two lowest free
        // blocks lie below the higher of them (a successor reserved while
        // the blocks below were taken would keep the file long).
        let held = tail.max(self.wal.reserved_next());
        let Some(block) = self.meta.alloc.alloc() else {
            return Ok(false);
        };
        let second = self.meta.alloc.alloc();
        if let Some(b) = second {
            self.meta.alloc.release_now(b);
        }
        if second.is_none_or(|b| block.max(b) >= held) {
            self.meta.alloc.release_now(block);
            return Ok(false);
        }
        let r = self.wal.restart(&mut self.dev, &mut self.meta.alloc, block);
        let old = match r {
            Ok(old) => old,
            Err(e) => {
                self.meta.alloc.release_now(block);
                return self.guard(Err(e));
            }
        };
        let r = self.commit_inner(|_| {}, cp, &old);
        self.guard(r).map(|()| true)
    }

    /// Blocks of the committed manifest blob.
    pub fn manifest_blocks(&self) -> &[BlockId] {
        &self.meta.manifest_blocks
    }

    /// The allocation policy.
    pub fn alloc_policy(&self) -> AllocPolicy {
        self.meta.alloc.policy()
    }

    /// The highest block in use: nothing after it needs to be kept (a
    /// file-backed device may be cut there).
    pub fn highest_used_block(&self) -> Option<BlockId> {
        self.meta.alloc.highest_used()
    }

    /// Bytes of the device the WAL occupies.
    pub fn wal_bytes(&self) -> u64 {
        self.wal.bytes_on_device()
    }

    /// The device.
    pub fn device(&self) -> &D {
        &self.dev
    }

    /// The device, mutably (reads; writers go through the store's methods).
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.dev
    }

    /// Consumes the store, giving the device back (nothing is written).
    pub fn into_device(self) -> D {
        self.dev
    }

    /// Takes a free block for table data; `None` when only the commit reserve
    /// is left.
    pub fn alloc_block(&mut self) -> Option<BlockId> {
        self.meta.alloc.alloc()
    }

    /// Gives back a block taken with [`Store::alloc_block`] that no commit
    /// references.
    pub fn release_uncommitted(&mut self, block: BlockId) {
        self.meta.alloc.release_now(block);
    }

    /// The device and the allocator, for writing a table or segment (the
    /// allocator hands out blocks as a `BlockSource`). Blocks taken and not
    /// committed must be given back with [`Store::release_uncommitted`].
    pub fn writer_parts(&mut self) -> Result<(&mut D, &mut Allocator), Error<D::Error>> {
        self.check()?;
        Ok((&mut self.dev, &mut self.meta.alloc))
    }

    /// Marks the store failed after a device error outside its own methods
    /// (a table write through [`Store::writer_parts`]).
    pub fn poison(&mut self) {
        self.poisoned = true;
    }

    /// Frees a block that the last durable commit no longer references (a
    /// retired table no query reads any more), and tells the device.
    pub fn free_committed(&mut self, block: BlockId) {
        self.meta.alloc.release_now(block);
        let _ = self.dev.discard(block);
    }

    /// Erases a block taken with [`Store::alloc_block`].
    pub fn erase(&mut self, block: BlockId) -> Result<(), Error<D::Error>> {
        self.check()?;
        let r = self.dev.erase(block).map_err(Error::Device);
        self.guard(r)
    }

    /// Programs bytes into a block taken with [`Store::alloc_block`].
    pub fn program(
        &mut self,
        block: BlockId,
        offset: u32,
        data: &[u8],
    ) -> Result<(), Error<D::Error>> {
        self.check()?;
        let r = self.dev.program(block, offset, data).map_err(Error::Device);
        self.guard(r)
    }
}
