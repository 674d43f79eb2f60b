//! Byte streams over allocated blocks: how tables and catalog segments are
//! written and read.
//!
//! A stream is a sequence of bytes laid over blocks taken one at a time from a
//! [`BlockSource`]; consecutive blocks coalesce into [`Extent`]s, which the
//! manifest records with the stream's length. Blocks carry no headers: a
//! stream is only ever found through its manifest entry. The writer erases a
//! block when it starts it and programs it in pieces of a quarter block
//! (at least the program unit, at most 16 KiB), each byte once; the last
//! piece of the stream is padded to the program unit. So it holds a quarter
//! block in RAM: 1 KiB on 4 KiB NOR sectors, 16 KiB on a gateway's 64 KiB
//! blocks.

use alloc::vec::Vec;

use crate::error::{Error, corrupted};
use crate::layout::Allocator;
use crate::manifest::Extent;
use crate::storage::{BlockDevice, BlockId};

/// Where a stream writer gets its blocks.
pub trait BlockSource {
    /// A free block, or `None` when the device is full.
    fn take(&mut self) -> Option<BlockId>;
}

impl BlockSource for Allocator {
    fn take(&mut self) -> Option<BlockId> {
        self.alloc()
    }
}

/// Blocks allocated in advance (a writer running outside the engine's lock).
#[derive(Debug, Default)]
pub struct Preallocated {
    /// Blocks not yet used, taken from the front.
    pub blocks: alloc::collections::VecDeque<BlockId>,
}

impl BlockSource for Preallocated {
    fn take(&mut self) -> Option<BlockId> {
        self.blocks.pop_front()
    }
}

/// Appends `block` to `extents`, extending the last run when consecutive.
pub fn push_extent(extents: &mut Vec<Extent>, block: BlockId) {
    if let Some(last) = extents.last_mut()
        && last.start.wrapping_add(last.count) == block
    {
        last.count += 1;
        return;
    }
    extents.push(Extent {
        start: block,
        count: 1,
    });
}

/// Writes a byte stream to fresh blocks.
#[derive(Debug)]
pub struct StreamWriter {
    block_size: u32,
    /// Bytes buffered before a program (divides `block_size`).
    piece: u32,
    /// Bytes of the current block already programmed.
    done: u32,
    /// The current block (erased, partly programmed), if any.
    block: Option<BlockId>,
    buf: Vec<u8>,
    extents: Vec<Extent>,
    len: u64,
}

impl StreamWriter {
    /// A writer for blocks of `block_size` bytes.
    pub fn new(block_size: u32) -> Self {
        // A quarter block, 512 B to 16 KiB, when that divides the block;
        // otherwise the whole block. Block sizes are powers of two in
        // practice, and the program unit divides 512.
        let q = (block_size / 4).clamp(512, 16 * 1024);
        let piece = if q > 0 && q <= block_size && block_size.is_multiple_of(q) {
            q
        } else {
            block_size
        };
        Self {
            block_size,
            piece,
            done: 0,
            block: None,
            buf: Vec::new(),
            extents: Vec::new(),
            len: 0,
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Blocks taken so far.
    pub fn extents(&self) -> &[Extent] {
        &self.extents
    }

    /// Programs the buffer at the current position, starting a block first
    /// when none is open.
    fn program_buf<D: BlockDevice, S: BlockSource>(
        &mut self,
        dev: &mut D,
        src: &mut S,
    ) -> Result<(), Error<D::Error>> {
        let block = match self.block {
            Some(b) => b,
            None => {
                let b = src.take().ok_or(Error::DeviceFull)?;
                push_extent(&mut self.extents, b);
                dev.erase(b).map_err(Error::Device)?;
                self.block = Some(b);
                self.done = 0;
                b
            }
        };
        let w = dev.geometry().align_up(self.buf.len() as u32) as usize;
        self.buf.resize(w, 0);
        dev.program(block, self.done, &self.buf)
            .map_err(Error::Device)?;
        self.done += w as u32;
        if self.done >= self.block_size {
            self.block = None;
        }
        self.buf.clear();
        Ok(())
    }

    /// Appends `data`.
    pub fn write<D: BlockDevice, S: BlockSource>(
        &mut self,
        dev: &mut D,
        src: &mut S,
        mut data: &[u8],
    ) -> Result<(), Error<D::Error>> {
        let unit = dev.geometry().write_size.max(1);
        if !self.piece.is_multiple_of(unit) {
            // A program unit that does not divide the piece: whole blocks.
            self.piece = self.block_size;
        }
        while !data.is_empty() {
            let room = (self.piece as usize).saturating_sub(self.buf.len());
            let (now, rest) = data.split_at(room.min(data.len()));
            if self.buf.capacity() == 0 {
                self.buf.reserve_exact(self.piece as usize);
            }
            self.buf.extend_from_slice(now);
            self.len += now.len() as u64;
            data = rest;
            if self.buf.len() >= self.piece as usize {
                self.program_buf(dev, src)?;
            }
        }
        Ok(())
    }

    /// Programs what is buffered; returns the stream's length and blocks.
    /// On error the blocks taken so far stay in [`StreamWriter::extents`].
    pub fn finish<D: BlockDevice, S: BlockSource>(
        &mut self,
        dev: &mut D,
        src: &mut S,
    ) -> Result<(u64, Vec<Extent>), Error<D::Error>> {
        if !self.buf.is_empty() {
            self.program_buf(dev, src)?;
        }
        self.block = None;
        self.buf = Vec::new();
        Ok((self.len, core::mem::take(&mut self.extents)))
    }

    /// Gives up: the blocks taken so far, to be released.
    pub fn abandon(self) -> Vec<Extent> {
        self.extents
    }
}

/// Reads byte ranges of a stream.
#[derive(Clone, Debug)]
pub struct StreamReader<'a> {
    extents: &'a [Extent],
    len: u64,
    block_size: u32,
}

impl<'a> StreamReader<'a> {
    /// A reader over a stream of `len` bytes in `extents`.
    pub fn new(extents: &'a [Extent], len: u64, block_size: u32) -> Self {
        Self {
            extents,
            len,
            block_size,
        }
    }

    /// The stream's length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the stream is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The block and offset holding byte `pos` of the stream.
    pub fn position(&self, pos: u64) -> Option<(BlockId, u32)> {
        self.locate(pos)
    }

    fn locate(&self, pos: u64) -> Option<(BlockId, u32)> {
        let bs = u64::from(self.block_size);
        let mut idx = pos / bs;
        for e in self.extents {
            if idx < u64::from(e.count) {
                return Some((e.start.wrapping_add(idx as u32), (pos % bs) as u32));
            }
            idx -= u64::from(e.count);
        }
        None
    }

    /// Reads `buf.len()` bytes at `pos`.
    pub fn read<D: BlockDevice>(
        &self,
        dev: &mut D,
        pos: u64,
        buf: &mut [u8],
    ) -> Result<(), Error<D::Error>> {
        let end = pos.checked_add(buf.len() as u64);
        if end.is_none_or(|e| e > self.len) {
            let first = self.extents.first().map_or(0, |e| e.start);
            corrupted!("stream range", first, 0);
        }
        let mut done = 0usize;
        while done < buf.len() {
            let p = pos + done as u64;
            let Some((block, off)) = self.locate(p) else {
                corrupted!("stream extents", 0, 0);
            };
            let n = ((self.block_size - off) as usize).min(buf.len() - done);
            let Some(dst) = buf.get_mut(done..done + n) else {
                corrupted!("stream range", block, off);
            };
            dev.read(block, off, dst).map_err(Error::Device)?;
            done += n;
        }
        Ok(())
    }
}
