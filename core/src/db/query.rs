//! Query execution in two steps, so a server can hold its lock only for the
//! first: [`Db::prepare`] resolves the series and captures what they need (a
//! copy of the active memtable's points in range, shared handles on frozen
//! memtables and tables); [`Prepared::execute`] reads tables and computes the
//! answer without the `Db`.

use crate::map::Map;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::Db;
use crate::codec::MAX_CHUNK_POINTS;
use crate::error::Error;
use crate::memtable::Frozen;
use crate::query::merge::{
    ChunkSource, MergeError, MergeStats, Piece, PieceKind, Sink, mem_pieces, run_series,
};
use crate::query::{Acc, DecodedCache, Query, QueryResult, ResultSeries, SeriesData};
use crate::sstable::ChunkMeta;
use crate::sstable::TableReader;
use crate::sstable::reader::ChunkScratch;
use crate::storage::BlockDevice;
use crate::value::{FieldType, SeriesId};

/// One selected series.
#[derive(Debug, Clone)]
struct Selected {
    idx: u32,
    id: SeriesId,
    ty: FieldType,
    measurement: String,
    tags: Vec<(String, String)>,
    field: String,
    /// Values of the group-by tags.
    group: Vec<(String, String)>,
}

/// Group-by tag values and field of an aggregated result series.
type GroupKey = (Vec<(String, String)>, String);
/// Measurement, field type and windows of a group.
type GroupWindows = (String, FieldType, Map<i64, Acc>);

/// A query ready to run without the database.
#[derive(Debug)]
pub struct Prepared {
    /// The query, its start raised to the retention cutoff's window.
    q: Query,
    /// The start it was asked with: the key of an aggregate over the whole
    /// range.
    asked_start: i64,
    series: Vec<Selected>,
    /// Active memtable points in range, per selected series (ts, bits).
    active: Vec<(Vec<i64>, Vec<u64>)>,
    frozen: Vec<Arc<Frozen>>,
    tables: Vec<Arc<TableReader>>,
    tombstones: Vec<crate::manifest::Tombstone>,
    max_windows: usize,
    batch_series: usize,
}

struct Chunks<'a, D: BlockDevice> {
    dev: &'a mut D,
    tables: &'a [Arc<TableReader>],
    scratch: ChunkScratch,
    cache: Option<&'a dyn DecodedCache>,
    /// Chunks this query kept in the cache.
    kept: usize,
}

/// A query keeps at most this many of the chunks it decodes in the cache:
/// one reading more is a scan, which would push out what dashboards read
/// again for chunks nobody asks for twice.
const MAX_KEPT_PER_QUERY: usize = 16;

impl<D: BlockDevice> ChunkSource for Chunks<'_, D> {
    type Error = Error<D::Error>;
    fn decode(
        &mut self,
        table: usize,
        ty: FieldType,
        meta: &ChunkMeta,
        ts: &mut Vec<i64>,
        bits: &mut Vec<u64>,
    ) -> Result<(), Self::Error> {
        match self.tables.get(table) {
            Some(t) => {
                let Some(cache) = self.cache else {
                    return t.read_chunk(self.dev, ty, meta, ts, bits, &mut self.scratch);
                };
                if cache.get(t.instance(), meta.offset, ts, bits) {
                    return Ok(());
                }
                let (t0, b0) = (ts.len(), bits.len());
                t.read_chunk(self.dev, ty, meta, ts, bits, &mut self.scratch)?;
                if self.kept < MAX_KEPT_PER_QUERY
                    && let (Some(new_ts), Some(new_bits)) = (ts.get(t0..), bits.get(b0..))
                {
                    cache.put(t.instance(), meta.offset, new_ts, new_bits);
                    self.kept += 1;
                }
                Ok(())
            }
            None => Err(Error::Corrupted(crate::error::Corruption {
                what: "query table index",
                block: 0,
                offset: 0,
            })),
        }
    }
}

