//! The superblock: two blocks of commit records, the root of everything.
//!
//! A commit appends a [`CommitRecord`] — generation, device geometry and where
//! the manifest is — to the active superblock block, twice in a row (so a
//! single flipped bit never loses a commit). When the active block is full, the
//! other one is erased and becomes active. Open takes the valid record with the
//! highest generation from either block. A record torn by a power cut fails its
//! checksum and open falls back to the one before it, which is intact: blocks
//! a commit releases are not reused until that commit is durable.
//!
//! Appending instead of rewriting divides superblock erases by the number of
//! records a block holds (e.g. 32 on 4 KiB NOR sectors), which matters on
//! flash rated for 10k–100k erase cycles. After open the next commit always
//! starts a fresh block, because slots after the newest record may hold torn
//! bytes that must not be programmed again. Byte layout: `docs/format/superblock.md`.

use crate::crc::crc32c;
use crate::error::{Error, corrupted};
use crate::storage::{BlockDevice, BlockId, Geometry};

use super::SUPERBLOCK_BLOCKS;

/// Magic at the start of every commit record: "PDBS".
pub const MAGIC: [u8; 4] = *b"PDBS";
/// Current superblock format version.
pub const VERSION: u16 = 1;
/// Encoded size of a record before alignment.
pub const RECORD_LEN: usize = 64;

/// Where a blob of bytes (the manifest) lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BlobRef {
    /// First block.
    pub block: BlockId,
    /// Offset in the first block.
    pub offset: u32,
    /// Length in bytes.
    pub len: u32,
    /// CRC-32C of the bytes.
    pub crc: u32,
}

/// One commit: the root of one consistent state of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CommitRecord {
    /// Increases by one with every commit.
    pub generation: u64,
    /// The device shape the store was created with.
    pub geometry: Geometry,
    /// The manifest of this commit.
    pub manifest: BlobRef,
}

impl CommitRecord {
    /// Encodes into the fixed 64-byte layout.
    pub fn encode(&self) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        let fields: [&[u8]; 11] = [
            &MAGIC,
            &VERSION.to_le_bytes(),
            &0u16.to_le_bytes(),
            &self.generation.to_le_bytes(),
            &self.geometry.block_size.to_le_bytes(),
            &self.geometry.block_count.to_le_bytes(),
            &self.geometry.write_size.to_le_bytes(),
            &self.manifest.block.to_le_bytes(),
            &self.manifest.offset.to_le_bytes(),
            &self.manifest.len.to_le_bytes(),
            &self.manifest.crc.to_le_bytes(),
        ];
        let mut at = 0;
        for f in fields {
            if let Some(dst) = b.get_mut(at..at + f.len()) {
                dst.copy_from_slice(f);
            }
            at += f.len();
        }
        let crc = crc32c(b.get(..60).unwrap_or_default());
        if let Some(dst) = b.get_mut(60..64) {
            dst.copy_from_slice(&crc.to_le_bytes());
        }
        b
    }

    /// Decodes a record; `Ok(None)` if the bytes are not a valid record
    /// (erased, torn, stale, damaged), `Err` if a valid record is of a newer
    /// format version.
    pub fn decode<E>(b: &[u8]) -> Result<Option<Self>, Error<E>> {
        let Some(b) = b.get(..RECORD_LEN) else {
            return Ok(None);
        };
        let u32_at = |i: usize| -> u32 {
            let mut w = [0u8; 4];
            if let Some(s) = b.get(i..i + 4) {
                w.copy_from_slice(s);
            }
            u32::from_le_bytes(w)
        };
        if b.get(..4) != Some(&MAGIC[..]) {
            return Ok(None);
        }
        if crc32c(b.get(..60).unwrap_or_default()) != u32_at(60) {
            return Ok(None);
        }
        let version = u32_at(4) & 0xffff;
        if version != u32::from(VERSION) {
            return Err(Error::UnsupportedVersion {
                what: "superblock",
                found: version,
                supported: u32::from(VERSION),
            });
        }
        Ok(Some(Self {
            generation: u64::from(u32_at(8)) | (u64::from(u32_at(12)) << 32),
            geometry: Geometry {
                block_size: u32_at(16),
                block_count: u32_at(20),
                write_size: u32_at(24),
            },
            manifest: BlobRef {
                block: u32_at(28),
                offset: u32_at(32),
                len: u32_at(36),
                crc: u32_at(40),
            },
        }))
    }
}

