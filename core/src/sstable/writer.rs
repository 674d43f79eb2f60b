//! Streaming table writer (bounded RAM; see the module docs of `sstable`).

use alloc::vec::Vec;

use super::format::{self, ChunkMeta, Footer, PageRef, encode_chunk_meta, encode_top};
use super::stats::Stats;
use crate::codec;
use crate::error::Error;
use crate::layout::stream::{BlockSource, StreamWriter};
use crate::manifest::Extent;
use crate::storage::BlockDevice;
use crate::value::{FieldType, SeriesId};
use crate::varint::put_u64;

/// What a finished table holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSummary {
    /// Stream length in bytes.
    pub len: u64,
    /// Blocks holding it.
    pub extents: Vec<Extent>,
    /// Smallest timestamp (i64::MAX if empty).
    pub min_ts: i64,
    /// Largest timestamp (i64::MIN if empty).
    pub max_ts: i64,
    /// Points written.
    pub points: u64,
    /// Series written.
    pub series: u32,
    /// Bytes of chunk data (timestamps and values, CRCs included).
    pub chunk_bytes: u64,
}

/// Writes one table.
#[derive(Debug)]
pub struct TableWriter {
    /// How hard the value codecs work.
    effort: codec::Effort,
    /// Points per chunk (at most `codec::MAX_CHUNK_POINTS`).
    chunk_points: usize,
    table_id: u64,
    stream: StreamWriter,
    /// Index page size aimed for (see [`format::page_target`]).
    page_target: usize,
    page: Vec<u8>,
    page_sections: u64,
    page_first: Option<SeriesId>,
    page_last: SeriesId,
    section: Vec<u8>,
    section_chunks: u64,
    section_prev: Option<ChunkMeta>,
    cur: Option<(SeriesId, FieldType)>,
    last_id: Option<SeriesId>,
    last_ts: Option<i64>,
    pend_ts: Vec<i64>,
    pend_bits: Vec<u64>,
    pages: Vec<PageRef>,
    chunk: Vec<u8>,
    f64s: Vec<f64>,
    i64s: Vec<i64>,
    bools: Vec<bool>,
    min_ts: i64,
    max_ts: i64,
    points: u64,
    series: u32,
    chunk_bytes: u64,
}

/// `Err` for a misuse of the writer (a bug in the caller, reported, not panicked).
fn misuse<E>(what: &'static str) -> Error<E> {
    Error::Corrupted(crate::error::Corruption {
        what,
        block: 0,
        offset: 0,
    })
}

impl TableWriter {
    /// Sets the points per chunk (16 to `codec::MAX_CHUNK_POINTS`): smaller
    /// chunks need less memory to write and read, larger ones compress
    /// better.
    pub fn with_chunk_points(mut self, n: usize) -> Self {
        self.chunk_points = n.clamp(16, codec::MAX_CHUNK_POINTS);
        self
    }

    /// Points per chunk.
    pub fn chunk_points(&self) -> usize {
        self.chunk_points
    }

    /// Sets how hard the value codecs work (flushes write fast, knowing a
    /// compaction will rewrite the table with the best effort).
    pub fn with_effort(mut self, effort: codec::Effort) -> Self {
        self.effort = effort;
        self
    }

