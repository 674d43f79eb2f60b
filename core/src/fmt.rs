//! The logging shim: every log line in the core goes through these macros.
//!
//! With the `defmt` feature they forward to `defmt`; without it they compile to
//! nothing (the arguments are still type-checked, so a log line cannot rot).
//! Firmware chooses its logger by choosing the feature; the core never
//! formats strings on its own.

#![allow(unused_macros)]

#[cfg(feature = "defmt")]
macro_rules! log_debug {
    ($($arg:tt)*) => { ::defmt::debug!($($arg)*) };
}
#[cfg(feature = "defmt")]
macro_rules! log_info {
    ($($arg:tt)*) => { ::defmt::info!($($arg)*) };
}
#[cfg(feature = "defmt")]
macro_rules! log_warn {
    ($($arg:tt)*) => { ::defmt::warn!($($arg)*) };
}

#[cfg(not(feature = "defmt"))]
macro_rules! log_debug {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{ $( let _ = &$arg; )* }};
}
#[cfg(not(feature = "defmt"))]
macro_rules! log_info {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{ $( let _ = &$arg; )* }};
}
#[cfg(not(feature = "defmt"))]
macro_rules! log_warn {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{ $( let _ = &$arg; )* }};
}
