//! WHERE clauses: time bounds, tag predicates for the core, and whatever
//! remains (field comparisons) evaluated row by row.

use pulsardb_core::query::Zone;
use std::collections::HashMap;

use pulsardb_core::catalog::TagExpr;
use regex_lite::Regex;

use super::ast::{BinOp, Expr, VarKind};
use super::result::Cell;

/// Nesting allowed when walking an expression (the parser bounds it too).
const MAX_DEPTH: usize = 128;

/// Time bounds, inclusive, ns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// Smallest time.
    pub start: i64,
    /// Largest time.
    pub end: i64,
}

impl TimeRange {
    /// Everything.
    pub const ALL: TimeRange = TimeRange {
        start: i64::MIN,
        end: i64::MAX,
    };

    /// Whether a lower bound was given.
    pub fn bounded_below(&self) -> bool {
        self.start != i64::MIN
    }
}

fn strip(e: &Expr) -> &Expr {
    let mut e = e;
    for _ in 0..MAX_DEPTH {
        match e {
            Expr::Paren(x) => e = x,
            _ => return e,
        }
    }
    e
}

/// Splits a condition at its top-level ANDs.
pub fn conjuncts(e: &Expr, out: &mut Vec<Expr>) {
    match strip(e) {
        Expr::Binary {
            op: BinOp::And,
            lhs,
            rhs,
        } => {
            conjuncts(lhs, out);
            conjuncts(rhs, out);
        }
        other => out.push(other.clone()),
    }
}

fn is_time(e: &Expr) -> bool {
    matches!(strip(e), Expr::Var { name, .. } if name.eq_ignore_ascii_case("time"))
}

/// Evaluates a time literal: RFC 3339 string, integer ns, duration as
/// absolute ns, `now()`, and `+`/`-` of those. A string without an offset
/// is a wall-clock time of `zone` (the statement's `tz`), else UTC.
pub fn time_value(e: &Expr, now: i64, zone: Option<&Zone>, depth: usize) -> Result<i64, String> {
    if depth > MAX_DEPTH {
        return Err("time expression nested too deeply".into());
    }
    match strip(e) {
        // RFC 3339, or InfluxQL's `2006-01-02 15:04:05.999` and
        // `2006-01-02` (no offset: UTC, or the zone's wall clock).
        Expr::String(s) => {
            let local = s.len() == 10 || (s.len() > 10 && s.as_bytes().get(10) == Some(&b' '));
            let t = if local {
                let utc = if s.len() == 10 {
                    crate::time::parse_rfc3339(s)
                } else {
                    crate::time::parse_rfc3339(&format!("{s}Z"))
                };
                utc.map(|t| zone.map_or(t, |z| z.from_local(t)))
            } else {
                crate::time::parse_rfc3339(s)
            };
            t.ok_or_else(|| {
                format!("invalid time '{s}': use RFC 3339, e.g. '2020-08-01T00:00:00Z'")
            })
        }
        Expr::Integer(i) => Ok(*i),
        Expr::Number(f) => Ok(*f as i64),
        Expr::Duration(d) => Ok(*d),
        Expr::Call { name, args } if name == "now" && args.is_empty() => Ok(now),
        Expr::Binary {
            op: BinOp::Add,
            lhs,
            rhs,
        } => Ok(
            time_value(lhs, now, zone, depth + 1)?.saturating_add(time_value(
                rhs,
                now,
                zone,
                depth + 1,
            )?),
        ),
        Expr::Binary {
            op: BinOp::Sub,
            lhs,
            rhs,
        } => Ok(
            time_value(lhs, now, zone, depth + 1)?.saturating_sub(time_value(
                rhs,
                now,
                zone,
                depth + 1,
            )?),
        ),
        other => Err(format!("invalid time value: {other:?}")),
    }
}

