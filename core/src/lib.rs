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
//! | [`codec`] | column codecs of a chunk: timestamps, f64, i64, u64, bool |
//! | [`wal`] | append-only log of records in a chain of stamped blocks; group commit |
//! | [`manifest`] | the committed state: WAL head, tables; copy-on-write |
//! | [`store`] | ties the above into durable appends, replay, checkpoints and commits |
//! | [`catalog`] | databases, series (measurement, tags, field), tag index, limits |
//! | [`memtable`] | recent points per series in RAM, exact byte accounting |
//! | [`sstable`] | immutable tables: compressed chunks, statistics, index |
//! | [`query`] | selection, merge (last write wins), window aggregates |
//! | [`db`] | [`Db`]: open/recover, write, sync, flush, query |
//! | [`lineproto`] | InfluxDB line protocol parser: zero-copy, per-line errors, buffers and `embedded_io` streams |
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

pub mod catalog;
pub mod codec;
pub mod crc;
pub mod db;
pub mod error;
pub mod layout;
pub mod lineproto;
pub mod manifest;
pub mod map;
pub mod memtable;
pub mod query;
pub mod sort;
pub mod sstable;
pub mod storage;
pub mod store;
pub mod value;
pub mod varint;
pub mod wal;

pub use db::{Db, DbConfig, PointError, StringFields, WriteBatch, WriteOutcome};
pub use error::{Corruption, Error};
pub use query::{Aggregation, Query, QueryResult};
pub use storage::{BlockDevice, BlockId, Geometry};
pub use store::{OpenReport, Store, StoreConfig};
pub use value::{FieldType, SeriesId, Value};
pub use wal::Lsn;
