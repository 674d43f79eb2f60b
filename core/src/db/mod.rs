//! `Db`: the time-series database over one block device.
//!
//! - [`Db::create`] formats a device; [`Db::open`] recovers one: catalog
//!   segments, then tables, then WAL replay into the memtable.
//! - [`Db::write`] validates and logs a batch; [`Db::sync`] makes everything
//!   written durable with one device sync (group commit).
//! - [`Db::flush`] freezes the memtable, writes one table per time window it
//!   touches plus a catalog segment for new series, and commits them with a
//!   WAL checkpoint. It runs when the memtable reaches its budget, or on demand.
//! - [`Db::query`] answers raw and windowed queries, merging memtables and
//!   tables (last write wins).

mod batch;
mod compact;
mod defrag;
mod flush;
mod maintain;
mod query;
pub mod record;
mod retention;
mod tombstone;
mod write;

use alloc::sync::Arc;
use alloc::vec::Vec;

pub use batch::{PointView, StringFields, WriteBatch};
pub use compact::{CompactionJob, CompactionOutcome};
pub use flush::FlushJob;
pub use maintain::{Enforced, Maintained, OnFull, Policy, window_for_retention};
pub use query::Prepared;
pub use retention::DropOutcome;
pub use tombstone::{DeleteOutcome, Tombstone};
pub use write::{POLL_POINTS, PointError, WriteOutcome};

use crate::catalog::{self, Catalog, Limits, SeriesIdx, TagExpr};
use crate::error::{Corruption, Error};
use crate::layout::stream::StreamReader;
use crate::memtable::{Frozen, Memtable};
use crate::sstable::TableReader;
use crate::storage::BlockDevice;
use crate::store::{OpenReport, Store, StoreConfig};
use crate::value::{FieldType, SeriesId};
use crate::wal::Lsn;

/// One day in nanoseconds.
pub const DAY_NS: i64 = 86_400_000_000_000;

/// Tunables of a [`Db`].
#[derive(Clone, Copy, Debug)]
pub struct DbConfig {
    /// Memtable size at which a write triggers a flush, in bytes.
    pub memtable_bytes: usize,
    /// Flush when the memtable reaches `memtable_bytes` during `write`.
    /// Servers that flush in the background turn this off.
    pub auto_flush: bool,
    /// Tables are partitioned into time windows of this many ns.
    pub window_ns: i64,
    /// Catalog limits.
    pub limits: Limits,
    /// Storage tunables.
    pub store: StoreConfig,
    /// A write is logged in WAL records of about this many bytes at most.
    pub wal_record_bytes: usize,
    /// Most windows a query may produce.
    pub max_query_windows: usize,
    /// Catalog segments are merged into one beyond this many.
    pub max_catalog_segments: usize,
    /// A window with more tables than this (of one level) is compacted.
    pub max_tables_per_window: usize,
    /// Most tables one compaction merges (each holds a decoded chunk and an
    /// index page in memory while merging).
    pub max_merge_inputs: usize,
    /// Points per table chunk (16 to 1,024): the unit of decoding, so also
    /// of the memory a read or merge needs per series and input.
    pub chunk_points: usize,
    /// A query reads the chunk lists of this many series at a time (each
    /// table's index is read once per batch; the lists take about 150 bytes
    /// a chunk).
    pub query_batch_series: usize,
}

impl Default for DbConfig {
    fn default() -> Self {
        Self {
            memtable_bytes: 16 << 20,
            auto_flush: true,
            window_ns: DAY_NS,
            limits: Limits::default(),
            store: StoreConfig::default(),
            wal_record_bytes: 1 << 20,
            max_query_windows: 1_000_000,
            max_catalog_segments: 8,
            max_tables_per_window: 4,
            max_merge_inputs: 32,
            chunk_points: crate::codec::MAX_CHUNK_POINTS,
            query_batch_series: 256,
        }
    }
}

