//! Counters and a latency histogram, exposed in Prometheus text format 0.0.4.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the query latency buckets, seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// A cumulative histogram.
#[derive(Debug, Default)]
pub struct Histogram {
    counts: [AtomicU64; 12],
    inf: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        match BUCKETS.iter().position(|&b| s <= b) {
            Some(i) => {
                if let Some(c) = self.counts.get(i) {
                    c.fetch_add(1, Ordering::Relaxed);
                }
            }
            None => {
                self.inf.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sum_us
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cum = 0;
        for (b, c) in BUCKETS.iter().zip(&self.counts) {
            cum += c.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cum}");
        }
        cum += self.inf.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cum}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {cum}");
    }
}

/// Server counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Write requests fully written.
    pub writes_ok: AtomicU64,
    /// Write requests with some points rejected.
    pub writes_partial: AtomicU64,
    /// Write requests refused (4xx/5xx, nothing written).
    pub writes_failed: AtomicU64,
    /// Field values written.
    pub points_written: AtomicU64,
    /// Points rejected (parse errors and validation).
    pub points_rejected: AtomicU64,
    /// String field values left out (`string_fields: "drop"`).
    pub strings_dropped: AtomicU64,
    /// Queries answered.
    pub queries: AtomicU64,
    /// Queries that failed.
    pub query_errors: AtomicU64,
    /// Query latency.
    pub query_latency: Histogram,
    /// Flushes that failed.
    pub flush_errors: AtomicU64,
    /// Group-commit syncs.
    pub syncs: AtomicU64,
    /// Request bodies received, bytes.
    pub bytes_received: AtomicU64,
    /// Requests refused for a missing or wrong token (401) or scope (403).
    pub auth_failures: AtomicU64,
    /// Writes that had to wait for memory (backpressure).
    pub backpressure_waits: AtomicU64,
    /// Writes refused with 503 after waiting for memory.
    pub backpressure_refused: AtomicU64,
    /// What the HTTP guard saw and refused.
    pub guard: std::sync::Arc<crate::http::guard::GuardStats>,
}

/// Gauges sampled at scrape time.
#[derive(Debug, Default)]
pub struct Gauges {
    /// Active memtable bytes.
    pub memtable_bytes: u64,
    /// Frozen memtable bytes.
    pub frozen_bytes: u64,
    /// Catalog bytes.
    pub catalog_bytes: u64,
    /// WAL bytes on the device.
    pub wal_bytes: u64,
    /// Series.
    pub series: u64,
    /// Tables.
    pub tables: u64,
    /// Table bytes.
    pub table_bytes: u64,
    /// The engine's counters since start (flushes, compactions, drops).
    pub counters: pulsardb_core::db::Counters,
    /// Bytes programmed to the store since start.
    pub programmed_bytes: u64,
    /// Writes are refused for lack of room (`on_full: "reject"`).
    pub storage_full: bool,
    /// Deletes not yet compacted away.
    pub tombstones: u64,
    /// The filesystem refused space.
    pub disk_full: bool,
    /// Device capacity.
    pub capacity_bytes: u64,
    /// Device bytes in use.
    pub used_bytes: u64,
    /// File bytes allocated on disk.
    pub file_allocated_bytes: u64,
    /// 1 when the store accepts writes.
    pub healthy: bool,
    /// Chunks queries found decoded in the cache.
    pub chunk_cache_hits: u64,
    /// Chunks queries did not find in the cache (decoded; the first 16 of
    /// a query kept there).
    pub chunk_cache_misses: u64,
    /// Bytes of decoded chunks in the cache.
    pub chunk_cache_bytes: u64,
}

fn counter(out: &mut String, name: &str, help: &str, samples: &[(&str, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (labels, v) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {v}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {v}");
        }
    }
}

fn gauge(out: &mut String, name: &str, help: &str, v: f64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
}

/// `process_*` metrics from /proc.
fn process(out: &mut String, start_time_s: f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let tick = 100.0; // USER_HZ on Linux
    let num = |i: usize| {
        fields
            .get(i)
            .and_then(|x| x.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After "pid (comm)": state is field 0, utime 11, stime 12, vsize 20, rss 21.
    counter(
        out,
        "process_cpu_seconds_total",
        "User and system CPU time.",
        &[],
    );
    let _ = writeln!(
        out,
        "process_cpu_seconds_total {}",
        (num(11) + num(12)) / tick
    );
    gauge(
        out,
        "process_virtual_memory_bytes",
        "Virtual memory size.",
        num(20),
    );
    gauge(
        out,
        "process_resident_memory_bytes",
        "Resident set size.",
        num(21) * 4096.0,
    );
    gauge(
        out,
        "process_start_time_seconds",
        "Start time since the Unix epoch.",
        start_time_s,
    );
    let fds = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0);
    gauge(
        out,
        "process_open_fds",
        "Open file descriptors.",
        fds as f64,
    );
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    if let Some(max) = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<f64>().ok())
    {
        gauge(
            out,
            "process_max_fds",
            "Maximum open file descriptors.",
            max,
        );
    }
}