impl<D: BlockDevice> Db<D> {
    /// Resolves a query's series and captures the data it needs.
    pub fn prepare(&self, q: &Query) -> Result<Prepared, Error<D::Error>> {
        // Windows past the retention cutoff are gone even where a packed
        // table still holds their points (until it is rewritten).
        let from = if self.min_write_ts == i64::MIN {
            q.start_ns
        } else {
            let w = self.cfg.window_ns.max(1);
            q.start_ns
                .max(super::flush::window_of(self.min_write_ts, w))
        };
        let mut p = Prepared {
            q: Query {
                start_ns: from,
                ..q.clone()
            },
            asked_start: q.start_ns,
            series: Vec::new(),
            active: Vec::new(),
            frozen: self.frozen.clone(),
            tables: self
                .tables
                .iter()
                .filter(|t| t.entry.max_ts >= from && t.entry.min_ts <= q.end_ns)
                .cloned()
                .collect(),
            tombstones: self.tombstones.clone(),
            max_windows: self.cfg.max_query_windows,
            batch_series: self.cfg.query_batch_series,
        };
        let Some(dbi) = self.catalog.db(&q.db) else {
            return Err(Error::DatabaseNotFound);
        };
        let group_keys: &[String] = q
            .aggregation
            .as_ref()
            .map(|a| a.group_by.as_slice())
            .unwrap_or_default();
        for t in self.catalog.select_tagsets(dbi, &q.measurement, &q.tags) {
            let Some(ts) = self.catalog.tagset(t) else {
                continue;
            };
            let mut fields: Vec<(&str, u32)> = ts
                .fields
                .iter()
                .map(|&(f, s)| (self.catalog.strings().resolve(f), s))
                .filter(|(f, _)| q.field.as_deref().is_none_or(|want| want == *f))
                .collect();
            crate::sort::sort_by(&mut fields, |a, b| a.0.cmp(b.0));
            for (f, s) in fields {
                let Some(view) = self.catalog.describe(s) else {
                    continue;
                };
                let tags: Vec<(String, String)> = view
                    .tags()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                let group = group_keys
                    .iter()
                    .map(|k| (k.clone(), view.tag(k).unwrap_or("").to_string()))
                    .collect();
                let mut ts_v = Vec::new();
                let mut bits_v = Vec::new();
                if let Some(b) = self.active.series(s) {
                    b.range(from, q.end_ns, &mut ts_v, &mut bits_v);
                }
                p.active.push((ts_v, bits_v));
                p.series.push(Selected {
                    idx: s,
                    id: view.meta.id,
                    ty: view.meta.ty,
                    measurement: view.measurement().to_string(),
                    tags,
                    field: f.to_string(),
                    group,
                });
            }
        }
        Ok(p)
    }

    /// Runs a query.
    pub fn query(&mut self, q: &Query) -> Result<QueryResult, Error<D::Error>> {
        let p = self.prepare(q)?;
        p.execute(self.store.device_mut())
    }

    /// Runs a query through a cache of decoded chunks
    /// ([`Prepared::execute_cached`]).
    pub fn query_cached(
        &mut self,
        q: &Query,
        cache: &dyn DecodedCache,
    ) -> Result<QueryResult, Error<D::Error>> {
        let p = self.prepare(q)?;
        p.execute_cached(self.store.device_mut(), cache)
    }
}

impl Prepared {
    /// Number of series selected.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Computes the answer, reading tables through `dev`.
    pub fn execute<D: BlockDevice>(self, dev: &mut D) -> Result<QueryResult, Error<D::Error>> {
        self.run(dev, None)
    }

    /// [`Prepared::execute`], taking decoded chunks from `cache` when it
    /// holds them and keeping there those it decodes.
    pub fn execute_cached<D: BlockDevice>(
        self,
        dev: &mut D,
        cache: &dyn DecodedCache,
    ) -> Result<QueryResult, Error<D::Error>> {
        self.run(dev, Some(cache))
    }

