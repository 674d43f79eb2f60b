//! The functions that answer several rows per window: `top()`, `bottom()`,
//! `sample()` and `distinct()`, as InfluxDB 1.x answers them.
//!
//! - `top(f, N)` / `bottom(f, N)`: per group and window, the `N` points with
//!   the largest (smallest) values of `f`; among equal values the earliest
//!   point wins. Rows carry each point's own time and are ordered by time
//!   within their window. `top(f, tag.., N)` first keeps, per combination of
//!   the tags' values, its best point, then the `N` best of those; the tags
//!   follow the selector as columns. Plain fields and tags beside the call
//!   come from the selected point's row (`SELECT top(v, 3), host`), and
//!   arithmetic over the call applies to each value (`top(v, 3) * 2`).
//! - `sample(f, N)`: per group and window, `N` points drawn at random (each
//!   subset of `N` equally likely; all of them when there are fewer), as
//!   rows at their own times in time order, with plain fields and tags
//!   beside it as for `top()`. A `LIMIT` below `N` is no error here. InfluxDB
//!   also lets `sample()` sit beside an aggregate (answering the two in
//!   separate rows); here it is refused, as `top()` is.
//! - `distinct(f)`: per group and window, each value once, ordered by the
//!   time of its first point, then by value; rows carry the window's start
//!   (the range's start without GROUP BY time, 0 when unbounded).
//!   `count(distinct(f))` is an ordinary aggregate (see `aggregates`).
//! - Windows without points give no row whatever `fill()` says; `ORDER BY
//!   time DESC` reverses the windows, not the rows within one (InfluxDB 1.6
//!   does the same); `LIMIT`/`OFFSET` count rows per series, and a `LIMIT`
//!   below `N` is an error, as in InfluxDB.
//! - Neither may be combined with another function (and `distinct()` with
//!   nothing else at all): InfluxDB refuses both with these messages.
//!
//! Differences kept on purpose: InfluxDB also accepts a field between the
//! field and `N` (grouping by that field's values); here only tags are
//! accepted there, and an error says so.

use std::collections::{BTreeMap, HashMap, HashSet};

use pulsardb_core::catalog::TagExpr;
use pulsardb_core::{FieldType, Value};

use super::super::ast::{Expr, Field, Select, VarKind};
use super::super::cast;
use super::super::cond::{self, Row, Split, TimeRange};
use super::super::exec::Ctx;
use super::super::result::{Cell, Series};
use super::{
    Src, Tags, column_name, distinct_key, eval, fields_read, group_key, page, raw_rows, unique,
    value_cell, value_order, walk,
};

/// Which function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Func {
    Top,
    Bottom,
    Sample,
    Distinct,
}

/// The one multi-row call of a statement.
#[derive(Debug)]
pub(super) struct Multi {
    func: Func,
    /// The call itself, as it appears in its projection.
    call: Expr,
    /// Its projection's position.
    at: usize,
    /// The field it reads.
    field: String,
    /// A type cast of its values (`top(v::integer, 3)`).
    cast: Option<VarKind>,
    /// `top`/`bottom`: the tags between the field and `N`.
    tags: Vec<String>,
    /// `top`/`bottom`: `N`.
    n: usize,
}

fn func_of(name: &str) -> Option<Func> {
    match name {
        "top" => Some(Func::Top),
        "bottom" => Some(Func::Bottom),
        "sample" => Some(Func::Sample),
        "distinct" => Some(Func::Distinct),
        _ => None,
    }
}

/// Describes an argument the way an error message quotes it.
fn shown(e: &Expr) -> String {
    match e {
        Expr::Var { name, .. } => name.clone(),
        Expr::Wildcard(None) => "*".into(),
        Expr::Wildcard(Some(VarKind::Tag)) => "*::tag".into(),
        Expr::Wildcard(Some(_)) => "*::field".into(),
        Expr::Integer(i) => i.to_string(),
        Expr::Number(n) => format!("{n:.3}"),
        Expr::String(s) => format!("'{s}'"),
        Expr::Bool(b) => b.to_string(),
        Expr::Duration(d) => format!("{d}ns"),
        Expr::Regex(r) => format!("/{r}/"),
        Expr::Call { name, .. } => format!("{name}()"),
        _ => "an expression".into(),
    }
}

