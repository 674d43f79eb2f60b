//! The write-ahead log: an append-only chain of blocks holding records.
//!
//! A record is an opaque payload with an LSN (log sequence number: 1, 2, 3, …).
//! Records are split into fragments where they cross a block boundary. Every
//! block starts with a header, stored twice, that carries a stamp unique over
//! the store's life (the manifest's open epoch in the high half), the stamp of
//! the previous block, and the block reserved to follow it; every fragment's
//! CRC is seeded with its block's stamp. Bytes from a block's previous life
//! therefore never validate, and a chain link never points into a stale block.
//!
//! Durability (group commit): [`Wal::append`] only buffers; [`Wal::sync`]
//! programs what is buffered and syncs the device once for all of it (or, to
//! sync without holding the caller's lock, [`Wal::prepare_sync`], a device
//! sync, then [`Wal::sync_done`] until it says done). Every fragment records
//! the highest LSN known durable when it was written: at replay, a valid
//! fragment after a damaged one that claims the damaged record durable
//! proves corruption, instead of a torn tail to truncate.
//!
//! A durable header must imply a durable predecessor: replay follows a valid
//! header and expects the chain before it whole. So a block's header is
//! programmed only after a device sync covered its predecessor's end and its
//! own first fragments: a sync programs the buffered fragments (holding back
//! the headers of blocks started since the last sync), syncs, programs those
//! headers and syncs again. A group commit costs one device sync, or two when
//! it started blocks — not one per block started, which a writer would wait
//! for while appending, under its lock. A header taken by `prepare_sync` is
//! tagged with the LSN it returned, and `sync_done(n)` programs only those
//! tagged `n` or lower: writers may prepare (program their bytes) while
//! another caller's device sync runs, and the headers of their blocks wait
//! for a sync that started after them. Where the program unit does not
//! divide the header (units of 64 bytes or more) the simpler rule applies:
//! the previous block is synced before the next one is started.
//!
//! Layout on media: `docs/format/wal.md`.

pub mod format;
mod replay;

use alloc::collections::VecDeque;
use alloc::vec::Vec;

pub use replay::{ReplayReport, replay};

use crate::error::Error;
use crate::layout::Allocator;
use crate::storage::{BlockDevice, BlockId, Geometry};
use format::{
    BlockHeader, FLAG_CONTINUES, FRAG_HEADER_LEN, Fragment, HEADER_LEN, Kind, encode_fragment,
};

/// Log sequence number: the position of a record in the log, from 1.
pub type Lsn = u64;

/// A block of the live chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainBlock {
    /// Where it is.
    pub block: BlockId,
    /// Its header.
    pub header: BlockHeader,
}

/// The block being appended to.
#[derive(Debug)]
struct Tail {
    block: BlockId,
    header: BlockHeader,
    /// Bytes of the block already programmed (a multiple of the program unit).
    programmed: u32,
    /// Bytes after `programmed` waiting to be programmed.
    buf: Vec<u8>,
}

/// A block header waiting to be programmed (see the module docs).
#[derive(Debug)]
struct Head {
    block: BlockId,
    bytes: Vec<u8>,
}

/// The WAL writer.
#[derive(Debug)]
pub struct Wal {
    geo: Geometry,
    chain: VecDeque<ChainBlock>,
    tail: Tail,
    /// Headers are programmed after a sync, not with their blocks' first
    /// fragments.
    defer_heads: bool,
    /// Headers of blocks whose first fragments are programmed, not yet
    /// covered by a started sync.
    pending_heads: Vec<Head>,
    /// Headers of blocks whose first fragments a started sync covers, each
    /// with the LSN the `prepare_sync` that took it returned: a sync
    /// prepared for LSN `n` programs those tagged `n` or lower once it
    /// completes (a later prepare may have run while the device synced).
    heads_in_sync: Vec<(Lsn, Head)>,
    next_lsn: Lsn,
    durable_lsn: Lsn,
    epoch: u32,
    counter: u32,
    max_record_len: u32,
}

