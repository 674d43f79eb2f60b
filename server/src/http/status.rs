//! `/ping`, `/health`, `/metrics`, `/flush`.

use super::{Reply, Req};
use crate::engine::Engine;

/// `GET|HEAD /ping`: 204 with `X-Influxdb-Version`; `?verbose=true` gives a body.
pub fn ping(req: &Req<'_>) -> Reply {
    if req.param("verbose").is_some_and(|v| v == "true") {
        return Reply::json(
            200,
            &serde_json::json!({ "version": super::INFLUX_VERSION }),
        );
    }
    Reply::no_content()
}

/// `GET /health`: InfluxDB 2.x's shape, plus the store's state.
pub fn health(engine: &Engine) -> Reply {
    let g = engine.gauges();
    let failure = engine.failure();
    let ok = failure.is_none();
    let full = g.storage_full || g.disk_full;
    let message = match (&failure, full) {
        (Some(f), _) => f.clone(),
        (None, true) => "ready for queries; writes refused for lack of space".into(),
        (None, false) => "ready for queries and writes".into(),
    };
    let body = serde_json::json!({
        "name": "pulsardb",
        "message": message,
        "status": if !ok { "fail" } else if full { "warn" } else { "pass" },
        "version": env!("CARGO_PKG_VERSION"),
        "commit": "",
        "checks": [],
        "uptime_seconds": engine.uptime().as_secs(),
        "store": {
                        "writable": ok && !full,
            "disk_full": g.disk_full,
            "series": g.series,
            "tables": g.tables,
            "memtable_bytes": g.memtable_bytes,
            "wal_bytes": g.wal_bytes,
            "device_used_bytes": g.used_bytes,
            "device_capacity_bytes": g.capacity_bytes,
        }
    });
    Reply::json(if ok { 200 } else { 503 }, &body)
}

/// `GET /metrics`: Prometheus text format 0.0.4.
pub fn metrics(engine: &Engine) -> Reply {
    let text = engine
        .metrics
        .render(&engine.gauges(), engine.start_time_s());
    Reply::text(200, "text/plain; version=0.0.4; charset=utf-8", text)
}

/// `POST /flush`: writes the memtable to tables now.
pub fn flush(engine: &Engine) -> Reply {
    match engine.flush() {
        Ok(n) => {
            if n > 0 {
                // Compaction follows, as after a flush of its own.
                engine.kick();
            }
            Reply::json(200, &serde_json::json!({ "tables_written": n }))
        }
        Err(e) => super::write::engine_reply(&e),
    }
}