/// The field a variable argument reads and its cast; `v::tag` names no
/// field (the empty name, which no field has: it selects nothing).
fn field_of(e: &Expr) -> Option<(String, Option<VarKind>)> {
    match e {
        Expr::Var {
            kind: Some(VarKind::Tag),
            ..
        } => Some((String::new(), None)),
        Expr::Var { name, kind } => Some((name.clone(), kind.filter(|k| k.is_cast()))),
        _ => None,
    }
}

/// Finds a `top`, `bottom` or `distinct` call among the projections (not
/// `count(distinct(f))`, an ordinary aggregate) and checks how it is used.
pub(super) fn find(
    fields: &[Field],
    s: &Select,
    is_tag: &dyn Fn(&str, Option<VarKind>) -> bool,
) -> Result<Option<Multi>, String> {
    let mut found: Vec<(usize, Expr)> = Vec::new();
    let mut others = 0usize;
    for (at, f) in fields.iter().enumerate() {
        walk(&f.expr, 0, &mut |e| {
            let Expr::Call { name, args } = e else {
                return Ok(true);
            };
            if func_of(name).is_some() {
                found.push((at, e.clone()));
                return Ok(false);
            }
            // Math applies to each row, as arithmetic does.
            if super::math::arity(name).is_some() {
                return Ok(true);
            }
            if name == "count"
                && matches!(args.first(), Some(Expr::Call { name, .. }) if name == "distinct")
            {
                others += 1;
                return Ok(false);
            }
            others += 1;
            Ok(true)
        })?;
    }
    let Some((at, call)) = found.first().cloned() else {
        return Ok(None);
    };
    let Expr::Call { name, args } = &call else {
        return Ok(None);
    };
    let Some(func) = func_of(name) else {
        return Ok(None);
    };
    if func == Func::Distinct {
        if found.len() > 1 || others > 0 || fields.len() > 1 {
            return Err(
                "aggregate function distinct() cannot be combined with other functions or fields"
                    .into(),
            );
        }
        let (field, cast) = match args.as_slice() {
            [v @ Expr::Var { .. }] => field_of(v).unwrap_or_default(),
            [] => return Err("distinct function requires at least one argument".into()),
            [_] => return Err("expected field argument in distinct()".into()),
            _ => return Err("distinct function can only have one argument".into()),
        };
        return Ok(Some(Multi {
            func,
            call,
            at,
            field,
            cast,
            tags: Vec::new(),
            n: 0,
        }));
    }
    if found.len() > 1 || others > 0 {
        return Err(format!(
            "selector function {name}() cannot be combined with other functions"
        ));
    }
    if func == Func::Sample {
        // InfluxDB's checks and words, in its order.
        if args.len() != 2 {
            return Err(format!(
                "invalid number of arguments for sample, expected 2, got {}",
                args.len()
            ));
        }
        let n = match args.get(1) {
            Some(Expr::Integer(n)) if *n >= 1 => usize::try_from(*n).unwrap_or(usize::MAX),
            Some(Expr::Integer(n)) => {
                return Err(format!("sample window must be greater than 1, got {n}"));
            }
            _ => return Err("expected integer argument in sample()".into()),
        };
        let (field, cast) = match args.first() {
            Some(v @ Expr::Var { .. }) => field_of(v).unwrap_or_default(),
            Some(Expr::Wildcard(_) | Expr::Regex(_)) => {
                return Err(
                    "sample() of * or /regex/ is not supported by PulsarDB: name a field".into(),
                );
            }
            _ => return Err("expected field argument in sample()".into()),
        };
        return Ok(Some(Multi {
            func,
            call,
            at,
            field,
            cast,
            tags: Vec::new(),
            n,
        }));
    }
    if args.len() < 2 {
        return Err(format!(
            "invalid number of arguments for {name}, expected at least 2, got {}",
            args.len()
        ));
    }
    let (field, cast) = match args.first() {
        // A name that is no field of this measurement selects nothing
        // (another measurement of the FROM list may have it).
        Some(v @ Expr::Var { .. }) => field_of(v).unwrap_or_default(),
        Some(a) => {
            return Err(format!(
                "expected first argument to be a field in {name}(), found {}",
                shown(a)
            ));
        }
        None => (String::new(), None),
    };
    let n = match args.last() {
        Some(Expr::Integer(n)) if *n >= 1 => usize::try_from(*n).unwrap_or(usize::MAX),
        Some(Expr::Integer(n)) => {
            return Err(format!("limit ({n}) in {name} function must be at least 1"));
        }
        Some(a) => {
            return Err(format!(
                "expected integer as last argument in {name}(), found {}",
                shown(a)
            ));
        }
        None => 0,
    };
    let mut tags = Vec::new();
    for a in args.get(1..args.len() - 1).unwrap_or_default() {
        match a {
            Expr::Var { name: v, kind } if is_tag(v, *kind) => tags.push(v.clone()),
            Expr::Var { name: v, .. } => {
                return Err(format!(
                    "{name}() groups by tags between the field and the count; {v} is a field"
                ));
            }
            a => {
                return Err(format!(
                    "only fields or tags are allowed in {name}(), found {}",
                    shown(a)
                ));
            }
        }
    }
    if let Some(limit) = s.limit.filter(|&l| l > 0)
        && n as u64 > limit
    {
        return Err(format!(
            "limit ({n}) in {name} function can not be larger than the LIMIT ({limit}) in the select statement"
        ));
    }
    Ok(Some(Multi {
        func,
        call,
        at,
        field,
        cast,
        tags,
        n,
    }))
}

