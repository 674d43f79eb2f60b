//! Table structures: footer, index pages, top index, chunk framing.

use alloc::vec::Vec;

use super::stats::Stats;
use crate::crc::Crc32c;
use crate::value::{FieldType, SeriesId};
use crate::varint::{Reader, Truncated, put_i64, put_u64};

/// Footer magic: "PTBL".
pub const MAGIC: [u8; 4] = *b"PTBL";
/// Table format version written.
pub const VERSION: u16 = 2;
/// Oldest table format version read (1: index times unscaled).
pub const MIN_VERSION: u16 = 1;
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
    /// Format version ([`VERSION`] when written).
    pub version: u16,
}

impl Footer {
    /// Encodes into 32 bytes.
    pub fn encode(&self, table_id: u64) -> [u8; FOOTER_LEN] {
        let mut b = [0u8; FOOTER_LEN];
        b[..4].copy_from_slice(&MAGIC);
        b[4..6].copy_from_slice(&self.version.to_le_bytes());
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
        if !(MIN_VERSION..=VERSION).contains(&version) {
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
            version,
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

/// Largest power of ten dividing the times of an index entry.
const MAX_TIME_SCALE: u32 = 18;

/// The exponent `k` (≤ 18) of the largest power of ten dividing every one
/// of `deltas` (0 divides by anything).
fn time_scale(deltas: &[u64]) -> u32 {
    let mut k = 0;
    let mut p = 10u64;
    while k < MAX_TIME_SCALE && deltas.iter().all(|d| d % p == 0) {
        k += 1;
        p = p.saturating_mul(10);
    }
    k
}

/// Appends one chunk entry to an index section (format version 2: the
/// entry's time fields in units of `10^k`, `k` first). `prev` is the
/// previous entry of the same series in the same section.
pub fn encode_chunk_meta(m: &ChunkMeta, prev: Option<&ChunkMeta>, out: &mut Vec<u8>) {
    let (po, pts) = prev.map_or((0, 0), |p| (p.offset + u64::from(p.len), p.max_ts));
    let gap = m.min_ts.wrapping_sub(pts);
    let span = m.max_ts.wrapping_sub(m.min_ts) as u64;
    let to_min = m.stats.min_at.wrapping_sub(m.min_ts) as u64;
    let to_max = m.stats.max_at.wrapping_sub(m.min_ts) as u64;
    let k = time_scale(&[gap.unsigned_abs(), span, to_min, to_max]);
    let unit = 10u64.pow(k);
    out.push(k as u8);
    put_u64(out, m.offset.wrapping_sub(po));
    put_u64(out, u64::from(m.len));
    put_u64(out, u64::from(m.count));
    put_i64(out, gap / unit as i64);
    put_u64(out, span / unit);
    m.stats.encode(m.min_ts, unit, out);
}

/// Decodes one chunk entry of a table of format `version` (see
/// [`encode_chunk_meta`]; version 1 has no `k`, times are unscaled).
pub fn decode_chunk_meta(
    ty: FieldType,
    prev: Option<&ChunkMeta>,
    version: u16,
    r: &mut Reader<'_>,
) -> Result<ChunkMeta, Truncated> {
    let bad = |r: &Reader<'_>| Truncated { offset: r.pos() };
    let (po, pts) = prev.map_or((0, 0), |p| (p.offset + u64::from(p.len), p.max_ts));
    let k = if version >= 2 { u32::from(r.u8()?) } else { 0 };
    if k > MAX_TIME_SCALE {
        return Err(bad(r));
    }
    let unit = 10u64.pow(k);
    let offset = po.wrapping_add(r.u64()?);
    let len = r.u32()?;
    let count = r.u32()?;
    let gap = r.i64()?.checked_mul(unit as i64).ok_or_else(|| bad(r))?;
    let min_ts = pts.wrapping_add(gap);
    let span = r.u64()?.checked_mul(unit).ok_or_else(|| bad(r))?;
    let max_ts = min_ts.wrapping_add(span as i64);
    if count == 0 || max_ts < min_ts {
        return Err(bad(r));
    }
    let stats = Stats::decode(ty, u64::from(count), min_ts, unit, r)?;
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

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use alloc::vec;

    /// An entry of a series whose chunk holds `ts` (values 0, 1, 2, …).
    fn meta(offset: u64, ts: &[i64]) -> ChunkMeta {
        let bits: Vec<u64> = (0..ts.len() as i64).map(|i| ((i * 7) % 5) as u64).collect();
        ChunkMeta {
            offset,
            len: 100,
            count: ts.len() as u32,
            min_ts: ts[0],
            max_ts: ts[ts.len() - 1],
            stats: Stats::compute(FieldType::Integer, ts, &bits).unwrap(),
        }
    }

    /// Format version 1's entry: times unscaled, no `k`.
    fn encode_v1(m: &ChunkMeta, prev: Option<&ChunkMeta>, out: &mut Vec<u8>) {
        let (po, pts) = prev.map_or((0, 0), |p| (p.offset + u64::from(p.len), p.max_ts));
        put_u64(out, m.offset.wrapping_sub(po));
        put_u64(out, u64::from(m.len));
        put_u64(out, u64::from(m.count));
        put_i64(out, m.min_ts.wrapping_sub(pts));
        put_u64(out, m.max_ts.wrapping_sub(m.min_ts) as u64);
        m.stats.encode(m.min_ts, 1, out);
    }

    fn sections() -> Vec<Vec<ChunkMeta>> {
        let s = 1_000_000_000i64;
        let series = |step: i64, start: i64, n: usize| -> Vec<ChunkMeta> {
            (0..n)
                .map(|c| {
                    let ts: Vec<i64> = (0..5).map(|i| start + (c as i64 * 5 + i) * step).collect();
                    meta(c as u64 * 100, &ts)
                })
                .collect()
        };
        vec![
            // 10 s in nanoseconds
            series(10 * s, 1_704_067_200 * s, 4),
            // 5 minutes
            series(300 * s, 1_396_310_400 * s, 3),
            // nanoseconds, negative
            series(1, -7, 3),
            // milliseconds before 1970
            series(1_000_000, -1_704_067_200_000_000, 2),
            series(10_000_000_000_000_000, 0, 2),
            // the widest span
            vec![meta(0, &[i64::MIN + 1, i64::MAX - 3])],
            // k = 18
            vec![meta(0, &[0]), meta(100, &[1_000_000_000_000_000_000])],
        ]
    }

    #[test]
    fn entries_round_trip_in_both_versions() {
        let (mut v1_len, mut v2_len, mut n) = (0, 0, 0);
        for sec in sections() {
            for version in [1u16, 2] {
                let mut out = Vec::new();
                let mut prev = None;
                for m in &sec {
                    if version == 1 {
                        encode_v1(m, prev.as_ref(), &mut out);
                    } else {
                        encode_chunk_meta(m, prev.as_ref(), &mut out);
                    }
                    prev = Some(*m);
                }
                if version == 1 {
                    v1_len += out.len();
                } else {
                    v2_len += out.len();
                }
                let mut r = Reader::new(&out);
                let mut prev = None;
                for m in &sec {
                    let d = decode_chunk_meta(FieldType::Integer, prev.as_ref(), version, &mut r)
                        .expect("decodes");
                    assert_eq!(&d, m, "version {version}");
                    prev = Some(d);
                    n += 1;
                }
                assert_eq!(r.pos(), out.len(), "version {version}: consumed exactly");
            }
        }
        std::println!(
            "{n} entries round-tripped; {v1_len} bytes as version 1, {v2_len} as version 2"
        );
        assert!(v2_len < v1_len);
    }

    #[test]
    fn scaled_times_that_overflow_are_rejected() {
        // k = 18 and a span of 10 units: 10^19 does not fit.
        let mut out = vec![18u8];
        for v in [0u64, 10, 1] {
            put_u64(&mut out, v);
        }
        put_i64(&mut out, 0);
        put_u64(&mut out, 10);
        assert!(decode_chunk_meta(FieldType::Integer, None, 2, &mut Reader::new(&out)).is_err());
        // k above 18.
        let out = [19u8, 0, 10, 1, 0, 0];
        assert!(decode_chunk_meta(FieldType::Integer, None, 2, &mut Reader::new(&out)).is_err());
    }

    #[test]
    fn footer_versions() {
        for version in 0u16..=3 {
            let f = Footer {
                top_offset: 77,
                top_len: 9,
                series: 3,
                version,
            };
            let want = if (1..=2).contains(&version) {
                Ok(f)
            } else {
                Err(Some(version))
            };
            assert_eq!(Footer::decode(&f.encode(5), 5), want, "version {version}");
        }
    }
}