/// Narrows `r` by one `time <op> value` (or `value <op> time`) conjunct;
/// `Ok(false)` if the conjunct is not about time.
pub fn time_bound(
    e: &Expr,
    now: i64,
    zone: Option<&Zone>,
    r: &mut TimeRange,
) -> Result<bool, String> {
    let Expr::Binary { op, lhs, rhs } = strip(e) else {
        return Ok(false);
    };
    let (op, other) = if is_time(lhs) {
        (*op, rhs)
    } else if is_time(rhs) {
        let flipped = match op {
            BinOp::Lt => BinOp::Gt,
            BinOp::Lte => BinOp::Gte,
            BinOp::Gt => BinOp::Lt,
            BinOp::Gte => BinOp::Lte,
            o => *o,
        };
        (flipped, lhs)
    } else {
        return Ok(false);
    };
    let t = time_value(other, now, zone, 0)?;
    match op {
        BinOp::Gt => r.start = r.start.max(t.saturating_add(1)),
        BinOp::Gte => r.start = r.start.max(t),
        BinOp::Lt => r.end = r.end.min(t.saturating_sub(1)),
        BinOp::Lte => r.end = r.end.min(t),
        BinOp::Eq => {
            r.start = r.start.max(t);
            r.end = r.end.min(t);
        }
        _ => return Err("time can only be compared with =, <, <=, > or >=".into()),
    }
    Ok(true)
}

/// Whether an expression mentions `time` anywhere.
pub fn mentions_time(e: &Expr, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match e {
        Expr::Var { .. } => is_time(e),
        Expr::Binary { lhs, rhs, .. } => {
            mentions_time(lhs, depth + 1) || mentions_time(rhs, depth + 1)
        }
        Expr::Paren(x) => mentions_time(x, depth + 1),
        Expr::Call { args, .. } => args.iter().any(|a| mentions_time(a, depth + 1)),
        _ => false,
    }
}

/// A WHERE clause taken apart.
#[derive(Debug, Clone)]
pub struct Split {
    /// Time bounds.
    pub time: TimeRange,
    /// Conjuncts on tags only (for the core).
    pub tags: Vec<Expr>,
    /// Everything else (evaluated per row).
    pub rows: Vec<Expr>,
}

/// Splits a condition. `is_tag(name)` tells tag keys from field keys.
pub fn split(
    cond: Option<&Expr>,
    now: i64,
    zone: Option<&Zone>,
    is_tag: &dyn Fn(&str, Option<VarKind>) -> bool,
) -> Result<Split, String> {
    let mut s = Split {
        time: TimeRange::ALL,
        tags: Vec::new(),
        rows: Vec::new(),
    };
    let Some(c) = cond else { return Ok(s) };
    let mut parts = Vec::new();
    conjuncts(c, &mut parts);
    for p in parts {
        if time_bound(&p, now, zone, &mut s.time)? {
            continue;
        }
        if mentions_time(&p, 0) {
            return Err("time conditions must be joined with AND at the top level of WHERE (no OR with time)".into());
        }
        if only_tags(&p, is_tag, 0) {
            s.tags.push(p);
        } else {
            s.rows.push(p);
        }
    }
    Ok(s)
}

fn only_tags(e: &Expr, is_tag: &dyn Fn(&str, Option<VarKind>) -> bool, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match e {
        Expr::Var { name, kind } => is_tag(name, *kind),
        Expr::Binary { lhs, rhs, .. } => {
            only_tags(lhs, is_tag, depth + 1) && only_tags(rhs, is_tag, depth + 1)
        }
        Expr::Paren(x) => only_tags(x, is_tag, depth + 1),
        Expr::String(_) | Expr::Regex(_) => true,
        _ => false,
    }
}

/// Compiles a regex the way InfluxQL uses it (unanchored).
pub fn regex(pattern: &str) -> Result<Regex, String> {
    // A compiled regex may take 1 MiB (regex-lite's default is 10): a
    // query's pattern costs its compile and every match.
    regex_lite::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("invalid regular expression /{pattern}/: {e}"))
}

/// What a tag condition may be, for errors.
const TAG_CONDITION: &str =
    "a tag condition compares a tag key with a value (= or != and a string, =~ or !~ and a regex)";

/// Turns tag-only conjuncts into the core's tag expression. `values(key)`
/// lists a tag key's values, to resolve regular expressions.
pub fn tag_expr(parts: &[Expr], values: &dyn Fn(&str) -> Vec<String>) -> Result<TagExpr, String> {
    let mut out = TagExpr::True;
    for p in parts {
        out = TagExpr::and(out, tag_expr1(p, values, 0)?);
    }
    Ok(out)
}