/// Counters since open.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    /// Field values written.
    pub points_written: u64,
    /// Points rejected by validation.
    pub points_rejected: u64,
    /// Bytes of write records logged to the WAL (the points, encoded once).
    pub logged_bytes: u64,
    /// Flushes completed.
    pub flushes: u64,
    /// Bytes of tables written by flushes.
    pub flushed_bytes: u64,
    /// Compactions completed.
    pub compactions: u64,
    /// Bytes of tables read by compactions.
    pub compacted_bytes_in: u64,
    /// Points read by compactions.
    pub compacted_points_in: u64,
    /// Bytes of tables written by compactions.
    pub compacted_bytes_out: u64,
    /// Of the compactions: packings of small tables of closed windows into
    /// one.
    pub packs: u64,
    /// Of the compactions: packed tables rewritten without their windows
    /// past the retention cutoff.
    pub retention_rewrites: u64,
    /// Windows dropped by retention or to make room.
    pub dropped_windows: u64,
    /// Tables dropped by retention or to make room.
    pub dropped_tables: u64,
    /// Points in tables dropped by retention or to make room.
    pub dropped_points: u64,
    /// Points refused because they are older than the retention.
    pub points_beyond_retention: u64,
}

/// A snapshot of the database's state, for metrics.
#[derive(Clone, Copy, Debug, Default)]
pub struct DbStats {
    /// Bytes in the active memtable.
    pub memtable_bytes: usize,
    /// Bytes in frozen memtables not yet committed.
    pub frozen_bytes: usize,
    /// Catalog bytes (approximate).
    pub catalog_bytes: usize,
    /// Series.
    pub series: usize,
    /// Live tables.
    pub tables: usize,
    /// Bytes of live tables.
    pub table_bytes: u64,
    /// Points in live tables.
    pub table_points: u64,
    /// Bytes of catalog segments.
    pub segment_bytes: u64,
    /// Bytes of the device holding the WAL.
    pub wal_bytes: u64,
    /// Device capacity in bytes.
    pub capacity_bytes: u64,
    /// Bytes of free blocks.
    pub free_bytes: u64,
    /// Highest durable LSN.
    pub durable_lsn: Lsn,
    /// Counters since open.
    pub counters: Counters,
}

/// The time-series database.
#[derive(Debug)]
pub struct Db<D: BlockDevice> {
    store: Store<D>,
    catalog: Catalog,
    active: Memtable,
    frozen: Vec<Arc<Frozen>>,
    tables: Vec<Arc<TableReader>>,
    cfg: DbConfig,
    record: record::WriteRecord,
    payload: Vec<u8>,
    pending: Vec<(SeriesIdx, SeriesId, FieldType, i64, u64)>,
    /// The batch being written holds no NUL byte in its names (one scan of
    /// the batch instead of one per name).
    names_nul_free: bool,
    counters: Counters,
    next_table_id: u64,
    flush_running: bool,
    compaction_running: bool,
    tombstones: Vec<Tombstone>,
    retired: Vec<Arc<TableReader>>,
    /// Table readers numbered so far ([`TableReader::with_instance`]).
    readers_opened: u64,
    /// Points older than this are refused by writes (retention).
    min_write_ts: i64,
}

/// Replays WAL records into a catalog and memtable.
struct Replayer<'a> {
    catalog: &'a mut Catalog,
    mem: &'a mut Memtable,
    tombs: &'a mut Vec<Tombstone>,
    lsn: Lsn,
}

