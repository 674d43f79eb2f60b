//! One step of parsing: skip blank and comment lines, then parse one line
//! into a [`Line`] or report its error and skip to the next newline.
//!
//! The same step serves whole buffers ([`Lines`](super::Lines)) and streams
//! ([`StreamParser`](super::StreamParser)): when the data may continue
//! (`complete == false`) and a line runs into its end, the step asks for more
//! instead of deciding. A line is decided only once its newline is in the
//! buffer, so a line split across reads parses exactly like a whole one.

use super::error::{ErrorKind, FieldType, Found, ParseError, Snippet, Token};
use super::escaped::{Escaped, Rule};
use super::line::{FieldValue, Line};
use super::number::{self, NumError};
use super::scan::{self, KEY, MEAS, NOT_COMMENT, NOT_TIME, TAG_VALUE, VAL};
use super::{Limits, Precision};

/// Options that apply to every line.
#[derive(Clone, Copy, Debug)]
pub(super) struct Options {
    pub precision: Precision,
    pub limits: Limits,
}

/// The outcome of [`step`]. `lines` counts the newlines consumed.
#[derive(Debug)]
pub(super) enum Step {
    /// A line was parsed into the output, or rejected with an error.
    Line {
        next: usize,
        lines: usize,
        result: Result<(), ParseError>,
    },
    /// Nothing but blank and comment lines up to the end of complete data.
    End { next: usize, lines: usize },
    /// The data ends inside a line that may continue; call again from
    /// `next` (a line start) with more data.
    NeedMore { next: usize, lines: usize },
}

/// An error inside a line: where to report it, where to resume scanning for the newline.
#[derive(Debug)]
struct Fail {
    at: usize,
    resume: usize,
    kind: ErrorKind,
}

fn fail<T>(at: usize, kind: ErrorKind) -> Result<T, Fail> {
    Err(Fail {
        at,
        resume: at,
        kind,
    })
}

fn found(data: &[u8], i: usize) -> Found {
    data.get(i).map_or(Found::End, |&b| Found::Byte(b))
}

/// Line and column of byte `at`, counting from `line_start` (the start of line `line_no`).
fn locate(data: &[u8], line_start: usize, line_no: usize, at: usize) -> (usize, usize) {
    let span = data.get(line_start..at.min(data.len())).unwrap_or_default();
    let newlines = span.iter().filter(|&&b| b == b'\n').count();
    let col_start = span
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(line_start, |i| line_start + i + 1);
    (line_no + newlines, at - col_start + 1)
}

/// The end of a line at `i`: `Some((next, ended_by_newline))` for end of data,
/// `\n`, `\r\n`, or `\r` at end of data; `None` for anything else.
#[cfg_attr(not(feature = "small-code"), inline(always))]
fn end_of_line(data: &[u8], i: usize) -> Option<(usize, bool)> {
    match data.get(i) {
        None => Some((i, false)),
        Some(b'\n') => Some((i + 1, true)),
        Some(b'\r') => match data.get(i + 1) {
            Some(b'\n') => Some((i + 2, true)),
            None => Some((i + 1, false)),
            Some(_) => None,
        },
        Some(_) => None,
    }
}

/// Parses from `start`, a line start with line number `line_no`.
pub(super) fn step<'a>(
    opts: &Options,
    data: &'a [u8],
    start: usize,
    line_no: usize,
    complete: bool,
    out: &mut Line<'a>,
) -> Step {
    let mut pos = start;
    let mut lines = 0;
    // Blank lines and comments.
    loop {
        let first = scan::skip_spaces(data, pos);
        let stop = match data.get(first) {
            Some(b'#') => scan::find(data, first + 1, NOT_COMMENT),
            Some(b'\n' | b'\r') | None => first,
            Some(_) => break,
        };
        match end_of_line(data, stop) {
            Some((next, true)) => {
                pos = next;
                lines += 1;
            }
            Some((next, false)) if complete => return Step::End { next, lines },
            Some((_, false)) => return Step::NeedMore { next: pos, lines },
            None if data.get(first) == Some(&b'#') => {
                let found = data.get(stop).copied().unwrap_or(0);
                let kind = ErrorKind::InvalidCharInComment { found };
                return recover(
                    data,
                    pos,
                    line_no + lines,
                    lines,
                    complete,
                    Fail {
                        at: stop,
                        resume: stop,
                        kind,
                    },
                );
            }
            // A lone `\r`: the line parser reports it.
            None => break,
        }
    }
    let entry_line = line_no + lines;
    out.clear();
    out.line_no = entry_line;
    match parse_line(opts, data, pos, out) {
        Ok(end) => {
            let newline = end.newline;
            if !newline && !complete {
                return Step::NeedMore { next: pos, lines };
            }
            if end.content_end - pos > opts.limits.max_line_bytes {
                let at = pos + opts.limits.max_line_bytes;
                let (line, column) = locate(data, pos, entry_line, at);
                let kind = ErrorKind::LineTooLong {
                    max_bytes: opts.limits.max_line_bytes,
                };
                let lines = lines + end.string_newlines + usize::from(newline);
                return Step::Line {
                    next: end.next,
                    lines,
                    result: Err(ParseError { line, column, kind }),
                };
            }
            let lines = lines + end.string_newlines + usize::from(newline);
            Step::Line {
                next: end.next,
                lines,
                result: Ok(()),
            }
        }
        Err(f) => recover(data, pos, entry_line, lines, complete, f),
    }
}