    /// A writer for table `table_id` on blocks of `block_size` bytes.
    pub fn new(table_id: u64, block_size: u32) -> Self {
        Self {
            effort: codec::Effort::Best,
            chunk_points: codec::MAX_CHUNK_POINTS,
            table_id,
            stream: StreamWriter::new(block_size),
            page_target: format::page_target(block_size),
            page: Vec::new(),
            page_sections: 0,
            page_first: None,
            page_last: 0,
            section: Vec::new(),
            section_chunks: 0,
            section_prev: None,
            cur: None,
            last_id: None,
            last_ts: None,
            pend_ts: Vec::new(),
            pend_bits: Vec::new(),
            pages: Vec::new(),
            chunk: Vec::new(),
            f64s: Vec::new(),
            i64s: Vec::new(),
            bools: Vec::new(),
            min_ts: i64::MAX,
            max_ts: i64::MIN,
            points: 0,
            series: 0,
            chunk_bytes: 0,
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.stream.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.points == 0
    }

    /// Adds a whole series: `ts` strictly increasing, `bits` parallel;
    /// series ids strictly increasing across calls. Empty series are skipped.
    pub fn add_series<D: BlockDevice, S: BlockSource>(
        &mut self,
        dev: &mut D,
        src: &mut S,
        id: SeriesId,
        ty: FieldType,
        ts: &[i64],
        bits: &[u64],
    ) -> Result<(), Error<D::Error>> {
        self.push(dev, src, id, ty, ts, bits)?;
        self.end_series(dev, src)
    }

    /// Streams points of series `id`: ids strictly increasing from series to
    /// series, times strictly increasing within a series across calls.
    /// Points are gathered into full chunks; [`TableWriter::end_series`] (or
    /// the next series, or `finish`) writes the last, partial one.
    pub fn push<D: BlockDevice, S: BlockSource>(
        &mut self,
        dev: &mut D,
        src: &mut S,
        id: SeriesId,
        ty: FieldType,
        ts: &[i64],
        bits: &[u64],
    ) -> Result<(), Error<D::Error>> {
        if ts.len() != bits.len() {
            return Err(misuse("table writer: columns differ in length"));
        }
        if ts.is_empty() {
            return Ok(());
        }
        match self.cur {
            Some((cid, cty)) if cid == id => {
                if cty != ty {
                    return Err(misuse("table writer: a series changed type"));
                }
            }
            _ => {
                self.end_series(dev, src)?;
                if self.last_id.is_some_and(|l| id <= l) {
                    return Err(misuse("table writer: series out of order"));
                }
                self.last_id = Some(id);
                self.cur = Some((id, ty));
                self.last_ts = None;
                self.series += 1;
            }
        }
        for (&t, &b) in ts.iter().zip(bits) {
            if self.last_ts.is_some_and(|l| t <= l) {
                return Err(misuse("table writer: timestamps not strictly increasing"));
            }
            self.last_ts = Some(t);
            self.pend_ts.push(t);
            self.pend_bits.push(b);
            if self.pend_ts.len() >= self.chunk_points {
                self.write_pending(dev, src, ty)?;
            }
        }
        Ok(())
    }

    fn write_pending<D: BlockDevice, S: BlockSource>(
        &mut self,
        dev: &mut D,
        src: &mut S,
        ty: FieldType,
    ) -> Result<(), Error<D::Error>> {
        if self.pend_ts.is_empty() {
            return Ok(());
        }
        let (ts, bits) = (
            core::mem::take(&mut self.pend_ts),
            core::mem::take(&mut self.pend_bits),
        );
        let r = self.add_chunk(dev, src, ty, &ts, &bits);
        self.pend_ts = ts;
        self.pend_bits = bits;
        self.pend_ts.clear();
        self.pend_bits.clear();
        r
    }

    /// Ends the current series (writing its last chunk).
    pub fn end_series<D: BlockDevice, S: BlockSource>(
        &mut self,
        dev: &mut D,
        src: &mut S,
    ) -> Result<(), Error<D::Error>> {
        let Some((_, ty)) = self.cur else {
            return Ok(());
        };
        self.write_pending(dev, src, ty)?;
        self.close_section();
        self.cur = None;
        if self.page.len() >= self.page_target {
            self.flush_page(dev, src)?;
        }
        Ok(())
    }

    fn add_chunk<D: BlockDevice, S: BlockSource>(
        &mut self,
        dev: &mut D,
        src: &mut S,
        ty: FieldType,
        ts: &[i64],
        bits: &[u64],
    ) -> Result<(), Error<D::Error>> {
        let (Some(&min_ts), Some(&max_ts)) = (ts.first(), ts.last()) else {
            return Ok(());
        };
        if ts.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
            return Err(misuse("table writer: timestamps not strictly increasing"));
        }
        self.chunk.clear();
        codec::encode_timestamps(ts, &mut self.chunk);
        match ty {
            FieldType::Float => {
                self.f64s.clear();
                self.f64s.extend(bits.iter().map(|&b| f64::from_bits(b)));
                codec::encode_f64_with(&self.f64s, &mut self.chunk, self.effort);
            }
            FieldType::Integer => {
                self.i64s.clear();
                self.i64s.extend(bits.iter().map(|&b| b as i64));
                codec::encode_i64_with(&self.i64s, &mut self.chunk, self.effort);
            }
            FieldType::Unsigned => codec::encode_u64_with(bits, &mut self.chunk, self.effort),
            FieldType::Boolean => {
                self.bools.clear();
                self.bools.extend(bits.iter().map(|&b| b != 0));
                codec::encode_bool(&self.bools, &mut self.chunk);
            }
        }
        let c = format::crc(self.table_id, &self.chunk);
        self.chunk.extend_from_slice(&c.to_le_bytes());
        let offset = self.stream.len();
        let chunk = core::mem::take(&mut self.chunk);
        let r = self.stream.write(dev, src, &chunk);
        self.chunk = chunk;
        r?;
        let Some(stats) = Stats::compute(ty, ts, bits) else {
            return Ok(());
        };
        let meta = ChunkMeta {
            offset,
            len: self.chunk.len() as u32,
            count: ts.len() as u32,
            min_ts,
            max_ts,
            stats,
        };
        self.chunk_bytes += self.chunk.len() as u64;
        encode_chunk_meta(&meta, self.section_prev.as_ref(), &mut self.section);
        self.section_prev = Some(meta);
        self.section_chunks += 1;
        self.points += ts.len() as u64;
        self.min_ts = self.min_ts.min(min_ts);
        self.max_ts = self.max_ts.max(max_ts);
        if self.section.len() >= self.page_target {
            // A long series continues in a new section of the next page.
            self.close_section();
            self.flush_page(dev, src)?;
        }
        Ok(())
    }

