//! `NorFlashDevice`: the adapter firmware uses to put a store on raw NOR flash
//! through `embedded_storage::nor_flash::NorFlash`.
//!
//! One erase sector is one block; the flash's `WRITE_SIZE` is the program unit.
//! NOR programs are durable when `write` returns, so `sync` does nothing.
//! Reads that are not aligned to the flash's `READ_SIZE` go through a small
//! stack buffer.

use embedded_storage::nor_flash::NorFlash;

use super::{AccessError, BlockDevice, BlockId, Geometry, check_access};

/// Errors of a [`NorFlashDevice`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NorFlashDeviceError<E> {
    /// The flash driver failed.
    Flash(E),
    /// Out of range or misaligned.
    Access(AccessError),
    /// The flash's `READ_SIZE` is larger than the adapter's 256-byte buffer.
    ReadSizeUnsupported,
}

/// A [`BlockDevice`] over a NOR flash.
#[derive(Debug)]
pub struct NorFlashDevice<F> {
    flash: F,
    geo: Geometry,
}

const SCRATCH: usize = 256;

impl<F: NorFlash> NorFlashDevice<F> {
    /// Wraps `flash`; every erase sector becomes a block.
    pub fn new(flash: F) -> Self {
        let erase = F::ERASE_SIZE as u32;
        let geo = Geometry {
            block_size: erase,
            block_count: (flash.capacity() / F::ERASE_SIZE.max(1)) as u32,
            write_size: F::WRITE_SIZE.max(1) as u32,
        };
        Self { flash, geo }
    }

    /// Gives the flash back.
    pub fn into_inner(self) -> F {
        self.flash
    }

    /// The wrapped flash.
    pub fn flash(&self) -> &F {
        &self.flash
    }

    fn addr(&self, block: BlockId, offset: u32) -> u32 {
        block * self.geo.block_size + offset
    }
}

impl<F: NorFlash> BlockDevice for NorFlashDevice<F> {
    type Error = NorFlashDeviceError<F::Error>;

    fn geometry(&self) -> Geometry {
        self.geo
    }

    fn read(&mut self, block: BlockId, offset: u32, buf: &mut [u8]) -> Result<(), Self::Error> {
        check_access(&self.geo, block, offset, buf.len(), false)
            .map_err(NorFlashDeviceError::Access)?;
        let rs = F::READ_SIZE.max(1);
        let addr = self.addr(block, offset) as usize;
        if addr.is_multiple_of(rs) && buf.len().is_multiple_of(rs) {
            return self
                .flash
                .read(addr as u32, buf)
                .map_err(NorFlashDeviceError::Flash);
        }
        if rs > SCRATCH {
            return Err(NorFlashDeviceError::ReadSizeUnsupported);
        }
        // Unaligned: read whole READ_SIZE units through the scratch buffer.
        let mut scratch = [0u8; SCRATCH];
        let unit = SCRATCH - SCRATCH % rs;
        let mut done = 0;
        while done < buf.len() {
            let pos = addr + done;
            let start = pos - pos % rs;
            let skip = pos - start;
            let want = (buf.len() - done + skip).min(unit);
            let len = want.div_ceil(rs) * rs;
            let tmp = scratch
                .get_mut(..len)
                .ok_or(NorFlashDeviceError::ReadSizeUnsupported)?;
            self.flash
                .read(start as u32, tmp)
                .map_err(NorFlashDeviceError::Flash)?;
            let n = (len - skip).min(buf.len() - done);
            let (Some(dst), Some(src)) = (buf.get_mut(done..done + n), tmp.get(skip..skip + n))
            else {
                return Err(NorFlashDeviceError::Access(AccessError::OutOfRange));
            };
            dst.copy_from_slice(src);
            done += n;
        }
        Ok(())
    }

    fn program(&mut self, block: BlockId, offset: u32, data: &[u8]) -> Result<(), Self::Error> {
        check_access(&self.geo, block, offset, data.len(), true)
            .map_err(NorFlashDeviceError::Access)?;
        let addr = self.addr(block, offset);
        self.flash
            .write(addr, data)
            .map_err(NorFlashDeviceError::Flash)
    }

    fn erase(&mut self, block: BlockId) -> Result<(), Self::Error> {
        check_access(&self.geo, block, 0, 0, false).map_err(NorFlashDeviceError::Access)?;
        let from = self.addr(block, 0);
        self.flash
            .erase(from, from + self.geo.block_size)
            .map_err(NorFlashDeviceError::Flash)
    }

    fn sync(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