impl Metrics {
    /// The exposition text.
    pub fn render(&self, g: &Gauges, start_time_s: f64) -> String {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::with_capacity(4096);
        counter(
            &mut out,
            "pulsardb_write_requests_total",
            "Write requests by outcome.",
            &[
                ("outcome=\"ok\"", l(&self.writes_ok)),
                ("outcome=\"partial\"", l(&self.writes_partial)),
                ("outcome=\"error\"", l(&self.writes_failed)),
            ],
        );
        counter(
            &mut out,
            "pulsardb_points_total",
            "Points (field values) by outcome.",
            &[
                ("outcome=\"written\"", l(&self.points_written)),
                ("outcome=\"rejected\"", l(&self.points_rejected)),
                ("outcome=\"dropped_string\"", l(&self.strings_dropped)),
            ],
        );
        counter(
            &mut out,
            "pulsardb_queries_total",
            "Queries answered.",
            &[("", l(&self.queries))],
        );
        counter(
            &mut out,
            "pulsardb_query_errors_total",
            "Queries that failed.",
            &[("", l(&self.query_errors))],
        );
        self.query_latency.render(
            "pulsardb_query_duration_seconds",
            "Query latency.",
            &mut out,
        );
        counter(
            &mut out,
            "pulsardb_flushes_total",
            "Memtable flushes.",
            &[("", g.counters.flushes)],
        );
        counter(
            &mut out,
            "pulsardb_flush_errors_total",
            "Flushes that failed.",
            &[("", l(&self.flush_errors))],
        );
        let c = &g.counters;
        counter(
            &mut out,
            "pulsardb_flushed_bytes_total",
            "Table bytes written by flushes (the points, encoded once).",
            &[("", c.flushed_bytes)],
        );
        counter(
            &mut out,
            "pulsardb_compactions_total",
            "Compactions completed.",
            &[("", c.compactions)],
        );
        counter(
            &mut out,
            "pulsardb_compaction_packings_total",
            "Compactions that packed the small tables of closed windows into one table.",
            &[("", c.packs)],
        );
        counter(
            &mut out,
            "pulsardb_compaction_retention_rewrites_total",
            "Compactions that rewrote a packed table without its windows past retention.",
            &[("", c.retention_rewrites)],
        );
        counter(
            &mut out,
            "pulsardb_compacted_bytes_total",
            "Table bytes read and written by compactions.",
            &[
                ("direction=\"read\"", c.compacted_bytes_in),
                ("direction=\"written\"", c.compacted_bytes_out),
            ],
        );
        counter(
            &mut out,
            "pulsardb_device_programmed_bytes_total",
            "Bytes written to the store (WAL, tables, compactions, metadata).",
            &[("", g.programmed_bytes)],
        );
        gauge(
            &mut out,
            "pulsardb_write_amplification",
            "Bytes written to the store per byte of encoded points flushed, since start.",
            if c.flushed_bytes > 0 {
                g.programmed_bytes as f64 / c.flushed_bytes as f64
            } else {
                0.0
            },
        );
        counter(
            &mut out,
            "pulsardb_dropped_windows_total",
            "Time windows dropped by retention or to make room.",
            &[("", c.dropped_windows)],
        );
        counter(
            &mut out,
            "pulsardb_dropped_points_total",
            "Points dropped: whole windows (retention or room), and writes older than the retention.",
            &[
                ("reason=\"window_dropped\"", c.dropped_points),
                ("reason=\"beyond_retention\"", c.points_beyond_retention),
            ],
        );
        counter(
            &mut out,
            "pulsardb_auth_failures_total",
            "Requests refused for a missing or wrong token, or its scope.",
            &[("", l(&self.auth_failures))],
        );
        counter(
            &mut out,
            "pulsardb_backpressure_waits_total",
            "Writes that waited for memtables to be flushed.",
            &[("", l(&self.backpressure_waits))],
        );
        counter(
            &mut out,
            "pulsardb_backpressure_refused_total",
            "Writes refused (503) after waiting for memory.",
            &[("", l(&self.backpressure_refused))],
        );
        gauge(
            &mut out,
            "pulsardb_disk_full",
            "1 while the filesystem has no room and writes are refused.",
            if g.disk_full { 1.0 } else { 0.0 },
        );
        gauge(
            &mut out,
            "pulsardb_tombstones",
            "Deletes whose points are still in tables (until compaction rewrites them).",
            g.tombstones as f64,
        );
        gauge(
            &mut out,
            "pulsardb_storage_full",
            "1 while writes are refused for lack of room (on_full = reject).",
            if g.storage_full { 1.0 } else { 0.0 },
        );
        counter(
            &mut out,
            "pulsardb_wal_syncs_total",
            "Device syncs of WAL group commits: one per round, two when it started WAL blocks.",
            &[("", l(&self.syncs))],
        );
        counter(
            &mut out,
            "pulsardb_received_bytes_total",
            "Request body bytes received.",
            &[("", l(&self.bytes_received))],
        );
        let gs = &self.guard;
        gauge(
            &mut out,
            "pulsardb_http_connections",
            "Client connections open.",
            gs.open.load(Ordering::Relaxed) as f64,
        );
        counter(
            &mut out,
            "pulsardb_http_refused_total",
            "Connections and requests refused by the HTTP guard.",
            &[
                (
                    "reason=\"connection_limit\"",
                    gs.refused.load(Ordering::Relaxed) as u64,
                ),
                (
                    "reason=\"request_limits\"",
                    gs.rejected.load(Ordering::Relaxed) as u64,
                ),
                (
                    "reason=\"evicted_waiting\"",
                    gs.evicted.load(Ordering::Relaxed) as u64,
                ),
            ],
        );
        gauge(
            &mut out,
            "pulsardb_memtable_bytes",
            "Bytes in the active memtable.",
            g.memtable_bytes as f64,
        );
        gauge(
            &mut out,
            "pulsardb_memtable_frozen_bytes",
            "Bytes in memtables being flushed.",
            g.frozen_bytes as f64,
        );
        gauge(
            &mut out,
            "pulsardb_catalog_bytes",
            "Bytes of the series catalog.",
            g.catalog_bytes as f64,
        );
        gauge(
            &mut out,
            "pulsardb_wal_bytes",
            "Bytes of the device holding the WAL.",
            g.wal_bytes as f64,
        );
        gauge(
            &mut out,
            "pulsardb_series",
            "Series in the catalog.",
            g.series as f64,
        );
        gauge(&mut out, "pulsardb_tables", "Live tables.", g.tables as f64);
        gauge(
            &mut out,
            "pulsardb_table_bytes",
            "Bytes of live tables.",
            g.table_bytes as f64,
        );
        counter(
            &mut out,
            "pulsardb_query_chunk_cache_hits_total",
            "Table chunks queries found already decoded in the chunk cache.",
            &[("", g.chunk_cache_hits)],
        );
        counter(
            &mut out,
            "pulsardb_query_chunk_cache_misses_total",
            "Table chunks queries did not find in the chunk cache and decoded (each query keeps up to 16 of them there).",
            &[("", g.chunk_cache_misses)],
        );
        gauge(
            &mut out,
            "pulsardb_query_chunk_cache_bytes",
            "Bytes of decoded chunks in the chunk cache (a 64th of max_memory_mb at most).",
            g.chunk_cache_bytes as f64,
        );
        gauge(
            &mut out,
            "pulsardb_device_capacity_bytes",
            "Capacity of the store (max_disk_mb).",
            g.capacity_bytes as f64,
        );
        gauge(
            &mut out,
            "pulsardb_device_used_bytes",
            "Bytes of the store in use.",
            g.used_bytes as f64,
        );
        gauge(
            &mut out,
            "pulsardb_device_free_bytes",
            "Bytes of the store free.",
            g.capacity_bytes.saturating_sub(g.used_bytes) as f64,
        );
        gauge(
            &mut out,
            "pulsardb_file_allocated_bytes",
            "Bytes the store file occupies on disk.",
            g.file_allocated_bytes as f64,
        );
        gauge(
            &mut out,
            "pulsardb_healthy",
            "1 when the store accepts writes.",
            if g.healthy { 1.0 } else { 0.0 },
        );
        process(&mut out, start_time_s);
        out
    }
}