fn tag_expr1(
    e: &Expr,
    values: &dyn Fn(&str) -> Vec<String>,
    depth: usize,
) -> Result<TagExpr, String> {
    if depth > MAX_DEPTH {
        return Err("condition nested too deeply".into());
    }
    let e = strip(e);
    let Expr::Binary { op, lhs, rhs } = e else {
        return Err(TAG_CONDITION.into());
    };
    match op {
        BinOp::And => Ok(TagExpr::And(
            Box::new(tag_expr1(lhs, values, depth + 1)?),
            Box::new(tag_expr1(rhs, values, depth + 1)?),
        )),
        BinOp::Or => Ok(TagExpr::Or(
            Box::new(tag_expr1(lhs, values, depth + 1)?),
            Box::new(tag_expr1(rhs, values, depth + 1)?),
        )),
        _ => {
            let (key, lit) = match (strip(lhs), strip(rhs)) {
                (Expr::Var { name, .. }, lit) | (lit, Expr::Var { name, .. }) => {
                    (name.clone(), lit.clone())
                }
                _ => return Err(TAG_CONDITION.into()),
            };
            match (op, lit) {
                (BinOp::Eq, Expr::String(v)) => Ok(TagExpr::Eq(key, v)),
                (BinOp::Ne, Expr::String(v)) => Ok(TagExpr::Ne(key, v)),
                (BinOp::EqRegex | BinOp::NeRegex, Expr::Regex(p)) => {
                    let re = regex(&p)?;
                    let mut hits: Vec<String> = values(&key)
                        .into_iter()
                        .filter(|v| re.is_match(v))
                        .collect();
                    // A series without the tag has it as "": matches if the regex does.
                    if re.is_match("") {
                        hits.push(String::new());
                    }
                    Ok(if *op == BinOp::EqRegex {
                        TagExpr::In(key, hits)
                    } else {
                        TagExpr::NotIn(key, hits)
                    })
                }
                (BinOp::Eq | BinOp::Ne | BinOp::EqRegex | BinOp::NeRegex, lit) => Err(format!(
                    "tag \"{key}\" {} {}: a tag compares with = or != and a string, =~ or !~ and a regex",
                    op.symbol(),
                    match lit {
                        Expr::String(_) => "a string",
                        Expr::Regex(_) => "a regex",
                        Expr::Integer(_) | Expr::Number(_) => "a number",
                        Expr::Bool(_) => "a boolean",
                        Expr::Duration(_) => "a duration",
                        _ => "an expression",
                    }
                )),
                (op, _) => Err(format!(
                    "invalid tag comparison operator {} on tag \"{key}\": a tag compares with = or != and a string, =~ or !~ and a regex",
                    op.symbol()
                )),
            }
        }
    }
}

/// A row under evaluation: its tags and field values.
#[derive(Debug)]
pub struct Row<'a> {
    /// Tags.
    pub tags: &'a [(String, String)],
    /// Field values by name.
    pub fields: &'a HashMap<String, Cell>,
}

