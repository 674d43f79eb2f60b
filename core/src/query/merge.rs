//! Per-series execution: clusters of overlapping pieces, answered from chunk
//! statistics where a chunk stands alone inside one window, otherwise decoded
//! and merged with last-write-wins.
//!
//! Memory: one cluster's points at a time. Memtable runs are cut into pieces
//! of at most `codec::MAX_CHUNK_POINTS` points, so in-order data forms
//! clusters of one piece; only overlapping (late or rewritten) data widens a
//! cluster.

use crate::map::Map;
use alloc::vec::Vec;

use super::{Acc, window_start};
use crate::sstable::ChunkMeta;
use crate::value::{FieldType, Value};

/// Where a piece's points come from.
#[derive(Clone, Copy, Debug)]
pub enum PieceKind<'a> {
    /// Sorted, de-duplicated points in RAM.
    Mem {
        /// Timestamps.
        ts: &'a [i64],
        /// Value bits.
        bits: &'a [u64],
    },
    /// A table chunk.
    Chunk {
        /// Which table (index into the caller's list).
        table: usize,
        /// The chunk (borrowed from the caller's chunk list).
        meta: &'a ChunkMeta,
    },
}

/// A run of points of one series from one source.
#[derive(Clone, Copy, Debug)]
pub struct Piece<'a> {
    /// Recency: on equal timestamps the higher rank wins.
    pub rank: u64,
    /// Smallest timestamp.
    pub min_ts: i64,
    /// Largest timestamp.
    pub max_ts: i64,
    /// The points.
    pub kind: PieceKind<'a>,
    /// Time ranges deleted from this piece's series since its source was
    /// written (tombstones): those points are skipped.
    pub deleted: &'a [(i64, i64)],
}

impl Piece<'_> {
    fn is_deleted(&self, ts: i64) -> bool {
        self.deleted.iter().any(|&(a, b)| ts >= a && ts <= b)
    }

    fn touches_deleted(&self) -> bool {
        self.deleted
            .iter()
            .any(|&(a, b)| b >= self.min_ts && a <= self.max_ts)
    }
}

/// Decodes table chunks for the merge.
pub trait ChunkSource {
    /// The error.
    type Error;
    /// Appends the chunk's points.
    fn decode(
        &mut self,
        table: usize,
        ty: FieldType,
        meta: &ChunkMeta,
        ts: &mut Vec<i64>,
        bits: &mut Vec<u64>,
    ) -> Result<(), Self::Error>;
}

/// Where a series' merged points go.
#[derive(Debug)]
pub enum Sink<'o> {
    /// Raw points, at most `limit`.
    Raw {
        /// Output.
        out: &'o mut Vec<(i64, Value)>,
        /// Most points.
        limit: usize,
    },
    /// Window aggregates.
    Windows {
        /// Window length (`None`: one window starting at `start`).
        window_ns: Option<i64>,
        /// Window offset.
        offset_ns: i64,
        /// Wall-clock windows of this zone.
        zone: Option<&'o super::Zone>,
        /// Output, keyed by window start.
        out: &'o mut Map<i64, Acc>,
        /// Most windows before the query is refused.
        max_windows: usize,
    },
}

/// Why a series could not be computed.
#[derive(Debug)]
pub enum MergeError<E> {
    /// Decoding a chunk failed.
    Source(E),
    /// The query would produce more windows than allowed.
    TooManyWindows,
}

/// Counters of what the merge did.
#[derive(Debug, Default, Clone, Copy)]
pub struct MergeStats {
    /// Chunks answered from statistics.
    pub from_stats: u64,
    /// Chunks decoded.
    pub decoded: u64,
}

fn window_of(ts: i64, w: Option<i64>, off: i64, zone: Option<&super::Zone>, start: i64) -> i64 {
    match (w, zone) {
        (Some(w), Some(z)) if w > 0 => super::zone::zoned_start(ts, w, off, z),
        (Some(w), None) if w > 0 => window_start(ts, w, off),
        _ => start,
    }
}

/// Whether the windows of `[lo, hi]` are those of a fixed offset: always in
/// UTC; in a zone, when its offset does not change within three windows of
/// the span (the window rule looks at most two windows away). Only then do
/// equal windows at both ends mean every time between is in that window.
fn steady(zone: Option<&super::Zone>, w: Option<i64>, lo: i64, hi: i64) -> bool {
    match (zone, w) {
        (Some(z), Some(w)) if w > 0 => {
            let margin = w.saturating_mul(3);
            z.steady(lo.saturating_sub(margin), hi.saturating_add(margin))
        }
        _ => true,
    }
}

fn add_window(out: &mut Map<i64, Acc>, key: i64, a: &Acc, max: usize) -> bool {
    match out.get_mut(&key) {
        Some(x) => x.merge(a),
        None => {
            if out.len() >= max {
                return false;
            }
            out.insert(key, *a);
        }
    }
    true
}

