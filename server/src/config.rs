//! Configuration: a JSON file, then command-line overrides, validated at
//! start with errors naming the key.
//!
//! ```json
//! {
//!   "http": { "address": "0.0.0.0", "port": 8080, "workers": 4,
//!             "max_body_mb": 25, "idle_timeout_seconds": 60,
//!             "max_connections": 256, "max_header_bytes": 16384,
//!             "max_headers": 64, "head_timeout_seconds": 10,
//!             "body_timeout_seconds": 60 },
//!   "storage": { "data_dir": "./data", "max_disk_mb": 1024,
//!                "sync": "always", "sync_interval_ms": 1000,
//!                "on_full": "drop_oldest", "write_wait_ms": 5000,
//!                "maintenance_interval_seconds": 60 },
//!   "max_memory_mb": 64,
//!   "flush_interval_seconds": 600,
//!   "retention_days": 0,
//!   "compression_enabled": true,
//!   "default_database": "pulsardb",
//!   "auto_create_databases": false,
//!   "string_fields": "reject",
//!   "limits": { "max_series": 1000000, "max_tags_per_point": 64,
//!               "max_fields_per_point": 256, "max_name_len": 256,
//!               "max_tag_value_len": 1024, "max_query_points": 1048576,
//!               "max_line_bytes": 65536 },
//!   "log_level": "info"
//! }
//! ```
//!
//! `max_memory_mb`, `flush_interval_seconds`, `retention_days` and
//! `compression_enabled` are also accepted inside `storage`. Every key is
//! optional; unknown keys are errors (a typo must not be silently ignored).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::log::Level;

/// When a write is acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// After its WAL records are on stable storage (group commit).
    Always,
    /// After its WAL records are written; a timer syncs every
    /// `sync_interval_ms`. A power cut may lose that much acknowledged data.
    Interval,
}

/// What a write does with string field values (`"string_fields"`): refuse
/// the point (400 naming the field) or leave them out and write the rest,
/// counted in `pulsardb_points_total{outcome="dropped_string"}`; for clients
/// that attach text to their numbers, such as Home Assistant's attributes.
pub use pulsardb_core::StringFields;

/// The server's configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// HTTP bind address.
    pub address: String,
    /// HTTP port.
    pub port: u16,
    /// Requests running handlers at once (others wait their turn; each
    /// connection has its own thread).
    pub workers: usize,
    /// Largest request body accepted (after gzip decoding too), bytes.
    pub max_body_bytes: u64,
    /// A connection idle this long is closed.
    pub idle_timeout_seconds: u64,
    /// Most client connections at once.
    pub max_connections: usize,
    /// Largest request head (request line and headers), bytes.
    pub max_header_bytes: usize,
    /// Most header lines in a request.
    pub max_headers: usize,
    /// Time to send a request head once started.
    pub head_timeout_seconds: u64,
    /// Time to send a request body.
    pub body_timeout_seconds: u64,
    /// Longest line-protocol line, bytes.
    pub max_line_bytes: usize,
    /// Directory holding the store.
    pub data_dir: PathBuf,
    /// Memory budget for memtables, caches and catalog, MiB.
    pub max_memory_mb: u64,
    /// Size the store's file may grow to, MiB.
    pub max_disk_mb: u64,
    /// Flush the memtable at least this often.
    pub flush_interval_seconds: u64,
    /// Keep data this many days; 0 = forever.
    pub retention_days: u64,
    /// What to do when the store nears `max_disk_mb`.
    pub on_full: pulsardb_core::db::OnFull,
    /// A write waits this long for memory (memtables being flushed) before
    /// it is answered 503 with `Retry-After`.
    pub write_wait_ms: u64,
    /// Retention, capacity and compaction run at least this often.
    pub maintenance_interval_seconds: u64,
    /// Accepted for compatibility: data is always compressed.
    pub compression_enabled: bool,
    /// When writes are acknowledged.
    pub sync: SyncMode,
    /// Sync period in `interval` mode.
    pub sync_interval_ms: u64,
    /// Database for JSON writes and queries that name none.
    pub default_database: String,
    /// Create unknown databases on line-protocol writes instead of answering 404.
    pub auto_create_databases: bool,
    /// String field values: refused (the default) or left out.
    pub string_fields: StringFields,
    /// Catalog and request limits.
    pub limits: pulsardb_core::catalog::Limits,
    /// Most points a query may return.
    pub max_query_points: u64,
    /// Log level.
    pub log_level: Level,
    /// Authentication (off by default).
    pub auth: crate::http::auth::AuthConfig,
}