/// Reports `f` for the line starting at `line_start` and skips to the byte after the next newline.
fn recover(
    data: &[u8],
    line_start: usize,
    line_no: usize,
    lines: usize,
    complete: bool,
    f: Fail,
) -> Step {
    let next = match scan::find_newline(data, f.resume.max(f.at)) {
        Some(nl) => nl + 1,
        None if complete => data.len(),
        None => {
            return Step::NeedMore {
                next: line_start,
                lines,
            };
        }
    };
    let (line, column) = locate(data, line_start, line_no, f.at);
    let span = data.get(line_start..next).unwrap_or_default();
    let lines = lines + span.iter().filter(|&&b| b == b'\n').count();
    Step::Line {
        next,
        lines,
        result: Err(ParseError {
            line,
            column,
            kind: f.kind,
        }),
    }
}

/// Where a good line ended.
struct End {
    /// Index after its newline.
    next: usize,
    /// Index of its newline (or end of data).
    content_end: usize,
    /// Whether a newline ended it (else the end of the data).
    newline: bool,
    /// Newlines inside its string values.
    string_newlines: usize,
}

fn check_utf8(data: &[u8], from: usize, to: usize, token: Token) -> Result<(), Fail> {
    match core::str::from_utf8(data.get(from..to).unwrap_or_default()) {
        Ok(_) => Ok(()),
        Err(e) => fail(from + e.valid_up_to(), ErrorKind::InvalidUtf8 { token }),
    }
}

fn parse_line<'a>(
    opts: &Options,
    data: &'a [u8],
    line_start: usize,
    out: &mut Line<'a>,
) -> Result<End, Fail> {
    let mut p = scan::skip_spaces(data, line_start);

    // Measurement.
    let m = scan::name::<MEAS>(data, p, Rule::Measurement);
    if m.end == p {
        return fail(
            p,
            ErrorKind::ExpectedMeasurement {
                found: found(data, p),
            },
        );
    }
    if m.non_ascii {
        check_utf8(data, p, m.end, Token::Measurement)?;
    }
    out.measurement = Escaped::new(
        data.get(p..m.end).unwrap_or_default(),
        m.escaped,
        Rule::Measurement,
    );
    p = m.end;

    // Tags.
    loop {
        match data.get(p) {
            Some(b',') => p = parse_tag(opts, data, p + 1, out)?,
            Some(b' ') => break,
            _ => {
                return fail(
                    p,
                    ErrorKind::ExpectedTagOrFields {
                        found: found(data, p),
                    },
                );
            }
        }
    }
    if out.tags.len() > 1 {
        check_duplicate_tags(data, out)?;
    }
    p = scan::skip_spaces(data, p);

    // Fields.
    let mut string_newlines = 0;
    loop {
        p = parse_field(opts, data, p, out, &mut string_newlines)?;
        match data.get(p) {
            Some(b',') => p += 1,
            Some(b' ' | b'\r' | b'\n') => break,
            None => {
                return Ok(End {
                    next: p,
                    content_end: p,
                    newline: false,
                    string_newlines,
                });
            }
            Some(&b) => {
                let key = out
                    .fields
                    .last()
                    .map_or(Snippet::new(&[]), |(k, _)| Snippet::new(k.raw()));
                return fail(
                    p,
                    ErrorKind::ExpectedFieldSeparator {
                        key,
                        found: Found::Byte(b),
                    },
                );
            }
        }
    }

    // Timestamp.
    p = scan::skip_spaces(data, p);
    if let Some((next, newline)) = end_of_line(data, p) {
        return Ok(End {
            next,
            content_end: p,
            newline,
            string_newlines,
        });
    }
    let ts_start = p;
    let ts_end = scan::find(data, p, NOT_TIME);
    if ts_end == ts_start || !matches!(data.get(ts_end), None | Some(b' ' | b'\r' | b'\n')) {
        let eol = scan::find_newline(data, ts_start).unwrap_or(data.len());
        let text = data.get(ts_start..eol).unwrap_or_default();
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        return fail(
            ts_start,
            ErrorKind::InvalidTimestamp {
                value: Snippet::new(text),
            },
        );
    }
    let text = data.get(ts_start..ts_end).unwrap_or_default();
    let ts = match number::parse_int(text) {
        Ok(ts) => ts,
        Err(NumError::Syntax) => {
            return fail(
                ts_start,
                ErrorKind::InvalidTimestamp {
                    value: Snippet::new(text),
                },
            );
        }
        Err(NumError::Range) => {
            let kind = ErrorKind::TimestampOutOfRange {
                value: Snippet::new(text),
                precision: opts.precision,
            };
            return fail(ts_start, kind);
        }
    };
    let Some(ts_ns) = opts.precision.to_ns(ts) else {
        let kind = ErrorKind::TimestampOutOfRange {
            value: Snippet::new(text),
            precision: opts.precision,
        };
        return fail(ts_start, kind);
    };
    out.timestamp_ns = Some(ts_ns);
    p = scan::skip_spaces(data, ts_end);
    match end_of_line(data, p) {
        Some((next, newline)) => Ok(End {
            next,
            content_end: p,
            newline,
            string_newlines,
        }),
        None => fail(
            p,
            ErrorKind::ExpectedEndOfLine {
                found: found(data, p),
            },
        ),
    }
}

