//! Table structures: footer, index pages, top index, chunk framing.

use alloc::vec::Vec;

use super::stats::Stats;
use crate::crc::Crc32c;
use crate::value::{FieldType, SeriesId};
use crate::varint::{Reader, Truncated, put_i64, put_u64};

/// Footer magic: "PTBL".
pub const MAGIC: [u8; 4] = *b"PTBL";
/// Table format version.
pub const VERSION: u16 = 1;
/// Footer length.
pub const FOOTER_LEN: usize = 32;
/// Index pages are closed once they reach this size (at most; see
/// [`page_target`]).
pub const PAGE_TARGET: usize = 4096;

/// The index page size a writer aims for on blocks of `block_size` bytes:
/// a quarter block, 512 B to [`PAGE_TARGET`]. Small devices (4 KiB NOR
/// sectors) get small pages, so a reader or a merge input holds little of
/// the index at a time. Readers accept any page size up to [`MAX_INDEX_LEN`].
pub fn page_target(block_size: u32) -> usize {
    (block_size as usize / 4).clamp(512, PAGE_TARGET)
}
/// Largest index page or top index a reader accepts.
pub const MAX_INDEX_LEN: u32 = 16 << 20;

/// CRC-32C of `data` seeded with the table id.
pub fn crc(table_id: u64, data: &[u8]) -> u32 {
    let mut c = Crc32c::new();
    c.update(&table_id.to_le_bytes());
    c.update(data);
    c.finish()
}

/// The footer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footer {
    /// Stream offset of the top index.
    pub top_offset: u64,
    /// Its length (CRC included).
    pub top_len: u32,
    /// Series in the table.
    pub series: u32,
}

impl Footer {
    /// Encodes into 32 bytes.
    pub fn encode(&self, table_id: u64) -> [u8; FOOTER_LEN] {
        let mut b = [0u8; FOOTER_LEN];
        b[..4].copy_from_slice(&MAGIC);
        b[4..6].copy_from_slice(&VERSION.to_le_bytes());
        b[8..16].copy_from_slice(&self.top_offset.to_le_bytes());
        b[16..20].copy_from_slice(&self.top_len.to_le_bytes());
        b[20..24].copy_from_slice(&self.series.to_le_bytes());
        let c = crc(table_id, &b[..28]);
        b[28..32].copy_from_slice(&c.to_le_bytes());
        b
    }

    /// Decodes; `Err(Some(v))` for an unsupported version, `Err(None)` if damaged.
    pub fn decode(b: &[u8; FOOTER_LEN], table_id: u64) -> Result<Self, Option<u16>> {
        let mut w4 = [0u8; 4];
        w4.copy_from_slice(&b[28..32]);
        if b[..4] != MAGIC || crc(table_id, &b[..28]) != u32::from_le_bytes(w4) {
            return Err(None);
        }
        let version = u16::from_le_bytes([b[4], b[5]]);
        if version != VERSION {
            return Err(Some(version));
        }
        let mut w8 = [0u8; 8];
        w8.copy_from_slice(&b[8..16]);
        let mut t = [0u8; 4];
        t.copy_from_slice(&b[16..20]);
        let mut s = [0u8; 4];
        s.copy_from_slice(&b[20..24]);
        Ok(Self {
            top_offset: u64::from_le_bytes(w8),
            top_len: u32::from_le_bytes(t),
            series: u32::from_le_bytes(s),
        })
    }
}

/// One top-index entry: an index page and the series ids it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRef {
    /// First series id in the page.
    pub first: SeriesId,
    /// Last series id in the page.
    pub last: SeriesId,
    /// Stream offset of the page.
    pub offset: u64,
    /// Its length (CRC included).
    pub len: u32,
}

/// Encodes the top index (CRC appended).
pub fn encode_top(table_id: u64, pages: &[PageRef], out: &mut Vec<u8>) {
    let start = out.len();
    put_u64(out, pages.len() as u64);
    let (mut prev_first, mut prev_off) = (0u64, 0u64);
    for p in pages {
        put_u64(out, p.first.wrapping_sub(prev_first));
        put_u64(out, p.last.wrapping_sub(p.first));
        put_u64(out, p.offset.wrapping_sub(prev_off));
        put_u64(out, u64::from(p.len));
        prev_first = p.first;
        prev_off = p.offset;
    }
    let c = crc(table_id, out.get(start..).unwrap_or_default());
    out.extend_from_slice(&c.to_le_bytes());
}

/// Decodes the top index (its CRC already checked by the caller).
pub fn decode_top(body: &[u8]) -> Result<Vec<PageRef>, Truncated> {
    let mut r = Reader::new(body);
    let n = r.u64()?;
    if n > body.len() as u64 {
        return Err(Truncated { offset: 0 });
    }
    let mut v = Vec::with_capacity(n as usize);
    let (mut first, mut off) = (0u64, 0u64);
    for _ in 0..n {
        first = first.wrapping_add(r.u64()?);
        let last = first.wrapping_add(r.u64()?);
        off = off.wrapping_add(r.u64()?);
        let len = r.u32()?;
        v.push(PageRef {
            first,
            last,
            offset: off,
            len,
        });
    }
    Ok(v)
}

/// Where a chunk is and what it holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChunkMeta {
    /// Stream offset of the chunk.
    pub offset: u64,
    /// Encoded length, CRC included.
    pub len: u32,
    /// Points.
    pub count: u32,
    /// Smallest timestamp.
    pub min_ts: i64,
    /// Largest timestamp.
    pub max_ts: i64,
    /// Value statistics.
    pub stats: Stats,
}

/// Appends one chunk entry to an index section. `prev` is the previous
/// entry of the same series in the same section.
pub fn encode_chunk_meta(m: &ChunkMeta, prev: Option<&ChunkMeta>, out: &mut Vec<u8>) {
    let (po, pts) = prev.map_or((0, 0), |p| (p.offset + u64::from(p.len), p.max_ts));
    put_u64(out, m.offset.wrapping_sub(po));
    put_u64(out, u64::from(m.len));
    put_u64(out, u64::from(m.count));
    put_i64(out, m.min_ts.wrapping_sub(pts));
    put_u64(out, m.max_ts.wrapping_sub(m.min_ts) as u64);
    m.stats.encode(m.min_ts, out);
}

/// Decodes one chunk entry (see [`encode_chunk_meta`]).
pub fn decode_chunk_meta(
    ty: FieldType,
    prev: Option<&ChunkMeta>,
    r: &mut Reader<'_>,
) -> Result<ChunkMeta, Truncated> {
    let (po, pts) = prev.map_or((0, 0), |p| (p.offset + u64::from(p.len), p.max_ts));
    let offset = po.wrapping_add(r.u64()?);
    let len = r.u32()?;
    let count = r.u32()?;
    let min_ts = pts.wrapping_add(r.i64()?);
    let span = r.u64()?;
    let max_ts = min_ts.wrapping_add(span as i64);
    if count == 0 || max_ts < min_ts {
        return Err(Truncated { offset: r.pos() });
    }
    let stats = Stats::decode(ty, u64::from(count), min_ts, r)?;
    if stats.min_at < min_ts
        || stats.min_at > max_ts
        || stats.max_at < min_ts
        || stats.max_at > max_ts
    {
        return Err(Truncated { offset: r.pos() });
    }
    Ok(ChunkMeta {
        offset,
        len,
        count,
        min_ts,
        max_ts,
        stats,
    })
}
