//! InfluxDB line protocol, parsed without copying.
//!
//! The text that `POST /write` receives, and that firmware may read from a
//! UART, a socket or a file: one point per line,
//!
//! ```text
//! measurement[,tag_key=tag_value...] field_key=value[,field_key=value...] [timestamp]
//! ```
//!
//! [`Lines`] parses a buffer (an HTTP body); [`StreamParser`] parses an
//! [`embedded_io::Read`] through a fixed buffer. Both fill a reused [`Line`]
//! whose names and strings are [`Escaped`] slices of the input, and both
//! report each bad line as a [`ParseError`] (line, column, [`ErrorKind`]) and
//! go on with the next line: InfluxDB 1.x partial writes, where the good lines
//! are written and each bad one is reported as `line N: <message>`.
//!
//! # What is accepted
//!
//! The reference is the conformance corpus in `testdata/line-protocol-corpus`
//! (the expected results of influxdata/line-protocol v2, the parser Telegraf
//! uses); `tests/lineproto_corpus.rs` passes all of its cases. Where InfluxDB
//! 1.x's own parser is more lenient, this one follows the corpus.
//!
//! | part | syntax |
//! |---|---|
//! | line | ends with `\n`, `\r\n`, or the end of input; blank lines, and lines whose first non-space byte is `#` (comments), are skipped; a comment may hold no control byte |
//! | spaces | any number of spaces (not tabs) before the measurement, between the parts and at the end |
//! | measurement | one or more bytes other than `,`, space and control bytes; `\,` and `\ ` are escapes, any other `\` is a literal backslash (`\=` stays `\=`) |
//! | tags | `,key=value` repeated; keys are one or more bytes other than `,`, `=`, space and control bytes; values likewise, except that control bytes other than `\r` and `\n` are allowed in them (as the corpus says); escapes `\,`, `\=`, `\ `; an empty value and a repeated key are errors |
//! | fields | at least one `key=value`, separated by `,`; keys as tag keys; a key may repeat (all are returned in order) |
//! | float | `-?(D+(.D*)?\|.D+)([eE][+-]?D+)?`, correctly rounded; beyond ±f64::MAX is an error; no `+`, `inf`, `NaN`, hex floats or `_` |
//! | integer | `-?D+i` within i64; unsigned `D+u` within u64; leading zeros are fine |
//! | boolean | `t`, `T`, `true`, `True`, `TRUE`, `f`, `F`, `false`, `False`, `FALSE` |
//! | string | `"..."`: any bytes but an unescaped `"`, newlines included (one line of the protocol may span input lines); `\"` and `\\` are the only escapes (`\n` is a backslash and an `n`) |
//! | timestamp | optional; `-?D+`, scaled by the [`Precision`] to i64 nanoseconds, overflow being an error; without one, [`Line::timestamp_ns`] is `None` and the writer applies its clock |
//! | text | names, tag values and strings must be valid UTF-8; control bytes (NUL, tab, ...) are rejected except in tag values and strings |
//!
//! Go's number parser (behind the reference) would also take hex floats and
//! `_` digit separators; the corpus has none, writers do not send them, and
//! InfluxDB 1.x rejects them, so they are errors here.
//!
//! # Errors
//!
//! Columns count bytes from 1. After an error the parser skips to the next
//! newline. A string value that is never closed takes the rest of the input
//! with it (it may legally contain newlines), so it is reported once, at its
//! opening quote. Bounds on one line are set by [`Limits`]; the errors name
//! the limit.
//!
//! # Design
//!
//! Zero-copy: names and strings are slices of the input with a flag saying
//! whether they hold escape sequences, because almost none do and the catalog
//! copies a name only the first time it sees its series. The alternative, an
//! owned unescaped buffer per line, costs a copy of every name of every line.
//! The hot path is a table of byte classes and tight scans over slices; floats
//! take an exact fast path for short decimals (see `number.rs`). One parse step
//! (`parser.rs`) serves buffers and streams: with a stream, a line is decided
//! only once its newline has been read, so a line split across reads parses
//! exactly as a whole one.

mod error;
mod escaped;
mod line;
mod lines;
mod number;
mod parser;
mod precision;
mod scan;
mod stream;

pub use error::{
    ErrorKind, FieldType, Found, ParseError, SNIPPET_MAX_BYTES, Snippet, StreamError, Token,
};
pub use escaped::{Escaped, Unescape, escape_name_into};
pub use line::{FieldValue, Line};
pub use lines::Lines;
pub use precision::{Limits, Precision};
pub use stream::StreamParser;

#[cfg(test)]
mod tests;
