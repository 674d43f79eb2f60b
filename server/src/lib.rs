//! The PulsarDB gateway server's parts, as a library: the `pulsardb` binary
//! (`src/main.rs`) runs them, and the fuzz targets (`fuzz/`) drive the
//! request parsers (JSON write bodies, InfluxQL) directly. Not a stable API.

pub mod config;
pub mod engine;
pub mod http;
pub mod influxql;
pub mod log;
pub mod maintenance;
pub mod metrics;
pub mod storage;
pub mod sys;
pub mod time;
pub mod tz;
