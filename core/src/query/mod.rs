//! Queries: which series, which time range, raw points or window aggregates.
//!
//! Execution gathers, per series, every source that may hold points in range
//! — the active memtable, frozen memtables, tables — each with a recency rank.
//! Their pieces (memtable runs, table chunks) are sorted by start time and
//! grouped into clusters of overlapping pieces. A cluster that is a single
//! table chunk lying inside one window (and inside the query range) is
//! answered from the chunk's statistics without decoding it; any other
//! cluster is decoded and merged by time, the newest source winning on equal
//! timestamps (last write wins). See [`merge`].

pub mod acc;
pub mod cache;
pub mod merge;
pub mod zone;

use alloc::string::String;
use alloc::vec::Vec;

pub use acc::{Acc, AccSum};
pub use cache::{ChunkCache, DecodedCache};
pub use zone::Zone;

use crate::catalog::TagExpr;
use crate::value::{FieldType, Value};

/// What to aggregate and how to bucket it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aggregation {
    /// Window length in ns; `None`: one window over the whole range.
    pub window_ns: Option<i64>,
    /// Windows start at `k * window_ns + offset_ns`.
    pub offset_ns: i64,
    /// Windows aligned to this zone's wall clock instead of UTC (see
    /// [`zone`]); `offset_ns` then keeps its sign, as in InfluxDB.
    pub zone: Option<Zone>,
    /// Tag keys whose values split the series into groups (merged per window).
    pub group_by: Vec<String>,
}

/// A query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// Database.
    pub db: String,
    /// Measurement.
    pub measurement: String,
    /// Which series, by tags.
    pub tags: TagExpr,
    /// Which field; `None`: every field.
    pub field: Option<String>,
    /// Smallest timestamp, inclusive (ns).
    pub start_ns: i64,
    /// Largest timestamp, inclusive (ns).
    pub end_ns: i64,
    /// Raw points (`None`) or windows.
    pub aggregation: Option<Aggregation>,
    /// Most points (raw) or windows (aggregated) returned per series.
    pub limit: Option<usize>,
}

impl Query {
    /// All points of one measurement and field.
    pub fn raw(db: &str, measurement: &str, field: Option<&str>) -> Self {
        Self {
            db: db.into(),
            measurement: measurement.into(),
            tags: TagExpr::True,
            field: field.map(Into::into),
            start_ns: i64::MIN,
            end_ns: i64::MAX,
            aggregation: None,
            limit: None,
        }
    }
}

/// The points or windows of one result series.
#[derive(Clone, Debug, PartialEq)]
pub enum SeriesData {
    /// Points in time order.
    Raw(Vec<(i64, Value)>),
    /// Windows in time order: (window start, aggregates). Windows without
    /// points are absent (filling is the caller's business).
    Windows(Vec<(i64, Acc)>),
}

/// One series (raw) or group (aggregated) of a result.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultSeries {
    /// Measurement.
    pub measurement: String,
    /// All tags (raw) or the group-by tags (aggregated), sorted by key.
    pub tags: Vec<(String, String)>,
    /// Field.
    pub field: String,
    /// Field type.
    pub ty: FieldType,
    /// The data.
    pub data: SeriesData,
}

/// A query's answer, series ordered by tags then field.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryResult {
    /// Result series.
    pub series: Vec<ResultSeries>,
    /// Chunks answered from statistics without decoding.
    pub chunks_from_stats: u64,
    /// Chunks decoded.
    pub chunks_decoded: u64,
}

/// Window start of `ts` for windows of `w` ns offset by `off` ns.
pub fn window_start(ts: i64, w: i64, off: i64) -> i64 {
    let rel = ts.wrapping_sub(off);
    rel.div_euclid(w).wrapping_mul(w).wrapping_add(off)
}