    fn run<D: BlockDevice>(
        self,
        dev: &mut D,
        cache: Option<&dyn DecodedCache>,
    ) -> Result<QueryResult, Error<D::Error>> {
        let q = &self.q;
        let n = self.series.len();
        // Chunk lists of the series being answered: a batch of series at a
        // time (each table's index pages are read once per batch), so the
        // memory they take is bounded whatever the query selects.
        let batch = self.batch_series.max(1);
        let mut chunks: Vec<Vec<(usize, ChunkMeta)>> = (0..n).map(|_| Vec::new()).collect();
        let mut src = Chunks {
            dev,
            tables: &self.tables,
            scratch: ChunkScratch::default(),
            cache,
            kept: 0,
        };
        let mut result = QueryResult::default();
        let mut stats = MergeStats::default();
        let n_frozen = self.frozen.len() as u64;
        let active_rank = u64::MAX;
        // Groups for aggregates: (group tags, field) → windows.
        let mut groups: Map<GroupKey, GroupWindows> = Map::new();
        let no_dels: Vec<(i64, i64)> = Vec::new();
        for lo in (0..n).step_by(batch) {
            let hi = (lo + batch).min(n);
            let mut order: Vec<usize> = (lo..hi).collect();
            crate::sort::sort_by_key(&mut order, |&i| self.series.get(i).map_or(0, |s| s.id));
            let ids: Vec<SeriesId> = order
                .iter()
                .filter_map(|&i| self.series.get(i).map(|s| s.id))
                .collect();
            for (ti, t) in self.tables.iter().enumerate() {
                t.chunks_of(&mut *src.dev, &ids, |pos, ty, m| {
                    let Some(&si) = order.get(pos) else {
                        return Ok(());
                    };
                    if self.series.get(si).is_some_and(|s| s.ty != ty) {
                        // The table and the catalog disagree on the series' type.
                        return Err(Error::Corrupted(crate::error::Corruption {
                            what: "table index (field type differs from the catalog)",
                            block: t.entry.extents.first().map_or(0, |e| e.start),
                            offset: 0,
                        }));
                    }
                    if m.max_ts >= q.start_ns
                        && m.min_ts <= q.end_ns
                        && let Some(v) = chunks.get_mut(si)
                    {
                        // Grow by a quarter, not double: on a small heap the
                        // list is the largest thing a query holds.
                        if v.len() == v.capacity() {
                            v.reserve_exact(v.len() / 4 + 8);
                        }
                        v.push((ti, m));
                    }
                    Ok(())
                })?;
            }
            for si in lo..hi {
                let Some(s) = self.series.get(si) else {
                    continue;
                };
                // Deleted ranges of this series, per older source.
                let dels = |max_lsn: u64| -> Vec<(i64, i64)> {
                    self.tombstones
                        .iter()
                        .filter(|t| t.lsn > max_lsn && t.series.binary_search(&s.id).is_ok())
                        .map(|t| (t.min_ts, t.max_ts))
                        .collect()
                };
                let table_dels: Vec<Vec<(i64, i64)>> = if self.tombstones.is_empty() {
                    Vec::new()
                } else {
                    self.tables.iter().map(|t| dels(t.entry.max_lsn)).collect()
                };
                let frozen_dels: Vec<Vec<(i64, i64)>> = if self.tombstones.is_empty() {
                    Vec::new()
                } else {
                    self.frozen.iter().map(|f| dels(f.max_lsn)).collect()
                };
                let listed = chunks.get(si).map(Vec::as_slice).unwrap_or_default();
                let mut pieces: Vec<Piece<'_>> =
                    Vec::with_capacity(listed.len() + self.frozen.len() + 1);
                for (ti, m) in listed {
                    let rank = self.tables.get(*ti).map_or(0, |t| t.entry.id);
                    pieces.push(Piece {
                        rank,
                        min_ts: m.min_ts,
                        max_ts: m.max_ts,
                        kind: PieceKind::Chunk {
                            table: *ti,
                            meta: m,
                        },
                        deleted: table_dels.get(*ti).map_or(&no_dels[..], Vec::as_slice),
                    });
                }
                for (fi, f) in self.frozen.iter().enumerate() {
                    if let Some(b) = f.get(s.idx) {
                        // Frozen memtables rank above every table, newest highest.
                        mem_pieces(
                            active_rank - n_frozen + fi as u64,
                            b.timestamps(),
                            b.values(),
                            MAX_CHUNK_POINTS,
                            frozen_dels.get(fi).map_or(&no_dels[..], Vec::as_slice),
                            &mut pieces,
                        );
                    }
                }
                if let Some((t, b)) = self.active.get(si) {
                    // Deletes were applied to the active memtable directly.
                    mem_pieces(active_rank, t, b, MAX_CHUNK_POINTS, &no_dels, &mut pieces);
                }
                match &q.aggregation {
                    None => {
                        let mut out = Vec::new();
                        let mut sink = Sink::Raw {
                            out: &mut out,
                            limit: q.limit.unwrap_or(usize::MAX),
                        };
                        run_series(
                            &mut pieces,
                            s.ty,
                            q.start_ns,
                            q.end_ns,
                            &mut sink,
                            &mut src,
                            &mut stats,
                        )
                        .map_err(merge_err)?;
                        if !out.is_empty() {
                            result.series.push(ResultSeries {
                                measurement: s.measurement.clone(),
                                tags: s.tags.clone(),
                                field: s.field.clone(),
                                ty: s.ty,
                                data: SeriesData::Raw(out),
                            });
                        }
                    }
                    Some(a) => {
                        let mut windows = Map::new();
                        let mut sink = Sink::Windows {
                            window_ns: a.window_ns,
                            offset_ns: a.offset_ns,
                            zone: a.zone.as_ref(),
                            out: &mut windows,
                            max_windows: self.max_windows,
                        };
                        run_series(
                            &mut pieces,
                            s.ty,
                            q.start_ns,
                            q.end_ns,
                            &mut sink,
                            &mut src,
                            &mut stats,
                        )
                        .map_err(merge_err)?;
                        if windows.is_empty() {
                            continue;
                        }
                        if !matches!(a.window_ns, Some(w) if w > 0)
                            && let Some(acc) = windows.remove(&q.start_ns)
                        {
                            windows.insert(self.asked_start, acc);
                        }
                        let g = groups
                            .entry((s.group.clone(), s.field.clone()))
                            .or_insert_with(|| (s.measurement.clone(), s.ty, Map::new()));
                        if g.2.is_empty() {
                            // The group's first series: its windows as they are.
                            g.2 = windows;
                            continue;
                        }
                        for (w, acc) in windows {
                            match g.2.get_mut(&w) {
                                Some(x) => x.merge(&acc),
                                None => {
                                    g.2.insert(w, acc);
                                }
                            }
                        }
                    }
                }
            }
            // Done with this batch's chunk lists.
            for v in chunks.get_mut(lo..hi).unwrap_or_default() {
                *v = Vec::new();
            }
        }
        for ((tags, field), (measurement, ty, windows)) in groups {
            let mut w: Vec<(i64, Acc)> = Vec::with_capacity(windows.len());
            w.extend(windows);
            if let Some(l) = q.limit {
                w.truncate(l);
            }
            result.series.push(ResultSeries {
                measurement,
                tags,
                field,
                ty,
                data: SeriesData::Windows(w),
            });
        }
        result.chunks_from_stats = stats.from_stats;
        result.chunks_decoded = stats.decoded;
        Ok(result)
    }
}

fn merge_err<E>(e: MergeError<Error<E>>) -> Error<E> {
    match e {
        MergeError::Source(e) => e,
        MergeError::TooManyWindows => Error::TooLarge {
            what: "query result (windows; max_query_windows)",
            len: 0,
            max: 0,
        },
    }
}