impl<'a, 'p> record::Apply<'p> for Replayer<'a> {
    type Error = Corruption;
    fn bad(&mut self, at: usize) -> Corruption {
        Corruption {
            what: "WAL record payload",
            block: 0,
            offset: at as u32,
        }
    }
    fn create_db(&mut self, name: &'p str) -> Result<(), Corruption> {
        self.catalog.load_db(name);
        Ok(())
    }
    fn def(&mut self, d: record::Def<'p>) -> Result<(), Corruption> {
        self.catalog
            .load_series(d.db, d.measurement, &d.tags, d.field, d.ty, d.id)
            .map(|_| ())
            .map_err(|_| Corruption {
                what: "WAL series definition (conflicts with the catalog)",
                block: 0,
                offset: 0,
            })
    }
    fn type_of(&mut self, id: SeriesId) -> Option<FieldType> {
        self.catalog
            .by_id(id)
            .and_then(|i| self.catalog.series(i))
            .map(|s| s.ty)
    }
    fn point(&mut self, id: SeriesId, ts: i64, bits: u64) -> Result<(), Corruption> {
        let Some(idx) = self.catalog.by_id(id) else {
            return Err(self.bad(0));
        };
        let ty = self.catalog.series(idx).map_or(FieldType::Float, |s| s.ty);
        self.mem.insert(idx, id, ty, ts, bits);
        Ok(())
    }
    fn delete(
        &mut self,
        series: Vec<SeriesId>,
        min_ts: i64,
        max_ts: i64,
        drop: bool,
    ) -> Result<(), Corruption> {
        for &id in &series {
            // A series dropped since (and whose definition is gone) has nothing left to delete.
            let Some(idx) = self.catalog.by_id(id) else {
                continue;
            };
            self.mem.remove_range(idx, min_ts, max_ts);
            if drop {
                self.catalog.remove_series(idx);
            }
        }
        if !self.tombs.iter().any(|t| t.lsn == self.lsn) {
            self.tombs.push(Tombstone {
                lsn: self.lsn,
                series,
                min_ts,
                max_ts,
            });
        }
        Ok(())
    }
    fn drop_db(&mut self, name: &'p str) -> Result<(), Corruption> {
        if let Some(d) = self.catalog.db(name) {
            self.catalog.remove_db(d);
        }
        Ok(())
    }
}

impl<D: BlockDevice> Db<D> {
    fn assemble(
        store: Store<D>,
        catalog: Catalog,
        active: Memtable,
        tables: Vec<TableReader>,
        cfg: DbConfig,
    ) -> Self {
        let next_table_id = store.manifest().next_table_id;
        let tombstones = store.manifest().tombstones.clone();
        // Reader numbers: the open's epoch (every open bumps it) above a
        // count, so that no two opens of the store number readers alike.
        let mut readers_opened = u64::from(store.manifest().epoch) << 32;
        let tables = tables
            .into_iter()
            .map(|t| {
                readers_opened += 1;
                Arc::new(t.with_instance(readers_opened))
            })
            .collect();
        Self {
            store,
            catalog,
            active,
            frozen: Vec::new(),
            tables,
            cfg,
            record: record::WriteRecord::default(),
            payload: Vec::new(),
            pending: Vec::new(),
            names_nul_free: false,
            counters: Counters::default(),
            next_table_id,
            flush_running: false,
            compaction_running: false,
            tombstones,
            retired: Vec::new(),
            min_write_ts: i64::MIN,
            readers_opened,
        }
    }

    /// Opens a table committed in the manifest, numbering its reader.
    fn open_table(
        &mut self,
        entry: &crate::manifest::TableEntry,
    ) -> Result<TableReader, Error<D::Error>> {
        let bs = self.store.geometry().block_size;
        let r = TableReader::open(self.store.device_mut(), entry, bs)?;
        self.readers_opened += 1;
        Ok(r.with_instance(self.readers_opened))
    }

    /// Creates an empty database on `dev`, destroying whatever it held.
    pub fn create(dev: D, cfg: DbConfig) -> Result<Self, Error<D::Error>> {
        let store = Store::format(dev, cfg.store)?;
        Ok(Self::assemble(
            store,
            Catalog::new(cfg.limits),
            Memtable::new(),
            Vec::new(),
            cfg,
        ))
    }

