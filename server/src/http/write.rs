//! `POST /write` (InfluxDB 1.x) and `POST /api/v2/write` (2.x).
//!
//! Line protocol (any content type but JSON): every good line is written;
//! bad lines are reported, InfluxDB style, as a 400
//! `{"error": "partial write: line 3: ...; line 9: ... dropped=2"}`.
//! JSON (`Content-Type: application/json`): one point, an array of points, or
//! `{"points": [...]}`; a point is `{"metric", "value", "fields", "timestamp"
//! (ms or RFC 3339), "tags"}`, written to `db` or the default database.
//! 204 once the write is durable (`sync: "always"`) or logged (`"interval"`).

use std::sync::atomic::Ordering;

use pulsardb_core::db::PointError;
use pulsardb_core::lineproto::{Escaped, FieldValue, Line, Lines, Precision};
use pulsardb_core::{Value, WriteBatch, WriteOutcome};
use serde_json::Value as Json;

use super::{Reply, Req};
use crate::config::StringFields;
use crate::engine::{Engine, EngineError};

/// Errors listed in a partial-write message before "and N more".
const MAX_LISTED: usize = 10;

pub fn engine_reply(e: &EngineError) -> Reply {
    match e {
        EngineError::Unavailable(m) => {
            Reply::error(503, m.clone()).with_header("Retry-After", "10")
        }
        EngineError::Full(m) => Reply::error(507, m.clone()),
        EngineError::Busy(m) => Reply::error(503, m.clone()).with_header("Retry-After", "1"),
        EngineError::NotFound(m) => Reply::error(404, m.clone()),
        EngineError::Bad(m) => Reply::error(400, m.clone()),
        EngineError::Internal(m) => Reply::error(500, m.clone()),
    }
}

fn unescaped<'a>(e: &Escaped<'a>, s: &'a mut Vec<u8>) -> &'a [u8] {
    if e.has_escapes() {
        s.clear();
        e.unescape_into(s);
        s
    } else {
        e.raw()
    }
}

/// Adds one parsed line to the batch.
fn add_line(b: &mut WriteBatch, line: &Line<'_>, default_ts: i64, s: &mut (Vec<u8>, Vec<u8>)) {
    b.begin(unescaped(&line.measurement, &mut s.0));
    for (k, v) in &line.tags {
        b.tag(unescaped(k, &mut s.0), unescaped(v, &mut s.1));
    }
    for (k, v) in &line.fields {
        let k = unescaped(k, &mut s.0);
        match v {
            FieldValue::Float(f) => b.field(k, Value::Float(*f)),
            FieldValue::Int(i) => b.field(k, Value::Integer(*i)),
            FieldValue::UInt(u) => b.field(k, Value::Unsigned(*u)),
            FieldValue::Bool(x) => b.field(k, Value::Boolean(*x)),
            FieldValue::Str(_) => b.string_field(k),
        }
    }
    b.end(line.timestamp_ns.unwrap_or(default_ts));
}

/// Writes line protocol; returns the reply.
/// A line-protocol body parsed into a batch: the points of the lines that
/// parsed, the line number of each, and the lines refused with why
/// (line, column, what). Pure, so the fuzz targets drive it.
#[derive(Debug, Default)]
pub struct LinePoints {
    /// Points of the lines that parsed.
    pub batch: WriteBatch,
    /// Line number of each point in `batch`.
    pub line_of: Vec<usize>,
    /// Refused lines: line number and message.
    pub errors: Vec<(usize, String)>,
}