/// Cuts a sorted memtable run into pieces of at most `max` points.
pub fn mem_pieces<'a>(
    rank: u64,
    ts: &'a [i64],
    bits: &'a [u64],
    max: usize,
    deleted: &'a [(i64, i64)],
    out: &mut Vec<Piece<'a>>,
) {
    for (t, b) in ts.chunks(max.max(1)).zip(bits.chunks(max.max(1))) {
        if let (Some(&lo), Some(&hi)) = (t.first(), t.last()) {
            out.push(Piece {
                rank,
                min_ts: lo,
                max_ts: hi,
                kind: PieceKind::Mem { ts: t, bits: b },
                deleted,
            });
        }
    }
}

/// Runs one series over its pieces, restricted to `[start, end]`.
#[allow(clippy::too_many_arguments)]
pub fn run_series<C: ChunkSource>(
    pieces: &mut Vec<Piece<'_>>,
    ty: FieldType,
    start: i64,
    end: i64,
    sink: &mut Sink<'_>,
    src: &mut C,
    stats: &mut MergeStats,
) -> Result<(), MergeError<C::Error>> {
    pieces.retain(|p| p.max_ts >= start && p.min_ts <= end);
    // (min_ts, rank) never ties: a source's pieces of one series do not
    // overlap in time.
    crate::sort::sort_by(pieces, |a, b| {
        a.min_ts.cmp(&b.min_ts).then(b.rank.cmp(&a.rank))
    });
    let mut ts = Vec::new();
    let mut bits = Vec::new();
    let mut merged: Vec<(i64, u64, u64)> = Vec::new();
    let mut i = 0;
    while i < pieces.len() {
        let Some(first) = pieces.get(i) else { break };
        let mut hi = first.max_ts;
        let mut j = i + 1;
        while let Some(p) = pieces.get(j) {
            if p.min_ts > hi {
                break;
            }
            hi = hi.max(p.max_ts);
            j += 1;
        }
        let cluster = pieces.get(i..j).unwrap_or_default();
        i = j;
        // A lone chunk inside the range and inside one window: its statistics.
        if let (
            [p],
            Sink::Windows {
                window_ns,
                offset_ns,
                zone,
                out,
                max_windows,
            },
        ) = (cluster, &mut *sink)
            && let PieceKind::Chunk { meta, .. } = p.kind
            && !p.touches_deleted()
            && p.min_ts >= start
            && p.max_ts <= end
            && window_of(p.min_ts, *window_ns, *offset_ns, *zone, start)
                == window_of(p.max_ts, *window_ns, *offset_ns, *zone, start)
            && steady(*zone, *window_ns, p.min_ts, p.max_ts)
        {
            let a = Acc::chunk(meta.count, meta.min_ts, meta.max_ts, &meta.stats);
            if !add_window(
                out,
                window_of(p.min_ts, *window_ns, *offset_ns, *zone, start),
                &a,
                *max_windows,
            ) {
                return Err(MergeError::TooManyWindows);
            }
            stats.from_stats += 1;
            continue;
        }
        // Decode and merge: sort by (time, newest first), keep the first of each time.
        merged.clear();
        for p in cluster {
            match p.kind {
                PieceKind::Mem { ts: t, bits: b } => {
                    for (&x, &y) in t.iter().zip(b) {
                        if x >= start && x <= end && !p.is_deleted(x) {
                            merged.push((x, u64::MAX - p.rank, y));
                        }
                    }
                }
                PieceKind::Chunk { table, meta } => {
                    ts.clear();
                    bits.clear();
                    src.decode(table, ty, meta, &mut ts, &mut bits)
                        .map_err(MergeError::Source)?;
                    stats.decoded += 1;
                    for (&x, &y) in ts.iter().zip(&bits) {
                        if x >= start && x <= end && !p.is_deleted(x) {
                            merged.push((x, u64::MAX - p.rank, y));
                        }
                    }
                }
            }
        }
        if cluster.len() > 1 {
            crate::sort::sort_by(&mut merged, |a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            merged.dedup_by_key(|e| e.0);
        }
        match sink {
            Sink::Raw { out, limit } => {
                for &(t, _, b) in &merged {
                    if out.len() >= *limit {
                        return Ok(());
                    }
                    out.push((t, Value::from_bits(ty, b)));
                }
            }
            Sink::Windows {
                window_ns,
                offset_ns,
                zone,
                out,
                max_windows,
            } => {
                let mut cur: Option<(i64, Acc)> = None;
                for &(t, _, b) in &merged {
                    let w = window_of(t, *window_ns, *offset_ns, *zone, start);
                    let v = Value::from_bits(ty, b);
                    match &mut cur {
                        Some((cw, a)) if *cw == w => a.add(t, v),
                        _ => {
                            if let Some((cw, a)) = cur.take()
                                && !add_window(out, cw, &a, *max_windows)
                            {
                                return Err(MergeError::TooManyWindows);
                            }
                            cur = Some((w, Acc::point(t, v)));
                        }
                    }
                }
                if let Some((cw, a)) = cur
                    && !add_window(out, cw, &a, *max_windows)
                {
                    return Err(MergeError::TooManyWindows);
                }
            }
        }
    }
    Ok(())
}
