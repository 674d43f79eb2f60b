//! The shared database handle: concurrency, group commit, snapshots.
//!
//! One `Mutex<Db>` guards the engine. Everything done under it is short:
//!
//! - **Writes** validate and append to the WAL buffer and memtable, then
//!   release the lock and wait for durability.
//! - **Group commit.** The first waiter that finds no sync running becomes the
//!   leader: under the lock it programs the buffered WAL bytes
//!   (`prepare_sync`), then *without* the lock it `fdatasync`s the file, and
//!   marks everything up to that point durable; every writer whose records
//!   were covered wakes up. Writers arriving meanwhile are covered by the next
//!   round. An fsync error is final: the engine stops accepting writes and
//!   reports unhealthy (after a failed fsync, Linux may have dropped the dirty
//!   pages; retrying would report success for lost data).
//! - **Queries** take a snapshot under the lock (series resolved, the active
//!   memtable's points in range copied, shared handles on frozen memtables and
//!   tables) and read tables without it, through their own file handle. A
//!   read lock was the alternative; it would hold writers up for the whole
//!   query instead of for the copy.
//! - **Flushes** freeze the memtable under the lock, write tables without it
//!   (taking blocks one at a time under the lock), and commit under it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use pulsardb_core::db::{DAY_NS, WriteOutcome};
use pulsardb_core::layout::stream::BlockSource;
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

/// The engine.
#[derive(Debug)]
pub struct Engine {
    db: Mutex<Db<FileDevice>>,
    dev: FileDevice,
    group: Mutex<Group>,
    cv: Condvar,
    failed: AtomicBool,
    failure: Mutex<Option<String>>,
    flush_lock: Mutex<()>,
    kick: smol::channel::Sender<()>,
    kick_rx: Mutex<Option<smol::channel::Receiver<()>>>,
    /// Server counters.
    pub metrics: Metrics,
    cfg: Config,
    started: Instant,
    start_time_s: f64,
    _dir: DataDir,
}

/// Blocks for a flush job running outside the lock, taken one at a time.
struct EngineBlocks<'a>(&'a Engine);

impl BlockSource for EngineBlocks<'_> {
    fn take(&mut self) -> Option<BlockId> {
        lock(&self.0.db).alloc_block()
    }
}

/// Table time window for a retention: about a tenth of it, between an hour
/// and a week (retention drops whole windows; smaller windows drop closer to
/// the deadline, larger ones make fewer tables).
pub fn window_for_retention(retention_days: u64) -> i64 {
    if retention_days == 0 {
        return 7 * DAY_NS;
    }
    let tenth = (retention_days as i64).saturating_mul(DAY_NS) / 10;
    tenth.clamp(3_600_000_000_000, 7 * DAY_NS)
}

