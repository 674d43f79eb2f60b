//! The shared database handle: concurrency, group commit, snapshots.
//!
//! One `Mutex<Db>` guards the engine. Everything done under it is short:
//!
//! - **Writes** validate and append to the WAL buffer and memtable, then
//!   release the lock and wait for durability.
//! - **Group commit.** With `sync: "always"` a write programs its WAL bytes
//!   (`prepare_sync`) before it releases the lock. The first waiter that
//!   finds no sync running becomes the leader: *without* the lock it
//!   `fdatasync`s the file, covering every write prepared before, then has
//!   `sync_done` run (twice when the round started WAL blocks, whose headers
//!   are written between two fsyncs), and marks everything up to that point
//!   durable; every writer whose records were covered wakes up. Writers
//!   arriving meanwhile are covered by the next round. `sync_done` needs the
//!   lock, which a writer holds for its whole batch: the leader hands it to
//!   the holder, which runs it between two slices of 256 points
//!   (`Db::write_with`) — the leader waits for a slice, not for a batch.
//!   An fsync error is final: the engine stops accepting writes and reports
//!   unhealthy (after a failed fsync, Linux may have dropped the dirty pages;
//!   retrying would report success for lost data).
//! - **Queries** take a snapshot under the lock (series resolved, the active
//!   memtable's points in range copied, shared handles on frozen memtables and
//!   tables) and read tables without it, through their own file handle. A
//!   read lock was the alternative; it would hold writers up for the whole
//!   query instead of for the copy.
//! - **Flushes** freeze the memtable under the lock, write tables without it
//!   (taking blocks one at a time under the lock), and commit under it.
//!   Compactions run the same three steps.
//! - **Housekeeping**: [`Engine::enforce`] (from the maintenance thread)
//!   applies retention and the capacity policy under the lock (manifest
//!   commits only); [`Engine::compact`] (the compaction thread) compacts.
//! - **Backpressure.** When the memtables (the one filling and the one being
//!   flushed) reach half of `max_memory_mb`, writes wait for a flush to
//!   finish, up to `write_wait_ms`, then get 503 with `Retry-After`; memory
//!   never grows with the write rate.
//! - **Capacity.** With `on_full: "drop_oldest"` the oldest windows go when
//!   less than the reserve is free (and a write that finds the device full
//!   makes room and retries); with `"reject"`, writes get 507 until room is
//!   back (retention, deletes). Flushes and compactions work in the reserve.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, TryLockError};
use std::time::{Duration, Instant};

use pulsardb_core::catalog::TagExpr;
use pulsardb_core::db::{DAY_NS, Enforced, OnFull, Policy, WriteOutcome, window_for_retention};
use pulsardb_core::layout::stream::BlockSource;
use pulsardb_core::query::{ChunkCache, DecodedCache};
use pulsardb_core::{BlockId, Db, DbConfig, Error, Lsn, Query, QueryResult, WriteBatch};

use crate::config::{Config, SyncMode};
use crate::metrics::{Gauges, Metrics};
use crate::storage::{DataDir, FileDevice, FileError};

/// Why an engine operation failed, as the HTTP layer maps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// The store stopped accepting writes (503).
    Unavailable(String),
    /// The store is full (507).
    Full(String),
    /// Writers outpace flushing; retry later (503 with Retry-After).
    Busy(String),
    /// The database does not exist (404).
    NotFound(String),
    /// The request is wrong (400).
    Bad(String),
    /// Something is broken on our side (500).
    Internal(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Unavailable(m)
            | EngineError::Full(m)
            | EngineError::Busy(m)
            | EngineError::NotFound(m)
            | EngineError::Bad(m)
            | EngineError::Internal(m) => f.write_str(m),
        }
    }
}

fn map_err(e: Error<FileError>) -> EngineError {
    match e {
        Error::DeviceFull => {
            EngineError::Full("storage full: no room for new data (max_disk_mb)".into())
        }
        Error::Poisoned => EngineError::Unavailable(
            "the store stopped accepting writes after a storage error; see the log and restart"
                .into(),
        ),
        Error::Device(d) => EngineError::Unavailable(format!("storage error: {d}")),
        Error::DatabaseNotFound => EngineError::NotFound("database not found".into()),
        Error::TooLarge { .. } | Error::InvalidName => EngineError::Bad(e.to_string()),
        other => EngineError::Internal(other.to_string()),
    }
}

/// Locks, recovering the data if a thread panicked while holding the lock
/// (the engine's invariants are kept by the core, not by unwinding).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug)]
struct Group {
    durable: Lsn,
    syncing: bool,
}

/// A sync round's [`Db::sync_done`] waiting for whoever holds the lock.
#[derive(Debug, Default)]
struct Handoff {
    /// The LSN to run it for; 0: none waits.
    want: AtomicU64,
    /// What it returned, for the round.
    done: Mutex<Option<Result<bool, String>>>,
    cv: Condvar,
}

/// A sync round's leadership: dropping it ends the round.
struct Leading<'a>(&'a Engine);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        lock(&self.0.group).syncing = false;
        self.0.cv.notify_all();
    }
}

/// The engine.
#[derive(Debug)]
pub struct Engine {
    db: Mutex<Db<FileDevice>>,
    dev: FileDevice,
    group: Mutex<Group>,
    cv: Condvar,
    failed: AtomicBool,
    /// The databases, as the store has them: the write path checks a
    /// request's database without waiting for the store's lock.
    dbs: RwLock<Vec<String>>,
    /// The store's buffered (memtable) bytes after the last write, for the
    /// backpressure check without the lock.
    buffered: AtomicUsize,
    /// A sync round's `sync_done` handed to the lock's holder.
    handoff: Handoff,
    /// The highest LSN whose records are programmed (`prepare_sync`), set
    /// under the lock.
    prepared: AtomicU64,
    failure: Mutex<Option<String>>,
    flush_lock: Mutex<()>,
    /// Housekeeping policy (retention, capacity).
    policy: Policy,
    /// Less than the reserve is free and `on_full` is `reject`.
    full: AtomicBool,
    /// Writers waiting for memory wait here; flushes notify.
    mem: Mutex<()>,
    /// When the last write was accepted (compaction waits for a pause).
    last_write: Mutex<Instant>,
    /// The filesystem refused space (cleared when it gives some again).
    disk_full: AtomicBool,
    mem_cv: Condvar,
    kick: smol::channel::Sender<()>,
    kick_rx: Mutex<Option<smol::channel::Receiver<()>>>,
    /// Server counters.
    pub metrics: Metrics,
    cfg: Config,
    started: Instant,
    start_time_s: f64,
    _dir: DataDir,
    /// Decoded chunks queries read again (dashboards refreshing a range):
    /// a 64th of `max_memory_mb`.
    chunks: Mutex<ChunkCache>,
}