/// Parses `key=value` at `p` (just past a comma) into `out.tags`; returns the index after it.
#[inline]
fn parse_tag<'a>(
    opts: &Options,
    data: &'a [u8],
    p: usize,
    out: &mut Line<'a>,
) -> Result<usize, Fail> {
    let k = scan::name::<KEY>(data, p, Rule::Key);
    if k.end == p {
        return fail(
            p,
            ErrorKind::ExpectedTagKey {
                found: found(data, p),
            },
        );
    }
    let key = data.get(p..k.end).unwrap_or_default();
    if data.get(k.end) != Some(&b'=') {
        return fail(
            k.end,
            ErrorKind::ExpectedTagEquals {
                key: Snippet::new(key),
                found: found(data, k.end),
            },
        );
    }
    if k.non_ascii {
        check_utf8(data, p, k.end, Token::TagKey)?;
    }
    let vp = k.end + 1;
    let v = scan::name::<TAG_VALUE>(data, vp, Rule::Key);
    if v.end == vp {
        return fail(
            vp,
            ErrorKind::ExpectedTagValue {
                key: Snippet::new(key),
                found: found(data, vp),
            },
        );
    }
    if v.non_ascii {
        check_utf8(data, vp, v.end, Token::TagValue)?;
    }
    if out.tags.len() >= opts.limits.max_tags {
        return fail(
            p,
            ErrorKind::TooManyTags {
                max: opts.limits.max_tags,
            },
        );
    }
    let value = data.get(vp..v.end).unwrap_or_default();
    out.tags.push((
        Escaped::new(key, k.escaped, Rule::Key),
        Escaped::new(value, v.escaped, Rule::Key),
    ));
    Ok(v.end)
}

/// Rejects a line whose tag keys repeat. Keys are compared as written: each
/// unescaped key has exactly one escaped spelling, so that is the same test.
fn check_duplicate_tags(data: &[u8], out: &mut Line<'_>) -> Result<(), Fail> {
    let tags = &out.tags;
    let mut duplicate = None;
    if tags.len() <= 16 {
        for (i, (key, _)) in tags.iter().enumerate().skip(1) {
            if tags.iter().take(i).any(|(k, _)| k.raw() == key.raw()) {
                duplicate = Some(i);
                break;
            }
        }
    } else {
        // Sort indexes by (key, index): a repeated key shows as neighbours, the later second.
        let key_of = |i: u32| {
            tags.get(i as usize)
                .map(|(k, _)| k.raw())
                .unwrap_or_default()
        };
        out.scratch.clear();
        out.scratch.extend(0..tags.len() as u32);
        crate::sort::sort_by(&mut out.scratch, |&a, &b| {
            key_of(a).cmp(key_of(b)).then(a.cmp(&b))
        });
        duplicate = out
            .scratch
            .windows(2)
            .filter_map(|w| match *w {
                [a, b] if key_of(a) == key_of(b) => Some(b as usize),
                _ => None,
            })
            .min();
    }
    match duplicate.and_then(|i| tags.get(i)) {
        Some((key, _)) => fail(
            offset_in(data, key.raw()),
            ErrorKind::DuplicateTagKey {
                key: Snippet::new(key.raw()),
            },
        ),
        None => Ok(()),
    }
}