impl Default for Config {
    fn default() -> Self {
        let mut c = Self {
            address: "0.0.0.0".into(),
            port: 8080,
            workers: 4,
            max_body_bytes: 25 << 20,
            idle_timeout_seconds: 60,
            max_connections: 256,
            max_header_bytes: 16 << 10,
            max_headers: 64,
            head_timeout_seconds: 10,
            body_timeout_seconds: 60,
            max_line_bytes: 64 << 10,
            data_dir: PathBuf::from("./data"),
            max_memory_mb: 64,
            max_disk_mb: 1024,
            flush_interval_seconds: 600,
            retention_days: 0,
            on_full: pulsardb_core::db::OnFull::DropOldest,
            write_wait_ms: 5000,
            maintenance_interval_seconds: 60,
            compression_enabled: true,
            sync: SyncMode::Always,
            sync_interval_ms: 1000,
            default_database: "pulsardb".into(),
            auto_create_databases: false,
            string_fields: StringFields::Reject,
            limits: pulsardb_core::catalog::Limits::default(),
            max_query_points: 0,
            log_level: Level::Info,
            auth: crate::http::auth::AuthConfig::default(),
        };
        c.apply_memory_budget(false);
        c
    }
}

/// A configuration error: which key, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(key: &str, what: impl std::fmt::Display) -> Result<T, ConfigError> {
    Err(ConfigError(format!("config key \"{key}\": {what}")))
}

struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
    seen: Vec<&'a str>,
}

impl<'a> Obj<'a> {
    fn new(v: &'a Value, path: &str) -> Result<Self, ConfigError> {
        match v.as_object() {
            Some(map) => Ok(Self {
                map,
                path: path.to_string(),
                seen: Vec::new(),
            }),
            None => err(
                if path.is_empty() { "(top level)" } else { path },
                "expected a JSON object",
            ),
        }
    }

    fn key(&self, k: &str) -> String {
        if self.path.is_empty() {
            k.to_string()
        } else {
            format!("{}.{k}", self.path)
        }
    }

    fn get(&mut self, k: &'a str) -> Option<&'a Value> {
        self.seen.push(k);
        self.map.get(k)
    }

    fn u64(&mut self, k: &'a str, min: u64, max: u64) -> Result<Option<u64>, ConfigError> {
        let key = self.key(k);
        match self.get(k) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
                Some(n) => err(&key, format!("{n} is out of range {min}..={max}")),
                None => err(&key, format!("expected a whole number, got {v}")),
            },
        }
    }

    fn bool(&mut self, k: &'a str) -> Result<Option<bool>, ConfigError> {
        let key = self.key(k);
        match self.get(k) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => err(&key, format!("expected true or false, got {v}")),
        }
    }

    fn str(&mut self, k: &'a str) -> Result<Option<&'a str>, ConfigError> {
        let key = self.key(k);
        match self.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => err(&key, format!("expected a string, got {v}")),
        }
    }

    /// A string naming one of `choices`; an error listing them otherwise.
    fn choice<T: Copy>(
        &mut self,
        k: &'a str,
        choices: &[(&str, T)],
    ) -> Result<Option<T>, ConfigError> {
        let key = self.key(k);
        let Some(m) = self.str(k)? else {
            return Ok(None);
        };
        match choices.iter().find(|c| c.0 == m) {
            Some(&(_, v)) => Ok(Some(v)),
            None => {
                let names: Vec<String> = choices.iter().map(|c| format!("\"{}\"", c.0)).collect();
                err(&key, format!("\"{m}\" is not {}", names.join(" or ")))
            }
        }
    }

    fn obj(&mut self, k: &'a str) -> Result<Option<Obj<'a>>, ConfigError> {
        let key = self.key(k);
        match self.get(k) {
            None => Ok(None),
            Some(v) => Obj::new(v, &key).map(Some),
        }
    }

    /// Errors on keys nobody asked for.
    fn finish(self) -> Result<(), ConfigError> {
        for k in self.map.keys() {
            if !self.seen.contains(&k.as_str()) {
                return err(&self.key(k), "unknown key (check its spelling and section)");
            }
        }
        Ok(())
    }
}