/// A candidate point: time, value, index of its series in the rows read.
type Cand = (i64, Value, usize);

/// `top`/`bottom`'s order: the better point first (largest or smallest
/// value, then the earliest, then the first series).
fn better(func: Func, a: &Cand, b: &Cand) -> std::cmp::Ordering {
    let by_value = value_order(&a.1, &b.1);
    let by_value = if func == Func::Top {
        by_value.reverse()
    } else {
        by_value
    };
    by_value.then(a.0.cmp(&b.0)).then(a.2.cmp(&b.2))
}

/// A small pseudo-random generator (SplitMix64) for `sample()`: a query
/// needs unpredictable picks, not cryptographic ones.
pub(super) struct Rng(u64);

impl Rng {
    /// Seeded from the clock and the address of a stack value.
    pub(super) fn new() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let here = 0u8;
        Rng(t ^ (std::ptr::addr_of!(here) as u64).rotate_left(32))
    }

    #[cfg(test)]
    fn seeded(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), without modulo bias.
    fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next();
            if x < zone {
                return (x % n) as usize;
            }
        }
    }
}

/// `n` of `cands` drawn at random, each subset equally likely (a partial
/// Fisher–Yates shuffle), then in time order (then series).
fn sample(mut cands: Vec<Cand>, n: usize, rng: &mut Rng) -> Vec<Cand> {
    let k = n.min(cands.len());
    for i in 0..k {
        let j = i + rng.below(cands.len() - i);
        cands.swap(i, j);
    }
    cands.truncate(k);
    cands.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.cmp(&b.2)));
    cands
}

