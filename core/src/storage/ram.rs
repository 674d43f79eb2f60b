//! A block device in RAM: erased bytes read `0xFF`, accesses are checked for
//! range and alignment. Used by benchmarks and unit tests; it does not enforce
//! program-once (see `SimDevice` for that) so that it costs nothing per byte.

use alloc::vec;
use alloc::vec::Vec;

use super::{AccessError, BlockDevice, BlockId, Geometry, check_access};

/// The error of a [`RamDevice`]: only misuse is possible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RamError {
    /// The access was outside the device, crossed a block, or was misaligned.
    Access(AccessError),
}

/// A RAM-backed [`BlockDevice`] with operation counters.
#[derive(Clone, Debug)]
pub struct RamDevice {
    geo: Geometry,
    data: Vec<u8>,
    /// Bytes returned by `read`.
    pub bytes_read: u64,
    /// Bytes written by `program`.
    pub bytes_programmed: u64,
    /// Bytes cleared by `erase` (blocks × block size).
    pub bytes_erased: u64,
    /// Calls to `sync`.
    pub syncs: u64,
}

impl RamDevice {
    /// A fully erased device.
    pub fn new(geo: Geometry) -> Self {
        let len = usize::try_from(geo.capacity_bytes()).unwrap_or(0);
        Self {
            geo,
            data: vec![0xFF; len],
            bytes_read: 0,
            bytes_programmed: 0,
            bytes_erased: 0,
            syncs: 0,
        }
    }

    /// The raw image (all blocks back to back).
    pub fn image(&self) -> &[u8] {
        &self.data
    }

    /// A device over an existing image; `image.len()` must equal the capacity.
    pub fn from_image(geo: Geometry, image: Vec<u8>) -> Option<Self> {
        (image.len() as u64 == geo.capacity_bytes()).then_some(Self {
            geo,
            data: image,
            bytes_read: 0,
            bytes_programmed: 0,
            bytes_erased: 0,
            syncs: 0,
        })
    }

    fn range(&self, block: BlockId, offset: u32, len: usize) -> core::ops::Range<usize> {
        let start = block as usize * self.geo.block_size as usize + offset as usize;
        start..start + len
    }
}

impl BlockDevice for RamDevice {
    type Error = RamError;

    fn geometry(&self) -> Geometry {
        self.geo
    }

    fn read(&mut self, block: BlockId, offset: u32, buf: &mut [u8]) -> Result<(), RamError> {
        check_access(&self.geo, block, offset, buf.len(), false).map_err(RamError::Access)?;
        let r = self.range(block, offset, buf.len());
        let src = self
            .data
            .get(r)
            .ok_or(RamError::Access(AccessError::OutOfRange))?;
        buf.copy_from_slice(src);
        self.bytes_read += buf.len() as u64;
        Ok(())
    }

    fn program(&mut self, block: BlockId, offset: u32, data: &[u8]) -> Result<(), RamError> {
        check_access(&self.geo, block, offset, data.len(), true).map_err(RamError::Access)?;
        let r = self.range(block, offset, data.len());
        let dst = self
            .data
            .get_mut(r)
            .ok_or(RamError::Access(AccessError::OutOfRange))?;
        dst.copy_from_slice(data);
        self.bytes_programmed += data.len() as u64;
        Ok(())
    }

    fn erase(&mut self, block: BlockId) -> Result<(), RamError> {
        check_access(&self.geo, block, 0, 0, false).map_err(RamError::Access)?;
        let r = self.range(block, 0, self.geo.block_size as usize);
        if let Some(dst) = self.data.get_mut(r) {
            dst.fill(0xFF);
        }
        self.bytes_erased += u64::from(self.geo.block_size);
        Ok(())
    }

    fn sync(&mut self) -> Result<(), RamError> {
        self.syncs += 1;
        Ok(())
    }
}
