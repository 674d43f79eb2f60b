//! Table reader: footer and top index kept in RAM; index pages and chunks
//! read on demand and checked before use.

use alloc::vec;
use alloc::vec::Vec;

use super::format::{
    self, ChunkMeta, FOOTER_LEN, Footer, MAX_INDEX_LEN, PageRef, decode_chunk_meta, decode_top,
};
use crate::codec;
use crate::error::{Corruption, Error};
use crate::layout::stream::StreamReader;
use crate::manifest::TableEntry;
use crate::storage::BlockDevice;
use crate::value::{FieldType, SeriesId};
use crate::varint::Reader;

/// An open table.
#[derive(Debug)]
pub struct TableReader {
    /// The table's manifest entry.
    pub entry: TableEntry,
    /// Which reader this is, as numbered by its owner (see
    /// [`TableReader::with_instance`]).
    instance: u64,
    pages: Vec<PageRef>,
    footer: Footer,
    block_size: u32,
}

impl TableReader {
    fn stream(&self) -> StreamReader<'_> {
        StreamReader::new(&self.entry.extents, self.entry.len, self.block_size)
    }

    fn corrupt<E>(&self, what: &'static str, pos: u64) -> Error<E> {
        let (block, offset) = self.stream().position(pos).unwrap_or((0, 0));
        Error::Corrupted(Corruption {
            what,
            block,
            offset,
        })
    }

    /// Opens a table: reads and checks its footer and top index.
    pub fn open<D: BlockDevice>(
        dev: &mut D,
        entry: &TableEntry,
        block_size: u32,
    ) -> Result<Self, Error<D::Error>> {
        let mut t = Self {
            entry: entry.clone(),
            instance: 0,
            pages: Vec::new(),
            footer: Footer {
                top_offset: 0,
                top_len: 0,
                series: 0,
                version: format::VERSION,
            },
            block_size,
        };
        let len = entry.len;
        if len < FOOTER_LEN as u64 {
            return Err(t.corrupt("table footer", 0));
        }
        let mut fb = [0u8; FOOTER_LEN];
        t.stream().read(dev, len - FOOTER_LEN as u64, &mut fb)?;
        t.footer = match Footer::decode(&fb, entry.id) {
            Ok(f) => f,
            Err(Some(v)) => {
                return Err(Error::UnsupportedVersion {
                    what: "table",
                    found: u32::from(v),
                    supported: u32::from(format::VERSION),
                });
            }
            Err(None) => return Err(t.corrupt("table footer", len - FOOTER_LEN as u64)),
        };
        let f = t.footer;
        if f.top_len < 4
            || f.top_len > MAX_INDEX_LEN
            || f.top_offset.saturating_add(u64::from(f.top_len)) > len - FOOTER_LEN as u64
        {
            return Err(t.corrupt("table footer", len - FOOTER_LEN as u64));
        }
        let mut top = vec![0u8; f.top_len as usize];
        t.stream().read(dev, f.top_offset, &mut top)?;
        let body = t.checked(&top, f.top_offset, "table top index")?;
        t.pages = decode_top(body).map_err(|_| t.corrupt("table top index", f.top_offset))?;
        Ok(t)
    }

    fn checked<'b, E>(
        &self,
        bytes: &'b [u8],
        pos: u64,
        what: &'static str,
    ) -> Result<&'b [u8], Error<E>> {
        let Some((body, c)) = bytes.split_last_chunk::<4>() else {
            return Err(self.corrupt(what, pos));
        };
        if format::crc(self.entry.id, body) != u32::from_le_bytes(*c) {
            return Err(self.corrupt(what, pos));
        }
        Ok(body)
    }

    /// Whether a part the index points at (CRC included) is plausible: at
    /// least a CRC, at most `max`, and inside the table — checked before
    /// anything is allocated for it, so a damaged length cannot ask for
    /// gigabytes.
    fn fits(&self, offset: u64, len: u32, max: u32) -> bool {
        (4..=max).contains(&len) && offset.saturating_add(u64::from(len)) <= self.entry.len
    }

    /// Where the table's checksummed index parts are: (stream offset,
    /// length with the CRC) of every index page, the top index and the
    /// footer. Chunks are listed by the index. For tools that inspect or
    /// re-checksum tables (the fuzz targets do).
    pub fn index_parts(&self) -> Vec<(u64, u32)> {
        let mut v: Vec<(u64, u32)> = self.pages.iter().map(|p| (p.offset, p.len)).collect();
        v.push((self.footer.top_offset, self.footer.top_len));
        v.push((
            self.entry.len.saturating_sub(FOOTER_LEN as u64),
            FOOTER_LEN as u32,
        ));
        v
    }

    /// Numbers this reader: a database gives every reader it opens a
    /// number of its own, so that what is cached about a table's bytes
    /// (decoded chunks) is keyed by something no other content ever had.
    /// A table's id is not: a compaction's output takes its newest
    /// input's id (the id orders tables by recency).
    pub fn with_instance(mut self, instance: u64) -> Self {
        self.instance = instance;
        self
    }

    /// The number given with [`TableReader::with_instance`] (0 if none).
    pub fn instance(&self) -> u64 {
        self.instance
    }

    /// Series in the table.
    pub fn series_count(&self) -> u32 {
        self.footer.series
    }

    /// Calls `f(i, type, chunk)` for every chunk of every series `ids[i]`
    /// (`ids` sorted ascending), in series then time order. Each index page
    /// is read once.
    pub fn chunks_of<D: BlockDevice, F>(
        &self,
        dev: &mut D,
        ids: &[SeriesId],
        mut f: F,
    ) -> Result<(), Error<D::Error>>
    where
        F: FnMut(usize, FieldType, ChunkMeta) -> Result<(), Error<D::Error>>,
    {
        let (Some(&lo), Some(&hi)) = (ids.first(), ids.last()) else {
            return Ok(());
        };
        let mut buf = Vec::new();
        for p in &self.pages {
            if p.last < lo || p.first > hi {
                continue;
            }
            // Skip pages none of whose range holds a wanted id.
            let from = ids.partition_point(|&x| x < p.first);
            if ids.get(from).is_none_or(|&x| x > p.last) {
                continue;
            }
            if !self.fits(p.offset, p.len, MAX_INDEX_LEN) {
                return Err(self.corrupt("table index page", p.offset));
            }
            buf.resize(p.len as usize, 0);
            self.stream().read(dev, p.offset, &mut buf)?;
            let body = self.checked(&buf, p.offset, "table index page")?;
            let bad = |_| self.corrupt("table index page", p.offset);
            let mut r = Reader::new(body);
            let sections = r.u64().map_err(bad)?;
            let mut id = 0u64;
            for s in 0..sections {
                let delta = r.u64().map_err(bad)?;
                id = if s == 0 {
                    delta
                } else {
                    id.wrapping_add(delta)
                };
                let ty = FieldType::from_u8(r.u8().map_err(bad)?)
                    .ok_or_else(|| bad(crate::varint::Truncated { offset: 0 }))?;
                let n = r.u64().map_err(bad)?;
                let want = ids.binary_search(&id).ok();
                let mut prev: Option<ChunkMeta> = None;
                for _ in 0..n {
                    let m = decode_chunk_meta(ty, prev.as_ref(), self.footer.version, &mut r)
                        .map_err(bad)?;
                    if m.offset.saturating_add(u64::from(m.len)) > p.offset {
                        // Chunks precede the page that indexes them.
                        return Err(self.corrupt("table index page", p.offset));
                    }
                    if let Some(i) = want {
                        f(i, ty, m)?;
                    }
                    prev = Some(m);
                }
            }
        }
        Ok(())
    }

    /// The whole index: every series with its type and chunks, in series
    /// order. RAM grows with the table's chunk count; merges read it a page
    /// at a time ([`IndexCursor`]) instead.
    pub fn index<D: BlockDevice>(&self, dev: &mut D) -> Result<Vec<SeriesChunks>, Error<D::Error>> {
        let mut out: Vec<SeriesChunks> = Vec::new();
        let mut buf = Vec::new();
        for page in 0..self.pages.len() {
            for sc in self.index_page(dev, page, &mut buf)? {
                push_section(&mut out, sc).map_err(|()| self.page_corrupt(page))?;
            }
        }
        Ok(out)
    }

    fn page_corrupt<E>(&self, page: usize) -> Error<E> {
        self.corrupt(
            "table index page",
            self.pages.get(page).map_or(0, |p| p.offset),
        )
    }

    /// Number of index pages.
    pub fn index_pages(&self) -> usize {
        self.pages.len()
    }

    /// The sections of index page `page` (a long series' chunks may go on in
    /// the next page's first section). `buf` is scratch for the page bytes.
    pub fn index_page<D: BlockDevice>(
        &self,
        dev: &mut D,
        page: usize,
        buf: &mut Vec<u8>,
    ) -> Result<Vec<SeriesChunks>, Error<D::Error>> {
        let Some(p) = self.pages.get(page) else {
            return Ok(Vec::new());
        };
        if !self.fits(p.offset, p.len, MAX_INDEX_LEN) {
            return Err(self.corrupt("table index page", p.offset));
        }
        buf.resize(p.len as usize, 0);
        self.stream().read(dev, p.offset, buf)?;
        let body = self.checked(buf, p.offset, "table index page")?;
        let bad = |_| self.corrupt("table index page", p.offset);
        let mut r = Reader::new(body);
        let sections = r.u64().map_err(bad)?;
        let mut out = Vec::new();
        let mut id = 0u64;
        for s in 0..sections {
            let delta = r.u64().map_err(bad)?;
            id = if s == 0 {
                delta
            } else {
                id.wrapping_add(delta)
            };
            let ty = FieldType::from_u8(r.u8().map_err(bad)?)
                .ok_or_else(|| bad(crate::varint::Truncated { offset: 0 }))?;
            let n = r.u64().map_err(bad)?;
            if n > body.len() as u64 {
                return Err(self.corrupt("table index page", p.offset));
            }
            let mut prev: Option<ChunkMeta> = None;
            let mut chunks = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let m = decode_chunk_meta(ty, prev.as_ref(), self.footer.version, &mut r)
                    .map_err(bad)?;
                prev = Some(m);
                chunks.push(m);
            }
            out.push(SeriesChunks { id, ty, chunks });
        }
        Ok(out)
    }

    /// Reads and decodes one chunk, appending its points.
    pub fn read_chunk<D: BlockDevice>(
        &self,
        dev: &mut D,
        ty: FieldType,
        m: &ChunkMeta,
        ts: &mut Vec<i64>,
        bits: &mut Vec<u64>,
        scratch: &mut ChunkScratch,
    ) -> Result<(), Error<D::Error>> {
        let n = m.count as usize;
        if !self.fits(m.offset, m.len, u32::MAX) || n == 0 || n > codec::MAX_CHUNK_POINTS {
            return Err(self.corrupt("table chunk", m.offset));
        }
        scratch.bytes.resize(m.len as usize, 0);
        self.stream().read(dev, m.offset, &mut scratch.bytes)?;
        let bytes = core::mem::take(&mut scratch.bytes);
        let r = self.decode_chunk(ty, m, &bytes, ts, bits, scratch);
        scratch.bytes = bytes;
        r
    }

    fn decode_chunk<E>(
        &self,
        ty: FieldType,
        m: &ChunkMeta,
        bytes: &[u8],
        ts: &mut Vec<i64>,
        bits: &mut Vec<u64>,
        s: &mut ChunkScratch,
    ) -> Result<(), Error<E>> {
        let body = self.checked(bytes, m.offset, "table chunk")?;
        let n = m.count as usize;
        let bad = |_| self.corrupt("table chunk", m.offset);
        let ts_start = ts.len();
        let used = codec::decode_timestamps(body, n, ts).map_err(bad)?;
        let rest = body.get(used..).unwrap_or_default();
        let used2 = match ty {
            FieldType::Float => {
                s.f64s.clear();
                let u = codec::decode_f64(rest, n, &mut s.f64s).map_err(bad)?;
                bits.extend(s.f64s.iter().map(|v| v.to_bits()));
                u
            }
            FieldType::Integer => {
                s.i64s.clear();
                let u = codec::decode_i64(rest, n, &mut s.i64s).map_err(bad)?;
                bits.extend(s.i64s.iter().map(|&v| v as u64));
                u
            }
            FieldType::Unsigned => codec::decode_u64(rest, n, bits).map_err(bad)?,
            FieldType::Boolean => {
                s.bools.clear();
                let u = codec::decode_bool(rest, n, &mut s.bools).map_err(bad)?;
                bits.extend(s.bools.iter().map(|&b| u64::from(b)));
                u
            }
        };
        let got = ts.get(ts_start..).unwrap_or_default();
        // What the index says must match what the chunk holds.
        if used + used2 != body.len()
            || got.len() != n
            || got.first() != Some(&m.min_ts)
            || got.last() != Some(&m.max_ts)
            || got.windows(2).any(|w| matches!(w, [a, b] if a >= b))
        {
            return Err(self.corrupt("table chunk", m.offset));
        }
        Ok(())
    }
}