/// The chunk cache as queries running side by side reach it.
struct SharedChunks<'a>(&'a Mutex<ChunkCache>);

impl DecodedCache for SharedChunks<'_> {
    fn get(&self, table: u64, offset: u64, ts: &mut Vec<i64>, bits: &mut Vec<u64>) -> bool {
        lock(self.0).get(table, offset, ts, bits)
    }
    fn put(&self, table: u64, offset: u64, ts: &[i64], bits: &[u64]) {
        lock(self.0).put(table, offset, ts, bits);
    }
}

/// Blocks for a flush job running outside the lock, taken one at a time.
struct EngineBlocks<'a>(&'a Engine);

impl BlockSource for EngineBlocks<'_> {
    fn take(&mut self) -> Option<BlockId> {
        lock(&self.0.db).alloc_block()
    }
}

impl Engine {
    /// Opens (or creates) the store in the configured data directory.
    pub fn open(cfg: &Config) -> Result<Arc<Engine>, String> {
        let dir = DataDir::lock(&cfg.data_dir)?;
        let capacity = cfg.max_disk_mb << 20;
        let db_cfg = DbConfig {
            // A file: keep the data packed at its start, so the file is as
            // long as what it holds (see `Engine::trim_file`).
            store: pulsardb_core::store::StoreConfig {
                alloc_policy: pulsardb_core::layout::AllocPolicy::Compact,
                ..pulsardb_core::store::StoreConfig::default()
            },
            memtable_bytes: cfg.memtable_bytes(),
            auto_flush: false,
            window_ns: window_for_retention(cfg.retention_days as i64 * DAY_NS),
            limits: cfg.limits,
            ..DbConfig::default()
        };
        let (dev, created) = dir.open_store(capacity, |d| Db::create(d, db_cfg).map(|_| ()))?;
        let t0 = Instant::now();
        let (mut db, report) = Db::open(dev.clone(), db_cfg).map_err(|e| match e {
            Error::GeometryMismatch { stored, device } if stored.block_count > device.block_count => format!(
                "the store in {} was created with max_disk_mb = {}; it cannot shrink to {} (set storage.max_disk_mb to at least {})",
                dir.path().display(),
                (u64::from(stored.block_count) * u64::from(stored.block_size)) >> 20,
                cfg.max_disk_mb,
                (u64::from(stored.block_count) * u64::from(stored.block_size)) >> 20,
            ),
            other => format!("cannot open the store in {}: {other}", dir.path().display()),
        })?;
        if !db.has_database(&cfg.default_database) {
            db.create_database(&cfg.default_database)
                .map_err(|e| format!("cannot create database {}: {e}", cfg.default_database))?;
            db.sync()
                .map_err(|e| format!("cannot sync the store: {e}"))?;
        }
        let policy = Policy::for_capacity(
            capacity,
            cfg.memtable_bytes(),
            (cfg.retention_days as i64).saturating_mul(DAY_NS),
            cfg.on_full,
        );
        // Retention and room before the first write.
        let enforced = db
            .enforce(crate::time::now_ns(), &policy)
            .map_err(|e| format!("cannot apply retention to the store: {e}"))?;
        let stats = db.stats();
        crate::info!(
            "store {} {} in {:.0} ms: {} series, {} tables, {} WAL records replayed{}",
            dir.path().display(),
            if created { "created" } else { "opened" },
            t0.elapsed().as_secs_f64() * 1000.0,
            stats.series,
            stats.tables,
            report.replayed,
            if report.discarded_fragments > 0 {
                format!(
                    ", {} unacknowledged fragments after a torn tail discarded",
                    report.discarded_fragments
                )
            } else {
                String::new()
            }
        );
        let (kick, kick_rx) = smol::channel::bounded(1);
        let dbs = db.databases().into_iter().map(String::from).collect();
        let buffered = db.buffered_bytes();
        Ok(Arc::new(Engine {
            dbs: RwLock::new(dbs),
            buffered: AtomicUsize::new(buffered),
            group: Mutex::new(Group {
                durable: stats.durable_lsn,
                syncing: false,
            }),
            db: Mutex::new(db),
            dev,
            cv: Condvar::new(),
            failed: AtomicBool::new(false),
            prepared: AtomicU64::new(0),
            handoff: Handoff::default(),
            failure: Mutex::new(None),
            flush_lock: Mutex::new(()),
            policy,
            full: AtomicBool::new(cfg.on_full == OnFull::Reject && enforced.full),
            mem: Mutex::new(()),
            mem_cv: Condvar::new(),
            last_write: Mutex::new(Instant::now()),
            disk_full: AtomicBool::new(false),
            kick,
            kick_rx: Mutex::new(Some(kick_rx)),
            metrics: Metrics::default(),
            cfg: cfg.clone(),
            started: Instant::now(),
            start_time_s: crate::time::now_ns() as f64 / 1e9,
            _dir: dir,
            chunks: Mutex::new(ChunkCache::new(
                usize::try_from((cfg.max_memory_mb << 20) / 64).unwrap_or(usize::MAX),
            )),
        }))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Wakes the maintenance thread: it flushes what is buffered, then
    /// applies retention and compacts.
    pub fn kick(&self) {
        // Full channel: the maintenance thread is already asked.
        let _ = self.kick.try_send(());
    }

    /// The receiving end of the maintenance thread's wake-ups (once).
    pub fn take_kick_receiver(&self) -> Option<smol::channel::Receiver<()>> {
        lock(&self.kick_rx).take()
    }

    /// Why writes stopped, if they did.
    pub fn failure(&self) -> Option<String> {
        if self.failed.load(Ordering::Acquire) {
            lock(&self.failure).clone()
        } else {
            None
        }
    }

    fn fail(&self, why: String) {
        self.fail_locked(&mut lock(&self.db), why);
    }

    /// [`Engine::fail`] where the caller holds the store's lock (`db`):
    /// taking it again would deadlock.
    fn fail_locked(&self, db: &mut Db<FileDevice>, why: String) {
        crate::error!("{why}; writes are refused until restart");
        // The first cause stays: later ones follow from it.
        lock(&self.failure).get_or_insert(why);
        self.failed.store(true, Ordering::Release);
        db.poison();
    }

    fn check(&self) -> Result<(), EngineError> {
        match self.failure() {
            Some(f) => Err(EngineError::Unavailable(format!("writes are refused: {f}"))),
            None => Ok(()),
        }
    }

    /// Uptime.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Whether database `name` exists.
    pub fn has_database(&self, name: &str) -> bool {
        self.dbs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|d| d == name)
    }