impl Wal {
    /// Starts a WAL in `block` (already allocated) whose successor must be
    /// `chain` = the existing chain (empty for a new store). `first_lsn` is the
    /// LSN the first record will get. Nothing is programmed until `sync`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start<D: BlockDevice>(
        dev: &mut D,
        alloc: &mut Allocator,
        chain: VecDeque<ChainBlock>,
        block: BlockId,
        prev: Option<&BlockHeader>,
        next_lsn: Lsn,
        epoch: u32,
        max_record_len: u32,
    ) -> Result<Self, Error<D::Error>> {
        let geo = dev.geometry();
        let mut wal = Self {
            geo,
            chain,
            tail: Tail {
                block,
                header: BlockHeader {
                    seq: 0,
                    stamp: 0,
                    prev_stamp: 0,
                    first_lsn: next_lsn,
                    next: 0,
                    flags: 0,
                },
                programmed: 0,
                buf: Vec::with_capacity(geo.block_size as usize),
            },
            defer_heads: HEADER_LEN.is_multiple_of(geo.write_size.max(1)),
            pending_heads: Vec::new(),
            heads_in_sync: Vec::new(),
            next_lsn,
            durable_lsn: next_lsn.saturating_sub(1),
            epoch,
            counter: 0,
            max_record_len,
        };
        let (seq, prev_stamp) = prev.map_or((0, 0), |p| (p.seq + 1, p.stamp));
        wal.open_block(dev, alloc, block, seq, prev_stamp, next_lsn, false)?;
        Ok(wal)
    }

    fn new_stamp(&mut self) -> u64 {
        self.counter = self.counter.wrapping_add(1);
        (u64::from(self.epoch) << 32) | u64::from(self.counter)
    }

    /// Erases `block`, reserves its successor and puts its header in the buffer.
    #[allow(clippy::too_many_arguments)]
    fn open_block<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        alloc: &mut Allocator,
        block: BlockId,
        seq: u64,
        prev_stamp: u64,
        first_lsn: Lsn,
        continues: bool,
    ) -> Result<(), Error<D::Error>> {
        let next = alloc.alloc().ok_or(Error::DeviceFull)?;
        let header = BlockHeader {
            seq,
            stamp: self.new_stamp(),
            prev_stamp,
            first_lsn,
            next,
            flags: if continues { FLAG_CONTINUES } else { 0 },
        };
        dev.erase(block).map_err(Error::Device)?;
        self.tail.block = block;
        self.tail.header = header;
        self.tail.programmed = 0;
        self.tail.buf.clear();
        self.tail.buf.extend_from_slice(&header.encode());
        self.chain.push_back(ChainBlock { block, header });
        Ok(())
    }

    /// The LSN the next record will get.
    pub fn next_lsn(&self) -> Lsn {
        self.next_lsn
    }

    /// The highest LSN known durable.
    pub fn durable_lsn(&self) -> Lsn {
        self.durable_lsn
    }

    /// The largest record accepted.
    pub fn max_record_len(&self) -> u32 {
        self.max_record_len
    }

    /// The live chain, head first.
    pub fn chain(&self) -> impl Iterator<Item = &ChainBlock> {
        self.chain.iter()
    }

    /// The tail block's reserved successor.
    pub fn reserved_next(&self) -> BlockId {
        self.tail.header.next
    }

    /// Bytes the live chain occupies on the device.
    pub fn bytes_on_device(&self) -> u64 {
        (self.chain.len() as u64 + 1) * u64::from(self.geo.block_size)
    }

    fn fill(&self) -> u32 {
        self.tail.programmed + self.tail.buf.len() as u32
    }

    /// New blocks an append of `len` bytes would start.
    fn blocks_needed(&self, len: u32) -> u32 {
        let bs = self.geo.block_size;
        let mut space = bs - self.fill();
        let mut left = len;
        let mut blocks = 0;
        loop {
            if space >= FRAG_HEADER_LEN + left.min(1) {
                let n = left.min(space - FRAG_HEADER_LEN);
                left -= n;
                if left == 0 {
                    return blocks;
                }
            }
            blocks += 1;
            space = bs - HEADER_LEN;
        }
    }

    /// Appends a record; returns its LSN. Durable only after [`Wal::sync`].
    pub fn append<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        alloc: &mut Allocator,
        payload: &[u8],
    ) -> Result<Lsn, Error<D::Error>> {
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        if len > self.max_record_len {
            return Err(Error::TooLarge {
                what: "WAL record",
                len: payload.len(),
                max: self.max_record_len as usize,
            });
        }
        if !alloc.can_alloc(self.blocks_needed(len)) {
            return Err(Error::DeviceFull);
        }
        let lsn = self.next_lsn;
        let bs = self.geo.block_size;
        let mut rest = payload;
        let mut first = true;
        loop {
            let space = bs - self.fill();
            if space < FRAG_HEADER_LEN + u32::from(!rest.is_empty()) {
                self.switch_block(dev, alloc, lsn, !first)?;
                continue;
            }
            let n = rest.len().min((space - FRAG_HEADER_LEN) as usize);
            let (part, after) = rest.split_at(n);
            let kind = match (first, after.is_empty()) {
                (true, true) => Kind::Full,
                (true, false) => Kind::First,
                (false, false) => Kind::Middle,
                (false, true) => Kind::Last,
            };
            let frag = Fragment {
                kind,
                len: n as u32,
                lsn,
                back: u32::try_from(lsn - self.durable_lsn).unwrap_or(0),
            };
            let mut hdr = [0u8; FRAG_HEADER_LEN as usize];
            encode_fragment(&mut hdr, self.tail.header.stamp, &frag, part);
            self.tail.buf.extend_from_slice(&hdr);
            self.tail.buf.extend_from_slice(part);
            first = false;
            rest = after;
            if rest.is_empty() {
                break;
            }
            self.switch_block(dev, alloc, lsn, true)?;
        }
        self.next_lsn = lsn + 1;
        Ok(lsn)
    }

    /// Programs the buffered bytes, padded to the program unit (or to the
    /// block's end) with a padding fragment, or with zeros where fewer than a
    /// fragment header's bytes are left before the block's end (readers stop
    /// there).
    fn program_buffered<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        to_block_end: bool,
    ) -> Result<(), Error<D::Error>> {
        if self.tail.buf.is_empty() {
            return Ok(());
        }
        let bs = self.geo.block_size;
        let fill = self.fill();
        let mut end = if to_block_end {
            bs
        } else {
            self.geo.align_up(fill)
        };
        if end > fill && end - fill < FRAG_HEADER_LEN {
            end = self.geo.align_up(fill + FRAG_HEADER_LEN).min(bs);
        }
        let gap = end - fill;
        if gap >= FRAG_HEADER_LEN {
            let pad = Fragment {
                kind: Kind::Pad,
                len: gap - FRAG_HEADER_LEN,
                lsn: 0,
                back: 0,
            };
            let zeros = alloc::vec![0u8; (gap - FRAG_HEADER_LEN) as usize];
            let mut hdr = [0u8; FRAG_HEADER_LEN as usize];
            encode_fragment(&mut hdr, self.tail.header.stamp, &pad, &zeros);
            self.tail.buf.extend_from_slice(&hdr);
            self.tail.buf.extend_from_slice(&zeros);
        } else {
            self.tail
                .buf
                .resize((end - self.tail.programmed) as usize, 0);
        }
        self.program_raw(dev)
    }

    fn program_raw<D: BlockDevice>(&mut self, dev: &mut D) -> Result<(), Error<D::Error>> {
        let head = HEADER_LEN as usize;
        if self.defer_heads && self.tail.programmed == 0 && self.tail.buf.len() >= head {
            // The header waits for a sync covering what precedes it.
            let len = self.tail.buf.len() as u32;
            if let Some(body) = self.tail.buf.get(head..)
                && !body.is_empty()
            {
                dev.program(self.tail.block, HEADER_LEN, body)
                    .map_err(Error::Device)?;
            }
            let bytes = self.tail.buf.get(..head).unwrap_or_default().to_vec();
            self.pending_heads.push(Head {
                block: self.tail.block,
                bytes,
            });
            self.tail.programmed = len;
            self.tail.buf.clear();
            return Ok(());
        }
        dev.program(self.tail.block, self.tail.programmed, &self.tail.buf)
            .map_err(Error::Device)?;
        self.tail.programmed += self.tail.buf.len() as u32;
        self.tail.buf.clear();
        Ok(())
    }

    /// Programs the headers a completed sync, prepared for `lsn`, covered;
    /// returns whether there were any.
    fn program_heads<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        lsn: Lsn,
    ) -> Result<bool, Error<D::Error>> {
        let mut any = false;
        while let Some(i) = self.heads_in_sync.iter().position(|(tag, _)| *tag <= lsn) {
            let (_, h) = self.heads_in_sync.remove(i);
            dev.program(h.block, 0, &h.bytes).map_err(Error::Device)?;
            any = true;
        }
        Ok(any)
    }

    /// Finishes the tail block (programmed; synced too unless headers are
    /// deferred) and opens its successor.
    fn switch_block<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        alloc: &mut Allocator,
        lsn: Lsn,
        continues: bool,
    ) -> Result<(), Error<D::Error>> {
        self.program_buffered(dev, true)?;
        if !self.defer_heads {
            dev.sync().map_err(Error::Device)?;
            // Everything before the record being written is now durable.
            self.durable_lsn = self.durable_lsn.max(lsn - 1);
        }
        let prev = self.tail.header;
        self.open_block(
            dev,
            alloc,
            prev.next,
            prev.seq + 1,
            prev.stamp,
            lsn,
            continues,
        )
    }

    /// Makes every appended record durable with one device sync; returns the
    /// highest durable LSN.
    pub fn sync<D: BlockDevice>(&mut self, dev: &mut D) -> Result<Lsn, Error<D::Error>> {
        let target = self.prepare_sync(dev)?;
        if target > self.durable_lsn || !self.heads_in_sync.is_empty() {
            loop {
                dev.sync().map_err(Error::Device)?;
                if self.sync_done(dev, target)? {
                    break;
                }
            }
        }
        Ok(self.durable_lsn)
    }

    /// First half of a sync: programs every buffered fragment. Returns the
    /// LSN that is durable once the device has synced and
    /// [`Wal::sync_done`] has said so.
    pub fn prepare_sync<D: BlockDevice>(&mut self, dev: &mut D) -> Result<Lsn, Error<D::Error>> {
        self.program_buffered(dev, false)?;
        let target = self.next_lsn - 1;
        let pending = core::mem::take(&mut self.pending_heads);
        self.heads_in_sync
            .extend(pending.into_iter().map(|h| (target, h)));
        Ok(target)
    }

    /// After each device sync that followed `prepare_sync` returning `lsn`:
    /// `true` when the records up to `lsn` are durable; `false` when the
    /// sync let headers be programmed (they were), so the device must be
    /// synced once more and this called again.
    pub fn sync_done<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        lsn: Lsn,
    ) -> Result<bool, Error<D::Error>> {
        if self.program_heads(dev, lsn)? {
            return Ok(false);
        }
        self.durable_lsn = self.durable_lsn.max(lsn.min(self.next_lsn - 1));
        Ok(true)
    }

    /// Drops chain blocks whose records all have an LSN at or below `lsn`;
    /// returns them (the caller releases them once the new head is committed).
    /// The tail block always stays.
    pub fn checkpoint(&mut self, lsn: Lsn) -> Vec<BlockId> {
        let mut released = Vec::new();
        while self.chain.len() > 1 {
            let (Some(front), Some(second)) = (self.chain.front(), self.chain.get(1)) else {
                break;
            };
            // The front block's last record is the one before the successor's
            // first, or the successor's first itself if it continues there.
            let last = if second.header.continues() {
                second.header.first_lsn
            } else {
                second.header.first_lsn.saturating_sub(1)
            };
            if last > lsn {
                break;
            }
            released.push(front.block);
            self.chain.pop_front();
        }
        released
    }

    /// The head of the chain.
    pub fn head(&self) -> Option<&ChainBlock> {
        self.chain.front()
    }

    /// Whether every record is durable and nothing waits to be programmed.
    pub fn is_settled(&self) -> bool {
        self.durable_lsn + 1 == self.next_lsn
            && self.tail.buf.is_empty()
            && self.pending_heads.is_empty()
            && self.heads_in_sync.is_empty()
    }

    /// Moves the log to a new chain starting in `block` (already allocated),
    /// continuing the sequence: the next record goes there. Returns the old
    /// chain's blocks and its reserved successor, for the caller to release
    /// once a manifest pointing at the new head is durable. Only for a
    /// settled log whose records are all checkpointed.
    pub(crate) fn restart<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        alloc: &mut Allocator,
        block: BlockId,
    ) -> Result<Vec<BlockId>, Error<D::Error>> {
        let old_chain = core::mem::take(&mut self.chain);
        let (seq, prev_stamp, old_next) = (
            self.tail.header.seq + 1,
            self.tail.header.stamp,
            self.tail.header.next,
        );
        if let Err(e) = self.open_block(dev, alloc, block, seq, prev_stamp, self.next_lsn, false) {
            self.chain = old_chain;
            return Err(e);
        }
        let mut old: Vec<BlockId> = old_chain.iter().map(|c| c.block).collect();
        old.push(old_next);
        Ok(old)
    }
}