/// Parses a line-protocol body (see [`LinePoints`]); points without a
/// timestamp get `now_ns` truncated to the precision; the engine refuses
/// string fields or leaves them out, as `strings` says.
pub fn parse_lines(
    body: &[u8],
    precision: Precision,
    limits: pulsardb_core::lineproto::Limits,
    now_ns: i64,
    strings: StringFields,
) -> LinePoints {
    let default_ts = precision.truncate_ns(now_ns);
    let mut out = LinePoints::default();
    out.batch.set_string_fields(strings);
    let mut lines = Lines::new(body, precision).with_limits(limits);
    let mut line = Line::new();
    let mut scratch = (Vec::new(), Vec::new());
    while let Some(r) = lines.next_into(&mut line) {
        match r {
            Ok(()) => {
                if out.line_of.is_empty() {
                    // Room for the lines to come, shaped like this first
                    // one; the tags and fields no more than an eighth of the
                    // body's bytes (a first line of many fields followed by
                    // empty lines reserves little).
                    let rest = body.get(lines.position()..).unwrap_or_default();
                    let n = rest.iter().filter(|&&c| c == b'\n').count() + 1;
                    let cap = rest.len() / 8;
                    out.batch.reserve(
                        n,
                        n.saturating_mul(line.tags.len()).min(cap),
                        n.saturating_mul(line.fields.len()).min(cap),
                        rest.len() / 4,
                    );
                    out.line_of.reserve(n);
                }
                add_line(&mut out.batch, &line, default_ts, &mut scratch);
                out.line_of.push(line.line_no);
            }
            Err(e) => out.errors.push((
                e.line,
                format!("{}, column {}: {}", e.line, e.column, e.kind),
            )),
        }
    }
    out
}

fn write_lines(engine: &Engine, db: &str, body: &[u8], precision: Precision) -> Reply {
    let cfg = engine.config();
    let limits = pulsardb_core::lineproto::Limits {
        max_line_bytes: cfg.max_line_bytes,
        max_tags: cfg.limits.max_tags_per_point,
        max_fields: cfg.limits.max_fields_per_point,
    };
    let LinePoints {
        batch,
        line_of,
        errors,
    } = parse_lines(
        body,
        precision,
        limits,
        crate::time::now_ns(),
        cfg.string_fields,
    );
    finish(
        engine,
        db,
        &batch,
        errors,
        |i| line_of.get(i).copied().unwrap_or(0),
        "line",
    )
}

/// Writes what parsed (if anything) and turns the outcome plus the parse
/// errors into the reply and metrics.
fn finish(
    engine: &Engine,
    db: &str,
    batch: &WriteBatch,
    mut errors: Vec<(usize, String)>,
    position_of: impl Fn(usize) -> usize,
    unit: &str,
) -> Reply {
    let m = &engine.metrics;
    let out = if batch.is_empty() {
        Ok(WriteOutcome::default())
    } else {
        engine.write(db, batch)
    };
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            m.writes_failed.fetch_add(1, Ordering::Relaxed);
            return engine_reply(&e);
        }
    };
    // Points older than the retention are reported together, as InfluxDB
    // does ("points beyond retention policy"), the others one by one.
    let mut beyond_retention = 0;
    for (i, e) in &out.rejected {
        if matches!(e, PointError::BeyondRetention) {
            beyond_retention += 1;
            continue;
        }
        let at = position_of(*i);
        let hint = match e {
            PointError::StringField { .. } => {
                "; to leave string fields out instead, set string_fields to \"drop\""
            }
            _ => "",
        };
        errors.push((at, format!("{at}: {e}{hint}")));
    }
    m.points_written.fetch_add(out.points, Ordering::Relaxed);
    m.strings_dropped
        .fetch_add(out.strings_dropped, Ordering::Relaxed);
    m.points_rejected
        .fetch_add(errors.len() as u64 + beyond_retention, Ordering::Relaxed);
    if errors.is_empty() && beyond_retention == 0 {
        m.writes_ok.fetch_add(1, Ordering::Relaxed);
        return Reply::no_content();
    }
    errors.sort_by_key(|e| e.0);
    let dropped = errors.len() + beyond_retention as usize;
    let mut msg = String::from("partial write: ");
    for (k, (_, e)) in errors.iter().take(MAX_LISTED).enumerate() {
        if k > 0 {
            msg.push_str("; ");
        }
        msg.push_str(unit);
        msg.push(' ');
        msg.push_str(e);
    }
    if errors.len() > MAX_LISTED {
        msg.push_str(&format!("; and {} more", errors.len() - MAX_LISTED));
    }
    if beyond_retention > 0 {
        if !errors.is_empty() {
            msg.push_str("; ");
        }
        msg.push_str("points beyond retention policy");
    }
    msg.push_str(&format!(" dropped={dropped}"));
    if out.points > 0 {
        m.writes_partial.fetch_add(1, Ordering::Relaxed);
    } else {
        m.writes_failed.fetch_add(1, Ordering::Relaxed);
    }
    Reply::error(400, msg)
}

