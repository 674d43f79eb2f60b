//! Block storage: the one trait the engine writes through.
//!
//! PulsarDB runs on raw NOR flash (firmware) and on a file (gateways). Both are
//! presented to the engine as a [`BlockDevice`] with NOR semantics, the stricter
//! of the two: a byte must be erased before it is programmed, and is programmed
//! at most once per erase. A format that is correct under these rules is correct
//! on a file too, where "erase" only releases space.
//!
//! Devices here: [`RamDevice`] (tests, benchmarks), [`SimDevice`] (feature `sim`:
//! power cuts, torn writes, bit flips, wear counters) and [`NorFlashDevice`]
//! (feature `embedded-storage`: any `embedded_storage::nor_flash::NorFlash`).
//! The server adds a file device.

mod ram;
pub use ram::{RamDevice, RamError};

#[cfg(feature = "sim")]
mod sim;
#[cfg(feature = "sim")]
pub use sim::{CutPolicy, CutTrigger, EraseFill, SimConfig, SimDevice, SimError, SimStats};

#[cfg(feature = "embedded-storage")]
mod nor;
#[cfg(feature = "embedded-storage")]
pub use nor::{NorFlashDevice, NorFlashDeviceError};

/// The index of an erase block.
pub type BlockId = u32;

/// The shape of a block device. Recorded in the superblock; a store only opens
/// on a device with the same `block_size` and `write_size` and at least as many
/// blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Geometry {
    /// Erase unit in bytes: a power of two, at least [`Geometry::MIN_BLOCK_SIZE`].
    pub block_size: u32,
    /// Number of erase blocks.
    pub block_count: u32,
    /// Program unit in bytes: offsets and lengths passed to
    /// [`BlockDevice::program`] are multiples of it. A power of two, at most
    /// [`Geometry::MAX_WRITE_SIZE`] and at most `block_size / 16`.
    pub write_size: u32,
}

impl Geometry {
    /// Smallest supported erase block.
    pub const MIN_BLOCK_SIZE: u32 = 512;
    /// Largest supported erase block (16 MiB).
    pub const MAX_BLOCK_SIZE: u32 = 1 << 24;
    /// Largest supported program unit.
    pub const MAX_WRITE_SIZE: u32 = 256;
    /// Fewest blocks a store can live on: two superblock blocks, a manifest
    /// block, WAL blocks and room for tables.
    pub const MIN_BLOCK_COUNT: u32 = 8;

    /// Whether PulsarDB can use a device of this shape.
    pub fn is_valid(&self) -> bool {
        self.block_size.is_power_of_two()
            && (Self::MIN_BLOCK_SIZE..=Self::MAX_BLOCK_SIZE).contains(&self.block_size)
            && self.write_size.is_power_of_two()
            && self.write_size <= Self::MAX_WRITE_SIZE
            && self.write_size <= self.block_size / 16
            && self.block_count >= Self::MIN_BLOCK_COUNT
    }

    /// Total capacity in bytes.
    pub fn capacity_bytes(&self) -> u64 {
        u64::from(self.block_size) * u64::from(self.block_count)
    }

    /// `n` rounded up to the program unit.
    pub fn align_up(&self, n: u32) -> u32 {
        let w = self.write_size.max(1);
        n.div_ceil(w).saturating_mul(w)
    }
}