    fn set_database(&self, name: &str, exists: bool) {
        let mut dbs = self.dbs.write().unwrap_or_else(|e| e.into_inner());
        dbs.retain(|d| d != name);
        if exists {
            dbs.push(name.to_string());
        }
    }

    /// Creates a database (durably). No-op if it exists.
    pub fn create_database(&self, name: &str) -> Result<(), EngineError> {
        self.check()?;
        let lsn = {
            let mut db = lock(&self.db);
            if db.has_database(name) {
                // Perhaps created by a call still waiting for its sync:
                // durable when this returns too.
                let lsn = db.store().next_lsn() - 1;
                drop(db);
                return self.wait_durable(lsn);
            }
            db.create_database(name).map_err(map_err)?;
            self.set_database(name, true);
            db.store().next_lsn() - 1
        };
        crate::info!("database {name:?} created");
        self.wait_durable(lsn)
    }

    /// Deletes points of `measurement` whose series `tags` selects within
    /// `[min_ts, max_ts]`; `drop_series` removes the series too. Durable
    /// when it returns.
    pub fn delete(
        &self,
        db: &str,
        measurement: &str,
        tags: &TagExpr,
        min_ts: i64,
        max_ts: i64,
        drop_series: bool,
    ) -> Result<usize, EngineError> {
        self.check()?;
        // The guard goes with this statement: `mutation_error` may lock.
        let r = lock(&self.db).delete(db, Some(measurement), tags, min_ts, max_ts, drop_series);
        let out = r.map_err(|e| self.mutation_error(e, db))?;
        if out.series > 0 {
            crate::info!(
                "{} {} series of {db}.{measurement}",
                if drop_series {
                    "dropped"
                } else {
                    "deleted points of"
                },
                out.series
            );
        }
        Ok(out.series)
    }

    /// Drops a database with its series and points. Durable when it returns.
    pub fn drop_database(&self, name: &str) -> Result<(), EngineError> {
        self.check()?;
        let out = {
            let mut db = lock(&self.db);
            let r = db.drop_database(name);
            self.set_database(name, db.has_database(name));
            r
        }
        .map_err(|e| self.mutation_error(e, name))?;
        crate::info!("database {name:?} dropped ({} series)", out.series);
        Ok(())
    }

    /// The error for the HTTP layer; a device error first stops writes.
    /// Not with the store's lock held.
    fn stopping(&self, e: Error<FileError>) -> EngineError {
        if let Error::Device(d) = &e {
            self.fail(format!("storage error: {d}"));
        }
        map_err(e)
    }

    fn mutation_error(&self, e: Error<FileError>, db: &str) -> EngineError {
        if let Error::Device(d) = &e {
            self.fail(format!("storage error: {d}"));
        }
        match e {
            Error::DatabaseNotFound => EngineError::NotFound(format!("database not found: {db}")),
            other => map_err(other),
        }
    }

    /// Runs `f` on the database (metadata reads).
    pub fn with_db<R>(&self, f: impl FnOnce(&Db<FileDevice>) -> R) -> R {
        f(&lock(&self.db))
    }

    /// Writes a batch; returns once it is as durable as `sync` requires.
    pub fn write(&self, db_name: &str, batch: &WriteBatch) -> Result<WriteOutcome, EngineError> {
        self.check()?;
        if self.full.load(Ordering::Acquire) {
            return Err(self.full_error());
        }
        self.wait_for_memory()?;
        // The batch's own bound assumes every value defines a new series;
        // when that does not fit, the store's bound counts only the series
        // it does not hold yet (a lookup per run of points).
        // Checked under the write's own lock hold: one acquisition less per
        // request, and nothing can take the room between check and write.
        let cheap = batch.logged_bytes_bound(db_name) as u64;
        let (out, over, prepared) = {
            let mut db = lock(&self.db);
            self.ensure_room_in(&mut db, cheap, |db| {
                db.logged_bytes_bound(db_name, batch) as u64
            })?;
            let mut r = db.write_with(db_name, batch, |db| self.serve_handoff(db));
            if matches!(r, Err(Error::DeviceFull)) && self.cfg.on_full == OnFull::DropOldest {
                // Make room and try once more (points already logged are
                // written again: same series, time and value).
                self.enforce_locked(&mut db);
                r = db.write_with(db_name, batch, |db| self.serve_handoff(db));
            }
            let out = match r {
                Ok(o) => o,
                Err(Error::DatabaseNotFound) => {
                    return Err(EngineError::NotFound(format!(
                        "database not found: \"{db_name}\""
                    )));
                }
                Err(Error::DeviceFull) => return Err(self.full_error_in(&db)),
                // Stopped by a failure elsewhere (a sync round): say which.
                Err(Error::Poisoned) => {
                    return Err(self
                        .check()
                        .err()
                        .unwrap_or_else(|| map_err(Error::Poisoned)));
                }
                Err(Error::Device(d)) => {
                    self.fail_locked(&mut db, format!("write to the store failed: {d}"));
                    return Err(self
                        .check()
                        .err()
                        .unwrap_or_else(|| EngineError::Unavailable("writes are refused".into())));
                }
                Err(other) => return Err(map_err(other)),
            };
            // Program the records now, while the lock is held anyway: the
            // sync round then needs no lock before its fsync.
            let prepared = if out.lsn > 0 && self.cfg.sync == SyncMode::Always {
                db.prepare_sync().map(|p| {
                    self.prepared.fetch_max(p, Ordering::Release);
                })
            } else {
                Ok(())
            };
            self.buffered.store(db.buffered_bytes(), Ordering::Release);
            (
                out,
                db.memtable_bytes() >= self.cfg.memtable_bytes(),
                prepared,
            )
        };
        if let Err(e) = prepared {
            self.fail(format!("WAL write failed: {e}"));
            self.check()?;
        }
        *lock(&self.last_write) = Instant::now();
        if over {
            // Full channel: a flush is already requested.
            let _ = self.kick.try_send(());
        }
        if out.lsn > 0 && self.cfg.sync == SyncMode::Always {
            self.wait_durable(out.lsn)?;
        }
        Ok(out)
    }