    fn close_section(&mut self) {
        if self.section_chunks == 0 {
            return;
        }
        let Some((id, ty)) = self.cur else { return };
        let prev = if self.page_first.is_some() {
            self.page_last
        } else {
            0
        };
        put_u64(&mut self.page, id.wrapping_sub(prev));
        self.page.push(ty as u8);
        put_u64(&mut self.page, self.section_chunks);
        self.page.extend_from_slice(&self.section);
        self.section.clear();
        self.section_chunks = 0;
        self.section_prev = None;
        self.page_sections += 1;
        if self.page_first.is_none() {
            self.page_first = Some(id);
        }
        self.page_last = id;
    }

    fn flush_page<D: BlockDevice, S: BlockSource>(
        &mut self,
        dev: &mut D,
        src: &mut S,
    ) -> Result<(), Error<D::Error>> {
        let Some(first) = self.page_first else {
            return Ok(());
        };
        let mut bytes = Vec::with_capacity(self.page.len() + 16);
        put_u64(&mut bytes, self.page_sections);
        bytes.extend_from_slice(&self.page);
        let c = format::crc(self.table_id, &bytes);
        bytes.extend_from_slice(&c.to_le_bytes());
        let offset = self.stream.len();
        self.stream.write(dev, src, &bytes)?;
        self.pages.push(PageRef {
            first,
            last: self.page_last,
            offset,
            len: bytes.len() as u32,
        });
        self.page.clear();
        self.page_sections = 0;
        self.page_first = None;
        Ok(())
    }

    /// Writes the index, top index and footer; returns the table's summary.
    /// On error, [`TableWriter::abandon`] returns the blocks to release.
    pub fn finish<D: BlockDevice, S: BlockSource>(
        &mut self,
        dev: &mut D,
        src: &mut S,
    ) -> Result<TableSummary, Error<D::Error>> {
        self.end_series(dev, src)?;
        self.flush_page(dev, src)?;
        let top_offset = self.stream.len();
        let mut top = Vec::new();
        encode_top(self.table_id, &self.pages, &mut top);
        self.stream.write(dev, src, &top)?;
        let footer = Footer {
            top_offset,
            top_len: top.len() as u32,
            series: self.series,
            version: format::VERSION,
        };
        self.stream.write(dev, src, &footer.encode(self.table_id))?;
        let (len, extents) = self.stream.finish(dev, src)?;
        Ok(TableSummary {
            len,
            extents,
            min_ts: self.min_ts,
            max_ts: self.max_ts,
            points: self.points,
            series: self.series,
            chunk_bytes: self.chunk_bytes,
        })
    }

    /// Gives up; returns the blocks taken so far, to release.
    pub fn abandon(self) -> Vec<Extent> {
        self.stream.abandon()
    }
}
