//! Manifest blobs on media.
//!
//! A manifest block starts with an 8-byte header (`next` block, or `u32::MAX`)
//! followed by blob bytes. A new blob is appended to the current manifest block
//! when it fits — small commits then cost no erase — and otherwise written from
//! offset 8 of freshly allocated blocks chained through `next`. The superblock
//! records (first block, offset, length, CRC) of the current blob, so stale
//! bytes around it are never read as part of it.

use alloc::vec;
use alloc::vec::Vec;

use crate::crc::crc32c;
use crate::error::{Error, corrupted};
use crate::layout::Allocator;
use crate::layout::superblock::BlobRef;
use crate::storage::{BlockDevice, BlockId};

/// Bytes of the header at the start of each manifest block.
pub const HEADER_LEN: u32 = 8;
const NO_NEXT: u32 = u32::MAX;

/// The manifest writer's position: the block new blobs are appended to.
#[derive(Clone, Debug, Default)]
pub struct Arena {
    block: Option<BlockId>,
    used: u32,
}

/// A blob's bytes and the blocks holding it.
pub type Blob = (Vec<u8>, Vec<BlockId>);

/// Reads the blob at `r`; returns its bytes and the blocks it occupies.
pub fn read<D: BlockDevice>(
    dev: &mut D,
    r: &BlobRef,
    max_len: u32,
) -> Result<Blob, Error<D::Error>> {
    let geo = dev.geometry();
    let bs = geo.block_size;
    if r.block >= geo.block_count || r.offset >= bs || r.len > max_len {
        corrupted!("manifest location", r.block, r.offset);
    }
    let mut out = vec![0u8; r.len as usize];
    let mut blocks = vec![r.block];
    let mut block = r.block;
    let mut off = r.offset;
    let mut done = 0usize;
    let max_blocks = (r.len / (bs - HEADER_LEN)) as usize + 2;
    while done < out.len() {
        let n = ((bs - off) as usize).min(out.len() - done);
        let Some(dst) = out.get_mut(done..done + n) else {
            corrupted!("manifest", block, off);
        };
        dev.read(block, off, dst).map_err(Error::Device)?;
        done += n;
        if done < out.len() {
            let mut h = [0u8; 4];
            dev.read(block, 0, &mut h).map_err(Error::Device)?;
            let next = u32::from_le_bytes(h);
            if next >= geo.block_count || blocks.len() >= max_blocks || blocks.contains(&next) {
                corrupted!("manifest chain", block, 0);
            }
            blocks.push(next);
            block = next;
            off = HEADER_LEN;
        }
    }
    if crc32c(&out) != r.crc {
        corrupted!("manifest", r.block, r.offset);
    }
    Ok((out, blocks))
}

impl Arena {
    /// The next blob starts in fresh blocks instead of after the last one.
    pub fn retire(&mut self) {
        self.block = None;
    }

    /// Writes `bytes` as a new blob (programs, no sync). Returns where it is
    /// and every block it occupies; blocks taken from `alloc` are marked used.
    pub fn write<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        alloc: &mut Allocator,
        bytes: &[u8],
    ) -> Result<(BlobRef, Vec<BlockId>), Error<D::Error>> {
        let geo = dev.geometry();
        let bs = geo.block_size;
        let len = u32::try_from(bytes.len()).map_err(|_| Error::TooLarge {
            what: "manifest",
            len: bytes.len(),
            max: u32::MAX as usize,
        })?;
        let crc = crc32c(bytes);
        if let Some(block) = self.block {
            let off = geo.align_up(self.used);
            if off < bs && bs - off >= len {
                let padded = geo.align_up(len);
                let mut buf = vec![0u8; padded as usize];
                if let Some(dst) = buf.get_mut(..bytes.len()) {
                    dst.copy_from_slice(bytes);
                }
                dev.program(block, off, &buf).map_err(Error::Device)?;
                self.used = off + padded;
                return Ok((
                    BlobRef {
                        block,
                        offset: off,
                        len,
                        crc,
                    },
                    vec![block],
                ));
            }
        }
        let per_block = (bs - HEADER_LEN) as usize;
        let n = bytes.len().div_ceil(per_block).max(1);
        let mut blocks = Vec::with_capacity(n);
        for _ in 0..n {
            match alloc.alloc_reserved() {
                Some(b) => blocks.push(b),
                None => {
                    for b in blocks {
                        alloc.release_now(b);
                    }
                    return Err(Error::DeviceFull);
                }
            }
        }
        let mut buf = Vec::with_capacity(bs as usize);
        for (i, (&block, part)) in blocks
            .iter()
            .zip(bytes.chunks(per_block).chain(core::iter::once(&[][..])))
            .enumerate()
        {
            let next = blocks.get(i + 1).copied().unwrap_or(NO_NEXT);
            buf.clear();
            buf.extend_from_slice(&next.to_le_bytes());
            buf.extend_from_slice(&[0u8; 4]);
            buf.extend_from_slice(part);
            let used = buf.len() as u32;
            buf.resize(geo.align_up(used) as usize, 0);
            dev.erase(block).map_err(Error::Device)?;
            dev.program(block, 0, &buf).map_err(Error::Device)?;
            self.block = Some(block);
            self.used = buf.len() as u32;
        }
        let first = blocks.first().copied().unwrap_or(0);
        Ok((
            BlobRef {
                block: first,
                offset: HEADER_LEN,
                len,
                crc,
            },
            blocks,
        ))
    }
}