    fn full_error(&self) -> EngineError {
        self.full_error_in(&lock(&self.db))
    }

    /// [`Engine::full_error`] with the store's lock held (`db`).
    fn full_error_in(&self, db: &Db<FileDevice>) -> EngineError {
        let s = db.stats();
        EngineError::Full(format!(
            "storage full: {:.1} of {} MiB (max_disk_mb) in use{}; delete data, shorten retention_days or raise max_disk_mb",
            (s.capacity_bytes - s.free_bytes) as f64 / (1 << 20) as f64,
            self.cfg.max_disk_mb,
            if self.cfg.on_full == OnFull::Reject {
                " and on_full is \"reject\""
            } else {
                ""
            }
        ))
    }

    /// Reserves disk space for `bytes` more past the highest block in use
    /// before an operation writes them, so that the filesystem running out
    /// of space refuses the operation up front instead of failing it half
    /// way (a failed WAL write would stop the store until restart). The
    /// device cannot grow past `max_disk_mb` anyway.
    fn ensure_room(&self, bytes: u64) -> Result<(), EngineError> {
        self.ensure_room_in(&mut lock(&self.db), bytes, |_| bytes)
    }

    /// [`Engine::ensure_room`] for `bytes` with the store locked (`db`), or
    /// if that does not fit, for the tighter bound `tighter(db)` (computed
    /// only then).
    fn ensure_room_in(
        &self,
        db: &mut Db<FileDevice>,
        bytes: u64,
        tighter: impl FnOnce(&mut Db<FileDevice>) -> u64,
    ) -> Result<(), EngineError> {
        let end = |db: &Db<FileDevice>, bytes: u64| {
            let bs = u64::from(db.store().geometry().block_size);
            let top = db
                .store()
                .highest_used_block()
                .map_or(0, |b| u64::from(b) + 1);
            // Slack for manifest commits and block rounding.
            top * bs + bytes + 4 * bs + (1 << 20)
        };
        let r = match self.dev.ensure(end(db, bytes)) {
            Err(e) => match tighter(db) {
                t if t < bytes => self.dev.ensure(end(db, t)),
                _ => Err(e),
            },
            ok => ok,
        };
        match r {
            Ok(()) => {
                if self.disk_full.swap(false, Ordering::AcqRel) {
                    crate::info!("the filesystem has room again: writes accepted");
                }
                Ok(())
            }
            Err(e) => {
                if !self.disk_full.swap(true, Ordering::AcqRel) {
                    crate::warn!(
                        "disk full: the filesystem holding {} has no room ({e}); writes are refused until it has",
                        self.cfg.data_dir.display()
                    );
                }
                Err(EngineError::Full(format!(
                    "disk full: no space left on the filesystem holding the store ({e}); queries still work, and writes resume by themselves once there is space"
                )))
            }
        }
    }

    /// Whether the filesystem refused space last time.
    pub fn disk_full(&self) -> bool {
        self.disk_full.load(Ordering::Acquire)
    }