/// Resolves the database of a line-protocol write: 404 if unknown, unless
/// `auto_create_databases`.
fn database(engine: &Engine, db: Option<&str>) -> Result<String, Reply> {
    let Some(db) = db.filter(|d| !d.is_empty()) else {
        return Err(Reply::error(400, "database is required: add ?db=NAME"));
    };
    if !engine.has_database(db) {
        if !engine.config().auto_create_databases {
            return Err(Reply::error(
                404,
                format!(
                    "database not found: \"{db}\" (create it with CREATE DATABASE, or set auto_create_databases)"
                ),
            ));
        }
        engine.create_database(db).map_err(|e| engine_reply(&e))?;
    }
    Ok(db.to_string())
}

fn precision(p: Option<&str>) -> Result<Precision, Reply> {
    match p {
        None | Some("") => Ok(Precision::Nanoseconds),
        Some(p) => Precision::from_influx_param(p).ok_or_else(|| {
            Reply::error(
                400,
                format!("invalid precision \"{p}\": use n, ns, u, us, ms, s, m or h"),
            )
        }),
    }
}

/// `POST /write`.
pub fn v1(engine: &Engine, req: &mut Req<'_>) -> Reply {
    let max = engine.config().max_body_bytes;
    if req.content_type() == "application/json" {
        let db = req
            .param("db")
            .filter(|d| !d.is_empty())
            .unwrap_or(&engine.config().default_database)
            .to_string();
        let body = match req.body(max) {
            Ok(b) => b,
            Err(r) => return r,
        };
        engine
            .metrics
            .bytes_received
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        return write_json(engine, &db, &body);
    }
    let prec = match precision(req.param("precision")) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let db = match database(engine, req.param("db")) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let body = match req.body(max) {
        Ok(b) => b,
        Err(r) => return r,
    };
    engine
        .metrics
        .bytes_received
        .fetch_add(body.len() as u64, Ordering::Relaxed);
    write_lines(engine, &db, &body, prec)
}