    /// Opens the database on `dev`: loads the catalog and tables, replays the WAL.
    pub fn open(dev: D, cfg: DbConfig) -> Result<(Self, OpenReport), Error<D::Error>> {
        let mut opening = Store::begin_open(dev, cfg.store)?;
        let manifest = opening.manifest().clone();
        let bs = opening.device_mut().geometry().block_size;
        let mut catalog = Catalog::new(cfg.limits);
        for seg in &manifest.catalog {
            let len = usize::try_from(seg.len).unwrap_or(usize::MAX);
            let first = seg.extents.first().map_or(0, |e| e.start);
            // Never more than its blocks hold: checked before allocating.
            let room: u64 = seg
                .extents
                .iter()
                .map(|e| u64::from(e.count) * u64::from(bs))
                .sum();
            if len > (1 << 30) || seg.len > room {
                return Err(Error::Corrupted(Corruption {
                    what: "catalog segment length",
                    block: first,
                    offset: 0,
                }));
            }
            let mut bytes = alloc::vec![0u8; len];
            StreamReader::new(&seg.extents, seg.len, bs).read(
                opening.device_mut(),
                0,
                &mut bytes,
            )?;
            match catalog::segment::decode_into(&mut catalog, &bytes) {
                Ok(_) => {}
                Err(catalog::segment::SegmentError::Version(v)) => {
                    return Err(Error::UnsupportedVersion {
                        what: "catalog segment",
                        found: u32::from(v),
                        supported: u32::from(catalog::segment::VERSION),
                    });
                }
                Err(_) => {
                    return Err(Error::Corrupted(Corruption {
                        what: "catalog segment",
                        block: first,
                        offset: 0,
                    }));
                }
            }
        }
        catalog.clear_unpersisted();
        catalog.bump_next_series_id(manifest.next_series_id);
        let mut tables = Vec::with_capacity(manifest.tables.len());
        for t in &manifest.tables {
            tables.push(TableReader::open(opening.device_mut(), t, bs)?);
        }
        let mut active = Memtable::new();
        let mut tombs = manifest.tombstones.clone();
        let (store, report) = opening.finish(|lsn, payload| {
            let mut r = Replayer {
                catalog: &mut catalog,
                mem: &mut active,
                tombs: &mut tombs,
                lsn,
            };
            record::apply(payload, &mut r).map_err(Error::Corrupted)?;
            active.note_lsn(lsn);
            Ok(())
        })?;
        let mut db = Self::assemble(store, catalog, active, tables, cfg);
        if tombs != db.tombstones {
            // Deletes replayed from the WAL: make their tombstones durable.
            db.tombstones = tombs;
            db.commit_tombstones()?;
        }
        Ok((db, report))
    }

    /// Makes everything written so far durable (one device sync for all).
    pub fn sync(&mut self) -> Result<Lsn, Error<D::Error>> {
        self.store.sync()
    }

    /// First half of a sync outside the caller's lock: programs buffered WAL
    /// bytes and returns the LSN durable once done; then sync the device
    /// (through another handle) and call [`Db::sync_done`] until it returns
    /// `true`, syncing the device before each call.
    pub fn prepare_sync(&mut self) -> Result<Lsn, Error<D::Error>> {
        self.store.prepare_sync()
    }

    /// Second half of a split sync, after each device sync: `true` when
    /// everything up to `lsn` is durable; `false` when the device must be
    /// synced once more (WAL block headers were programmed after the first).
    pub fn sync_done(&mut self, lsn: Lsn) -> Result<bool, Error<D::Error>> {
        self.store.sync_done(lsn)
    }

    /// Whether an earlier device error stopped writes.
    pub fn is_poisoned(&self) -> bool {
        self.store.is_poisoned()
    }

    /// Marks the database failed (a device sync done outside it failed).
    pub fn poison(&mut self) {
        self.store.poison();
    }

