//! `GET|POST /query`: InfluxQL in `q=` (see `crate::influxql`), or
//! PulsarDB's JSON query in a POST body:
//!
//! ```json
//! {"db": "pulsardb", "metric": "cpu", "tags": {"host": "a"}, "field": "value",
//!  "start": "2024-01-01T00:00:00Z", "end": 1704070800000,
//!  "aggregate": "mean", "window": "1m", "group_by": ["host"], "limit": 100}
//! ```
//!
//! `start`/`end` are milliseconds or RFC 3339 (inclusive; default: all time);
//! `aggregate` is one of count, sum, mean, min, max, first, last, spread;
//! `window` a duration (`10s`, `1m`, `1h`); without it the aggregate covers
//! the whole range. The answer: `{"series": [{"metric", "tags", "field",
//! "aggregate"?, "points": [[ms, value], ...]}]}`.

use std::sync::atomic::Ordering;
use std::time::Instant;

use pulsardb_core::catalog::TagExpr;
use pulsardb_core::query::{Acc, SeriesData};
use pulsardb_core::{Aggregation, Query, Value};
use serde_json::{Map, Value as Json, json};

use super::auth::Access;

use super::write::engine_reply;
use super::{Reply, Req};
use crate::engine::Engine;

pub fn handle(engine: &Engine, req: &mut Req<'_>, access: Access) -> Reply {
    let t0 = Instant::now();
    let reply = dispatch(engine, req, access);
    let m = &engine.metrics;
    m.queries.fetch_add(1, Ordering::Relaxed);
    if reply.status() >= 400 {
        m.query_errors.fetch_add(1, Ordering::Relaxed);
    }
    m.query_latency.observe(t0.elapsed());
    reply
}

fn dispatch(engine: &Engine, req: &mut Req<'_>, access: Access) -> Reply {
    let max = engine.config().max_body_bytes;
    let ct = req.content_type();
    let mut params = req.params.clone();
    if req.method == super::Method::Post {
        let body = match req.body(max) {
            Ok(b) => b,
            Err(r) => return r,
        };
        // A JSON query is a JSON body without `q=` in the URL (InfluxDB
        // clients send `Content-Type: application/json` with an empty body
        // and the InfluxQL in the URL).
        let has_q = params.iter().any(|(k, _)| k == "q");
        if ct == "application/json" && !has_q && !body.iter().all(u8::is_ascii_whitespace) {
            if !access.can_read() {
                return Reply::error(403, "this token may not read (scope \"write\")");
            }
            return json_query(engine, &body);
        }
        if ct == "application/x-www-form-urlencoded" || (ct.is_empty() && !body.is_empty()) {
            params.extend(super::parse_query_string(&String::from_utf8_lossy(&body)));
        }
    }
    match params.iter().find(|(k, _)| k == "q") {
        Some((_, q)) => crate::influxql::http::run(engine, req, access, &params, q),
        None => Reply::error(
            400,
            "missing query: send InfluxQL in q= or a JSON query body with Content-Type: application/json",
        ),
    }
}

fn json_time(v: Option<&Json>, key: &str, default: i64) -> Result<i64, String> {
    match v {
        None | Some(Json::Null) => Ok(default),
        Some(Json::Number(n)) => n
            .as_i64()
            .and_then(|ms| ms.checked_mul(1_000_000))
            .ok_or_else(|| format!("\"{key}\": {n} is not a time in milliseconds")),
        Some(Json::String(s)) => crate::time::parse_rfc3339(s)
            .ok_or_else(|| format!("\"{key}\": \"{s}\" is not RFC 3339")),
        Some(other) => Err(format!(
            "\"{key}\" must be milliseconds or RFC 3339, got {other}"
        )),
    }
}

