//! `pulsardb`: the PulsarDB gateway server.
//!
//! ```text
//! pulsardb [--config FILE] [--data-dir DIR] [--http-addr ADDR:PORT] [--log-level LEVEL]
//! ```
//!
//! Starts with defaults when given nothing (data in `./data`, HTTP on
//! 0.0.0.0:8080). SIGINT/SIGTERM: stop accepting, finish in-flight requests,
//! flush, sync, exit 0; a second signal exits at once.
//!
//! The server's modules are in the library (`src/lib.rs`) so the fuzz
//! targets can drive its parsers; no unsafe code but the two allocator
//! calls in `sys`.

#![deny(unsafe_code)]

use pulsardb_server::{config, engine, http, log, maintenance, sys};

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use config::Config;

const USAGE: &str = "\
pulsardb — a time-series database for the edge (InfluxDB 1.x compatible HTTP API)

USAGE:
    pulsardb [OPTIONS]

OPTIONS:
    --config FILE          JSON configuration file (see README for the keys)
    --data-dir DIR         directory holding the store (default ./data)
    --http-addr ADDR:PORT  address to listen on (default 0.0.0.0:8080)
    --log-level LEVEL      error, warn, info or debug (default info; or RUST_LOG)
    -h, --help             print this help
    -V, --version          print the version

ENDPOINTS:
    POST /write, /api/v2/write   line protocol (InfluxDB 1.x / 2.x) or JSON
    GET|POST /query              InfluxQL (q=) or a JSON query
    GET /ping, /health, /metrics
";

struct Cli {
    config: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    http_addr: Option<String>,
    log_level: Option<log::Level>,
}

fn parse_cli() -> Result<Option<Cli>, String> {
    let mut cli = Cli {
        config: None,
        data_dir: None,
        http_addr: None,
        log_level: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("pulsardb {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            "--config" | "-c" => cli.config = Some(PathBuf::from(value("--config")?)),
            "--data-dir" => cli.data_dir = Some(PathBuf::from(value("--data-dir")?)),
            "--http-addr" => cli.http_addr = Some(value("--http-addr")?),
            "--log-level" => {
                let v = value("--log-level")?;
                cli.log_level = Some(log::Level::parse(&v).ok_or(format!(
                    "--log-level: \"{v}\" is not error, warn, info or debug"
                ))?);
            }
            other => return Err(format!("unknown argument \"{other}\"; see --help")),
        }
    }
    Ok(Some(cli))
}

fn configure(cli: &Cli) -> Result<Config, String> {
    let mut cfg = match &cli.config {
        Some(p) => Config::from_file(p).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    if let Some(d) = &cli.data_dir {
        cfg.data_dir = d.clone();
    }
    if let Some(a) = &cli.http_addr {
        let (host, port) = a
            .rsplit_once(':')
            .ok_or(format!("--http-addr: \"{a}\" is not ADDR:PORT"))?;
        cfg.port = port
            .parse()
            .map_err(|_| format!("--http-addr: \"{port}\" is not a port number"))?;
        cfg.address = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if cfg.address.is_empty() {
            cfg.address = "0.0.0.0".into();
        }
    }
    let level = cli
        .log_level
        .or_else(|| {
            std::env::var("RUST_LOG")
                .ok()
                .and_then(|v| log::Level::from_rust_log(&v))
        })
        .unwrap_or(cfg.log_level);
    cfg.log_level = level;
    Ok(cfg)
}

fn run() -> Result<(), String> {
    let Some(cli) = parse_cli()? else {
        return Ok(());
    };
    let cfg = configure(&cli)?;
    log::set_level(cfg.log_level);
    if !cfg.compression_enabled {
        pulsardb_server::info!(
            "compression_enabled = false is accepted for compatibility; data is always compressed"
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal while stopping exits at once.
        signal_hook::flag::register_conditional_shutdown(sig, 130, stop.clone())
            .map_err(|e| format!("cannot handle signals: {e}"))?;
        signal_hook::flag::register(sig, stop.clone())
            .map_err(|e| format!("cannot handle signals: {e}"))?;
    }
    let engine = engine::Engine::open(&cfg)?;
    let maint = maintenance::Maintenance::start(engine.clone())?;
    let http = http::Http::start(engine.clone())?;
    pulsardb_server::info!(
        "pulsardb {} listening on {} (data {}, sync {:?}, memory {} MiB, disk {} MiB)",
        env!("CARGO_PKG_VERSION"),
        cfg.bind_addr(),
        cfg.data_dir.display(),
        cfg.sync,
        cfg.max_memory_mb,
        cfg.max_disk_mb
    );
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    pulsardb_server::info!("stopping: finishing requests in flight");
    http.stop();
    maint.stop();
    match engine.shutdown() {
        Ok(()) => pulsardb_server::info!("stopped cleanly: memtable flushed, store synced"),
        Err(e) => pulsardb_server::error!("stopped with an error: {e}"),
    }
    Ok(())
}

fn main() {
    sys::tune_allocator();
    if let Err(e) = run() {
        pulsardb_server::error!("{e}");
        std::process::exit(1);
    }
}
