//! SSTables: immutable, sorted runs of points, written once with bounded RAM.
//!
//! A table is a byte stream over blocks ([`crate::layout::stream`]):
//!
//! ```text
//! [chunk][chunk]…[index page][chunk]…[index page]…[top index][footer]
//! ```
//!
//! - A *chunk* holds up to `codec::MAX_CHUNK_POINTS` points of one series:
//!   timestamps and values encoded by [`crate::codec`], then a CRC.
//! - An *index page* (about 4 KiB) lists, per series, its chunks: where each
//!   is, how many points, its time range and its [`stats::Stats`] (count,
//!   min/max time, min, max, sum, first, last) — aggregates over whole chunks
//!   are answered from here without touching the chunk.
//! - The *top index* lists the pages with the series-id range each covers.
//! - The *footer*, the last 32 bytes, locates the top index.
//!
//! Series appear in id order; a series with many chunks spans pages.
//! Every structure carries a CRC-32C seeded with the table's id, so a bit
//! flip, or bytes of another table, are reported as corruption.
//!
//! RAM: the writer holds one block of output, one index page (≤ 8 KiB), one
//! encoded chunk (≤ 24 bytes × `MAX_CHUNK_POINTS`) and 24 bytes per index
//! page written (≈ 0.6 % of the index). The reader keeps the top index of each
//! open table and reads one index page and one chunk at a time.
//! Byte layout: `docs/format/sstable.md`.

pub mod format;
pub mod reader;
pub mod stats;
pub mod writer;

pub use format::ChunkMeta;
pub use reader::TableReader;
pub use stats::{Stats, Sum};
pub use writer::{TableSummary, TableWriter};