/// The rows one window gives, in output order: (time, value, series).
fn window_rows(
    m: &Multi,
    mut cands: Vec<Cand>,
    report: i64,
    combos: &[Vec<Option<String>>],
    rng: &mut Rng,
) -> Vec<Cand> {
    match m.func {
        Func::Sample => sample(cands, m.n, rng),
        Func::Distinct => {
            // Each value with its first point, ordered by that point's time,
            // then by value.
            let key = |c: &Cand| distinct_key(c.1);
            cands.sort_by(|a, b| value_order(&key(a), &key(b)).then(a.0.cmp(&b.0)));
            cands.dedup_by(|later, first| value_order(&key(later), &key(first)).is_eq());
            cands.sort_by(|a, b| a.0.cmp(&b.0).then(value_order(&a.1, &b.1)));
            cands
                .into_iter()
                .map(|(_, v, si)| (report, v, si))
                .collect()
        }
        Func::Top | Func::Bottom => {
            cands.sort_by(|a, b| better(m.func, a, b));
            if !m.tags.is_empty() {
                // The best point of each combination of the tags' values
                // (the first in this order).
                let mut seen: HashSet<&[Option<String>]> = HashSet::new();
                cands.retain(|c| seen.insert(combos.get(c.2).map_or(&[][..], Vec::as_slice)));
            }
            cands.truncate(m.n);
            cands.sort_by(|a, b| {
                a.0.cmp(&b.0)
                    .then(value_order(&a.1, &b.1))
                    .then(a.2.cmp(&b.2))
            });
            cands
        }
    }
}