/// Whether a row passes every condition of `conds` (the conjuncts of a
/// WHERE that are evaluated row by row).
pub fn eval_all(
    conds: &[Expr],
    row: &Row<'_>,
    is_tag: &dyn Fn(&str, Option<VarKind>) -> bool,
    regexes: &mut HashMap<String, Regex>,
) -> Result<bool, String> {
    for c in conds {
        if !eval_row(c, row, is_tag, regexes, 0)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Evaluates a row condition (field comparisons, possibly with tags).
pub fn eval_row(
    e: &Expr,
    row: &Row<'_>,
    is_tag: &dyn Fn(&str, Option<VarKind>) -> bool,
    regexes: &mut HashMap<String, Regex>,
    depth: usize,
) -> Result<bool, String> {
    if depth > MAX_DEPTH {
        return Err("condition nested too deeply".into());
    }
    match strip(e) {
        Expr::Binary {
            op: BinOp::And,
            lhs,
            rhs,
        } => Ok(eval_row(lhs, row, is_tag, regexes, depth + 1)?
            && eval_row(rhs, row, is_tag, regexes, depth + 1)?),
        Expr::Binary {
            op: BinOp::Or,
            lhs,
            rhs,
        } => Ok(eval_row(lhs, row, is_tag, regexes, depth + 1)?
            || eval_row(rhs, row, is_tag, regexes, depth + 1)?),
        Expr::Binary { op, lhs, rhs } => {
            let l = value(lhs, row, is_tag, depth + 1)?;
            if let (BinOp::EqRegex | BinOp::NeRegex, Expr::Regex(p)) = (op, strip(rhs)) {
                let re = match regexes.get(p) {
                    Some(r) => r,
                    None => {
                        let r = regex(p)?;
                        regexes.entry(p.clone()).or_insert(r)
                    }
                };
                let s = match &l {
                    Cell::Str(s) => s.as_str(),
                    Cell::Null => "",
                    _ => return Ok(false),
                };
                return Ok(re.is_match(s) == (*op == BinOp::EqRegex));
            }
            let r = value(rhs, row, is_tag, depth + 1)?;
            Ok(compare(*op, &l, &r))
        }
        Expr::Bool(b) => Ok(*b),
        other => Err(format!("not a condition: {other:?}")),
    }
}

fn value(
    e: &Expr,
    row: &Row<'_>,
    is_tag: &dyn Fn(&str, Option<VarKind>) -> bool,
    depth: usize,
) -> Result<Cell, String> {
    if depth > MAX_DEPTH {
        return Err("expression nested too deeply".into());
    }
    Ok(match strip(e) {
        Expr::Var { name, kind } => {
            if is_tag(name, *kind) {
                row.tags
                    .iter()
                    .find(|(k, _)| k == name)
                    .map_or(Cell::Str(String::new()), |(_, v)| Cell::Str(v.clone()))
            } else {
                row.fields
                    .get(name)
                    .map_or(Cell::Null, |c| super::cast::cell(c.clone(), *kind))
            }
        }
        Expr::Integer(i) => Cell::Int(*i),
        Expr::Number(f) => Cell::Float(*f),
        Expr::String(s) => Cell::Str(s.clone()),
        Expr::Bool(b) => Cell::Bool(*b),
        Expr::Duration(d) => Cell::Int(*d),
        Expr::Binary { op, lhs, rhs } => {
            let (l, r) = (
                value(lhs, row, is_tag, depth + 1)?,
                value(rhs, row, is_tag, depth + 1)?,
            );
            arith(*op, &l, &r)
        }
        Expr::Call { name, args }
            if super::select::math::arity(name).is_some_and(|n| n == args.len()) =>
        {
            let values = args
                .iter()
                .map(|a| value(a, row, is_tag, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            super::select::math::apply(name, &values)
        }
        Expr::Call { name, .. } => {
            return Err(format!("invalid function call in condition: {name}()"));
        }
        _ => return Err(
            "unsupported value in WHERE: use fields, tags, literals, arithmetic and math functions"
                .into(),
        ),
    })
}

/// Arithmetic on two cells (null if either is null or not a number).
pub fn arith(op: BinOp, l: &Cell, r: &Cell) -> Cell {
    match (l, r) {
        (Cell::Int(a), Cell::Int(b)) => match op {
            BinOp::Add => Cell::Int(a.wrapping_add(*b)),
            BinOp::Sub => Cell::Int(a.wrapping_sub(*b)),
            BinOp::Mul => Cell::Int(a.wrapping_mul(*b)),
            BinOp::Div if *b != 0 => Cell::Float(*a as f64 / *b as f64),
            BinOp::Mod if *b != 0 => Cell::Int(a.wrapping_rem(*b)),
            _ => Cell::Null,
        },
        _ => match (l.as_f64(), r.as_f64()) {
            (Some(a), Some(b)) => match op {
                BinOp::Add => Cell::Float(a + b),
                BinOp::Sub => Cell::Float(a - b),
                BinOp::Mul => Cell::Float(a * b),
                BinOp::Div if b != 0.0 => Cell::Float(a / b),
                BinOp::Mod if b != 0.0 => Cell::Float(a % b),
                _ => Cell::Null,
            },
            _ => Cell::Null,
        },
    }
}

fn compare(op: BinOp, l: &Cell, r: &Cell) -> bool {
    use std::cmp::Ordering;
    let ord = match (l, r) {
        (Cell::Null, _) | (_, Cell::Null) => return false,
        (Cell::Str(a), Cell::Str(b)) => Some(a.cmp(b)),
        (Cell::Bool(a), Cell::Bool(b)) => Some(a.cmp(b)),
        (Cell::Int(a), Cell::Int(b)) => Some(a.cmp(b)),
        (Cell::UInt(a), Cell::UInt(b)) => Some(a.cmp(b)),
        _ => match (l.as_f64(), r.as_f64()) {
            (Some(a), Some(b)) => a.partial_cmp(&b),
            _ => None,
        },
    };
    let Some(o) = ord else { return false };
    match op {
        BinOp::Eq => o == Ordering::Equal,
        BinOp::Ne => o != Ordering::Equal,
        BinOp::Lt => o == Ordering::Less,
        BinOp::Lte => o != Ordering::Greater,
        BinOp::Gt => o == Ordering::Greater,
        BinOp::Gte => o != Ordering::Less,
        _ => false,
    }
}
