//! InfluxQL: parsing arbitrary text must not panic, and every statement
//! that parses is executed (read-only, as a GET: write statements are
//! refused) against a small store of cpu/mem points, and its JSON answer
//! rendered, without a panic.

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use pulsardb_core::lineproto::{Limits, Precision};
use pulsardb_server::config::Config;
use pulsardb_server::config::StringFields;
use pulsardb_server::engine::Engine;
use pulsardb_server::http::auth::Access;
use pulsardb_server::http::write::parse_lines;
use pulsardb_server::influxql::exec::{Ctx, execute};
use pulsardb_server::influxql::parser::parse;
use pulsardb_server::influxql::result::{Epoch, response_json};

const NOW: i64 = 1_700_000_000_000_000_000;

fn engine() -> &'static Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("pulsardb-fuzz-influxql-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cfg = Config {
            data_dir: dir,
            max_disk_mb: 64,
            ..Config::default()
        };
        let engine = Engine::open(&cfg).expect("open the store");
        let mut body = String::new();
        for i in 0..600i64 {
            let t = NOW - 3_600_000_000_000 + i * 6_000_000_000;
            for h in ["a", "b", "c"] {
                body.push_str(&format!(
                    "cpu,host={h},dc=x usage={},n={}i,up=true {t}\nmem,host={h} free={}u {t}\n",
                    (i % 97) as f64 / 4.0,
                    i % 13 - 6,
                    i * 7
                ));
            }
        }
        let p = parse_lines(
            body.as_bytes(),
            Precision::Nanoseconds,
            Limits::DEFAULT,
            NOW,
            StringFields::Reject,
        );
        assert!(p.errors.is_empty());
        engine.write("pulsardb", &p.batch).expect("seed points");
        engine
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(q) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(statements) = parse(q) else {
        return;
    };
    let ctx = Ctx {
        engine: engine(),
        db: Some("pulsardb".to_string()),
        now: NOW,
        post: false,
        access: Access::Open,
        zone: None,
    };
    let results: Vec<_> = statements
        .iter()
        .enumerate()
        .map(|(i, s)| execute(&ctx, i, s))
        .collect();
    for epoch in [Epoch::parse(None), Epoch::parse(Some("ms"))] {
        let body = response_json(&results, epoch.expect("epoch"));
        assert!(
            serde_json::from_str::<serde_json::Value>(&body).is_ok(),
            "invalid JSON answer: {body}"
        );
    }
});