/// A value as JSON (floats as numbers; non-finite as null).
pub fn value_json(v: Value) -> Json {
    match v {
        Value::Float(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        Value::Integer(i) => json!(i),
        Value::Unsigned(u) => json!(u),
        Value::Boolean(b) => json!(b),
    }
}

/// The value an aggregate function takes from a window.
pub fn aggregate_value(name: &str, a: &Acc) -> Option<Value> {
    Some(match name {
        "count" => Value::Integer(a.count as i64),
        "sum" => a.sum_value(),
        "mean" => Value::Float(a.mean()),
        "min" => a.min,
        "max" => a.max,
        "first" => a.first.1,
        "last" => a.last.1,
        "spread" => match (a.min, a.max) {
            (Value::Float(x), Value::Float(y)) => Value::Float(y - x),
            (Value::Integer(x), Value::Integer(y)) => Value::Integer(y.wrapping_sub(x)),
            (Value::Unsigned(x), Value::Unsigned(y)) => Value::Unsigned(y.wrapping_sub(x)),
            _ => return None,
        },
        _ => return None,
    })
}

fn json_query(engine: &Engine, body: &[u8]) -> Reply {
    let doc: Json = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Reply::error(
                400,
                format!(
                    "invalid JSON at line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ),
            );
        }
    };
    let Some(o) = doc.as_object() else {
        return Reply::error(400, "a JSON query is an object: {\"metric\": ..., ...}");
    };
    match build(engine, o) {
        Ok((q, agg)) => match engine.query(&q) {
            Ok(r) => {
                let mut series = Vec::new();
                for s in r.series {
                    let tags: Map<String, Json> = s
                        .tags
                        .into_iter()
                        .map(|(k, v)| (k, Json::String(v)))
                        .collect();
                    let points: Vec<Json> = match s.data {
                        SeriesData::Raw(p) => p
                            .into_iter()
                            .map(|(t, v)| json!([t.div_euclid(1_000_000), value_json(v)]))
                            .collect(),
                        SeriesData::Windows(w) => w
                            .into_iter()
                            .filter_map(|(t, a)| {
                                aggregate_value(&agg, &a)
                                    .map(|v| json!([t.div_euclid(1_000_000), value_json(v)]))
                            })
                            .collect(),
                    };
                    let mut e = json!({ "metric": s.measurement, "tags": tags, "field": s.field, "points": points });
                    if !agg.is_empty()
                        && let Some(m) = e.as_object_mut()
                    {
                        m.insert("aggregate".into(), json!(agg));
                    }
                    series.push(e);
                }
                Reply::json(200, &json!({ "series": series }))
            }
            Err(e) => engine_reply(&e),
        },
        Err(msg) => Reply::error(400, msg),
    }
}

fn build(engine: &Engine, o: &Map<String, Json>) -> Result<(Query, String), String> {
    for k in o.keys() {
        if !matches!(
            k.as_str(),
            "db" | "metric"
                | "tags"
                | "field"
                | "start"
                | "end"
                | "aggregate"
                | "window"
                | "group_by"
                | "limit"
        ) {
            return Err(format!(
                "unknown key \"{k}\" (expected db, metric, tags, field, start, end, aggregate, window, group_by, limit)"
            ));
        }
    }
    let db = o
        .get("db")
        .and_then(Json::as_str)
        .unwrap_or(&engine.config().default_database)
        .to_string();
    let metric = o
        .get("metric")
        .and_then(Json::as_str)
        .ok_or("\"metric\" (a string) is required")?;
    let mut tags = TagExpr::True;
    match o.get("tags") {
        None | Some(Json::Null) => {}
        Some(Json::Object(t)) => {
            for (k, v) in t {
                let v = v
                    .as_str()
                    .ok_or_else(|| format!("tag \"{k}\" must be a string"))?;
                tags = TagExpr::and(tags, TagExpr::Eq(k.clone(), v.to_string()));
            }
        }
        Some(other) => return Err(format!("\"tags\" must be an object, got {other}")),
    }
    let field = match o.get("field") {
        None | Some(Json::Null) => None,
        Some(Json::String(f)) => Some(f.clone()),
        Some(other) => return Err(format!("\"field\" must be a string, got {other}")),
    };
    let start = json_time(o.get("start"), "start", i64::MIN)?;
    let end = json_time(o.get("end"), "end", i64::MAX)?;
    if start > end {
        return Err("\"start\" is after \"end\"".into());
    }
    let agg = match o.get("aggregate") {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(a)) => {
            let a = a.to_ascii_lowercase();
            if aggregate_value(&a, &Acc::point(0, Value::Float(0.0))).is_none() {
                return Err(format!(
                    "unknown aggregate \"{a}\" (use count, sum, mean, min, max, first, last, spread)"
                ));
            }
            a
        }
        Some(other) => return Err(format!("\"aggregate\" must be a string, got {other}")),
    };
    let window = match o.get("window") {
        None | Some(Json::Null) => None,
        Some(Json::String(w)) => Some(
            crate::time::parse_duration(w)
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("\"window\": \"{w}\" is not a duration like 10s, 1m, 1h"))?,
        ),
        Some(other) => return Err(format!("\"window\" must be a duration string, got {other}")),
    };
    let group_by: Vec<String> = match o.get("group_by") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or("\"group_by\" must list tag keys")
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                "\"group_by\" must be an array of tag keys, got {other}"
            ));
        }
    };
    if agg.is_empty() && (window.is_some() || !group_by.is_empty()) {
        return Err("\"window\" and \"group_by\" need an \"aggregate\"".into());
    }
    let limit = match o.get("limit") {
        None | Some(Json::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or("\"limit\" must be a positive whole number")? as usize,
        ),
    };
    let cap = engine.config().max_query_points as usize;
    let q = Query {
        db,
        measurement: metric.to_string(),
        tags,
        field,
        start_ns: start,
        end_ns: end,
        aggregation: (!agg.is_empty()).then_some(Aggregation {
            window_ns: window,
            offset_ns: 0,
            zone: None,
            group_by,
        }),
        limit: Some(limit.unwrap_or(cap).min(cap)),
    };
    Ok((q, agg))
}