/// The writer side of the two superblock blocks.
#[derive(Clone, Debug)]
pub struct SuperblockLog {
    /// Index into [`SUPERBLOCK_BLOCKS`] of the block being appended to.
    active: usize,
    /// Next free offset in the active block; `None`: start the other block.
    cursor: Option<u32>,
    slot: u32,
    block_size: u32,
}

impl SuperblockLog {
    fn slot_len(geo: &Geometry) -> u32 {
        geo.align_up(RECORD_LEN as u32)
    }

    /// A log for a freshly formatted device: the first commit goes to block 0.
    pub fn fresh(geo: &Geometry) -> Self {
        Self {
            active: 1,
            cursor: None,
            slot: Self::slot_len(geo),
            block_size: geo.block_size,
        }
    }

    /// Scans both blocks for the newest valid record. `Ok(None)`: no valid
    /// record anywhere (the device was never formatted).
    pub fn open<D: BlockDevice>(
        dev: &mut D,
    ) -> Result<Option<(CommitRecord, Self)>, Error<D::Error>> {
        let geo = dev.geometry();
        let slot = Self::slot_len(&geo);
        let mut best: Option<(CommitRecord, usize)> = None;
        let mut buf = [0u8; 4096];
        let per_read = (buf.len() as u32 / slot).max(1) * slot;
        for (i, &block) in SUPERBLOCK_BLOCKS.iter().enumerate() {
            let mut off = 0;
            while off + slot <= geo.block_size {
                let n = per_read.min(geo.block_size - off);
                let chunk = buf.get_mut(..n as usize).unwrap_or_default();
                dev.read(block, off, chunk).map_err(Error::Device)?;
                for rec in chunk.chunks_exact(slot as usize) {
                    if let Some(r) = CommitRecord::decode(rec)?
                        && best.is_none_or(|(b, _)| r.generation > b.generation)
                    {
                        best = Some((r, i));
                    }
                }
                off += n;
            }
        }
        Ok(best.map(|(r, i)| {
            (
                r,
                Self {
                    active: i,
                    cursor: None,
                    slot,
                    block_size: geo.block_size,
                },
            )
        }))
    }

    /// Appends `rec` (twice) and syncs. The caller has synced everything the
    /// record points at.
    pub fn commit<D: BlockDevice>(
        &mut self,
        dev: &mut D,
        rec: &CommitRecord,
    ) -> Result<(), Error<D::Error>> {
        let need = 2 * self.slot;
        let off = match self.cursor {
            Some(c) if c + need <= self.block_size => c,
            _ => {
                self.active ^= 1;
                let block = SUPERBLOCK_BLOCKS.get(self.active).copied().unwrap_or(0);
                dev.erase(block).map_err(Error::Device)?;
                0
            }
        };
        let block = SUPERBLOCK_BLOCKS.get(self.active).copied().unwrap_or(0);
        let mut buf = [0u8; 2 * Geometry::MAX_WRITE_SIZE as usize];
        let enc = rec.encode();
        for copy in 0..2usize {
            let at = copy * self.slot as usize;
            if let Some(dst) = buf.get_mut(at..at + RECORD_LEN) {
                dst.copy_from_slice(&enc);
            }
        }
        let Some(data) = buf.get(..need as usize) else {
            corrupted!("superblock slot size", block, off);
        };
        dev.program(block, off, data).map_err(Error::Device)?;
        dev.sync().map_err(Error::Device)?;
        self.cursor = Some(off + need);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_and_rejects_damage() {
        let r = CommitRecord {
            generation: 0x1_0000_0007,
            geometry: Geometry {
                block_size: 4096,
                block_count: 64,
                write_size: 4,
            },
            manifest: BlobRef {
                block: 9,
                offset: 128,
                len: 300,
                crc: 0xdead_beef,
            },
        };
        let b = r.encode();
        assert_eq!(CommitRecord::decode::<()>(&b).unwrap(), Some(r));
        for bit in 0..RECORD_LEN * 8 {
            let mut d = b;
            d[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(CommitRecord::decode::<()>(&d).unwrap(), None, "bit {bit}");
        }
    }
}
