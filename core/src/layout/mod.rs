//! Layout: where things live on the device.
//!
//! Blocks 0 and 1 hold the superblock's two commit slots ([`superblock`]);
//! every other block is handed out by the [`alloc::Allocator`] to the WAL, the
//! manifest and tables. Nothing on media says which blocks are free: the free
//! set is what the committed state does not reference, computed at open, so a
//! crash can never leak a block.

pub mod alloc;
pub mod stream;
pub mod superblock;

pub use alloc::{AllocPolicy, Allocator};
pub use superblock::{CommitRecord, SuperblockLog};

/// Blocks reserved for the superblock's commit slots.
pub const SUPERBLOCK_BLOCKS: [crate::storage::BlockId; 2] = [0, 1];