impl Engine {
    /// Opens (or creates) the store in the configured data directory.
    pub fn open(cfg: &Config) -> Result<Arc<Engine>, String> {
        let dir = DataDir::lock(&cfg.data_dir)?;
        let capacity = cfg.max_disk_mb << 20;
        let db_cfg = DbConfig {
            memtable_bytes: cfg.memtable_bytes(),
            auto_flush: false,
            window_ns: window_for_retention(cfg.retention_days),
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
        Ok(Arc::new(Engine {
            group: Mutex::new(Group {
                durable: stats.durable_lsn,
                syncing: false,
            }),
            db: Mutex::new(db),
            dev,
            cv: Condvar::new(),
            failed: AtomicBool::new(false),
            failure: Mutex::new(None),
            flush_lock: Mutex::new(()),
            kick,
            kick_rx: Mutex::new(Some(kick_rx)),
            metrics: Metrics::default(),
            cfg: cfg.clone(),
            started: Instant::now(),
            start_time_s: crate::time::now_ns() as f64 / 1e9,
            _dir: dir,
        }))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The channel maintenance listens on for "flush now" (taken once).
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
        crate::error!("{why}; writes are refused until restart");
        *lock(&self.failure) = Some(why);
        self.failed.store(true, Ordering::Release);
        lock(&self.db).poison();
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
        lock(&self.db).has_database(name)
    }

    /// Creates a database (durably). No-op if it exists.
    pub fn create_database(&self, name: &str) -> Result<(), EngineError> {
        self.check()?;
        let lsn = {
            let mut db = lock(&self.db);
            if db.has_database(name) {
                return Ok(());
            }
            db.create_database(name).map_err(map_err)?;
            db.store().next_lsn() - 1
        };
        crate::info!("database {name:?} created");
        self.wait_durable(lsn)
    }

    /// Runs `f` on the database (metadata reads).
    pub fn with_db<R>(&self, f: impl FnOnce(&Db<FileDevice>) -> R) -> R {
        f(&lock(&self.db))
    }

    /// Writes a batch; returns once it is as durable as `sync` requires.
    pub fn write(&self, db_name: &str, batch: &WriteBatch) -> Result<WriteOutcome, EngineError> {
        self.check()?;
        let (out, over) = {
            let mut db = lock(&self.db);
            let out = db.write(db_name, batch).map_err(|e| match e {
                Error::DatabaseNotFound => {
                    EngineError::NotFound(format!("database not found: \"{db_name}\""))
                }
                other => map_err(other),
            })?;
            (out, db.memtable_bytes() >= self.cfg.memtable_bytes())
        };
        if over {
            // Full channel: a flush is already requested.
            let _ = self.kick.try_send(());
        }
        if out.lsn > 0 && self.cfg.sync == SyncMode::Always {
            self.wait_durable(out.lsn)?;
        }
        Ok(out)
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
            let r = self.sync_round();
            g = lock(&self.group);
            g.syncing = false;
            match r {
                Ok(d) => g.durable = g.durable.max(d),
                Err(why) => self.fail(why),
            }
            self.cv.notify_all();
        }
    }

    fn sync_round(&self) -> Result<Lsn, String> {
        let target = lock(&self.db)
            .prepare_sync()
            .map_err(|e| format!("WAL write failed: {e}"))?;
        self.dev
            .sync_data()
            .map_err(|e| format!("fsync of the store failed: {e}"))?;
        lock(&self.db).sync_done(target);
        self.metrics.syncs.fetch_add(1, Ordering::Relaxed);
        Ok(target)
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
        prepared.execute(&mut dev).map_err(map_err)
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
            let Some(mut job) = lock(&self.db).begin_flush().map_err(map_err)? else {
                break;
            };
            let mut dev = self.dev.writer();
            let r = job.write(&mut dev, &mut EngineBlocks(self));
            let (points, mem) = (job.points(), job.memtable_bytes());
            match r {
                Ok(()) => {
                    let n = job.tables();
                    lock(&self.db).finish_flush(job).map_err(|e| {
                        self.metrics.flush_errors.fetch_add(1, Ordering::Relaxed);
                        map_err(e)
                    })?;
                    tables += n;
                    crate::info!(
                        "flush: {points} points ({:.1} MiB of memtable) into {n} table(s) in {:.0} ms",
                        mem as f64 / (1 << 20) as f64,
                        t0.elapsed().as_secs_f64() * 1000.0
                    );
                }
                Err(e) => {
                    self.metrics.flush_errors.fetch_add(1, Ordering::Relaxed);
                    lock(&self.db).abort_flush(job);
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
        let s = lock(&self.db).stats();
        Gauges {
            memtable_bytes: s.memtable_bytes as u64,
            frozen_bytes: s.frozen_bytes as u64,
            catalog_bytes: s.catalog_bytes as u64,
            wal_bytes: s.wal_bytes,
            series: s.series as u64,
            tables: s.tables as u64,
            table_bytes: s.table_bytes,
            flushes: s.counters.flushes,
            flushed_bytes: s.counters.flushed_bytes,
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
