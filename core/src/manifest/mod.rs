//! The manifest: the committed state of the store.
//!
//! It names the WAL head and checkpoint, the live tables and the counters that
//! must never go backwards. It is written copy-on-write — a new version to
//! blocks nothing references yet ([`blob`]) — and becomes current when a
//! superblock commit record pointing at it is durable. Encoding: one version
//! byte, then postcard (`docs/format/manifest.md`).

pub mod blob;

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::storage::BlockId;
use crate::wal::Lsn;

/// Current manifest format version.
pub const VERSION: u8 = 1;

/// Where the WAL starts and which of its records are already durable elsewhere.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalHead {
    /// The oldest WAL block still needed.
    pub block: BlockId,
    /// Its stamp, as written in its header.
    pub stamp: u64,
    /// Its sequence number in the chain.
    pub seq: u64,
    /// Records with an LSN at or below this are durable in tables; replay skips them.
    pub checkpoint_lsn: Lsn,
}

/// A run of consecutive blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extent {
    /// First block.
    pub start: BlockId,
    /// Number of blocks.
    pub count: u32,
}

impl Extent {
    /// The blocks of the extent.
    pub fn blocks(&self) -> impl Iterator<Item = BlockId> + '_ {
        (0..self.count).map(move |i| self.start.wrapping_add(i))
    }
}

/// One immutable table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableEntry {
    /// Unique, increasing: a table with a higher id holds newer writes.
    pub id: u64,
    /// Compaction level: 0 for flushes, higher for merged tables.
    pub level: u8,
    /// Start of the time window the table belongs to (ns).
    pub window_start: i64,
    /// Smallest timestamp in the table (ns).
    pub min_ts: i64,
    /// Largest timestamp in the table (ns).
    pub max_ts: i64,
    /// Highest WAL LSN whose points the table holds.
    pub max_lsn: Lsn,
    /// Points in the table.
    pub points: u64,
    /// Length of the table in bytes.
    pub len: u64,
    /// The blocks holding it, in order.
    pub extents: Vec<Extent>,
}

impl TableEntry {
    /// Every block of the table, in order.
    pub fn blocks(&self) -> impl Iterator<Item = BlockId> + '_ {
        self.extents.iter().flat_map(Extent::blocks)
    }
}

/// One catalog segment: series and databases persisted by a flush.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// Unique, increasing (shares the table id counter).
    pub id: u64,
    /// Series defined in it.
    pub series: u64,
    /// Length in bytes.
    pub len: u64,
    /// The blocks holding it, in order.
    pub extents: Vec<Extent>,
}

impl SegmentEntry {
    /// Every block of the segment.
    pub fn blocks(&self) -> impl Iterator<Item = BlockId> + '_ {
        self.extents.iter().flat_map(Extent::blocks)
    }
}

/// A delete: points of these series within `[min_ts, max_ts]` written before
/// `lsn` are gone. Applied when reading older sources, and by compaction,
/// which drops the points; removed once no older source overlaps it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    /// LSN of the delete's WAL record: sources holding only older writes
    /// (a table's `max_lsn` below it) are filtered.
    pub lsn: Lsn,
    /// Series ids, sorted.
    pub series: Vec<crate::value::SeriesId>,
    /// Smallest deleted timestamp (ns).
    pub min_ts: i64,
    /// Largest deleted timestamp (ns).
    pub max_ts: i64,
}

impl Tombstone {
    /// Whether the point (`series`, `ts`) of an older source is deleted.
    pub fn covers(&self, series: crate::value::SeriesId, ts: i64) -> bool {
        ts >= self.min_ts && ts <= self.max_ts && self.series.binary_search(&series).is_ok()
    }

    /// Whether it may hide points of a source written up to `max_lsn` over
    /// `[min_ts, max_ts]`.
    pub fn applies_to(&self, max_lsn: Lsn, min_ts: i64, max_ts: i64) -> bool {
        self.lsn > max_lsn && self.max_ts >= min_ts && self.min_ts <= max_ts
    }
}

/// The committed state of the store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Incremented at every open; the high half of WAL block stamps, so that
    /// blocks written by a session that crashed are never mistaken for new ones.
    pub epoch: u32,
    /// The allocator's cursor, so wear keeps rotating across restarts.
    pub alloc_cursor: BlockId,
    /// The WAL.
    pub wal: WalHead,
    /// The next table id to hand out.
    pub next_table_id: u64,
    /// The next series id to hand out.
    pub next_series_id: u64,
    /// Live tables, oldest first.
    pub tables: Vec<TableEntry>,
    /// Catalog segments, oldest first.
    pub catalog: Vec<SegmentEntry>,
    /// Deletes not yet applied by compaction or retention.
    pub tombstones: Vec<Tombstone>,
}

impl Manifest {
    /// Encodes: version byte, then postcard.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.tables.len() * 48);
        out.push(VERSION);
        // Serialising plain structs into a Vec cannot fail.
        if let Ok(v) = postcard::to_extend(self, out) {
            return v;
        }
        Vec::new()
    }

    /// Decodes bytes written by [`Manifest::encode`]; `at` locates them for errors.
    pub fn decode<E>(bytes: &[u8], at: (BlockId, u32)) -> Result<Self, Error<E>> {
        let Some((&version, rest)) = bytes.split_first() else {
            crate::error::corrupted!("manifest", at.0, at.1);
        };
        if version != VERSION {
            return Err(Error::UnsupportedVersion {
                what: "manifest",
                found: u32::from(version),
                supported: u32::from(VERSION),
            });
        }
        match postcard::from_bytes(rest) {
            Ok(m) => Ok(m),
            Err(_) => crate::error::corrupted!("manifest", at.0, at.1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn round_trip() {
        let m = Manifest {
            epoch: 3,
            alloc_cursor: 17,
            wal: WalHead {
                block: 5,
                stamp: 3 << 32 | 9,
                seq: 41,
                checkpoint_lsn: 1000,
            },
            next_table_id: 8,
            next_series_id: 12,
            tables: vec![TableEntry {
                id: 7,
                level: 1,
                window_start: -86_400_000_000_000,
                min_ts: -5,
                max_ts: 99,
                max_lsn: 999,
                points: 12345,
                len: 70000,
                extents: vec![Extent {
                    start: 20,
                    count: 2,
                }],
            }],
            catalog: vec![SegmentEntry {
                id: 6,
                series: 40,
                len: 900,
                extents: vec![Extent {
                    start: 30,
                    count: 1,
                }],
            }],
            tombstones: vec![Tombstone {
                lsn: 900,
                series: vec![3, 9],
                min_ts: i64::MIN,
                max_ts: 1_000,
            }],
        };
        let b = m.encode();
        assert_eq!(b[0], VERSION);
        assert_eq!(Manifest::decode::<()>(&b, (0, 0)).unwrap(), m);
        assert!(matches!(
            Manifest::decode::<()>(&b[..b.len() - 1], (0, 0)),
            Err(Error::Corrupted(_))
        ));
        let mut v2 = b.clone();
        v2[0] = 2;
        assert!(matches!(
            Manifest::decode::<()>(&v2, (0, 0)),
            Err(Error::UnsupportedVersion { found: 2, .. })
        ));
    }
}