/// The `auth` section.
fn auth_config(a: &mut Obj<'_>) -> Result<crate::http::auth::AuthConfig, ConfigError> {
    use crate::http::auth::{AuthConfig, Scope, Token};
    let mut out = AuthConfig {
        enabled: a.bool("enabled")?.unwrap_or(false),
        ..AuthConfig::default()
    };
    if let Some(t) = a.choice("metrics", &[("open", false), ("token", true)])? {
        out.metrics_need_token = t;
    }
    match a.get("tokens") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let key = format!("auth.tokens[{i}]");
                let mut o = Obj::new(item, &key)?;
                let name = o.str("name")?.unwrap_or("").to_string();
                let Some(secret) = o.str("token")? else {
                    return err(&format!("{key}.token"), "missing");
                };
                if secret.len() < 16 || secret.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return err(
                        &format!("{key}.token"),
                        "must be at least 16 characters, without spaces",
                    );
                }
                let scope = match o.str("scope")? {
                    None => Scope::ReadWrite,
                    Some(s) => Scope::parse(s).ok_or_else(|| {
                        ConfigError(format!(
                            "config key \"{key}.scope\": \"{s}\" is not \"read\", \"write\" or \"read-write\""
                        ))
                    })?,
                };
                o.finish()?;
                if out.tokens.iter().any(|t| t.secret == secret) {
                    return err(&format!("{key}.token"), "the same token is listed twice");
                }
                out.tokens.push(Token {
                    name,
                    secret: secret.to_string(),
                    scope,
                });
            }
        }
        Some(v) => return err("auth.tokens", format!("expected a list of tokens, got {v}")),
    }
    if out.enabled && out.tokens.is_empty() {
        return err(
            "auth.enabled",
            "authentication is on but auth.tokens lists no token",
        );
    }
    Ok(out)
}