    /// Creates a database (no-op if it exists).
    pub fn create_database(&mut self, name: &str) -> Result<(), Error<D::Error>> {
        if self.catalog.db(name).is_some() {
            return Ok(());
        }
        if name.is_empty() || name.len() > self.catalog.limits().max_name_len {
            return Err(Error::InvalidName);
        }
        let limit = self.catalog.limits().max_databases;
        if self.catalog.all_dbs().len() >= limit {
            return Err(Error::TooLarge {
                what: "number of databases (max_databases)",
                len: limit + 1,
                max: limit,
            });
        }
        let lsn = self.store.append(&record::create_db(name))?;
        self.catalog.create_db(name);
        self.active.note_lsn(lsn);
        Ok(())
    }

    /// The catalog (series, tags, fields).
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Database names, in creation order.
    pub fn databases(&self) -> Vec<&str> {
        self.catalog.databases().collect()
    }

    /// Whether database `name` exists.
    pub fn has_database(&self, name: &str) -> bool {
        self.catalog.db(name).is_some()
    }

    /// Measurements of a database, sorted.
    pub fn measurements(&self, db: &str) -> Vec<&str> {
        self.catalog
            .db(db)
            .map(|d| self.catalog.measurements(d))
            .unwrap_or_default()
    }

    /// Tag keys of a measurement, sorted.
    pub fn tag_keys(&self, db: &str, measurement: &str) -> Vec<&str> {
        self.catalog
            .db(db)
            .map(|d| self.catalog.tag_keys(d, measurement))
            .unwrap_or_default()
    }

    /// Values of a tag among the series `expr` selects, sorted.
    pub fn tag_values(&self, db: &str, measurement: &str, key: &str, expr: &TagExpr) -> Vec<&str> {
        self.catalog
            .db(db)
            .map(|d| self.catalog.tag_values(d, measurement, key, expr))
            .unwrap_or_default()
    }

    /// Field keys and types of a measurement, sorted by name.
    pub fn field_keys(&self, db: &str, measurement: &str) -> Vec<(&str, FieldType)> {
        self.catalog
            .db(db)
            .map(|d| self.catalog.field_keys(d, measurement))
            .unwrap_or_default()
    }

    /// Series keys (`cpu,host=a`) of a measurement that `expr` selects, in order.
    pub fn series_keys(
        &self,
        db: &str,
        measurement: &str,
        expr: &TagExpr,
    ) -> Vec<alloc::string::String> {
        let Some(d) = self.catalog.db(db) else {
            return Vec::new();
        };
        self.catalog
            .select_tagsets(d, measurement, expr)
            .into_iter()
            .map(|t| self.catalog.tagset_key(t))
            .collect()
    }

    /// Bytes in the active memtable.
    pub fn memtable_bytes(&self) -> usize {
        self.active.bytes()
    }

    /// Bytes in memtables: the active one and those waiting to be flushed.
    pub fn buffered_bytes(&self) -> usize {
        self.active.bytes() + self.frozen.iter().map(|f| f.bytes()).sum::<usize>()
    }

    /// State for metrics.
    pub fn stats(&self) -> DbStats {
        let m = self.store.manifest();
        let geo = self.store.geometry();
        DbStats {
            memtable_bytes: self.active.bytes(),
            frozen_bytes: self.frozen.iter().map(|f| f.bytes()).sum(),
            catalog_bytes: self.catalog.bytes(),
            series: self.catalog.series_count(),
            tables: m.tables.len(),
            table_bytes: m.tables.iter().map(|t| t.len).sum(),
            table_points: m.tables.iter().map(|t| t.points).sum(),
            segment_bytes: m.catalog.iter().map(|s| s.len).sum(),
            wal_bytes: self.store.wal_bytes(),
            capacity_bytes: geo.capacity_bytes(),
            free_bytes: u64::from(self.store.free_blocks()) * u64::from(geo.block_size),
            durable_lsn: self.store.durable_lsn(),
            counters: self.counters,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DbConfig {
        &self.cfg
    }

    /// The storage layer.
    pub fn store(&self) -> &Store<D> {
        &self.store
    }

    /// Consumes the database, giving the device back (nothing is written:
    /// unsynced writes are lost, as in a crash).
    pub fn into_device(self) -> D {
        self.store.into_device()
    }
}
