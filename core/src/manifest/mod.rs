//! The manifest: the committed state of the store.
//!
//! It names the WAL head and checkpoint, the live tables and the counters that
//! must never go backwards. It is written copy-on-write — a new version to
//! blocks nothing references yet ([`blob`]) — and becomes current when a
//! superblock commit record pointing at it is durable. Encoding: one version
//! byte, then the structure in postcard's wire format (`docs/format/manifest.md`).
//!
//! The wire format is postcard's, but the code is not: the encoder and decoder
//! are written out here over [`crate::varint`]. The serde-derived
//! (de)serialisers cost about 3 KiB of firmware flash for these few structs;
//! the hand-written ones a fraction of that. The tests check the bytes against
//! postcard's on random manifests, so stores written either way read either way.

pub mod blob;

use alloc::vec::Vec;

use crate::error::Error;
use crate::storage::BlockId;
use crate::varint::{Reader, Truncated, put_i64, put_u64};
use crate::wal::Lsn;

/// Current manifest format version.
pub const VERSION: u8 = 1;

/// Where the WAL starts and which of its records are already durable elsewhere.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
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
    /// Encodes: version byte, then the fields in order (postcard's wire format).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.tables.len() * 48);
        out.push(VERSION);
        let o = &mut out;
        put_u64(o, self.epoch.into());
        put_u64(o, self.alloc_cursor.into());
        put_u64(o, self.wal.block.into());
        put_u64(o, self.wal.stamp);
        put_u64(o, self.wal.seq);
        put_u64(o, self.wal.checkpoint_lsn);
        put_u64(o, self.next_table_id);
        put_u64(o, self.next_series_id);
        put_len(o, self.tables.len());
        for t in &self.tables {
            put_u64(o, t.id);
            o.push(t.level);
            put_i64(o, t.window_start);
            put_i64(o, t.min_ts);
            put_i64(o, t.max_ts);
            put_u64(o, t.max_lsn);
            put_u64(o, t.points);
            put_u64(o, t.len);
            put_extents(o, &t.extents);
        }
        put_len(o, self.catalog.len());
        for c in &self.catalog {
            put_u64(o, c.id);
            put_u64(o, c.series);
            put_u64(o, c.len);
            put_extents(o, &c.extents);
        }
        put_len(o, self.tombstones.len());
        for t in &self.tombstones {
            put_u64(o, t.lsn);
            put_len(o, t.series.len());
            for &s in &t.series {
                put_u64(o, s);
            }
            put_i64(o, t.min_ts);
            put_i64(o, t.max_ts);
        }
        out
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
        match Self::decode_fields(&mut Reader::new(rest)) {
            Ok(m) => Ok(m),
            Err(_) => crate::error::corrupted!("manifest", at.0, at.1),
        }
    }

    fn decode_fields(r: &mut Reader<'_>) -> Result<Self, Truncated> {
        let mut m = Manifest {
            epoch: r.u32()?,
            alloc_cursor: r.u32()?,
            wal: WalHead {
                block: r.u32()?,
                stamp: r.u64()?,
                seq: r.u64()?,
                checkpoint_lsn: r.u64()?,
            },
            next_table_id: r.u64()?,
            next_series_id: r.u64()?,
            ..Manifest::default()
        };
        m.tables = seq(r, |r| {
            Ok(TableEntry {
                id: r.u64()?,
                level: r.u8()?,
                window_start: r.i64()?,
                min_ts: r.i64()?,
                max_ts: r.i64()?,
                max_lsn: r.u64()?,
                points: r.u64()?,
                len: r.u64()?,
                extents: extents(r)?,
            })
        })?;
        m.catalog = seq(r, |r| {
            Ok(SegmentEntry {
                id: r.u64()?,
                series: r.u64()?,
                len: r.u64()?,
                extents: extents(r)?,
            })
        })?;
        m.tombstones = seq(r, |r| {
            Ok(Tombstone {
                lsn: r.u64()?,
                series: seq(r, |r| r.u64())?,
                min_ts: r.i64()?,
                max_ts: r.i64()?,
            })
        })?;
        if r.remaining() != 0 {
            return Err(Truncated { offset: r.pos() });
        }
        Ok(m)
    }
}

/// A sequence's length, as postcard writes it (a varint).
fn put_len(out: &mut Vec<u8>, n: usize) {
    put_u64(out, n as u64);
}