/// `POST /api/v2/write?org=&bucket=&precision=`: the bucket names the
/// database (`db/rp` is accepted). Tokens are accepted and not checked.
pub fn v2(engine: &Engine, req: &mut Req<'_>) -> Reply {
    let prec = match precision(req.param("precision")) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let bucket = req
        .param("bucket")
        .map(|b| b.split('/').next().unwrap_or(b).to_string());
    let db = match database(engine, bucket.as_deref()) {
        Ok(d) => d,
        Err(r) => {
            return if r.status() == 400 {
                Reply::error(400, "bucket is required: add ?bucket=NAME")
            } else {
                r
            };
        }
    };
    let body = match req.body(engine.config().max_body_bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    engine
        .metrics
        .bytes_received
        .fetch_add(body.len() as u64, Ordering::Relaxed);
    write_lines(engine, &db, &body, prec)
}

/// A JSON point's timestamp: milliseconds, or an RFC 3339 string.
fn json_time(v: Option<&Json>, now: i64) -> Result<i64, String> {
    match v {
        None | Some(Json::Null) => Ok(now),
        Some(Json::Number(n)) => match n.as_i64() {
            Some(ms) => ms
                .checked_mul(1_000_000)
                .ok_or_else(|| format!("timestamp {ms} ms is out of range")),
            None => Err(format!(
                "timestamp {n} is not a whole number of milliseconds"
            )),
        },
        Some(Json::String(s)) => crate::time::parse_rfc3339(s)
            .ok_or_else(|| format!("timestamp \"{s}\" is not RFC 3339")),
        Some(other) => Err(format!(
            "timestamp must be milliseconds or an RFC 3339 string, got {other}"
        )),
    }
}

/// A JSON field's value; `None` for a string (the engine refuses it or
/// leaves it out).
fn json_value(v: &Json, name: &str) -> Result<Option<Value>, String> {
    match v {
        Json::Number(n) => n
            .as_f64()
            .map(|f| Some(Value::Float(f)))
            .ok_or_else(|| format!("field \"{name}\": {n} is not a number")),
        Json::Bool(b) => Ok(Some(Value::Boolean(*b))),
        Json::String(_) => Ok(None),
        other => Err(format!(
            "field \"{name}\" must be a number or a boolean, got {other}"
        )),
    }
}

/// Adds one JSON point to the batch.
fn add_json_point(b: &mut WriteBatch, p: &Json, now: i64) -> Result<(), String> {
    let Some(o) = p.as_object() else {
        return Err(format!("expected a point object, got {p}"));
    };
    let Some(metric) = o
        .get("metric")
        .or_else(|| o.get("measurement"))
        .and_then(Json::as_str)
    else {
        return Err("\"metric\" (a string) is required".into());
    };
    let ts = json_time(o.get("timestamp"), now)?;
    let mut fields: Vec<(String, Option<Value>)> = Vec::new();
    if let Some(v) = o.get("value") {
        fields.push(("value".into(), json_value(v, "value")?));
    }
    match o.get("fields") {
        None | Some(Json::Null) => {}
        Some(Json::Object(f)) => {
            for (k, v) in f {
                fields.push((k.clone(), json_value(v, k)?));
            }
        }
        Some(other) => return Err(format!("\"fields\" must be an object, got {other}")),
    }
    if fields.is_empty() {
        return Err("a point needs \"value\" or \"fields\"".into());
    }
    let mut tags: Vec<(&str, String)> = Vec::new();
    match o.get("tags") {
        None | Some(Json::Null) => {}
        Some(Json::Object(t)) => {
            for (k, v) in t {
                let v = match v {
                    Json::String(s) => s.clone(),
                    Json::Number(n) => n.to_string(),
                    Json::Bool(x) => x.to_string(),
                    other => return Err(format!("tag \"{k}\" must be a string, got {other}")),
                };
                tags.push((k, v));
            }
        }
        Some(other) => return Err(format!("\"tags\" must be an object, got {other}")),
    }
    for k in o.keys() {
        if !matches!(
            k.as_str(),
            "metric" | "measurement" | "value" | "fields" | "timestamp" | "tags"
        ) {
            return Err(format!(
                "unknown key \"{k}\" (expected metric, value, fields, timestamp, tags)"
            ));
        }
    }
    b.begin(metric.as_bytes());
    for (k, v) in &tags {
        b.tag(k.as_bytes(), v.as_bytes());
    }
    for (k, v) in &fields {
        match v {
            Some(v) => b.field(k.as_bytes(), *v),
            None => b.string_field(k.as_bytes()),
        }
    }
    b.end(ts);
    Ok(())
}

/// Writes a JSON body.
/// A JSON write body parsed into a batch: the points that parsed, the
/// index in the body of each (for error messages), and the points refused
/// with why. `Err` when the body is not JSON or not a point, an array of
/// points or `{"points": [...]}`. Pure, so the fuzz targets drive it.
#[derive(Debug, Default)]
pub struct JsonPoints {
    /// Points that parsed.
    pub batch: WriteBatch,
    /// Index in the body of each point in `batch`.
    pub index_of: Vec<usize>,
    /// Refused points: index and message.
    pub errors: Vec<(usize, String)>,
}

/// Parses a JSON write body (see [`JsonPoints`]); `now` stamps points
/// without a timestamp; the engine refuses string fields or leaves them
/// out, as `strings` says.
pub fn parse_json_points(
    body: &[u8],
    now: i64,
    strings: StringFields,
) -> Result<JsonPoints, String> {
    let doc: Json = serde_json::from_slice(body).map_err(|e| {
        format!(
            "invalid JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        )
    })?;
    let points: Vec<&Json> = match &doc {
        Json::Array(a) => a.iter().collect(),
        Json::Object(o) if o.contains_key("points") => match o.get("points") {
            Some(Json::Array(a)) => a.iter().collect(),
            _ => return Err("\"points\" must be an array".to_string()),
        },
        Json::Object(_) => vec![&doc],
        other => {
            return Err(format!(
                "expected a point, an array of points or {{\"points\": [...]}}, got {other}"
            ));
        }
    };
    let mut out = JsonPoints::default();
    out.batch.set_string_fields(strings);
    for (i, p) in points.iter().enumerate() {
        match add_json_point(&mut out.batch, p, now) {
            Ok(()) => out.index_of.push(i),
            Err(e) => {
                out.batch.abort();
                out.errors.push((i, format!("{i}: {e}")));
            }
        }
    }
    Ok(out)
}

fn write_json(engine: &Engine, db: &str, body: &[u8]) -> Reply {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Reply::no_content();
    }
    let parsed = match parse_json_points(body, crate::time::now_ns(), engine.config().string_fields)
    {
        Ok(p) => p,
        Err(e) => {
            engine.metrics.writes_failed.fetch_add(1, Ordering::Relaxed);
            return Reply::error(400, e);
        }
    };
    if !engine.has_database(db) {
        return Reply::error(404, format!("database not found: \"{db}\""));
    }
    let JsonPoints {
        batch,
        index_of,
        errors,
    } = parsed;
    finish(
        engine,
        db,
        &batch,
        errors,
        |i| index_of.get(i).copied().unwrap_or(0),
        "point",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulsardb_core::lineproto::Limits;

    const NOW: i64 = 1_700_000_000_000_000_000;

    fn fields(b: &WriteBatch) -> Vec<Vec<(String, Option<Value>)>> {
        b.points()
            .map(|p| {
                p.fields()
                    .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), v))
                    .collect()
            })
            .collect()
    }

    /// Both settings parse alike: string fields stay in the batch for the
    /// engine to refuse or leave out, and the batch carries the setting.
    #[test]
    fn string_fields_reach_the_engine_with_the_setting() {
        let body = b"m a=1,s=\"x\" 1\nm s=\"only strings\" 2\nm a= 3\nm t=\"y\",b=2i 4\n";
        for strings in [StringFields::Reject, StringFields::Drop] {
            let r = parse_lines(body, Precision::Seconds, Limits::DEFAULT, NOW, strings);
            assert_eq!(r.batch.string_fields(), strings);
            assert_eq!(r.line_of, [1, 2, 4]);
            let bad: Vec<usize> = r.errors.iter().map(|e| e.0).collect();
            assert_eq!(bad, [3]);
            assert_eq!(
                fields(&r.batch),
                [
                    vec![
                        ("a".to_string(), Some(Value::Float(1.0))),
                        ("s".to_string(), None)
                    ],
                    vec![("s".to_string(), None)],
                    vec![
                        ("t".to_string(), None),
                        ("b".to_string(), Some(Value::Integer(2)))
                    ],
                ]
            );
        }

        let body = br#"[{"metric":"m","value":1,"fields":{"s":"x"}},
                        {"metric":"m","value":"only a string"},
                        {"metric":"m"}]"#;
        for strings in [StringFields::Reject, StringFields::Drop] {
            let r = parse_json_points(body, NOW, strings).unwrap();
            assert_eq!(r.batch.string_fields(), strings);
            assert_eq!(r.index_of, [0, 1]);
            let bad: Vec<usize> = r.errors.iter().map(|e| e.0).collect();
            assert_eq!(bad, [2], "a point with no field at all");
            assert_eq!(
                fields(&r.batch),
                [
                    vec![
                        ("value".to_string(), Some(Value::Float(1.0))),
                        ("s".to_string(), None)
                    ],
                    vec![("value".to_string(), None)],
                ]
            );
        }
    }
}