    /// Backpressure: waits while the memtables hold half the memory budget
    /// (one filling, one being flushed), up to `write_wait_ms`.
    fn wait_for_memory(&self) -> Result<(), EngineError> {
        let limit = self.cfg.memtable_bytes().saturating_mul(2);
        // As the last write left it (flushes only lower it); when over,
        // looked at again under the lock.
        if self.buffered.load(Ordering::Acquire) < limit {
            return Ok(());
        }
        let buffered = lock(&self.db).buffered_bytes();
        self.buffered.store(buffered, Ordering::Release);
        if buffered < limit {
            return Ok(());
        }
        self.metrics
            .backpressure_waits
            .fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_millis(self.cfg.write_wait_ms);
        let mut g = lock(&self.mem);
        loop {
            let _ = self.kick.try_send(());
            let buffered = lock(&self.db).buffered_bytes();
            self.buffered.store(buffered, Ordering::Release);
            if buffered < limit {
                return Ok(());
            }
            self.check()?;
            if self.disk_full() {
                // The memtable cannot be flushed: no room on the disk.
                return Err(self.ensure_room(0).err().unwrap_or_else(|| {
                    EngineError::Full("disk full: the memtable cannot be flushed".into())
                }));
            }
            let now = Instant::now();
            if now >= deadline {
                self.metrics
                    .backpressure_refused
                    .fetch_add(1, Ordering::Relaxed);
                return Err(EngineError::Busy(format!(
                    "too busy: {:.1} MiB of points wait to be flushed (half of max_memory_mb = {}); retry later",
                    buffered as f64 / (1 << 20) as f64,
                    self.cfg.max_memory_mb
                )));
            }
            let wait = (deadline - now).min(Duration::from_millis(100));
            g = self
                .mem_cv
                .wait_timeout(g, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Wakes writers waiting for memory.
    fn memory_freed(&self) {
        let _g = lock(&self.mem);
        self.mem_cv.notify_all();
    }

    /// Retention and capacity under the lock; logs what went.
    fn enforce_locked(&self, db: &mut Db<FileDevice>) -> Enforced {
        let now = crate::time::now_ns();
        match db.enforce(now, &self.policy) {
            Ok(e) => {
                for (why, o) in [("retention", e.retention), ("to make room", e.capacity)] {
                    if o.tables > 0 {
                        crate::info!(
                            "dropped {} window(s) {why}: {} tables, {} points, {:.1} MiB; data before {} is gone",
                            o.windows,
                            o.tables,
                            o.points,
                            o.bytes as f64 / (1 << 20) as f64,
                            crate::time::rfc3339(o.through_ns)
                        );
                    }
                }
                let reject = self.cfg.on_full == OnFull::Reject && e.full;
                if self.full.swap(reject, Ordering::AcqRel) != reject {
                    if reject {
                        crate::warn!(
                            "storage full (on_full is \"reject\"): writes are refused until room is back"
                        );
                    } else {
                        crate::info!("storage has room again: writes accepted");
                    }
                }
                e
            }
            Err(e) => {
                if let Error::Device(d) = &e {
                    self.fail_locked(db, format!("manifest commit failed: {d}"));
                }
                crate::error!("retention/capacity pass failed: {e}");
                Enforced::default()
            }
        }
    }

    /// Retention and capacity, then the file is cut after its last block.
    /// Called by the maintenance thread.
    pub fn enforce(&self) {
        if self.failure().is_some() {
            return;
        }
        let mut db = lock(&self.db);
        self.enforce_locked(&mut db);
        db.reap();
        self.pack_file(&mut db);
        drop(db);
        // Not while writes stream in: the memory would only be faulted back
        // in. After a burst the compaction thread does it.
        if self.last_write().elapsed() > Duration::from_secs(1) {
            crate::sys::release_free_memory();
        }
    }

    /// When the last write was accepted.
    pub fn last_write(&self) -> Instant {
        *lock(&self.last_write)
    }

    /// Compactions until none is due (fewer if `stop` is set meanwhile).
    /// Called by the compaction thread.
    pub fn compact(&self, stop: &AtomicBool) {
        if self.failure().is_some() {
            return;
        }
        loop {
            if stop.load(Ordering::Acquire) {
                break;
            }
            let t0 = Instant::now();
            let now = crate::time::now_ns();
            let Some(mut job) = lock(&self.db).plan_compaction(now, 0) else {
                break;
            };
            if self.ensure_room(job.bytes_in).is_err() {
                lock(&self.db).abort_compaction(job);
                break;
            }
            let (inputs, window) = (job.inputs(), job.window_start());
            let mut dev = self.dev.writer();
            let r = match job.write(&mut dev, &mut EngineBlocks(self)) {
                Ok(()) => lock(&self.db).finish_compaction(job),
                Err(e) => {
                    lock(&self.db).abort_compaction(job);
                    Err(e)
                }
            };
            match r {
                Ok(o) => crate::debug!(
                    "compaction of window {}: {inputs} tables, {:.1} → {:.1} MiB, {} points in {:.0} ms",
                    crate::time::rfc3339(window),
                    o.bytes_in as f64 / (1 << 20) as f64,
                    o.bytes_out as f64 / (1 << 20) as f64,
                    o.points,
                    t0.elapsed().as_secs_f64() * 1000.0
                ),
                // No room for the merged table: after the next drop.
                Err(Error::DeviceFull) => break,
                Err(e) => {
                    crate::warn!(
                        "compaction of window {} failed: {e}",
                        crate::time::rfc3339(window)
                    );
                    if let Error::Device(d) = &e {
                        self.fail(format!("compaction write failed: {d}"));
                    }
                    break;
                }
            }
        }
        let mut db = lock(&self.db);
        db.reap();
        self.pack_file(&mut db);
        drop(db);
        crate::sys::release_free_memory();
    }

    /// Idle housekeeping of the file: the WAL and the highest tables move
    /// into lower free blocks (a few per call), then the file is cut after
    /// its last block in use.
    fn pack_file(&self, db: &mut Db<FileDevice>) {
        if let Err(e) = db.relocate_wal() {
            crate::warn!("cannot move the WAL down: {e}");
        }
        let top = db.store().highest_used_block();
        let mut moved = 0;
        for _ in 0..16 {
            match db.move_down() {
                Ok(true) => moved += 1,
                Ok(false) => break,
                Err(e) => {
                    crate::warn!("cannot move a table down: {e}");
                    if let Error::Device(d) = &e {
                        self.fail_locked(db, format!("storage error: {d}"));
                    }
                    break;
                }
            }
        }
        if moved > 0 {
            crate::debug!(
                "{moved} table(s) or segment(s) moved down: highest block in use {top:?} -> {:?}",
                db.store().highest_used_block()
            );
        }
        self.trim_file(db);
    }

    /// Cuts the store file after its highest block in use (under the lock:
    /// no block can be handed out meanwhile).
    fn trim_file(&self, db: &Db<FileDevice>) {
        let keep = db.store().highest_used_block().map_or(0, |b| b + 1);
        match self.dev.cut_after(keep) {
            Ok(0) => {}
            Ok(n) => crate::debug!("store file cut by {:.1} MiB", n as f64 / (1 << 20) as f64),
            Err(e) => crate::warn!("cannot shorten the store file: {e}"),
        }
    }

    /// Makes everything written so far durable.
    pub fn sync_now(&self) -> Result<(), EngineError> {
        let lsn = lock(&self.db).store().next_lsn() - 1;
        self.wait_durable(lsn)
    }

    /// Waits until `lsn` is durable, leading a sync round if none runs.
    fn wait_durable(&self, lsn: Lsn) -> Result<(), EngineError> {
        let mut g = lock(&self.group);
        loop {
            if g.durable >= lsn {
                return Ok(());
            }
            self.check()?;
            if g.syncing {
                g = self.cv.wait(g).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            g.syncing = true;
            drop(g);
            // Ends the round when dropped, even if the round unwinds: the
            // flag goes and the waiters wake (one leads the next round).
            let leading = Leading(self);
            match self.sync_round(lsn) {
                Ok(d) => {
                    let mut g = lock(&self.group);
                    g.durable = g.durable.max(d);
                }
                // Not under `group`: failing takes the store's lock.
                Err(why) => self.fail(why),
            }
            drop(leading);
            g = lock(&self.group);
        }
    }

    /// One group-commit round covering at least `lsn`. Writes with `sync:
    /// "always"` programmed their records under their own lock hold, so the
    /// round usually starts its fsync without taking the lock: everything
    /// prepared before the fsync starts is covered. The WAL programs block
    /// headers only for rounds prepared before the fsync (see its docs).
    fn sync_round(&self, lsn: Lsn) -> Result<Lsn, String> {
        let mut target = self.prepared.load(Ordering::Acquire);
        if target < lsn {
            let mut db = lock(&self.db);
            target = db
                .prepare_sync()
                .map_err(|e| format!("WAL write failed: {e}"))?;
            self.prepared.fetch_max(target, Ordering::Release);
        }
        // Twice when the records started WAL blocks: their headers are
        // written after the first (see the core's WAL docs).
        loop {
            self.dev
                .sync_data()
                .map_err(|e| format!("fsync of the store failed: {e}"))?;
            self.metrics.syncs.fetch_add(1, Ordering::Relaxed);
            let done = self.handed_sync_done(target)?;
            if done {
                return Ok(target);
            }
        }
    }

    /// The second half of a sync round, [`Db::sync_done`], needs the lock,
    /// which a writer may hold for a long batch: the round hands it over.
    /// The writer runs it between two slices of its batch
    /// ([`Db::write_with`]), or the round runs it itself once it gets the
    /// lock first.
    fn handed_sync_done(&self, target: Lsn) -> Result<bool, String> {
        let h = &self.handoff;
        *lock(&h.done) = None;
        h.want.store(target, Ordering::Release);
        loop {
            match self.db.try_lock() {
                Ok(mut db) => self.serve_handoff(&mut db),
                Err(TryLockError::Poisoned(p)) => self.serve_handoff(&mut p.into_inner()),
                Err(TryLockError::WouldBlock) => {}
            }
            let mut done = lock(&h.done);
            if let Some(r) = done.take() {
                return r;
            }
            // The holder serves it, or is not a writer: look again soon.
            done =
                h.cv.wait_timeout(done, Duration::from_micros(200))
                    .map_or_else(|e| e.into_inner().0, |(g, _)| g);
            if let Some(r) = done.take() {
                return r;
            }
        }
    }

    /// Runs a handed-over `sync_done` (see [`Engine::handed_sync_done`]),
    /// if one waits; `db` is the locked database.
    fn serve_handoff(&self, db: &mut Db<FileDevice>) {
        let h = &self.handoff;
        if h.want.load(Ordering::Acquire) == 0 {
            return;
        }
        let lsn = h.want.swap(0, Ordering::AcqRel);
        if lsn == 0 {
            return;
        }
        let r = db
            .sync_done(lsn)
            .map_err(|e| format!("WAL write failed: {e}"));
        *lock(&h.done) = Some(r);
        h.cv.notify_one();
    }

    /// Answers a query: snapshot under the lock, table reads without it.
    pub fn query(&self, q: &Query) -> Result<QueryResult, EngineError> {
        let prepared = lock(&self.db).prepare(q).map_err(|e| match e {
            Error::DatabaseNotFound => {
                EngineError::NotFound(format!("database not found: \"{}\"", q.db))
            }
            other => map_err(other),
        })?;
        let mut dev = self.dev.reader();
        prepared
            .execute_cached(&mut dev, &SharedChunks(&self.chunks))
            .map_err(map_err)
    }

    /// Flushes the memtable (and any frozen one left by a failed flush).
    /// Returns the number of tables written.
    pub fn flush(&self) -> Result<usize, EngineError> {
        let _one = lock(&self.flush_lock);
        let mut tables = 0;
        // Bounded: under sustained writes each round would freeze a new
        // memtable; the rounds already waiting plus one are enough.
        let rounds = lock(&self.db).stats().frozen_bytes.min(1) + 2;
        for _ in 0..rounds {
            let t0 = Instant::now();
            let begun = lock(&self.db).begin_flush();
            let Some(mut job) = begun.map_err(|e| self.stopping(e))? else {
                break;
            };
            // Tables take at most two thirds of what the memtable held (16
            // bytes a point there at least; at most about 10 in a table,
            // encoded fast).
            if let Err(e) = self.ensure_room(job.memtable_bytes() as u64 * 2 / 3) {
                lock(&self.db).abort_flush(job);
                return Err(e);
            }
            let mut dev = self.dev.writer();
            let r = job.write(&mut dev, &mut EngineBlocks(self));
            let (points, mem) = (job.points(), job.memtable_bytes());
            match r {
                Ok(()) => {
                    let n = job.tables();
                    let done = lock(&self.db).finish_flush(job);
                    done.map_err(|e| {
                        self.metrics.flush_errors.fetch_add(1, Ordering::Relaxed);
                        self.stopping(e)
                    })?;
                    tables += n;
                    self.trim_file(&lock(&self.db));
                    self.memory_freed();
                    crate::info!(
                        "flush: {points} points ({:.1} MiB of memtable) into {n} table(s) in {:.0} ms",
                        mem as f64 / (1 << 20) as f64,
                        t0.elapsed().as_secs_f64() * 1000.0
                    );
                }
                Err(e) => {
                    self.metrics.flush_errors.fetch_add(1, Ordering::Relaxed);
                    {
                        let mut db = lock(&self.db);
                        db.abort_flush(job);
                        if matches!(e, Error::DeviceFull) {
                            // Room for the next attempt (drop_oldest), or
                            // writes refused until there is (reject).
                            self.enforce_locked(&mut db);
                        }
                    }
                    if let Error::Device(d) = &e {
                        self.fail(format!("table write failed: {d}"));
                    }
                    crate::error!("flush failed: {e}");
                    return Err(map_err(e));
                }
            }
        }
        Ok(tables)
    }

    /// Gauges for /metrics.
    pub fn gauges(&self) -> Gauges {
        let (s, tombstones) = {
            let db = lock(&self.db);
            (db.stats(), db.tombstones().len() as u64)
        };
        let (chunk_cache_hits, chunk_cache_misses, chunk_cache_bytes) = {
            let c = lock(&self.chunks);
            (c.hits, c.misses, c.bytes() as u64)
        };
        Gauges {
            chunk_cache_hits,
            chunk_cache_misses,
            chunk_cache_bytes,
            tombstones,
            memtable_bytes: s.memtable_bytes as u64,
            frozen_bytes: s.frozen_bytes as u64,
            catalog_bytes: s.catalog_bytes as u64,
            wal_bytes: s.wal_bytes,
            series: s.series as u64,
            tables: s.tables as u64,
            table_bytes: s.table_bytes,
            counters: s.counters,
            programmed_bytes: self.dev.programmed_bytes(),
            storage_full: self.full.load(Ordering::Acquire),
            disk_full: self.disk_full(),
            capacity_bytes: s.capacity_bytes,
            used_bytes: s.capacity_bytes - s.free_bytes,
            file_allocated_bytes: self.dev.allocated_bytes(),
            healthy: self.failure().is_none(),
        }
    }

    /// Start time, seconds since the epoch.
    pub fn start_time_s(&self) -> f64 {
        self.start_time_s
    }

    /// Flushes and syncs for a clean stop.
    pub fn shutdown(&self) -> Result<(), EngineError> {
        if self.failure().is_some() {
            return Ok(());
        }
        self.flush()?;
        self.sync_now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` on its own thread and returns what it returns: a liveness
    /// guard, not a timing assertion — a lock taken twice never returns,
    /// and the test fails after two minutes instead of hanging.
    fn returns<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("{what} never returned"))
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("pulsardb-engine-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn batch(n: usize, from: i64) -> WriteBatch {
        let mut b = WriteBatch::new();
        for i in 0..n {
            let v = pulsardb_core::Value::Float((i as f64).sin());
            b.push(b"m", &[(b"s", b"x")], &[(b"v", v)], from + i as i64);
        }
        b
    }

    fn count(e: &Engine) -> u64 {
        let q = Query {
            aggregation: Some(pulsardb_core::Aggregation {
                window_ns: None,
                offset_ns: 0,
                zone: None,
                group_by: vec![],
            }),
            ..Query::raw("pulsardb", "m", Some("v"))
        };
        let res = e.query(&q).expect("query");
        match &res.series[0].data {
            pulsardb_core::query::SeriesData::Windows(w) => w[0].1.count,
            _ => 0,
        }
    }

    /// A new store gets 16 KiB blocks; a store created with 64 KiB blocks
    /// (earlier versions) opens in its own block size with its data.
    #[test]
    fn stores_keep_the_block_size_they_were_created_with() {
        let dir = temp_dir("blocksize");
        let cfg = Config {
            data_dir: dir.clone(),
            ..Config::default()
        };
        let e = Engine::open(&cfg).expect("create");
        assert_eq!(e.with_db(|d| d.store().geometry().block_size), 16 << 10);
        drop(e);
        let e = Engine::open(&cfg).expect("reopen");
        assert_eq!(e.with_db(|d| d.store().geometry().block_size), 16 << 10);
        drop(e);
        let _ = std::fs::remove_dir_all(&dir);

        std::fs::create_dir_all(&dir).unwrap();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.join(crate::storage::STORE_FILE))
            .unwrap();
        let dev = FileDevice::with_block_size(f, cfg.max_disk_mb << 20, 64 << 10);
        let mut db = Db::create(dev, DbConfig::default()).expect("format");
        db.create_database("pulsardb").unwrap();
        db.write("pulsardb", &batch(5_000, 0)).unwrap();
        db.flush().unwrap();
        db.write("pulsardb", &batch(3_000, 5_000)).unwrap();
        db.sync().unwrap();
        drop(db);
        let e = Engine::open(&cfg).expect("open the 64 KiB store");
        assert_eq!(e.with_db(|d| d.store().geometry().block_size), 64 << 10);
        assert_eq!(count(&e), 8_000);
        drop(e);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Without flushes (no maintenance thread), writes fill the memtables
    /// up to half the memory budget, then wait `write_wait_ms` and get
    /// `Busy` (503 with Retry-After); a flush lets a waiting writer through.
    #[test]
    fn writes_wait_for_memory_then_get_busy() {
        let dir = temp_dir("backpressure");
        let cfg = Config {
            data_dir: dir.clone(),
            max_memory_mb: 8,
            write_wait_ms: 200,
            sync: SyncMode::Interval,
            ..Config::default()
        };
        let e = Engine::open(&cfg).expect("open");
        let limit = cfg.memtable_bytes() * 2;
        let mut t = 0;
        let mut accepted = 0;
        let busy = loop {
            match e.write("pulsardb", &batch(10_000, t)) {
                Ok(o) => accepted += o.points,
                Err(err) => break err,
            }
            t += 10_000;
            assert!(accepted < 10_000_000, "never pushed back");
        };
        assert!(matches!(busy, EngineError::Busy(_)), "{busy:?}");
        assert!(busy.to_string().contains("retry later"), "{busy}");
        let buffered = e.with_db(|d| d.buffered_bytes());
        assert!(
            buffered >= limit && buffered < limit + (1 << 20),
            "{buffered} vs {limit}"
        );
        assert_eq!(e.metrics.backpressure_refused.load(Ordering::Relaxed), 1);

        // Everything accepted is there.
        assert_eq!(count(&e), accepted);
        drop(e);
        let _ = std::fs::remove_dir_all(&dir);

        // With a long wait, a writer held back goes through once a flush
        // has freed the memory.
        let dir = temp_dir("backpressure-flush");
        let cfg = Config {
            data_dir: dir.clone(),
            max_memory_mb: 8,
            write_wait_ms: 120_000,
            sync: SyncMode::Interval,
            ..Config::default()
        };
        let e = Engine::open(&cfg).expect("open");
        let mut t = 0;
        while e.with_db(|d| d.buffered_bytes()) < limit {
            e.write("pulsardb", &batch(10_000, t))
                .expect("write below the limit");
            t += 10_000;
        }
        let e2 = Arc::clone(&e);
        let flusher = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            e2.flush().expect("flush")
        });
        let r = e.write("pulsardb", &batch(10, t));
        assert!(r.is_ok(), "{r:?}");
        assert!(flusher.join().expect("flusher") > 0);
        assert_eq!(e.metrics.backpressure_waits.load(Ordering::Relaxed), 1);
        assert_eq!(e.metrics.backpressure_refused.load(Ordering::Relaxed), 0);
        drop(e);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A failed fsync stops writes for good, whoever's round hit it: every
    /// writer waiting gets 503's error, later writes too (even once syncs
    /// would work again), and nothing is acknowledged that was not synced.
    #[test]
    fn a_failed_fsync_stops_writes_and_is_never_retried() {
        let dir = temp_dir("fsync-failure");
        let cfg = Config {
            data_dir: dir.clone(),
            ..Config::default()
        };
        let e = Engine::open(&cfg).expect("open");
        let before = e.write("pulsardb", &batch(5_000, 0)).expect("write");
        assert_eq!(before.points, 5_000);
        e.dev.fail_syncs.store(true, Ordering::Relaxed);
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let e = Arc::clone(&e);
                std::thread::spawn(move || {
                    let mut acked = 0u64;
                    for i in 0..20 {
                        match e.write("pulsardb", &batch(1_000, 10_000 + (w * 20 + i) * 1_000)) {
                            Ok(o) => acked += o.points,
                            Err(err) => return (acked, err),
                        }
                    }
                    panic!("writer {w}: 20 writes acknowledged with failing fsyncs");
                })
            })
            .collect();
        for w in writers {
            let (acked, err) = w.join().expect("writer");
            assert_eq!(acked, 0, "acknowledged without a sync");
            assert!(matches!(err, EngineError::Unavailable(_)), "{err:?}");
            assert!(err.to_string().contains("fsync"), "{err}");
        }
        assert!(e.failure().is_some_and(|f| f.contains("fsync")));
        e.dev.fail_syncs.store(false, Ordering::Relaxed);
        let after = e.write("pulsardb", &batch(10, 1_000_000));
        assert!(
            matches!(after, Err(EngineError::Unavailable(_))),
            "{after:?}"
        );
        drop(e);
        // Reopened, the store has at least what was acknowledged.
        let e = Engine::open(&cfg).expect("reopen");
        assert!(count(&e) >= 5_000);
        drop(e);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A write that finds the store itself full (max_disk_mb) answers
    /// "storage full" under either policy; the error is built under the
    /// store's lock, which must not be taken a second time.
    #[test]
    fn a_write_into_a_full_store_answers_full_and_does_not_hang() {
        for on_full in [OnFull::DropOldest, OnFull::Reject] {
            let dir = temp_dir(&format!("store-full-{on_full:?}"));
            let cfg = Config {
                data_dir: dir.clone(),
                max_disk_mb: 16,
                max_memory_mb: 8,
                on_full,
                sync: SyncMode::Interval,
                ..Config::default()
            };
            let e = Engine::open(&cfg).expect("open");
            let writer = Arc::clone(&e);
            let outcome = returns("the writer", move || {
                // One time window: nothing old to drop.
                let mut t = 0;
                let mut written = 0;
                let outcome = loop {
                    if written > 40_000_000 {
                        break None;
                    }
                    match writer.write("pulsardb", &batch(50_000, t)) {
                        Ok(o) => written += o.points,
                        Err(err) => break Some((err, written)),
                    }
                    t += 50_000;
                    let _ = writer.flush();
                };
                outcome
            });
            let (err, written) = outcome.expect("16 MiB never filled");
            assert!(matches!(err, EngineError::Full(_)), "{on_full:?}: {err:?}");
            assert!(err.to_string().contains("storage full"), "{err}");
            assert!(written > 0);
            // Still serving: queries and metadata answer.
            // Every acknowledged point is there (one window: nothing was
            // old enough to drop).
            assert!(count(&e) >= written, "{on_full:?}");
            let _ = e.gauges();
            drop(e);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    /// A device error in a DELETE stops writes and answers; the error path
    /// runs without the store's lock held twice.
    #[test]
    fn a_device_error_in_a_delete_stops_writes_and_does_not_hang() {
        let dir = temp_dir("delete-device-error");
        let cfg = Config {
            data_dir: dir.clone(),
            sync: SyncMode::Interval,
            ..Config::default()
        };
        let e = Engine::open(&cfg).expect("open");
        e.write("pulsardb", &batch(1_000, 0)).expect("write");
        e.flush().expect("flush");
        e.dev.fail_writes.store(true, Ordering::Relaxed);
        let deleter = Arc::clone(&e);
        let r = returns("the delete", move || {
            deleter.delete("pulsardb", "m", &TagExpr::True, 0, 500, false)
        });
        assert!(matches!(r, Err(EngineError::Unavailable(_))), "{r:?}");
        assert!(e.failure().is_some());
        e.dev.fail_writes.store(false, Ordering::Relaxed);
        let w = e.write("pulsardb", &batch(10, 5_000));
        assert!(matches!(w, Err(EngineError::Unavailable(_))), "{w:?}");
        drop(e);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A device error while a write appends to the WAL stops writes and
    /// says so (the store refuses everything after it; the engine must
    /// report it, not only the next caller).
    #[test]
    fn a_device_error_in_a_write_stops_writes_and_names_it() {
        for sync in [SyncMode::Interval, SyncMode::Always] {
            let dir = temp_dir(&format!("write-device-error-{sync:?}"));
            let cfg = Config {
                data_dir: dir.clone(),
                sync,
                ..Config::default()
            };
            let e = Engine::open(&cfg).expect("open");
            e.write("pulsardb", &batch(100, 0)).expect("write");
            e.dev.fail_writes.store(true, Ordering::Relaxed);
            // Large enough to fill a WAL block, so it programs.
            let r = e.write("pulsardb", &batch(20_000, 1_000));
            assert!(
                matches!(r, Err(EngineError::Unavailable(_))),
                "{sync:?}: {r:?}"
            );
            let why = e.failure().expect("failure recorded");
            assert!(why.contains("injected write failure"), "{sync:?}: {why}");
            e.dev.fail_writes.store(false, Ordering::Relaxed);
            let again = e.write("pulsardb", &batch(10, 100_000));
            let Err(EngineError::Unavailable(msg)) = again else {
                panic!("{sync:?}: {again:?}");
            };
            assert!(msg.contains("injected write failure"), "{msg}");
            drop(e);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
