//! InfluxQL over HTTP: `q` (URL or form body), `db`, `epoch`, `pretty`,
//! `chunked`/`chunk_size`. A parse error is a 400; a statement that fails is
//! reported inside its result with HTTP 200, as InfluxDB does.

use super::exec::{Ctx, execute};
use super::result::{Epoch, StatementResult, response_json, result_json};
use crate::engine::Engine;
use crate::http::{Reply, Req};

/// Runs the statements in `q`.
pub fn run(
    engine: &Engine,
    req: &Req<'_>,
    access: crate::http::auth::Access,
    params: &[(String, String)],
    q: &str,
) -> Reply {
    let param = |k: &str| params.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
    let epoch = match Epoch::parse(param("epoch")) {
        Ok(e) => e,
        Err(m) => return Reply::error(400, m),
    };
    let statements = match super::parser::parse(q) {
        Ok(s) => s,
        Err(e) => return Reply::error(400, e.to_string()),
    };
    if statements.is_empty() {
        return Reply::error(400, "missing query: q= is empty");
    }
    let ctx = Ctx {
        engine,
        db: param("db").filter(|d| !d.is_empty()).map(str::to_string),
        now: crate::time::now_ns(),
        post: req.method == crate::http::Method::Post,
        access,
        zone: None,
    };
    let results: Vec<StatementResult> = statements
        .iter()
        .enumerate()
        .map(|(i, s)| execute(&ctx, i, s))
        .collect();
    let chunked = param("chunked").is_some_and(|v| v == "true");
    let body = if chunked {
        let size = param("chunk_size")
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(10_000);
        chunk(&results, size, epoch)
    } else {
        response_json(&results, epoch)
    };
    let body = if param("pretty").is_some_and(|v| v == "true") && !chunked {
        serde_json::from_str::<serde_json::Value>(&body)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or(body)
    } else {
        body
    };
    Reply::text(200, "application/json", body)
}

/// Chunked responses: one JSON object per line, each series cut into pieces
/// of at most `size` rows; `"partial": true` marks pieces that continue.
fn chunk(results: &[StatementResult], size: usize, epoch: Epoch) -> String {
    let mut out = String::new();
    for r in results {
        if r.series.is_empty() || r.error.is_some() {
            out.push_str("{\"results\":[");
            result_json(r, epoch, &mut out);
            out.push_str("]}\n");
            continue;
        }
        let n_series = r.series.len();
        for (si, s) in r.series.iter().enumerate() {
            let pieces: Vec<&[Vec<super::result::Cell>]> = if s.values.is_empty() {
                vec![&[][..]]
            } else {
                s.values.chunks(size).collect()
            };
            let n = pieces.len();
            for (pi, rows) in pieces.into_iter().enumerate() {
                let piece = StatementResult {
                    statement_id: r.statement_id,
                    series: vec![super::result::Series {
                        name: s.name.clone(),
                        tags: s.tags.clone(),
                        columns: s.columns.clone(),
                        values: rows.to_vec(),
                    }],
                    error: None,
                };
                let mut one = String::new();
                result_json(&piece, epoch, &mut one);
                // Mark continuation: series-level when this series goes on,
                // result-level when more of this statement follows.
                let more_series = pi + 1 < n;
                let more_result = more_series || si + 1 < n_series;
                if more_series && let Some(pos) = one.rfind("]}]") {
                    one.insert_str(pos + 1, ",\"partial\":true");
                }
                if more_result {
                    one.insert_str(one.len() - 1, ",\"partial\":true");
                }
                out.push_str("{\"results\":[");
                out.push_str(&one);
                out.push_str("]}\n");
            }
        }
    }
    out
}
