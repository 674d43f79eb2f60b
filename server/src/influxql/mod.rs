//! InfluxQL on `/query`.

pub mod http;
