//! Errors of the storage engine.
//!
//! One enum, generic over the device's error, so a caller can always reach the
//! device's own error value. Corruption carries where it was found; a damaged
//! image yields [`Error::Corrupted`], never a panic and never a wrong value.

use core::fmt;

use crate::storage::{BlockId, Geometry};

/// Where damaged bytes were found, and what they should have been.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Corruption {
    /// The structure that failed its check, e.g. `"wal record"`.
    pub what: &'static str,
    /// The block it lives in.
    pub block: BlockId,
    /// Its byte offset in that block.
    pub offset: u32,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "corrupted {} at block {} offset {}",
            self.what, self.block, self.offset
        )
    }
}

/// An error of the storage engine over a device whose errors are `E`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error<E> {
    /// The block device failed; the operation's outcome on media is unknown.
    Device(E),
    /// Bytes read from the device failed a check (checksum, magic, bounds).
    Corrupted(Corruption),
    /// No valid superblock: the device holds no PulsarDB store.
    NotFormatted,
    /// The device's shape cannot hold a store (see [`Geometry::is_valid`]).
    InvalidGeometry(Geometry),
    /// The store was created on a device of another shape.
    GeometryMismatch {
        /// The shape recorded in the superblock.
        stored: Geometry,
        /// The shape of the device it was opened on.
        device: Geometry,
    },
    /// The store was written by a newer format version than this build reads.
    UnsupportedVersion {
        /// Which structure.
        what: &'static str,
        /// The version found on media.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// No free block is left on the device.
    DeviceFull,
    /// A record or structure is larger than the limit.
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// An earlier device error left the in-memory state unsure of what is on
    /// media; nothing more is written until the store is reopened.
    Poisoned,
    /// The database named does not exist.
    DatabaseNotFound,
    /// A database name is empty or longer than `max_name_len`.
    InvalidName,
}

impl<E> From<Corruption> for Error<E> {
    fn from(c: Corruption) -> Self {
        Error::Corrupted(c)
    }
}

impl<E: fmt::Debug> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Device(e) => write!(f, "storage device error: {e:?}"),
            Error::Corrupted(c) => write!(f, "{c}"),
            Error::NotFormatted => {
                f.write_str("no PulsarDB store on this device (no valid superblock)")
            }
            Error::InvalidGeometry(g) => write!(
                f,
                "unsupported device shape: {} blocks of {} bytes, program unit {} bytes",
                g.block_count, g.block_size, g.write_size
            ),
            Error::GeometryMismatch { stored, device } => write!(
                f,
                "store was created with {} blocks of {} bytes (program unit {}), but the device has {} blocks of {} bytes (program unit {})",
                stored.block_count,
                stored.block_size,
                stored.write_size,
                device.block_count,
                device.block_size,
                device.write_size
            ),
            Error::UnsupportedVersion {
                what,
                found,
                supported,
            } => write!(
                f,
                "{what} format version {found} is newer than this build reads ({supported}); upgrade PulsarDB"
            ),
            Error::DeviceFull => f.write_str("device full: no free block"),
            Error::TooLarge { what, len, max } => {
                write!(f, "{what} of {len} bytes exceeds the limit of {max} bytes")
            }
            Error::Poisoned => {
                f.write_str("an earlier storage error stopped writes; reopen the store")
            }
            Error::DatabaseNotFound => f.write_str("database not found"),
            Error::InvalidName => {
                f.write_str("invalid database name (empty or longer than max_name_len)")
            }
        }
    }
}

#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "std")]
impl<E: fmt::Debug> std::error::Error for Error<E> {}

/// Returns `Err(Error::Corrupted(..))` from the enclosing function.
macro_rules! corrupted {
    ($what:expr, $block:expr, $offset:expr) => {
        return Err($crate::error::Corruption {
            what: $what,
            block: $block,
            offset: $offset,
        }
        .into())
    };
}
pub(crate) use corrupted;