/// A block device with NOR-flash semantics, driven by one owner (`&mut self`).
///
/// # Addressing and alignment
/// Addresses are (`block`, `offset` within the block). `read` takes any offset
/// and length inside one block. `program` takes an `offset` and `data.len()`
/// that are multiples of [`Geometry::write_size`] and stay inside one block.
///
/// # Program-once
/// After `erase(block)`, each byte of the block may be programmed at most once
/// until the next erase. The content of a byte that was erased but not yet
/// programmed is unspecified: NOR reads `0xFF`, a file may read zeros or the
/// bytes of the block's previous life. PulsarDB never treats erased content as
/// meaning anything; every structure it reads carries a checksum and the
/// generation of the block that holds it.
///
/// # Durability and the power-loss contract
/// `sync` returns once every `program` and `erase` issued before it is durable.
/// If power is lost:
/// - operations completed before the last successful `sync` are intact;
/// - each operation issued after it may be lost, fully applied, or — for the
///   one in flight, and on devices with a write cache for any of them — applied
///   in part: a cut during `program` leaves only the bytes being programmed
///   undefined (any mix of old, new and garbage); a cut during `erase` leaves
///   only that block undefined;
/// - nothing outside the bytes or blocks being written changes.
///
/// An `Err` from any method means the operation's outcome is unknown, exactly
/// as if power had been cut during it. The engine stops writing after one and
/// must be reopened.
pub trait BlockDevice {
    /// The device's own error.
    type Error: core::fmt::Debug;

    /// The device's shape. Constant for the device's lifetime.
    fn geometry(&self) -> Geometry;

    /// Reads `buf.len()` bytes at (`block`, `offset`); the range stays inside the block.
    fn read(&mut self, block: BlockId, offset: u32, buf: &mut [u8]) -> Result<(), Self::Error>;

    /// Programs `data` at (`block`, `offset`): aligned, inside the block, onto erased bytes.
    fn program(&mut self, block: BlockId, offset: u32, data: &[u8]) -> Result<(), Self::Error>;

    /// Erases one block, making all its bytes programmable again.
    fn erase(&mut self, block: BlockId) -> Result<(), Self::Error>;

    /// Makes every earlier `program` and `erase` durable.
    fn sync(&mut self) -> Result<(), Self::Error>;

    /// The block's content is no longer needed: the device may release its
    /// space (a file punches a hole; flash may do nothing). Its bytes are
    /// unspecified afterwards, as after `erase`. Best effort: errors are
    /// ignored by the engine.
    fn discard(&mut self, block: BlockId) -> Result<(), Self::Error> {
        let _ = block;
        Ok(())
    }
}

impl<T: BlockDevice + ?Sized> BlockDevice for &mut T {
    type Error = T::Error;
    fn geometry(&self) -> Geometry {
        (**self).geometry()
    }
    fn read(&mut self, block: BlockId, offset: u32, buf: &mut [u8]) -> Result<(), Self::Error> {
        (**self).read(block, offset, buf)
    }
    fn program(&mut self, block: BlockId, offset: u32, data: &[u8]) -> Result<(), Self::Error> {
        (**self).program(block, offset, data)
    }
    fn erase(&mut self, block: BlockId) -> Result<(), Self::Error> {
        (**self).erase(block)
    }
    fn sync(&mut self) -> Result<(), Self::Error> {
        (**self).sync()
    }
    fn discard(&mut self, block: BlockId) -> Result<(), Self::Error> {
        (**self).discard(block)
    }
}

/// Checks an access against the geometry: the range lies inside one existing
/// block and, for programs, is aligned. Shared by the devices in this module.
pub(crate) fn check_access(
    geo: &Geometry,
    block: BlockId,
    offset: u32,
    len: usize,
    aligned: bool,
) -> Result<(), AccessError> {
    if block >= geo.block_count {
        return Err(AccessError::OutOfRange);
    }
    let end = u64::from(offset) + len as u64;
    if end > u64::from(geo.block_size) {
        return Err(AccessError::OutOfRange);
    }
    if aligned {
        let w = u64::from(geo.write_size);
        if !u64::from(offset).is_multiple_of(w) || !(len as u64).is_multiple_of(w) {
            return Err(AccessError::Misaligned);
        }
    }
    Ok(())
}

/// Why a device refused an access: out of range or misaligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AccessError {
    /// Outside the device or across a block boundary.
    OutOfRange,
    /// A program whose offset or length is not a multiple of the write size.
    Misaligned,
}
