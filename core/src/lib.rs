//! # pulsardb-core
//!
//! The storage engine of PulsarDB, a time-series database for the edge.
//! `#![no_std]` + `alloc`: the same code runs in Cortex-M firmware over raw NOR
//! flash and in the Linux gateway server over a file.
//!
//! ## Layers, bottom up
//!
//! | module | what it does |
//! |---|---|
//! | [`storage`] | the [`storage::BlockDevice`] trait (NOR semantics, power-loss contract) and devices |
//! | [`layout`] | superblock commit slots and the block allocator |
//! | [`wal`] | append-only log of records in a chain of stamped blocks; group commit |
//! | [`manifest`] | the committed state: WAL head, tables; copy-on-write |
//! | [`store`] | ties the above into durable appends, replay, checkpoints and commits |
//!
//! Every on-media structure is described byte by byte in `docs/format/`.
//!
//! ## Promises
//! - Power can be cut at any byte: the store opens, every record whose `sync`
//!   completed is there exactly once, nothing else appears.
//! - Nothing read from media can panic it: damage is [`Error::Corrupted`] with
//!   its location, never a wrong value.
//! - Memory is bounded by configuration, not by the amount of data.

#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;

#[macro_use]
mod fmt;

pub mod crc;
pub mod error;
pub mod layout;
pub mod manifest;
pub mod storage;
pub mod store;
pub mod wal;

pub use error::{Corruption, Error};
pub use storage::{BlockDevice, BlockId, Geometry};
pub use store::{OpenReport, Store, StoreConfig};
pub use wal::Lsn;
