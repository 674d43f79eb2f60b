//! InfluxQL over HTTP.

use crate::engine::Engine;
use crate::http::{Reply, Req};

/// Runs the statements in `q`.
pub fn run(_engine: &Engine, _req: &Req<'_>, _params: &[(String, String)], _q: &str) -> Reply {
    Reply::error(
        400,
        "InfluxQL (q=) is not supported yet; send a JSON query with Content-Type: application/json",
    )
}
