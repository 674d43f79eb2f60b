//! Statement results and their InfluxDB 1.x JSON form.
//!
//! `{"results":[{"statement_id":0,"series":[{"name","tags","columns","values"}]}]}`,
//! empty parts omitted; a failed statement carries `"error"` instead.
//! Floats print the way InfluxDB (Go's `encoding/json`) prints them: the
//! shortest text that reads back exactly, `20` for 20.0, exponent form below
//! 1e-6 and from 1e21 (`1e+21`, `1e-07`); NaN and infinities become null.
//! Times are RFC 3339 strings, or integers in the unit of the `epoch`
//! parameter.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One cell of a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// No value (`null`).
    Null,
    /// A timestamp, ns.
    Time(i64),
    /// A timestamp (ns) printed on a zone's wall clock: the offset (ns)
    /// from UTC there (`tz('...')`).
    LocalTime(i64, i64),
    /// A float.
    Float(f64),
    /// An integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(String),
}

impl Cell {
    /// As a float, for arithmetic.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Cell::Float(f) => Some(f),
            Cell::Int(i) => Some(i as f64),
            Cell::UInt(u) => Some(u as f64),
            _ => None,
        }
    }
}

/// A series of a result.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// Name (omitted when empty).
    pub name: String,
    /// Tags (omitted when empty).
    pub tags: BTreeMap<String, String>,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows.
    pub values: Vec<Vec<Cell>>,
}

/// The result of one statement.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatementResult {
    /// Position in the query string.
    pub statement_id: usize,
    /// Series (omitted when empty).
    pub series: Vec<Series>,
    /// Error, if the statement failed.
    pub error: Option<String>,
}

/// How times are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Epoch {
    /// RFC 3339 strings (no `epoch` parameter).
    Rfc3339,
    /// Integers: ns per unit (1 for ns, 1000 for u, ...).
    Unit(i64),
}

impl Epoch {
    /// Parses the `epoch` parameter.
    pub fn parse(p: Option<&str>) -> Result<Self, String> {
        Ok(match p {
            None | Some("") => Epoch::Rfc3339,
            Some("ns" | "n") => Epoch::Unit(1),
            Some("u" | "µ" | "μ" | "us") => Epoch::Unit(1_000),
            Some("ms") => Epoch::Unit(1_000_000),
            Some("s") => Epoch::Unit(1_000_000_000),
            Some("m") => Epoch::Unit(60_000_000_000),
            Some("h") => Epoch::Unit(3_600_000_000_000),
            Some(o) => return Err(format!("invalid epoch \"{o}\": use ns, u, ms, s, m or h")),
        })
    }
}

/// Go's float formatting (strconv 'f'/'e' with shortest precision, as
/// `encoding/json` chooses them).
pub fn format_float(f: f64, out: &mut String) {
    if !f.is_finite() {
        out.push_str("null");
        return;
    }
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let s = format!("{f:e}");
        // Rust: "1e21", "1.5e-7"; Go: "1e+21", "1.5e-07".
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        let _ = write!(
            out,
            "{mant}e{sign}{}{digits}",
            if digits.len() < 2 { "0" } else { "" }
        );
    } else {
        // Rust's Display is the shortest round-trip text, without exponent.
        let _ = write!(out, "{f}");
    }
}

fn json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn cell(c: &Cell, epoch: Epoch, out: &mut String) {
    match c {
        Cell::Null => out.push_str("null"),
        Cell::Time(ns) | Cell::LocalTime(ns, _) => match epoch {
            Epoch::Rfc3339 => {
                // Digits, '-', '+', ':', '.', 'T' and 'Z': nothing to escape.
                out.push('"');
                match c {
                    Cell::LocalTime(_, offset) => crate::time::push_rfc3339_at(*ns, *offset, out),
                    _ => crate::time::push_rfc3339(*ns, out),
                }
                out.push('"');
            }
            Epoch::Unit(u) => {
                let _ = write!(out, "{}", ns.div_euclid(u.max(1)));
            }
        },
        Cell::Float(f) => format_float(*f, out),
        Cell::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Cell::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        Cell::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Cell::Str(s) => json_str(s, out),
    }
}

fn series_json(s: &Series, epoch: Epoch, out: &mut String) {
    out.push('{');
    let mut first = true;
    let mut sep = |out: &mut String| {
        if !first {
            out.push(',');
        }
        first = false;
    };
    if !s.name.is_empty() {
        sep(out);
        out.push_str("\"name\":");
        json_str(&s.name, out);
    }
    if !s.tags.is_empty() {
        sep(out);
        out.push_str("\"tags\":{");
        for (i, (k, v)) in s.tags.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_str(k, out);
            out.push(':');
            json_str(v, out);
        }
        out.push('}');
    }
    sep(out);
    out.push_str("\"columns\":[");
    for (i, c) in s.columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(c, out);
    }
    out.push(']');
    if !s.values.is_empty() {
        out.push_str(",\"values\":[");
        for (i, row) in s.values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            for (j, c) in row.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                cell(c, epoch, out);
            }
            out.push(']');
        }
        out.push(']');
    }
    out.push('}');
}

/// One statement result as JSON.
pub fn result_json(r: &StatementResult, epoch: Epoch, out: &mut String) {
    let _ = write!(out, "{{\"statement_id\":{}", r.statement_id);
    if !r.series.is_empty() {
        out.push_str(",\"series\":[");
        for (i, s) in r.series.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            series_json(s, epoch, out);
        }
        out.push(']');
    }
    if let Some(e) = &r.error {
        out.push_str(",\"error\":");
        json_str(e, out);
    }
    out.push('}');
}

/// The whole response body.
pub fn response_json(results: &[StatementResult], epoch: Epoch) -> String {
    let mut out = String::from("{\"results\":[");
    for (i, r) in results.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        result_json(r, epoch, &mut out);
    }
    out.push_str("]}");
    out
}

/// Go's `time.Duration` text (`720h0m0s`, `0s`), for retention policies.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let s = ns / 1_000_000_000;
    format!("{}h{}m{}s", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        for (f, s) in [
            (20.0, "20"),
            (1.5, "1.5"),
            (-0.25, "-0.25"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-07"),
            (123456789.0, "123456789"),
            (1e20, "100000000000000000000"),
            (0.000001, "0.000001"),
            (f64::NAN, "null"),
        ] {
            let mut out = String::new();
            format_float(f, &mut out);
            assert_eq!(out, s, "{f}");
        }
    }

    #[test]
    fn empty_parts_are_omitted() {
        let r = vec![
            StatementResult {
                statement_id: 0,
                series: vec![Series {
                    name: "cpu".into(),
                    tags: [("host".to_string(), "a".to_string())].into(),
                    columns: vec!["time".into(), "mean".into()],
                    values: vec![vec![
                        Cell::Time(1_596_240_005_000_000_000),
                        Cell::Float(20.0),
                    ]],
                }],
                error: None,
            },
            StatementResult {
                statement_id: 1,
                ..Default::default()
            },
            StatementResult {
                statement_id: 2,
                error: Some("bad".into()),
                ..Default::default()
            },
        ];
        assert_eq!(
            response_json(&r, Epoch::Rfc3339),
            r#"{"results":[{"statement_id":0,"series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","mean"],"values":[["2020-08-01T00:00:05Z",20]]}]},{"statement_id":1},{"statement_id":2,"error":"bad"}]}"#
        );
        assert!(response_json(&r, Epoch::Unit(1_000_000)).contains("[1596240005000,20]"));
        assert_eq!(go_duration(30 * 86_400_000_000_000), "720h0m0s");
    }
}