/// Runs a SELECT whose projection holds `m`, over one measurement.
#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    ctx: &Ctx<'_>,
    src: Src<'_>,
    db: &str,
    m_name: &str,
    s: &Select,
    m: &Multi,
    fields: &[Field],
    all_fields: &[(String, FieldType)],
    group_by: &[String],
    split: &Split,
    range: TimeRange,
    interval: Option<&super::Win>,
    tag_expr: &TagExpr,
    is_tag: &dyn Fn(&str, Option<VarKind>) -> bool,
) -> Result<Vec<Series>, String> {
    let Some(&(_, ty)) = all_fields.iter().find(|(f, _)| *f == m.field) else {
        return Ok(Vec::new());
    };
    let ty = match m.cast {
        Some(VarKind::Float) => FieldType::Float,
        Some(VarKind::Integer) => FieldType::Integer,
        Some(VarKind::Unsigned) => FieldType::Unsigned,
        Some(VarKind::Boolean) => FieldType::Boolean,
        // Values that are no values select nothing.
        Some(VarKind::Nothing) => return Ok(Vec::new()),
        _ => ty,
    };
    if ty == FieldType::Boolean && matches!(m.func, Func::Top | Func::Bottom) {
        let name = if m.func == Func::Top { "top" } else { "bottom" };
        return Err(format!(
            "{name}() needs a numeric field; {} is boolean",
            m.field
        ));
    }
    // Fields read: the function's, the plain fields beside it, and the ones
    // conditions look at.
    let mut needed = vec![m.field.clone()];
    let exprs = fields.iter().map(|f| &f.expr).chain(&split.rows);
    fields_read(exprs, is_tag, &mut needed)?;
    let cap = ctx.engine.config().max_query_points as usize;
    let rows = raw_rows(ctx, src, db, m_name, &needed, range, tag_expr, cap)?;
    let mut regexes = HashMap::new();
    // group → window → candidates.
    let mut cands: BTreeMap<Tags, BTreeMap<i64, Vec<Cand>>> = BTreeMap::new();
    for (si, (tags_of, series_rows)) in rows.iter().enumerate() {
        let per_window = cands.entry(group_key(group_by, tags_of)).or_default();
        for (&t, vals) in series_rows {
            let Some(v) = vals.get(&m.field).and_then(|v| cast::value(*v, m.cast)) else {
                continue;
            };
            if !split.rows.is_empty() {
                let cells: HashMap<String, Cell> = vals
                    .iter()
                    .map(|(k, v)| (k.clone(), value_cell(*v)))
                    .collect();
                let row = Row {
                    tags: tags_of,
                    fields: &cells,
                };
                if !cond::eval_all(&split.rows, &row, is_tag, &mut regexes)? {
                    continue;
                }
            }
            let w = match interval {
                Some(win) => win.start(t),
                None => range.start,
            };
            per_window.entry(w).or_default().push((t, v, si));
        }
    }
    // Columns: the projections, the tags of `top(f, tag.., N)` right after
    // the call's own.
    let mut names: Vec<String> = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        names.push(column_name(f));
        if i == m.at {
            names.extend(m.tags.iter().cloned());
        }
    }
    let columns: Vec<String> = std::iter::once("time".to_string())
        .chain(unique(names))
        .collect();
    // Per series: its values of the tags of `top(f, tag.., N)`.
    let combos: Vec<Vec<Option<String>>> = rows
        .iter()
        .map(|(tags_of, _)| {
            m.tags
                .iter()
                .map(|k| tags_of.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone()))
                .collect()
        })
        .collect();
    let mut rng = Rng::new();
    let mut out = Vec::new();
    for (g, ws) in cands {
        let mut per_window: Vec<Vec<Vec<Cell>>> = Vec::new();
        for (w, cs) in ws {
            let report = if interval.is_some() || range.bounded_below() {
                w
            } else {
                0
            };
            let mut rows_w = Vec::new();
            for (t, v, si) in window_rows(m, cs, report, &combos, &mut rng) {
                let (tags_of, series_rows) = match rows.get(si) {
                    Some(r) => (r.0.as_slice(), Some(&r.1)),
                    None => (&[][..], None),
                };
                // The point's row (its time: `report` is the window's for
                // distinct, which takes no other column).
                let vals = series_rows.and_then(|r| r.get(&t));
                let res = |e: &Expr| -> Option<Cell> {
                    if *e == m.call {
                        return Some(value_cell(v));
                    }
                    match e {
                        Expr::Var { name, kind } if is_tag(name, *kind) => Some(
                            tags_of
                                .iter()
                                .find(|(k, _)| k == name)
                                .map_or(Cell::Null, |(_, v)| Cell::Str(v.clone())),
                        ),
                        Expr::Var { name, kind } => Some(
                            vals.and_then(|r| r.get(name))
                                .and_then(|v| cast::value(*v, *kind))
                                .map_or(Cell::Null, value_cell),
                        ),
                        _ => None,
                    }
                };
                let mut row = vec![Cell::Time(t)];
                for (i, f) in fields.iter().enumerate() {
                    row.push(eval(&f.expr, &res, 0));
                    if i == m.at {
                        let combo = combos.get(si).map_or(&[][..], Vec::as_slice);
                        row.extend(
                            combo
                                .iter()
                                .map(|v| v.clone().map_or(Cell::Null, Cell::Str)),
                        );
                    }
                }
                rows_w.push(row);
            }
            per_window.push(rows_w);
        }
        if s.order_desc {
            per_window.reverse();
        }
        let rows_g = page(
            per_window.into_iter().flatten().collect(),
            s.limit,
            s.offset,
        );
        if rows_g.is_empty() {
            continue;
        }
        out.push(Series {
            name: m_name.to_string(),
            tags: g.into_iter().collect(),
            columns: columns.clone(),
            values: rows_g,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_draws_distinct_points_uniformly_in_time_order() {
        let cands: Vec<Cand> = (0..10)
            .map(|i| (100 - i * 10, Value::Integer(i), (i % 3) as usize))
            .collect();
        let mut rng = Rng::seeded(7);
        let mut hits = [0u32; 10];
        let rounds = 20_000;
        for _ in 0..rounds {
            let picked = sample(cands.clone(), 3, &mut rng);
            assert_eq!(picked.len(), 3);
            assert!(picked.windows(2).all(|w| w[0].0 < w[1].0), "{picked:?}");
            for p in &picked {
                let Value::Integer(i) = p.1 else { panic!() };
                hits[i as usize] += 1;
            }
        }
        // Each point is picked 3 times in 10, within 5% of that.
        let want = f64::from(rounds) * 0.3;
        for (i, h) in hits.iter().enumerate() {
            assert!(
                (f64::from(*h) - want).abs() < want * 0.05,
                "point {i}: {h} of {want}"
            );
        }
        // Fewer points than asked: all of them, in time order.
        let all = sample(cands.clone(), 50, &mut rng);
        assert_eq!(all.len(), 10);
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(sample(Vec::new(), 3, &mut rng).is_empty());
    }
}