/// One series' chunks in a table.
#[derive(Debug, Clone)]
pub struct SeriesChunks {
    /// Series id.
    pub id: SeriesId,
    /// Field type.
    pub ty: FieldType,
    /// Chunks, in time order.
    pub chunks: Vec<ChunkMeta>,
}

/// Reusable buffers for [`TableReader::read_chunk`].
#[derive(Debug, Default)]
pub struct ChunkScratch {
    bytes: Vec<u8>,
    f64s: Vec<f64>,
    i64s: Vec<i64>,
    bools: Vec<bool>,
}

/// Adds a decoded index section: a new series after the last, or the rest
/// of the last one's chunks. Err on ids going backwards or a type change.
fn push_section(out: &mut Vec<SeriesChunks>, sc: SeriesChunks) -> Result<(), ()> {
    match out.last_mut() {
        Some(last) if last.id == sc.id => {
            if last.ty != sc.ty {
                return Err(());
            }
            last.chunks.extend(sc.chunks);
            Ok(())
        }
        Some(last) if last.id > sc.id => Err(()),
        _ => {
            out.push(sc);
            Ok(())
        }
    }
}

/// Walks a table's index series by series, holding one page (and the
/// series being read) in memory: what a merge of many tables needs.
#[derive(Debug, Default)]
pub struct IndexCursor {
    next_page: usize,
    /// Decoded series, the front one complete once [`IndexCursor::fill`] ran.
    series: alloc::collections::VecDeque<SeriesChunks>,
    buf: Vec<u8>,
}

impl IndexCursor {
    /// Loads pages until the front series is complete (its chunks may go
    /// on in the next page) or the index ends.
    pub fn fill<D: BlockDevice>(
        &mut self,
        t: &TableReader,
        dev: &mut D,
    ) -> Result<(), Error<D::Error>> {
        while self.series.len() < 2 && self.next_page < t.index_pages() {
            let page = self.next_page;
            self.next_page += 1;
            for sc in t.index_page(dev, page, &mut self.buf)? {
                match self.series.back_mut() {
                    Some(last) if last.id == sc.id && last.ty == sc.ty => {
                        last.chunks.extend(sc.chunks)
                    }
                    Some(last) if last.id >= sc.id => return Err(t.page_corrupt(page)),
                    _ => self.series.push_back(sc),
                }
            }
        }
        Ok(())
    }

    /// The current series (complete after [`IndexCursor::fill`]).
    pub fn front(&self) -> Option<&SeriesChunks> {
        self.series.front()
    }

    /// Moves to the next series.
    pub fn advance(&mut self) {
        self.series.pop_front();
    }
}