/// Index of `part`'s first byte in `data` (it is a subslice).
fn offset_in(data: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize)
        .wrapping_sub(data.as_ptr() as usize)
        .min(data.len())
}

/// Parses `key=value` at `p` into `out.fields`; returns the index after the value.
#[inline]
fn parse_field<'a>(
    opts: &Options,
    data: &'a [u8],
    p: usize,
    out: &mut Line<'a>,
    string_newlines: &mut usize,
) -> Result<usize, Fail> {
    let k = scan::name::<KEY>(data, p, Rule::Key);
    if k.end == p {
        return fail(
            p,
            ErrorKind::ExpectedFieldKey {
                found: found(data, p),
            },
        );
    }
    let key = data.get(p..k.end).unwrap_or_default();
    if data.get(k.end) != Some(&b'=') {
        return fail(
            k.end,
            ErrorKind::ExpectedFieldEquals {
                key: Snippet::new(key),
                found: found(data, k.end),
            },
        );
    }
    if k.non_ascii {
        check_utf8(data, p, k.end, Token::FieldKey)?;
    }
    let vp = k.end + 1;
    let (value, end) = match data.get(vp) {
        Some(b'"') => {
            let s = scan::string(data, vp + 1);
            let Some(close) = s.close else {
                let kind = ErrorKind::UnterminatedString {
                    key: Snippet::new(key),
                };
                return Err(Fail {
                    at: vp,
                    resume: data.len(),
                    kind,
                });
            };
            if s.non_ascii {
                check_utf8(data, vp + 1, close, Token::StringValue)
                    .map_err(|f| Fail { resume: close, ..f })?;
            }
            *string_newlines += s.newlines;
            let text = data.get(vp + 1..close).unwrap_or_default();
            (
                FieldValue::Str(Escaped::new(text, s.escaped, Rule::Str)),
                close + 1,
            )
        }
        Some(b'-' | b'0'..=b'9' | b'.') => {
            let end = scan::find(data, vp, VAL);
            let text = data.get(vp..end).unwrap_or_default();
            let value = match text.split_last() {
                Some((b'i', digits)) => number::parse_int(digits)
                    .map(FieldValue::Int)
                    .map_err(|e| (e, FieldType::Int)),
                Some((b'u', digits)) => number::parse_uint(digits)
                    .map(FieldValue::UInt)
                    .map_err(|e| (e, FieldType::UInt)),
                _ => number::parse_float(text)
                    .map(FieldValue::Float)
                    .map_err(|e| (e, FieldType::Float)),
            };
            match value {
                Ok(v) => (v, end),
                Err((e, ty)) => {
                    let (key, value) = (Snippet::new(key), Snippet::new(text));
                    let kind = match e {
                        NumError::Syntax => ErrorKind::InvalidFieldValue { key, ty, value },
                        NumError::Range => ErrorKind::FieldValueOutOfRange { key, ty, value },
                    };
                    return fail(vp, kind);
                }
            }
        }
        Some(b't' | b'T' | b'f' | b'F') => {
            let end = scan::find(data, vp, VAL);
            let text = data.get(vp..end).unwrap_or_default();
            match number::parse_bool(text) {
                Some(b) => (FieldValue::Bool(b), end),
                None => {
                    let kind = ErrorKind::InvalidFieldValue {
                        key: Snippet::new(key),
                        ty: FieldType::Bool,
                        value: Snippet::new(text),
                    };
                    return fail(vp, kind);
                }
            }
        }
        _ => {
            return fail(
                vp,
                ErrorKind::ExpectedFieldValue {
                    key: Snippet::new(key),
                    found: found(data, vp),
                },
            );
        }
    };
    if out.fields.len() >= opts.limits.max_fields {
        return fail(
            p,
            ErrorKind::TooManyFields {
                max: opts.limits.max_fields,
            },
        );
    }
    out.fields
        .push((Escaped::new(key, k.escaped, Rule::Key), value));
    Ok(end)
}
