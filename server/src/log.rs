//! Logging: one line per event on stderr, `2026-11-25T19:30:00.123Z INFO message`.
//!
//! Level from `--log-level` or `RUST_LOG` (`error`, `warn`, `info`, `debug`;
//! for `RUST_LOG` the last level named wins, so `pulsardb=debug` works).

use std::sync::atomic::{AtomicU8, Ordering};

/// Severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Failures.
    Error = 1,
    /// Degradations.
    Warn = 2,
    /// Start, stop, flushes.
    Info = 3,
    /// Everything else.
    Debug = 4,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

impl Level {
    /// Parses `error`, `warn`, `info`, `debug` (also `trace` as debug).
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "error" => Level::Error,
            "warn" | "warning" => Level::Warn,
            "info" => Level::Info,
            "debug" | "trace" => Level::Debug,
            _ => return None,
        })
    }

    /// Reads a level out of a `RUST_LOG`-style value.
    pub fn from_rust_log(v: &str) -> Option<Level> {
        v.split(',')
            .filter_map(|part| Level::parse(part.rsplit('=').next().unwrap_or(part)))
            .next_back()
    }

    fn name(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
        }
    }
}

/// Sets the level.
pub fn set_level(l: Level) {
    LEVEL.store(l as u8, Ordering::Relaxed);
}

/// Whether `l` is logged.
pub fn enabled(l: Level) -> bool {
    l as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Writes one line.
pub fn write(l: Level, msg: std::fmt::Arguments<'_>) {
    if enabled(l) {
        let ts = crate::time::rfc3339_ms(crate::time::now_ns());
        eprintln!("{ts} {} {msg}", l.name());
    }
}

/// `error!(...)`.
#[macro_export]
macro_rules! error {
    ($($t:tt)*) => { $crate::log::write($crate::log::Level::Error, format_args!($($t)*)) };
}
/// `warn!(...)`.
#[macro_export]
macro_rules! warn {
    ($($t:tt)*) => { $crate::log::write($crate::log::Level::Warn, format_args!($($t)*)) };
}
/// `info!(...)`.
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => { $crate::log::write($crate::log::Level::Info, format_args!($($t)*)) };
}
/// `debug!(...)`.
#[macro_export]
macro_rules! debug {
    ($($t:tt)*) => { $crate::log::write($crate::log::Level::Debug, format_args!($($t)*)) };
}