fn put_extents(out: &mut Vec<u8>, extents: &[Extent]) {
    put_len(out, extents.len());
    for e in extents {
        put_u64(out, e.start.into());
        put_u64(out, e.count.into());
    }
}

/// A length-prefixed sequence. Every element takes at least one byte, so a
/// length beyond the bytes left is refused before anything is allocated.
fn seq<T>(
    r: &mut Reader<'_>,
    mut item: impl FnMut(&mut Reader<'_>) -> Result<T, Truncated>,
) -> Result<Vec<T>, Truncated> {
    let at = Truncated { offset: r.pos() };
    let n = usize::try_from(r.u64()?).map_err(|_| at)?;
    if n > r.remaining() {
        return Err(at);
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(item(r)?);
    }
    Ok(v)
}

fn extents(r: &mut Reader<'_>) -> Result<Vec<Extent>, Truncated> {
    seq(r, |r| {
        Ok(Extent {
            start: r.u32()?,
            count: r.u32()?,
        })
    })
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests: a panic is a failed test"
)]
mod tests {
    extern crate std;

    use super::*;
    use crate::codec::testutil::Rng;
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

    /// A value with every varint length equally likely, extremes included.
    fn any(rng: &mut Rng) -> u64 {
        match rng.below(8) {
            0 => 0,
            1 => u64::MAX,
            _ => rng.next() >> rng.below(64),
        }
    }

    fn random_extents(rng: &mut Rng) -> Vec<Extent> {
        (0..rng.below(4))
            .map(|_| Extent {
                start: any(rng) as u32,
                count: any(rng) as u32,
            })
            .collect()
    }

    fn random_manifest(rng: &mut Rng) -> Manifest {
        Manifest {
            epoch: any(rng) as u32,
            alloc_cursor: any(rng) as u32,
            wal: WalHead {
                block: any(rng) as u32,
                stamp: any(rng),
                seq: any(rng),
                checkpoint_lsn: any(rng),
            },
            next_table_id: any(rng),
            next_series_id: any(rng),
            tables: (0..rng.below(5))
                .map(|_| TableEntry {
                    id: any(rng),
                    level: any(rng) as u8,
                    window_start: any(rng) as i64,
                    min_ts: any(rng) as i64,
                    max_ts: any(rng) as i64,
                    max_lsn: any(rng),
                    points: any(rng),
                    len: any(rng),
                    extents: random_extents(rng),
                })
                .collect(),
            catalog: (0..rng.below(4))
                .map(|_| SegmentEntry {
                    id: any(rng),
                    series: any(rng),
                    len: any(rng),
                    extents: random_extents(rng),
                })
                .collect(),
            tombstones: (0..rng.below(3))
                .map(|_| Tombstone {
                    lsn: any(rng),
                    series: (0..rng.below(5)).map(|_| any(rng)).collect(),
                    min_ts: any(rng) as i64,
                    max_ts: any(rng) as i64,
                })
                .collect(),
        }
    }

    /// The hand-written encoding is postcard's, byte for byte, both ways; every
    /// truncation is refused.
    #[test]
    fn same_bytes_as_postcard() {
        let mut rng = Rng::new(7);
        let (mut cases, mut prefixes) = (0, 0);
        for _ in 0..2_000 {
            let m = random_manifest(&mut rng);
            let ours = m.encode();
            let theirs = postcard::to_allocvec(&m).unwrap();
            assert_eq!(ours[1..], theirs[..], "{m:?}");
            assert_eq!(postcard::from_bytes::<Manifest>(&ours[1..]).unwrap(), m);
            assert_eq!(Manifest::decode::<()>(&ours, (0, 0)).unwrap(), m);
            for cut in 0..ours.len() {
                assert!(Manifest::decode::<()>(&ours[..cut], (0, 0)).is_err());
                prefixes += 1;
            }
            cases += 1;
        }
        std::println!(
            "manifest codec: {cases} random manifests identical to postcard, {prefixes} truncations refused"
        );
    }

    /// A sequence length beyond the input is refused before allocating.
    #[test]
    fn huge_length_refused() {
        let mut b = Manifest::default().encode();
        b.truncate(b.len() - 3);
        b.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(matches!(
            Manifest::decode::<()>(&b, (0, 0)),
            Err(Error::Corrupted(_))
        ));
    }
}