impl Config {
    /// Reads a config file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
        Self::from_json(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))
    }

    /// Parses the JSON text of a config.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| ConfigError(format!("not valid JSON: {e}")))?;
        let mut c = Config::default();
        let mut query_points_set = false;
        let mut top = Obj::new(&v, "")?;
        if let Some(mut h) = top.obj("http")? {
            if let Some(a) = h.str("address")? {
                if a.trim().is_empty() {
                    return err("http.address", "must not be empty");
                }
                c.address = a.to_string();
            }
            if let Some(p) = h.u64("port", 0, 65535)? {
                c.port = p as u16;
            }
            if let Some(w) = h.u64("workers", 1, 256)? {
                c.workers = w as usize;
            }
            if let Some(m) = h.u64("max_body_mb", 1, 1024)? {
                c.max_body_bytes = m << 20;
            }
            if let Some(t) = h.u64("idle_timeout_seconds", 1, 3600)? {
                c.idle_timeout_seconds = t;
            }
            if let Some(n) = h.u64("max_connections", 1, 100_000)? {
                c.max_connections = n as usize;
            }
            if let Some(n) = h.u64("max_header_bytes", 1024, 1 << 20)? {
                c.max_header_bytes = n as usize;
            }
            if let Some(n) = h.u64("max_headers", 8, 1000)? {
                c.max_headers = n as usize;
            }
            if let Some(t) = h.u64("head_timeout_seconds", 1, 3600)? {
                c.head_timeout_seconds = t;
            }
            if let Some(t) = h.u64("body_timeout_seconds", 1, 86_400)? {
                c.body_timeout_seconds = t;
            }
            h.finish()?;
        }
        // Keys accepted both at the top level and under "storage".
        let shared = |o: &mut Obj<'_>, c: &mut Config| -> Result<(), ConfigError> {
            if let Some(m) = o.u64("max_memory_mb", 8, 1 << 20)? {
                c.max_memory_mb = m;
            }
            if let Some(s) = o.u64("flush_interval_seconds", 1, 86_400)? {
                c.flush_interval_seconds = s;
            }
            if let Some(d) = o.u64("retention_days", 0, 36_500)? {
                c.retention_days = d;
            }
            if let Some(b) = o.bool("compression_enabled")? {
                c.compression_enabled = b;
            }
            Ok(())
        };
        shared(&mut top, &mut c)?;
        if let Some(mut s) = top.obj("storage")? {
            if let Some(d) = s.str("data_dir")? {
                if d.is_empty() {
                    return err("storage.data_dir", "must not be empty");
                }
                c.data_dir = PathBuf::from(d);
            }
            if let Some(m) = s.u64("max_disk_mb", 16, 1 << 24)? {
                c.max_disk_mb = m;
            }
            if let Some(m) = s.choice(
                "sync",
                &[
                    ("always", SyncMode::Always),
                    ("interval", SyncMode::Interval),
                ],
            )? {
                c.sync = m;
            }
            if let Some(i) = s.u64("sync_interval_ms", 1, 600_000)? {
                c.sync_interval_ms = i;
            }
            use pulsardb_core::db::OnFull;
            if let Some(m) = s.choice(
                "on_full",
                &[
                    ("drop_oldest", OnFull::DropOldest),
                    ("reject", OnFull::Reject),
                ],
            )? {
                c.on_full = m;
            }
            if let Some(i) = s.u64("write_wait_ms", 0, 600_000)? {
                c.write_wait_ms = i;
            }
            if let Some(i) = s.u64("maintenance_interval_seconds", 1, 86_400)? {
                c.maintenance_interval_seconds = i;
            }
            shared(&mut s, &mut c)?;
            s.finish()?;
        }
        if let Some(d) = top.str("default_database")? {
            if d.is_empty() || d.len() > 256 {
                return err("default_database", "must be 1 to 256 bytes");
            }
            c.default_database = d.to_string();
        }
        if let Some(b) = top.bool("auto_create_databases")? {
            c.auto_create_databases = b;
        }
        if let Some(m) = top.choice(
            "string_fields",
            &[
                ("reject", StringFields::Reject),
                ("drop", StringFields::Drop),
            ],
        )? {
            c.string_fields = m;
        }
        if let Some(mut l) = top.obj("limits")? {
            let lim = &mut c.limits;
            if let Some(v) = l.u64("max_series", 1, 100_000_000)? {
                lim.max_series = v as usize;
            }
            if let Some(v) = l.u64("max_tags_per_point", 0, 1024)? {
                lim.max_tags_per_point = v as usize;
            }
            if let Some(v) = l.u64("max_fields_per_point", 1, 4096)? {
                lim.max_fields_per_point = v as usize;
            }
            if let Some(v) = l.u64("max_name_len", 1, 65_535)? {
                lim.max_name_len = v as usize;
            }
            if let Some(v) = l.u64("max_tag_value_len", 1, 65_535)? {
                lim.max_tag_value_len = v as usize;
            }
            if let Some(v) = l.u64("max_databases", 1, 65_535)? {
                lim.max_databases = v as usize;
            }
            if let Some(v) = l.u64("max_line_bytes", 64, 64 << 20)? {
                c.max_line_bytes = v as usize;
            }
            if let Some(v) = l.u64("max_query_points", 1, u64::MAX)? {
                c.max_query_points = v;
                query_points_set = true;
            }
            l.finish()?;
        }
        if let Some(mut a) = top.obj("auth")? {
            c.auth = auth_config(&mut a)?;
            a.finish()?;
        }
        if let Some(l) = top.str("log_level")? {
            c.log_level = match Level::parse(l) {
                Some(l) => l,
                None => {
                    return err(
                        "log_level",
                        format!("\"{l}\" is not error, warn, info or debug"),
                    );
                }
            };
        }
        top.finish()?;
        c.apply_memory_budget(query_points_set);
        Ok(c)
    }

    /// What `max_memory_mb` bounds besides the memtables: the catalog (new
    /// series refused beyond a quarter of it) and, unless set, the points a
    /// query may read (about 16 bytes each in a quarter of it).
    fn apply_memory_budget(&mut self, query_points_set: bool) {
        let budget = self.max_memory_mb << 20;
        self.limits.max_catalog_bytes = usize::try_from(budget / 4).unwrap_or(usize::MAX);
        if !query_points_set {
            self.max_query_points = (budget / 64).max(100_000);
        }
    }

    /// Memtable size that triggers a flush: a quarter of the memory budget,
    /// so the memtable being flushed, the one filling meanwhile and the
    /// catalog fit in it together.
    pub fn memtable_bytes(&self) -> usize {
        usize::try_from((self.max_memory_mb << 20) / 4).unwrap_or(usize::MAX)
    }

    /// `address:port` to bind.
    pub fn bind_addr(&self) -> String {
        if self.address.contains(':') && !self.address.starts_with('[') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_seed_schema() {
        let c = Config::from_json("{}").unwrap();
        assert_eq!(c.port, 8080);
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        let c = Config::from_json(
            r#"{"http":{"address":"127.0.0.1","port":9000},"storage":{"data_dir":"/tmp/x"},
                "max_memory_mb":32,"flush_interval_seconds":5,"retention_days":30,"compression_enabled":true}"#,
        )
        .unwrap();
        assert_eq!((c.port, c.max_memory_mb, c.retention_days), (9000, 32, 30));
        let c = Config::from_json(r#"{"storage":{"max_memory_mb":16,"sync":"interval"}}"#).unwrap();
        assert_eq!((c.max_memory_mb, c.sync), (16, SyncMode::Interval));
        assert_eq!(c.string_fields, StringFields::Reject);
        let c = Config::from_json(r#"{"string_fields":"drop"}"#).unwrap();
        assert_eq!(c.string_fields, StringFields::Drop);
    }

    #[test]
    fn errors_name_the_key() {
        for (json, key) in [
            (r#"{"http":{"port":"80"}}"#, "http.port"),
            (r#"{"http":{"port":70000}}"#, "http.port"),
            (r#"{"storage":{"sync":"sometimes"}}"#, "storage.sync"),
            (r#"{"storage":{"on_full":"panic"}}"#, "storage.on_full"),
            (r#"{"max_memory_mb":1}"#, "max_memory_mb"),
            (r#"{"storage":{"data_dri":"x"}}"#, "storage.data_dri"),
            (r#"{"limits":{"max_series":0}}"#, "limits.max_series"),
            (r#"{"log_level":"loud"}"#, "log_level"),
            (r#"{"string_fields":"keep"}"#, "string_fields"),
            (r#"{"auth":{"metrics":"x"}}"#, "auth.metrics"),
        ] {
            let e = Config::from_json(json).unwrap_err().0;
            assert!(e.contains(&format!("\"{key}\"")), "{json}: {e}");
        }
        assert!(
            Config::from_json("{")
                .unwrap_err()
                .0
                .contains("not valid JSON")
        );
        assert_eq!(
            Config::from_json(r#"{"string_fields":"keep"}"#)
                .unwrap_err()
                .0,
            r#"config key "string_fields": "keep" is not "reject" or "drop""#
        );
    }
}
