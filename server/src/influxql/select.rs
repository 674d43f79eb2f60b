//! SELECT: planned over the core's queries.
//!
//! - The WHERE clause is split: time bounds and tag predicates go to the core
//!   (tag regexes resolved against the tag index); field comparisons are
//!   evaluated on rows here.
//! - Aggregates the core computes in one pass (count, sum, mean, min, max,
//!   first, last, spread) run as core window queries, which answer whole
//!   chunks from their statistics. Anything else (median, mode, percentile,
//!   stddev, integral, or a field condition) reads raw points and aggregates
//!   them here, within `limits.max_query_points`. integral() runs across the
//!   windows of a group, as InfluxDB's streaming reducer does.
//! - derivative, non_negative_derivative, difference, non_negative_difference,
//!   cumulative_sum, moving_average and elapsed apply to raw values or to the
//!   windows of an aggregate (the derivatives' unit defaults to 1 s for raw
//!   values and to the GROUP BY interval for windows, elapsed's to 1 ns, as
//!   in InfluxDB).
//! - The technical-analysis functions (exponential moving averages, RSI,
//!   ...) are transforms too: `ta`.
//! - top, bottom, sample and distinct answer several rows per window:
//!   `multirow`.
//! - Type casts (`v::integer`) are settled against the store's field types
//!   when planned (`settle_casts`) and applied where values are read
//!   ([`super::cast`]).
//! - Times follow InfluxDB: GROUP BY time buckets are aligned to the epoch
//!   (plus the offset); an aggregate without GROUP BY time reports the start
//!   of the time range (0 when unbounded), a lone selector the time of the
//!   point it selected; without an upper bound, GROUP BY time stops at now().
//! - `tz('Area/City')` (read by [`crate::tz`]): buckets follow the zone's
//!   wall clock (a day runs midnight to midnight, 23 or 25 hours when the
//!   clocks change; see `window`), times in WHERE without an offset are its
//!   wall-clock times, and times print with its offset. A subquery keeps its
//!   own zone, as in InfluxDB.

use std::collections::{BTreeMap, HashMap};

use pulsardb_core::catalog::TagExpr;
use pulsardb_core::query::{Acc, SeriesData, Zone};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use pulsardb_core::{Aggregation, FieldType, Query, Value, WriteBatch};

use super::ast::{BinOp, Dimension, Expr, Field, Fill, IntoTarget, Select, Source, VarKind};
use super::cast;
use super::cond::{self, Row, TimeRange};
use super::exec::{Ctx, source_db};
use super::result::{Cell, Series};

pub(crate) mod math;
mod multirow;
mod subquery;
mod ta;
mod window;

pub use window::Win;

/// A series' tags, sorted by key.
type Tags = Vec<(String, String)>;
/// Rows of a group: time → output column → value.
type GroupRows<V> = BTreeMap<Tags, BTreeMap<i64, HashMap<String, V>>>;
/// group → window → each aggregate's value (by its position in the list of
/// aggregates).
type AggRows = BTreeMap<Tags, BTreeMap<i64, Vec<Option<Out>>>>;
/// group → window → the row a selector picked: its series' tags and fields.
type AuxRows = BTreeMap<Tags, BTreeMap<i64, (Tags, HashMap<String, Value>)>>;
/// group → window → a selector's candidates: (time, value, series index).
type Candidates = BTreeMap<Tags, BTreeMap<i64, Vec<(i64, Value, usize)>>>;

/// Aggregates the core computes from one accumulator.
const CORE_AGGS: [&str; 8] = [
    "count", "sum", "mean", "min", "max", "first", "last", "spread",
];
/// Aggregates computed here from raw values.
const RAW_AGGS: [&str; 5] = ["median", "percentile", "stddev", "mode", "integral"];
/// Selectors: alone and without GROUP BY time they report their point's time.
const SELECTORS: [&str; 5] = ["first", "last", "min", "max", "percentile"];
/// Transforms over consecutive values.
const TRANSFORMS: [&str; 7] = [
    "derivative",
    "elapsed",
    "non_negative_derivative",
    "difference",
    "non_negative_difference",
    "cumulative_sum",
    "moving_average",
];
/// Transforms: [`TRANSFORMS`] and the technical-analysis functions ([`ta`]).
fn is_transform(name: &str) -> bool {
    TRANSFORMS.contains(&name) || ta::NAMES.contains(&name)
}

/// Transforms whose second argument is a unit of time.
const WITH_UNIT: [&str; 3] = ["derivative", "non_negative_derivative", "elapsed"];
/// Windows one series may produce.
const MAX_WINDOWS: usize = 1_000_000;

fn is_agg(name: &str) -> bool {
    CORE_AGGS.contains(&name) || RAW_AGGS.contains(&name)
}

/// One aggregate to compute per window.
#[derive(Clone, Debug, PartialEq)]
struct Agg {
    func: String,
    field: String,
    /// A type cast of the field's values (`mean(v::integer)`).
    cast: Option<VarKind>,
    arg: Option<f64>,
    /// `count(distinct(field))`.
    distinct: bool,
    /// Outside any transform (`count(v)` in `derivative(mean(v)), count(v)`):
    /// over the range asked, not the window a transform reads before it.
    plain: bool,
}

/// An aggregate's value in one window, with the time of the point a
/// selector picked.
#[derive(Clone, Debug)]
struct Out {
    value: Cell,
    time: Option<i64>,
}

pub(crate) fn value_cell(v: Value) -> Cell {
    match v {
        Value::Float(f) => Cell::Float(f),
        Value::Integer(i) => Cell::Int(i),
        Value::Unsigned(u) => Cell::UInt(u),
        Value::Boolean(b) => Cell::Bool(b),
    }
}

fn from_acc(func: &str, a: &Acc) -> Out {
    let (value, time) = match func {
        "count" => (Cell::Int(a.count as i64), None),
        "sum" => (value_cell(a.sum_value()), None),
        "mean" => (Cell::Float(a.mean()), None),
        "min" => (value_cell(a.min), Some(a.min_at)),
        "max" => (value_cell(a.max), Some(a.max_at)),
        "first" => (value_cell(a.first.1), Some(a.first.0)),
        "last" => (value_cell(a.last.1), Some(a.last.0)),
        "spread" => (
            match (a.min, a.max) {
                (Value::Float(x), Value::Float(y)) => Cell::Float(y - x),
                (Value::Integer(x), Value::Integer(y)) => Cell::Int(y.wrapping_sub(x)),
                (Value::Unsigned(x), Value::Unsigned(y)) => Cell::UInt(y.wrapping_sub(x)),
                _ => Cell::Null,
            },
            None,
        ),
        _ => (Cell::Null, None),
    };
    Out { value, time }
}

/// An aggregate over raw values of one window (time order).
fn from_values(agg: &Agg, pts: &[(i64, Value)]) -> Out {
    let Some(&(t0, v0)) = pts.first() else {
        return Out {
            value: Cell::Null,
            time: None,
        };
    };
    if agg.distinct {
        let mut vs: Vec<Value> = pts.iter().map(|p| distinct_key(p.1)).collect();
        vs.sort_by(value_order);
        vs.dedup_by(|a, b| value_order(a, b).is_eq());
        return Out {
            value: Cell::Int(vs.len() as i64),
            time: None,
        };
    }
    if CORE_AGGS.contains(&agg.func.as_str()) {
        let mut acc = Acc::point(t0, v0);
        for &(t, v) in pts.get(1..).unwrap_or_default() {
            acc.add(t, v);
        }
        return from_acc(&agg.func, &acc);
    }
    match agg.func.as_str() {
        "mode" => return mode(pts),
        "integral" => {
            let unit = agg.arg.unwrap_or(1e9);
            let v = integrals(&[pts], None, unit).first().copied().flatten();
            return Out {
                value: v.map_or(Cell::Null, Cell::Float),
                time: None,
            };
        }
        _ => {}
    }
    let mut nums: Vec<(f64, i64, Value)> = pts
        .iter()
        .filter_map(|&(t, v)| match v {
            Value::Boolean(_) => None,
            v => Some((v.as_f64(), t, v)),
        })
        .collect();
    if nums.is_empty() {
        return Out {
            value: Cell::Null,
            time: None,
        };
    }
    match agg.func.as_str() {
        "median" => {
            nums.sort_by(|a, b| a.0.total_cmp(&b.0));
            let n = nums.len();
            let mid = |i: usize| nums.get(i).map_or(0.0, |x| x.0);
            let v = if n % 2 == 1 {
                mid(n / 2)
            } else {
                (mid(n / 2 - 1) + mid(n / 2)) / 2.0
            };
            Out {
                value: Cell::Float(v),
                time: None,
            }
        }
        "percentile" => {
            // Nearest rank, as InfluxDB: index floor(n·p/100 + 0.5) − 1.
            nums.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let p = agg.arg.unwrap_or(50.0);
            let i = (nums.len() as f64 * p / 100.0 + 0.5).floor() as i64 - 1;
            match usize::try_from(i).ok().and_then(|i| nums.get(i)) {
                Some(&(_, t, v)) => Out {
                    value: value_cell(v),
                    time: Some(t),
                },
                None => Out {
                    value: Cell::Null,
                    time: None,
                },
            }
        }
        "stddev" => {
            let n = nums.len() as f64;
            if nums.len() < 2 {
                return Out {
                    value: Cell::Null,
                    time: None,
                };
            }
            let mean = nums.iter().map(|x| x.0).sum::<f64>() / n;
            let var = nums
                .iter()
                .map(|x| (x.0 - mean) * (x.0 - mean))
                .sum::<f64>()
                / (n - 1.0);
            Out {
                value: Cell::Float(var.sqrt()),
                time: None,
            }
        }
        _ => Out {
            value: Cell::Null,
            time: None,
        },
    }
}

/// A value as `distinct` tells values apart: −0.0 is 0.0 (InfluxDB keys
/// them in a map, where the two are equal).
fn distinct_key(v: Value) -> Value {
    match v {
        Value::Float(f) => Value::Float(if f == 0.0 { 0.0 } else { f }),
        v => v,
    }
}

/// Orders two values of one field (numerically, integers exactly).
fn value_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Unsigned(x), Value::Unsigned(y)) => x.cmp(y),
        (Value::Boolean(x), Value::Boolean(y)) => x.cmp(y),
        _ => a.as_f64().total_cmp(&b.as_f64()),
    }
}

/// mode(): the most frequent value; among equally frequent values, the one
/// whose first point is the earliest, as InfluxDB's documentation states
/// (InfluxDB 1.x itself breaks such ties by the order an unstable sort
/// leaves). Any type, booleans included.
fn mode(pts: &[(i64, Value)]) -> Out {
    let mut sorted = pts.to_vec();
    sorted.sort_by(|a, b| value_order(&a.1, &b.1).then(a.0.cmp(&b.0)));
    let mut best: Option<(usize, i64, Value)> = None;
    for run in sorted.chunk_by(|a, b| value_order(&a.1, &b.1).is_eq()) {
        let Some(&(t, v)) = run.first() else {
            continue;
        };
        if best.is_none_or(|(n, bt, _)| run.len() > n || (run.len() == n && t < bt)) {
            best = Some((run.len(), t, v));
        }
    }
    Out {
        value: best.map_or(Cell::Null, |(_, _, v)| value_cell(v)),
        time: None,
    }
}

/// integral() of consecutive windows of one group (points in time order in
/// each), as InfluxDB's streaming reducer computes it: the trapezoid rule
/// over consecutive points, in units of `unit` nanoseconds; a point with
/// the time of the one before replaces it. With GROUP BY time (`interval`),
/// the segment from a window's last point to the next window's first is
/// split at the window's end by linear interpolation, each part counting in
/// its own window. `None` for a window without numeric points.
fn integrals(windows: &[&[(i64, Value)]], interval: Option<&Win>, unit: f64) -> Vec<Option<f64>> {
    let mut out = vec![None; windows.len()];
    let mut prev: Option<(i64, f64)> = None;
    // The last window with points.
    let mut last: Option<usize> = None;
    for (k, pts) in windows.iter().enumerate() {
        let mut nums = pts.iter().filter_map(|&(t, v)| match v {
            Value::Boolean(_) => None,
            v => Some((t, v.as_f64())),
        });
        let Some(first) = nums.next() else {
            continue;
        };
        let mut sum = 0.0;
        // The crossing segment: its part up to the previous window's end
        // counts there.
        if let (Some(win), Some((pt, pv))) = (interval, prev) {
            let end = win.end(win.start(pt));
            if first.0 > pt && end > pt && end <= first.0 {
                let frac = (end - pt) as f64 / (first.0 - pt) as f64;
                let at_end = pv + (first.1 - pv) * frac;
                if let Some(Some(before)) = last.and_then(|j| out.get_mut(j)) {
                    *before += 0.5 * (at_end + pv) * ((end - pt) as f64 / unit);
                }
                prev = Some((end, at_end));
            }
        }
        for (t, v) in std::iter::once(first).chain(nums) {
            if let Some((pt, pv)) = prev
                && pt != t
            {
                sum += 0.5 * (v + pv) * ((t - pt) as f64 / unit);
            }
            prev = Some((t, v));
        }
        if let Some(slot) = out.get_mut(k) {
            *slot = Some(sum);
        }
        last = Some(k);
    }
    // The last window holds no area when its last point is at its start:
    // InfluxDB reports nothing for it.
    if let (Some(win), Some((pt, _)), Some(k)) = (interval, prev, last)
        && win.start(pt) == pt
        && let Some(slot) = out.get_mut(k)
    {
        *slot = None;
    }
    out
}

/// Adds to `needed` the fields `exprs` read (variables that are no tag and
/// not `time`), then sorts it and drops repeats.
fn fields_read<'e>(
    exprs: impl IntoIterator<Item = &'e Expr>,
    is_tag: &dyn Fn(&str, Option<VarKind>) -> bool,
    needed: &mut Vec<String>,
) -> Result<(), String> {
    for e in exprs {
        walk(e, 0, &mut |e| {
            if let Expr::Var { name, kind } = e
                && !is_tag(name, *kind)
                && *kind != Some(VarKind::Nothing)
                && !name.eq_ignore_ascii_case("time")
            {
                needed.push(name.clone());
            }
            Ok(true)
        })?;
    }
    needed.sort();
    needed.dedup();
    Ok(())
}

/// Walks an expression while `f` returns true for a node (into it);
/// bounded depth, deeper nodes unvisited.
pub(crate) fn walk_expr(e: &Expr, f: &mut dyn FnMut(&Expr) -> bool) {
    let _ = walk(e, 0, &mut |x| Ok(f(x)));
}

/// Walks an expression (bounded depth).
fn walk<'e>(
    e: &'e Expr,
    depth: usize,
    f: &mut dyn FnMut(&'e Expr) -> Result<bool, String>,
) -> Result<(), String> {
    if depth > 128 {
        return Err("expression nested too deeply".into());
    }
    if !f(e)? {
        return Ok(());
    }
    match e {
        Expr::Binary { lhs, rhs, .. } => {
            walk(lhs, depth + 1, f)?;
            walk(rhs, depth + 1, f)
        }
        Expr::Paren(x) => walk(x, depth + 1, f),
        Expr::Call { args, .. } => args.iter().try_for_each(|a| walk(a, depth + 1, f)),
        _ => Ok(()),
    }
}

/// A variable's name and its type cast, if any (`::field` and `::tag` are
/// none); through parentheses.
fn field_var(e: &Expr) -> Option<(&str, Option<VarKind>)> {
    match e {
        Expr::Var { name, kind } => Some((name, kind.filter(|k| k.is_cast()))),
        Expr::Paren(x) => field_var(x),
        _ => None,
    }
}

/// The field (and cast) of `count(distinct(field))`.
fn count_distinct<'a>(name: &str, args: &'a [Expr]) -> Option<(&'a str, Option<VarKind>)> {
    match (name, args) {
        ("count", [Expr::Call { name, args }]) if name == "distinct" => match args.as_slice() {
            [v @ Expr::Var { .. }] => field_var(v),
            _ => None,
        },
        _ => None,
    }
}

/// Settles casts against the store's field types, as InfluxDB does when it
/// plans: a cast to the stored type changes nothing and is dropped
/// (`mean(v::float)` over a float field: the core still answers from its
/// statistics); a cast the type cannot take (a boolean to a number, a
/// number to boolean or string) becomes [`VarKind::Nothing`], which reads
/// nothing: no row exists for it, `count()` of it is null.
fn settle_casts(e: &mut Expr, types: &[(String, FieldType)], depth: usize) {
    if depth > 128 {
        return;
    }
    match e {
        Expr::Var {
            name,
            kind: kind @ Some(_),
        } => {
            let stored = types.iter().find(|(f, _)| f == name).map(|(_, t)| *t);
            let same = matches!(
                (*kind, stored),
                (Some(VarKind::Float), Some(FieldType::Float))
                    | (Some(VarKind::Integer), Some(FieldType::Integer))
                    | (Some(VarKind::Unsigned), Some(FieldType::Unsigned))
                    | (Some(VarKind::Boolean), Some(FieldType::Boolean))
            );
            let numeric = |t: Option<FieldType>| {
                matches!(
                    t,
                    Some(FieldType::Float | FieldType::Integer | FieldType::Unsigned)
                )
            };
            let impossible = match *kind {
                Some(VarKind::Float | VarKind::Integer | VarKind::Unsigned) => {
                    stored == Some(FieldType::Boolean)
                }
                Some(VarKind::Boolean) => numeric(stored),
                Some(VarKind::String) => stored.is_some(),
                _ => false,
            };
            if same {
                *kind = Some(VarKind::Field);
            } else if impossible {
                *kind = Some(VarKind::Nothing);
            }
        }
        Expr::Binary { lhs, rhs, .. } => {
            settle_casts(lhs, types, depth + 1);
            settle_casts(rhs, types, depth + 1);
        }
        Expr::Paren(x) => settle_casts(x, types, depth + 1),
        Expr::Call { args, .. } => {
            for a in args {
                settle_casts(a, types, depth + 1);
            }
        }
        _ => {}
    }
}

/// The aggregate calls of a projection list, and whether any exists.
fn aggregates(fields: &[Field]) -> Result<Vec<Agg>, String> {
    let mut out: Vec<Agg> = Vec::new();
    for f in fields {
        walk(&f.expr, 0, &mut |e| {
            let Expr::Call { name, args } = e else {
                return Ok(true);
            };
            if !is_agg(name) {
                return Ok(true);
            }
            if let Some((field, cast)) = count_distinct(name, args) {
                let a = Agg {
                    func: name.clone(),
                    field: field.to_string(),
                    cast,
                    arg: None,
                    distinct: true,
                    plain: true,
                };
                if !out.contains(&a) {
                    out.push(a);
                }
                return Ok(false);
            }
            let Some((field, cast)) = args.first().and_then(field_var) else {
                return Err(format!("{name}() takes a field name as its first argument"));
            };
            let field = field.to_string();
            let arg = match (name.as_str(), args.get(1)) {
                ("percentile", Some(Expr::Integer(i))) => Some(*i as f64),
                ("percentile", Some(Expr::Number(n))) => Some(*n),
                ("percentile", _) => {
                    return Err(
                        "percentile() takes a field and a number: percentile(value, 95)".into(),
                    );
                }
                ("integral", Some(Expr::Duration(d))) if *d > 0 => Some(*d as f64),
                ("integral", Some(_)) => {
                    return Err(
                        "the unit of integral() must be a positive duration: integral(value, 1h)"
                            .into(),
                    );
                }
                (_, Some(_)) => return Err(format!("{name}() takes one argument")),
                (_, None) => None,
            };
            if args.len() > 2 {
                return Err(format!("{name}() takes at most two arguments"));
            }
            if name == "percentile"
                && let Some(p) = arg
                && !(0.0..=100.0).contains(&p)
            {
                return Err("percentile must be between 0 and 100".into());
            }
            let a = Agg {
                func: name.clone(),
                field,
                cast,
                arg,
                distinct: false,
                plain: true,
            };
            if !out.contains(&a) {
                out.push(a);
            }
            Ok(false)
        })?;
    }
    Ok(out)
}

fn column_name(f: &Field) -> String {
    if let Some(a) = &f.alias {
        return a.clone();
    }
    // As InfluxDB: a call's or a variable's name; for arithmetic, the names
    // of its calls and variables joined by `_` (`mean(a) - mean(b)` →
    // `mean_mean`; literals add nothing).
    let mut names: Vec<&str> = Vec::new();
    let _ = walk(&f.expr, 0, &mut |e| match e {
        Expr::Call { name, .. } | Expr::Var { name, .. } => {
            names.push(name);
            Ok(false)
        }
        _ => Ok(true),
    });
    if names.is_empty() {
        "expr".into()
    } else {
        names.join("_")
    }
}

/// Unique column names: `mean`, `mean_1`, ...
fn unique(names: Vec<String>) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    names
        .into_iter()
        .map(|n| {
            let c = seen.entry(n.clone()).or_insert(0);
            let out = if *c == 0 {
                n.clone()
            } else {
                format!("{n}_{c}")
            };
            *c += 1;
            out
        })
        .collect()
}

/// The points of `pts` (in time order) aggregate `a` reads: for a plain
/// aggregate, those in `asked` when it differs from the range read.
fn asked_part<'p>(
    a: &Agg,
    pts: &'p [(i64, Value)],
    asked: Option<TimeRange>,
) -> &'p [(i64, Value)] {
    match asked {
        Some(r) if a.plain => {
            let lo = pts.partition_point(|p| p.0 < r.start);
            let hi = pts.partition_point(|p| p.0 <= r.end);
            pts.get(lo..hi).unwrap_or_default()
        }
        _ => pts,
    }
}

/// `e` with its transform calls replaced by a literal: what stays is read
/// window by window over the range asked.
fn without_transforms(e: &Expr, depth: usize) -> Expr {
    match e {
        _ if depth > 128 => e.clone(),
        Expr::Call { name, .. } if is_transform(name) => Expr::Integer(0),
        Expr::Call { name, args } => Expr::Call {
            name: name.clone(),
            args: args
                .iter()
                .map(|a| without_transforms(a, depth + 1))
                .collect(),
        },
        Expr::Binary { op, lhs, rhs } => Expr::Binary {
            op: *op,
            lhs: Box::new(without_transforms(lhs, depth + 1)),
            rhs: Box::new(without_transforms(rhs, depth + 1)),
        },
        Expr::Paren(x) => Expr::Paren(Box::new(without_transforms(x, depth + 1))),
        other => other.clone(),
    }
}

/// Evaluates a projection for one row.
fn eval(e: &Expr, res: &dyn Fn(&Expr) -> Option<Cell>, depth: usize) -> Cell {
    if depth > 128 {
        return Cell::Null;
    }
    if let Some(c) = res(e) {
        return c;
    }
    match e {
        Expr::Integer(i) => Cell::Int(*i),
        Expr::Number(f) => Cell::Float(*f),
        Expr::String(s) => Cell::Str(s.clone()),
        Expr::Bool(b) => Cell::Bool(*b),
        Expr::Duration(d) => Cell::Int(*d),
        Expr::Paren(x) => eval(x, res, depth + 1),
        Expr::Binary { op, lhs, rhs }
            if matches!(
                op,
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod
            ) =>
        {
            cond::arith(*op, &eval(lhs, res, depth + 1), &eval(rhs, res, depth + 1))
        }
        Expr::Call { name, args } if math::arity(name).is_some() => {
            let values: Vec<Cell> = args.iter().map(|a| eval(a, res, depth + 1)).collect();
            math::apply(name, &values)
        }
        _ => Cell::Null,
    }
}

/// Transform calls in projections, outermost first, deduplicated.
fn transforms(fields: &[Field]) -> Result<Vec<Expr>, String> {
    let mut out: Vec<Expr> = Vec::new();
    for f in fields {
        walk(&f.expr, 0, &mut |e| {
            if let Expr::Call { name, args } = e
                && is_transform(name)
            {
                if let Some(ta) = ta::Ta::of(name, args) {
                    ta?;
                } else if name == "moving_average" {
                    if args.len() != 2 || !matches!(args.get(1), Some(Expr::Integer(n)) if *n > 1) {
                        return Err(
                            "moving_average() takes a field or an aggregate and a number of points greater than 1: moving_average(mean(value), 3)"
                                .into(),
                        );
                    }
                } else if WITH_UNIT.contains(&name.as_str()) {
                    if args.is_empty() || args.len() > 2 {
                        return Err(format!(
                            "{name}() takes a field or an aggregate, and optionally a unit: {name}(mean(value), 1s)"
                        ));
                    }
                    if let Some(u) = args.get(1)
                        && !matches!(u, Expr::Duration(d) if *d > 0)
                    {
                        return Err(format!(
                            "the unit of {name}() must be a positive duration, like 1s"
                        ));
                    }
                } else if args.len() != 1 {
                    return Err(format!(
                        "{name}() takes one argument, a field or an aggregate: {name}(mean(value))"
                    ));
                }
                if !out.contains(e) {
                    out.push(e.clone());
                }
                return Ok(false);
            }
            Ok(true)
        })?;
    }
    Ok(out)
}

/// Applies transform `name(x, args..)` down a column of `x` (`values[i]` =
/// (time, value)): a technical-analysis function, or [`apply_transform`].
fn transform_column(
    name: &str,
    args: &[Expr],
    default_unit: f64,
    values: &[(i64, Cell)],
    descending: bool,
) -> Vec<Cell> {
    match ta::Ta::of(name, args) {
        Some(Ok(ta)) => ta.apply(values, descending),
        // Checked when planned (`transforms`).
        Some(Err(_)) => vec![Cell::Null; values.len()],
        None => apply_transform(name, args.get(1), default_unit, values, descending),
    }
}

/// Applies a transform down a column (`values[i]` = (time, value)).
///
/// `values` are in time order; with `descending` (ORDER BY time DESC) the
/// transform runs from the last point back, as InfluxDB's does: each value
/// minus the one after it, over the time between them.
fn apply_transform(
    name: &str,
    arg: Option<&Expr>,
    default_unit: f64,
    values: &[(i64, Cell)],
    descending: bool,
) -> Vec<Cell> {
    let unit = match arg {
        Some(Expr::Duration(d)) => *d as f64,
        // elapsed() counts nanoseconds unless told otherwise.
        _ if name == "elapsed" => 1.0,
        _ => default_unit,
    };
    let points = match arg {
        Some(Expr::Integer(n)) => usize::try_from(*n).unwrap_or(1).max(1),
        _ => 1,
    };
    let mut out = vec![Cell::Null; values.len()];
    let mut prev: Option<(i64, f64)> = None;
    // cumulative_sum: exact (wrapping, as InfluxDB) for integers.
    let (mut sum_i, mut sum_f) = (0i64, 0.0f64);
    // moving_average: the last `points` values and their running sum.
    let mut recent: std::collections::VecDeque<f64> = std::collections::VecDeque::new();
    let mut recent_sum = 0.0f64;
    let n = values.len();
    for i in (0..n).map(|k| if descending { n - 1 - k } else { k }) {
        let Some((t, c)) = values.get(i) else {
            continue;
        };
        if name == "elapsed" {
            // The time since the value before, in whole units; any type.
            if *c == Cell::Null {
                continue;
            }
            if let (Some((pt, _)), Some(slot)) = (prev, out.get_mut(i)) {
                let u = (unit as u64).max(1);
                *slot = Cell::Int(i64::try_from(t.abs_diff(pt) / u).unwrap_or(i64::MAX));
            }
            prev = Some((*t, 0.0));
            continue;
        }
        let Some(v) = c.as_f64() else { continue };
        // A point at the time of the one before (another series of a
        // merged stream) does not advance it: InfluxDB keeps the first.
        if matches!(
            name,
            "derivative" | "non_negative_derivative" | "difference" | "non_negative_difference"
        ) && prev.is_some_and(|(pt, _)| pt == *t)
        {
            continue;
        }
        let r = match name {
            "cumulative_sum" => Some(match c {
                Cell::Int(x) => {
                    sum_i = sum_i.wrapping_add(*x);
                    Cell::Int(sum_i)
                }
                _ => {
                    sum_f += v;
                    Cell::Float(sum_f)
                }
            }),
            "moving_average" => {
                if recent.len() == points {
                    recent_sum -= recent.pop_front().unwrap_or(0.0);
                }
                recent.push_back(v);
                recent_sum += v;
                (recent.len() == points).then(|| Cell::Float(recent_sum / points as f64))
            }
            _ => match prev {
                Some((pt, pv)) => {
                    let dt = t.abs_diff(pt) as f64;
                    match name {
                        "difference" | "non_negative_difference" => {
                            let d = match c {
                                Cell::Int(_) => Cell::Int((v - pv) as i64),
                                _ => Cell::Float(v - pv),
                            };
                            (name == "difference" || v >= pv).then_some(d)
                        }
                        _ if dt > 0.0 => {
                            let d = (v - pv) / (dt / unit);
                            (name != "non_negative_derivative" || d >= 0.0)
                                .then_some(Cell::Float(d))
                        }
                        _ => None,
                    }
                }
                None => None,
            },
        };
        if let (Some(r), Some(slot)) = (r, out.get_mut(i)) {
            *slot = r;
        }
        prev = Some((*t, v));
    }
    out
}

/// Where a SELECT reads: the store, or the rows a subquery answered.
#[derive(Clone, Copy)]
enum Src<'a> {
    Store,
    Rows(&'a subquery::Subrows),
}

/// Field keys and types of a measurement.
fn fields_of(ctx: &Ctx<'_>, src: Src<'_>, db: &str, m: &str) -> Vec<(String, FieldType)> {
    match src {
        Src::Store => ctx.engine.with_db(|d| {
            d.field_keys(db, m)
                .into_iter()
                .map(|(f, t)| (f.to_string(), t))
                .collect()
        }),
        Src::Rows(r) => r.fields(m),
    }
}

fn tag_keys_of(ctx: &Ctx<'_>, src: Src<'_>, db: &str, m: &str) -> Vec<String> {
    match src {
        Src::Store => ctx
            .engine
            .with_db(|d| d.tag_keys(db, m).into_iter().map(str::to_string).collect()),
        Src::Rows(r) => r.tag_keys(m),
    }
}

fn tag_values_of(ctx: &Ctx<'_>, src: Src<'_>, db: &str, m: &str, key: &str) -> Vec<String> {
    match src {
        Src::Store => ctx.engine.with_db(|d| {
            d.tag_values(db, m, key, &TagExpr::True)
                .into_iter()
                .map(str::to_string)
                .collect()
        }),
        Src::Rows(r) => r.tag_values(m, key),
    }
}

/// Which names a `*` or `/regex/` in a projection takes.
enum Pick {
    /// `*`, or only the fields (`*::field`) or the tags (`*::tag`).
    All(Option<VarKind>),
    Matching(regex_lite::Regex),
}

impl Pick {
    /// The pick of a projection's `*` or `/regex/` (an invalid regex is an
    /// error naming it); `None` for anything else.
    fn of(e: &Expr) -> Result<Option<Self>, String> {
        Ok(match e {
            Expr::Wildcard(kind) => Some(Pick::All(*kind)),
            Expr::Regex(p) => Some(Pick::Matching(cond::regex(p)?)),
            _ => None,
        })
    }

    /// Whether it takes `name`, a field or (`kind`) a tag.
    fn takes(&self, name: &str, kind: VarKind) -> bool {
        match self {
            Pick::All(only) => only.is_none_or(|k| k == kind),
            Pick::Matching(re) => re.is_match(name),
        }
    }
}

/// The `*` or `/regex/` at the end of a projection's chain of first
/// arguments (`abs(derivative(mean(/re/)))`), with the name of the call
/// taking it; `None` if the chain ends elsewhere. Calls that answer several
/// rows (top, bottom, distinct, ...) are not expanded.
fn picked_chain(e: &Expr) -> Option<(&Expr, &str)> {
    let mut e = e;
    for _ in 0..MAX_CHAIN {
        let Expr::Call { name, args } = e else {
            return None;
        };
        let expands = is_agg(name) || is_transform(name) || math::arity(name).is_some();
        let first = args.first().filter(|_| expands)?;
        if matches!(first, Expr::Wildcard(_) | Expr::Regex(_)) {
            return Some((first, name));
        }
        e = first;
    }
    None
}

/// Calls nested deeper than this are not searched for `*` (the parser's
/// nesting limit is lower).
const MAX_CHAIN: usize = 64;

/// `e` with the `*` or `/regex/` ending its chain of first arguments
/// replaced by the field `f`.
fn with_field(e: &Expr, f: &str, depth: usize) -> Expr {
    match e {
        Expr::Call { name, args } if depth < MAX_CHAIN => {
            let mut a = args.clone();
            if let Some(first) = a.first_mut() {
                *first = if matches!(first, Expr::Wildcard(_) | Expr::Regex(_)) {
                    Expr::Var {
                        name: f.to_string(),
                        kind: Some(VarKind::Field),
                    }
                } else {
                    with_field(first, f, depth + 1)
                };
            }
            Expr::Call {
                name: name.clone(),
                args: a,
            }
        }
        other => other.clone(),
    }
}

/// Whether `func(*)` takes fields of type `ty`, as InfluxDB's rewrite
/// decides: count, first, last, mode and elapsed take every type, min and
/// max booleans too, the others numbers only.
fn takes_type(func: &str, ty: FieldType) -> bool {
    match ty {
        FieldType::Boolean => {
            matches!(
                func,
                "count" | "first" | "last" | "mode" | "elapsed" | "min" | "max"
            )
        }
        _ => true,
    }
}

/// Whether `*` appears inside arithmetic (InfluxDB refuses it there).
fn wildcard_in_arithmetic(e: &Expr) -> bool {
    let mut found = false;
    let _ = walk(e, 0, &mut |x| {
        if let Expr::Binary { lhs, rhs, .. } = x
            && [lhs, rhs].iter().any(|s| matches!(***s, Expr::Wildcard(_)))
        {
            found = true;
        }
        Ok(true)
    });
    found
}

/// Expands `*` and `/regex/` in projections, as InfluxDB rewrites them:
/// raw, every field and tag not grouped by (those matching), by name; at
/// the end of a chain of first arguments, one projection per field of a
/// type the innermost call takes, named `<outermost call or alias>_<field>`:
/// `mean(*)` → `mean_f`, `derivative(mean(/re/))` → `derivative_f`,
/// `abs(*)` → `abs_f`.
fn expand(
    fields: &[Field],
    all_fields: &[(String, FieldType)],
    tags: &[String],
    grouped: &[String],
) -> Result<Vec<Field>, String> {
    let mut out = Vec::new();
    for f in fields {
        if wildcard_in_arithmetic(&f.expr) {
            return Err("unable to use wildcard in a binary expression".into());
        }
        if let Some(pick) = Pick::of(&f.expr)? {
            let mut names: Vec<(String, Option<VarKind>)> = all_fields
                .iter()
                .map(|(n, _)| (n.clone(), Some(VarKind::Field)))
                .collect();
            names.extend(
                tags.iter()
                    .filter(|t| !grouped.contains(t))
                    .map(|t| (t.clone(), Some(VarKind::Tag))),
            );
            names.sort_by(|a, b| a.0.cmp(&b.0));
            for (n, kind) in names
                .into_iter()
                .filter(|(n, k)| pick.takes(n, k.unwrap_or(VarKind::Field)))
            {
                out.push(Field {
                    expr: Expr::Var { name: n, kind },
                    alias: None,
                });
            }
        } else if let Some((picked, innermost)) = picked_chain(&f.expr)
            && let Some(pick) = Pick::of(picked)?
        {
            if matches!(pick, Pick::All(Some(VarKind::Tag))) {
                return Err(format!("unable to use tag wildcard in {innermost}()"));
            }
            let Expr::Call {
                name: outermost, ..
            } = &f.expr
            else {
                continue;
            };
            let prefix = f.alias.as_deref().unwrap_or(outermost);
            for (fname, ty) in all_fields {
                if pick.takes(fname, VarKind::Field) && takes_type(innermost, *ty) {
                    out.push(Field {
                        expr: with_field(&f.expr, fname, 0),
                        alias: Some(format!("{prefix}_{fname}")),
                    });
                }
            }
        } else {
            out.push(f.clone());
        }
    }
    Ok(out)
}

/// The zone `tz('...')` names, from the system's zone database; `None`
/// for UTC and without `tz`.
fn zone_of(s: &Select) -> Result<Option<Arc<Zone>>, String> {
    match s.tz.as_deref() {
        Some(name) if !crate::tz::is_utc(name) => crate::tz::load(name).map(Some),
        _ => Ok(None),
    }
}

/// Runs a SELECT for the client: [`select`], its times then printed on
/// the wall clock of its `tz('...')` (`2023-03-27T00:00:00+02:00`).
pub fn select_shown(ctx: &Ctx<'_>, s: &Select) -> Result<Vec<Series>, String> {
    let mut out = select(ctx, s)?;
    if let Some(zone) = zone_of(s)? {
        for series in &mut out {
            for cell in series.values.iter_mut().flatten() {
                if let Cell::Time(t) = *cell {
                    *cell = Cell::LocalTime(t, zone.offset_at(t));
                }
            }
        }
    }
    Ok(out)
}

/// Runs a SELECT.
pub fn select(ctx: &Ctx<'_>, s: &Select) -> Result<Vec<Series>, String> {
    // tz('...'): times in WHERE and windows on the zone's wall clock. As in
    // InfluxDB, a subquery does not take the outer statement's zone (only
    // its time bounds, as instants).
    let zoned = Ctx {
        zone: zone_of(s)?,
        ..ctx.clone()
    };
    let ctx = &zoned;
    if s.fields.is_empty() {
        return Err("at least 1 non-time field must be queried".into());
    }
    // FROM (SELECT ...): the subquery's answer is what this one reads.
    let sub = match s.sources.as_slice() {
        [Source::Subquery(inner)] => Some(subquery::run(ctx, s, inner)?),
        many if many.iter().any(|x| matches!(x, Source::Subquery(_))) => {
            return Err("a subquery must be the only source of its FROM clause in PulsarDB".into());
        }
        _ => None,
    };
    let (src, db, measurements) = match &sub {
        Some(rows) => (Src::Rows(rows), String::new(), rows.measurements()),
        None => {
            let db = ctx.database(source_db(&s.sources))?;
            let ms = ctx.measurements(&db, &s.sources)?;
            (Src::Store, db, ms)
        }
    };
    let mut interval: Option<Win> = None;
    for d in &s.dimensions {
        if let Dimension::Time {
            interval_ns,
            offset_ns,
        } = d
        {
            if *interval_ns <= 0 {
                return Err("GROUP BY time() needs a positive interval".into());
            }
            if interval.is_some() {
                return Err("GROUP BY time() given twice".into());
            }
            interval = Some(Win::new(*interval_ns, *offset_ns, ctx.zone.clone()));
        }
    }
    // `*` expands to the fields and tags of every measurement selected, so
    // each series has the same columns (InfluxDB's union).
    let mut union = Wildcard::default();
    if s.fields.iter().any(|f| has_wildcard(&f.expr)) {
        for m in &measurements {
            for (f, t) in fields_of(ctx, src, &db, m) {
                if !union.fields.iter().any(|(g, _)| *g == f) {
                    union.fields.push((f, t));
                }
            }
            for t in tag_keys_of(ctx, src, &db, m) {
                if !union.tags.contains(&t) {
                    union.tags.push(t);
                }
            }
        }
        union.fields.sort();
        union.tags.sort();
    }
    let mut out = Vec::new();
    for m in &measurements {
        out.extend(select_measurement(
            ctx,
            src,
            &db,
            m,
            s,
            interval.as_ref(),
            &union,
        )?);
    }
    // ORDER BY time DESC orders the series from the last too, as InfluxDB.
    if s.order_desc {
        out.reverse();
    }
    let off = s.soffset.unwrap_or(0) as usize;
    let lim = s
        .slimit
        .filter(|&l| l > 0)
        .map_or(usize::MAX, |l| l as usize);
    Ok(out.into_iter().skip(off).take(lim).collect())
}

/// Points `SELECT ... INTO` writes per call of the engine (each waits for
/// memory and takes the store lock once, as an HTTP write does).
const INTO_BATCH_POINTS: usize = 10_000;

/// Runs `SELECT ... INTO`: the answer's rows become points of the target
/// measurement (`:MEASUREMENT`: each series' own) in the target database
/// (the request's when not named, as in InfluxDB), with the series' tags
/// (those of GROUP BY: other tags are lost, as in InfluxDB) and each
/// non-null column as a field, at the row's time; rows without a value are
/// skipped. Answers the number of points written, as InfluxDB does. String
/// values are not stored: a string column (a tag projected without GROUP
/// BY) is refused before anything is written, or, with `string_fields:
/// "drop"`, left out (rows of strings alone are skipped).
pub fn select_into(ctx: &Ctx<'_>, s: &Select, target: &IntoTarget) -> Result<Vec<Series>, String> {
    let db = ctx.database(target.db.as_deref())?;
    let answer = select(ctx, s)?;
    let strings = ctx.engine.config().string_fields;
    if strings == crate::config::StringFields::Reject {
        for series in &answer {
            for row in &series.values {
                for (name, cell) in series.columns.iter().zip(row) {
                    if matches!(cell, Cell::Str(_)) {
                        return Err(format!(
                            "SELECT INTO: column \"{name}\" holds strings, which are not stored; nothing was written (to keep a tag, GROUP BY it; to leave strings out, set string_fields to \"drop\")"
                        ));
                    }
                }
            }
        }
    }
    let m = &ctx.engine.metrics;
    let mut written = 0u64;
    let mut batch = WriteBatch::new();
    batch.set_string_fields(strings);
    let mut pending = 0usize;
    let mut flush = |batch: &mut WriteBatch, pending: &mut usize| -> Result<(), String> {
        if batch.is_empty() {
            return Ok(());
        }
        let out = ctx.engine.write(&db, batch).map_err(|e| {
            m.writes_failed.fetch_add(1, Ordering::Relaxed);
            e.to_string()
        })?;
        m.points_written.fetch_add(out.points, Ordering::Relaxed);
        m.strings_dropped
            .fetch_add(out.strings_dropped, Ordering::Relaxed);
        written += pending.saturating_sub(out.rejected.len()) as u64;
        batch.clear();
        *pending = 0;
        if let Some((_, e)) = out.rejected.first() {
            m.points_rejected
                .fetch_add(out.rejected.len() as u64, Ordering::Relaxed);
            return Err(format!(
                "SELECT INTO wrote {written} points and refused {}; the first: {e}",
                out.rejected.len()
            ));
        }
        m.writes_ok.fetch_add(1, Ordering::Relaxed);
        Ok(())
    };
    for series in &answer {
        let name = target.measurement.as_deref().unwrap_or(&series.name);
        for row in &series.values {
            let Some(&Cell::Time(t)) = row.first() else {
                continue;
            };
            if row
                .iter()
                .skip(1)
                .all(|c| matches!(c, Cell::Null | Cell::Time(_) | Cell::Str(_)))
            {
                continue;
            }
            batch.begin(name.as_bytes());
            for (k, v) in &series.tags {
                batch.tag(k.as_bytes(), v.as_bytes());
            }
            for (col, cell) in series.columns.iter().zip(row).skip(1) {
                let k = col.as_bytes();
                match *cell {
                    Cell::Float(x) => batch.field(k, Value::Float(x)),
                    Cell::Int(x) => batch.field(k, Value::Integer(x)),
                    Cell::UInt(x) => batch.field(k, Value::Unsigned(x)),
                    Cell::Bool(x) => batch.field(k, Value::Boolean(x)),
                    Cell::Str(_) => batch.string_field(k),
                    Cell::Null | Cell::Time(_) | Cell::LocalTime(..) => {}
                }
            }
            batch.end(t);
            pending += 1;
            if pending == INTO_BATCH_POINTS {
                flush(&mut batch, &mut pending)?;
            }
        }
    }
    flush(&mut batch, &mut pending)?;
    Ok(vec![Series {
        name: "result".into(),
        columns: vec!["time".into(), "written".into()],
        values: vec![vec![Cell::Time(0), Cell::Int(written as i64)]],
        ..Default::default()
    }])
}

/// What `*` stands for: fields (with types) and tag keys, sorted.
#[derive(Default)]
struct Wildcard {
    fields: Vec<(String, FieldType)>,
    tags: Vec<String>,
}

/// Whether a projection names fields by `*` or `/regex/` (itself, or at
/// the end of its chain of first arguments).
fn has_wildcard(e: &Expr) -> bool {
    matches!(e, Expr::Wildcard(_) | Expr::Regex(_)) || picked_chain(e).is_some()
}

fn select_measurement(
    ctx: &Ctx<'_>,
    src: Src<'_>,
    db: &str,
    m: &str,
    s: &Select,
    interval: Option<&Win>,
    wildcard: &Wildcard,
) -> Result<Vec<Series>, String> {
    let all_fields = fields_of(ctx, src, db, m);
    if all_fields.is_empty() {
        return Ok(Vec::new());
    }
    let tags = tag_keys_of(ctx, src, db, m);
    // GROUP BY tag keys.
    let mut group_by: Vec<String> = Vec::new();
    for d in &s.dimensions {
        match d {
            Dimension::Tag(t) => group_by.push(t.clone()),
            Dimension::Wildcard => group_by.extend(tags.iter().cloned()),
            Dimension::Regex(p) => {
                let re = cond::regex(p)?;
                group_by.extend(tags.iter().filter(|t| re.is_match(t)).cloned());
            }
            Dimension::Time { .. } => {}
        }
    }
    group_by.sort();
    group_by.dedup();
    let mut fields = expand(&s.fields, &wildcard.fields, &wildcard.tags, &group_by)?;
    // Only the store's types are sure: a subquery's column may mix types.
    if matches!(src, Src::Store) {
        for f in &mut fields {
            settle_casts(&mut f.expr, &all_fields, 0);
        }
    }
    if fields.is_empty() {
        // `/regex/` matching nothing: no series, as InfluxDB.
        return Ok(Vec::new());
    }
    let field_names: Vec<&str> = all_fields.iter().map(|(f, _)| f.as_str()).collect();
    let is_tag = |name: &str, kind: Option<VarKind>| match kind {
        Some(VarKind::Tag) => true,
        Some(_) => false,
        None => {
            !field_names.contains(&name)
                && (tags.iter().any(|t| t == name) || !name.eq_ignore_ascii_case("time"))
        }
    };
    let split = cond::split(s.condition.as_ref(), ctx.now, ctx.zone.as_deref(), &is_tag)?;
    let mut range = split.time;
    if range.start > range.end {
        return Ok(Vec::new());
    }
    let tag_expr = cond::tag_expr(&split.tags, &|key| tag_values_of(ctx, src, db, m, key))?;
    let untimed: Vec<Field> = fields
        .iter()
        .filter(|f| !matches!(&f.expr, Expr::Var { name, .. } if name.eq_ignore_ascii_case("time")))
        .cloned()
        .collect();
    if let Some(multi) = multirow::find(&untimed, s, &is_tag)? {
        // GROUP BY time without an upper bound stops at now(), as below.
        if interval.is_some() && range.end == i64::MAX {
            range.end = ctx.now;
        }
        return multirow::run(
            ctx,
            src,
            db,
            m,
            s,
            &multi,
            &untimed,
            &all_fields,
            &group_by,
            &split,
            range,
            interval,
            &tag_expr,
            &is_tag,
        );
    }
    let trans = transforms(&fields)?;
    // The aggregates outside transforms, then those inside them (read over
    // one more window: see `reaches_back` below).
    let mut aggs = aggregates(
        &fields
            .iter()
            .map(|f| Field {
                expr: without_transforms(&f.expr, 0),
                alias: None,
            })
            .collect::<Vec<_>>(),
    )?;
    let inner: Vec<Field> = trans
        .iter()
        .map(|t| Field {
            expr: t.clone(),
            alias: None,
        })
        .collect();
    aggs.extend(
        aggregates(&inner)?
            .into_iter()
            .map(|a| Agg { plain: false, ..a }),
    );
    // A transform of an aggregate runs down windows: it needs GROUP BY
    // time (InfluxDB's words). Without, it would see one window and answer
    // nothing, or a sum of one. A transform of a transform is not run here
    // (it would answer nothing): refused, in InfluxDB's words without GROUP
    // BY time.
    for t in &trans {
        let Expr::Call { name, args } = t else {
            continue;
        };
        let (mut agg, mut inner): (bool, Option<String>) = (false, None);
        if let Some(first) = args.first() {
            walk(first, 0, &mut |e| {
                if let Expr::Call { name, .. } = e {
                    agg |= is_agg(name);
                    if inner.is_none() && is_transform(name) {
                        inner = Some(name.clone());
                    }
                }
                Ok(!agg && inner.is_none())
            })?;
        }
        if interval.is_none() && (agg || inner.is_some()) {
            return Err(format!("{name} aggregate requires a GROUP BY interval"));
        }
        if let Some(inner) = inner {
            return Err(format!(
                "{name}() of {inner}(): a transform of a transform is not supported by PulsarDB"
            ));
        }
    }
    // Projections that are neither tags nor functions: raw fields.
    let mut raw_vars = false;
    for f in &fields {
        walk(&f.expr, 0, &mut |e| match e {
            Expr::Call { name, .. } if is_agg(name) => Ok(false),
            Expr::Call { name, .. } if is_transform(name) => Ok(true),
            Expr::Call { name, args } => match math::arity(name) {
                Some(n) if n == args.len() => Ok(true),
                // InfluxDB's words.
                Some(n) => Err(format!(
                    "invalid number of arguments for {name}, expected {n}, got {}",
                    args.len()
                )),
                None => Err(format!("function {name}() is not supported")),
            },
            Expr::Var { name, kind }
                if !is_tag(name, *kind) && !name.eq_ignore_ascii_case("time") =>
            {
                // A cast to nothing reads nothing (but is no aggregate).
                raw_vars |= *kind != Some(VarKind::Nothing);
                Ok(false)
            }
            _ => Ok(true),
        })?;
    }
    // `SELECT time, ...`: time is always the first column.
    let fields = untimed;
    let columns: Vec<String> = std::iter::once("time".to_string())
        .chain(unique(fields.iter().map(column_name).collect()))
        .collect();
    if aggs.is_empty() {
        if interval.is_some() {
            return Err("GROUP BY time() requires an aggregate function (mean, max, ...); derivative() needs one inside it too".into());
        }
        if fields.is_empty() {
            return Err("at least 1 non-time field must be queried".into());
        }
        if !raw_vars {
            // Only tags, or names this measurement lacks: nothing to
            // return (InfluxDB answers an empty result).
            return Ok(Vec::new());
        }
        // A transform's rows are not the points' rows: a field or tag
        // beside one has no row to come from (it answered nulls).
        if !trans.is_empty()
            && fields.iter().any(|f| {
                let mut var = false;
                walk_expr(&without_transforms(&f.expr, 0), &mut |e| {
                    var |= matches!(e, Expr::Var { .. });
                    !var
                });
                var
            })
        {
            return Err("mixing aggregate and non-aggregate queries is not supported".into());
        }
        return raw_select(
            ctx, src, db, m, s, &fields, &columns, &group_by, &split, range, tag_expr, &trans,
            &is_tag,
        );
    }
    // One selector with plain fields or tags beside it (`SELECT max(v), host`):
    // InfluxDB's auxiliary fields, read from the selected point's row.
    // Projections without an aggregate, read from the selected point's row
    // (`SELECT max(v), host, abs(x)`).
    let plain = |e: &Expr| {
        let mut agg = false;
        let _ = walk(e, 0, &mut |x| {
            agg |= matches!(x, Expr::Call { name, .. } if is_agg(name));
            Ok(!agg)
        });
        !agg
    };
    let aux = aggs.len() == 1
        && trans.is_empty()
        && aggs
            .first()
            .is_some_and(|a| SELECTORS.contains(&a.func.as_str()))
        && fields.iter().any(|f| {
            let mut var = false;
            let _ = walk(&f.expr, 0, &mut |x| {
                var |= matches!(x, Expr::Var { .. });
                Ok(true)
            });
            var && plain(&f.expr)
        });
    // A field or tag outside the aggregates and transforms, unless it rides
    // along a lone selector: InfluxDB refuses it (it answered nulls here).
    let loose_var = fields.iter().any(|f| {
        let mut var = false;
        walk_expr(&f.expr, &mut |x| match x {
            Expr::Call { name, .. } if is_agg(name) || is_transform(name) => false,
            Expr::Var { name, .. } => {
                var |= !name.eq_ignore_ascii_case("time");
                false
            }
            _ => !var,
        });
        var
    });
    if (raw_vars || loose_var) && !aux {
        // InfluxDB's words for each case.
        if aggs.len() > 1 && aggs.iter().all(|a| SELECTORS.contains(&a.func.as_str())) {
            return Err(
                "mixing multiple selector functions with tags or fields is not supported".into(),
            );
        }
        return Err("mixing aggregate and non-aggregate queries is not supported".into());
    }
    // GROUP BY time without an upper bound stops at now().
    if interval.is_some() && range.end == i64::MAX {
        range.end = ctx.now;
    }
    // derivative(mean(x)) and the like over GROUP BY time: the range grows by
    // one interval (back, or forward for ORDER BY time DESC) so the first
    // window reported has a predecessor, as in InfluxDB. The extra window
    // itself is not reported. cumulative_sum needs none, and InfluxDB reads
    // only the range asked for it (its first window holds only the points
    // from the range's start on).
    let asked = range;
    let reaches_back = trans
        .iter()
        .any(|t| !matches!(t, Expr::Call { name, .. } if name == "cumulative_sum"));
    if let Some(iv) = interval.map(|w| w.every)
        && reaches_back
    {
        if s.order_desc {
            range.end = range.end.saturating_add(iv);
        } else if range.bounded_below() {
            range.start = range.start.saturating_sub(iv);
        }
    }
    // Plain aggregates beside a transform that reads back a window: over
    // the range asked, from raw points (the core answers one range).
    let two_ranges = range != asked && aggs.iter().any(|a| a.plain);
    let core = !aux
        && !two_ranges
        && matches!(src, Src::Store)
        && split.rows.is_empty()
        && aggs
            .iter()
            .all(|a| !a.distinct && a.cast.is_none() && CORE_AGGS.contains(&a.func.as_str()));
    // With `aux`: group → window → the selected point's series tags and row.
    let mut aux_rows: AuxRows = BTreeMap::new();
    // group → window → aggregate key → value
    let mut groups: AggRows = BTreeMap::new();
    let cap = ctx.engine.config().max_query_points as usize;
    if core {
        let mut by_field: Vec<&str> = aggs.iter().map(|a| a.field.as_str()).collect();
        by_field.sort_unstable();
        by_field.dedup();
        for f in by_field {
            let q = Query {
                db: db.into(),
                measurement: m.into(),
                tags: tag_expr.clone(),
                field: Some(f.into()),
                start_ns: range.start,
                end_ns: range.end,
                aggregation: Some(Aggregation {
                    window_ns: interval.map(|w| w.every),
                    offset_ns: interval.map_or(0, |w| w.offset),
                    zone: interval.and_then(|w| w.zone.as_deref().cloned()),
                    group_by: group_by.clone(),
                }),
                limit: None,
            };
            let r = ctx.engine.query(&q).map_err(|e| e.to_string())?;
            for rs in r.series {
                let SeriesData::Windows(ws) = rs.data else {
                    continue;
                };
                let g = groups.entry(rs.tags).or_default();
                for (w, acc) in ws {
                    let slot = g.entry(w).or_insert_with(|| vec![None; aggs.len()]);
                    for (a, out) in aggs.iter().zip(slot.iter_mut()) {
                        if a.field == f {
                            *out = Some(from_acc(&a.func, &acc));
                        }
                    }
                }
            }
        }
    } else {
        // Raw points of the fields needed, rows filtered here.
        let mut needed: Vec<String> = aggs.iter().map(|a| a.field.clone()).collect();
        if aux {
            fields_read(
                fields.iter().map(|f| &f.expr).filter(|e| plain(e)),
                &is_tag,
                &mut needed,
            )?;
        }
        fields_read(&split.rows, &is_tag, &mut needed)?;
        let rows = raw_rows(ctx, src, db, m, &needed, range, &tag_expr, cap)?;
        let mut agg_fields: Vec<(&str, Option<VarKind>)> =
            aggs.iter().map(|a| (a.field.as_str(), a.cast)).collect();
        agg_fields.sort_unstable();
        agg_fields.dedup();
        let mut regexes = HashMap::new();
        #[allow(
            clippy::type_complexity,
            reason = "a local grouping, spelled out where it is built"
        )]
        let mut lists: BTreeMap<
            Tags,
            BTreeMap<i64, HashMap<(&str, Option<VarKind>), Vec<(i64, Value)>>>,
        > = BTreeMap::new();
        // With `aux`: the selector's candidate points (time, value, series).
        let mut cands: Candidates = BTreeMap::new();
        for (si, (tags_of, series_rows)) in rows.iter().enumerate() {
            let group = group_key(&group_by, tags_of);
            for (t, vals) in series_rows {
                let cells: HashMap<String, Cell> = vals
                    .iter()
                    .map(|(k, v)| (k.clone(), value_cell(*v)))
                    .collect();
                let row = Row {
                    tags: tags_of,
                    fields: &cells,
                };
                if !cond::eval_all(&split.rows, &row, &is_tag, &mut regexes)? {
                    continue;
                }
                let w = match interval {
                    Some(win) => win.start(*t),
                    None => range.start,
                };
                // Once per field, however many aggregates read it. A row
                // without a value for any of them (only the condition's
                // fields, or values a cast turns null) opens no window: no
                // points, no series, as in InfluxDB.
                let mut got = agg_fields
                    .iter()
                    .filter_map(|&(f, c)| {
                        let v = vals.get(f).and_then(|v| cast::value(*v, c))?;
                        Some(((f, c), v))
                    })
                    .peekable();
                if got.peek().is_some() {
                    let slot = lists
                        .entry(group.clone())
                        .or_default()
                        .entry(w)
                        .or_default();
                    for (key, v) in got {
                        slot.entry(key).or_default().push((*t, v));
                    }
                }
                if aux
                    && let Some(a) = aggs.first()
                    && let Some(v) = vals.get(&a.field).and_then(|v| cast::value(*v, a.cast))
                {
                    cands
                        .entry(group.clone())
                        .or_default()
                        .entry(w)
                        .or_default()
                        .push((*t, v, si));
                }
            }
        }
        for (g, mut ws) in lists {
            for per_field in ws.values_mut() {
                for pts in per_field.values_mut() {
                    pts.sort_by_key(|p| p.0);
                }
            }
            // integral() over GROUP BY time runs across the windows.
            let mut across: Vec<Vec<Option<f64>>> = Vec::new();
            for a in &aggs {
                if a.func != "integral" || interval.is_none() {
                    across.push(Vec::new());
                    continue;
                }
                let per: Vec<&[(i64, Value)]> = ws
                    .values()
                    .map(|f| {
                        asked_part(
                            a,
                            f.get(&(a.field.as_str(), a.cast))
                                .map_or(&[][..], Vec::as_slice),
                            two_ranges.then_some(asked),
                        )
                    })
                    .collect();
                across.push(integrals(&per, interval, a.arg.unwrap_or(1e9)));
            }
            let gg = groups.entry(g.clone()).or_default();
            for (wi, (w, per_field)) in ws.into_iter().enumerate() {
                let slot = gg.entry(w).or_insert_with(|| vec![None; aggs.len()]);
                for ((a, out), acr) in aggs.iter().zip(slot.iter_mut()).zip(&across) {
                    let pts = asked_part(
                        a,
                        per_field
                            .get(&(a.field.as_str(), a.cast))
                            .map_or(&[][..], Vec::as_slice),
                        two_ranges.then_some(asked),
                    );
                    if let Some(v) = acr.get(wi) {
                        *out = v.map(|v| Out {
                            value: Cell::Float(v),
                            time: None,
                        });
                    } else if !pts.is_empty() {
                        *out = Some(from_values(a, pts));
                    }
                }
                // The row of the point the selector picked (the same time
                // and value; the first such series on a tie).
                if let (Some(Some(o)), Some(cs)) =
                    (slot.first(), cands.get(&g).and_then(|c| c.get(&w)))
                    && let Some(&(t, _, si)) = cs
                        .iter()
                        .find(|c| Some(c.0) == o.time && value_cell(c.1) == o.value)
                    && let Some((tags_of, series_rows)) = rows.get(si)
                    && let Some(vals) = series_rows.get(&t)
                {
                    aux_rows
                        .entry(g.clone())
                        .or_default()
                        .insert(w, (tags_of.clone(), vals.clone()));
                }
            }
        }
    }
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    // The windows to report: those of the range, the same for every group
    // in UTC; in a zone, walked per group beside its windows with points.
    let span = interval.map(|win| {
        let lo = if range.bounded_below() {
            range.start
        } else {
            groups
                .values()
                .filter_map(|w| w.keys().next().copied())
                .min()
                .unwrap_or(0)
        };
        (win, lo, range.end)
    });
    let windows_of = |have: &[i64]| -> Result<Vec<i64>, String> {
        match span {
            Some((win, lo, hi)) => win.report(lo, hi, have, MAX_WINDOWS).ok_or_else(|| {
                format!(
                    "GROUP BY time({}) over this range gives more than {MAX_WINDOWS} windows: widen the interval or narrow the time range",
                    win.every
                )
            }),
            None => Ok(vec![range.start]),
        }
    };
    let shared = match interval {
        Some(win) if win.zone.is_some() => None,
        _ => Some(windows_of(&[])?),
    };
    let all_integral = aggs.iter().all(|a| a.func == "integral");
    let lone_selector = interval.is_none()
        && aggs.len() == 1
        && (fields.len() == 1 || aux)
        && aggs
            .first()
            .is_some_and(|a| SELECTORS.contains(&a.func.as_str()));
    let fill = s.fill.clone().unwrap_or(Fill::Null);
    let unit_default = interval.map_or(1_000_000_000, |w| w.every);
    // The windows of the range asked for. The extra one read for
    // transforms is reported only by the technical-analysis functions, as
    // in InfluxDB: in that row the other transforms are null and the
    // aggregates null, or the number of `fill(<number>)`.
    let is_ta: Vec<bool> = trans
        .iter()
        .map(|t| matches!(t, Expr::Call { name, .. } if ta::NAMES.contains(&name.as_str())))
        .collect();
    let any_ta = is_ta.contains(&true);
    let empty_window: Vec<Option<Out>> = {
        let mut v = vec![vec![None; aggs.len()]];
        // Only a number fills it (`count` too is null there, not 0).
        if matches!(fill, Fill::Number(_)) {
            fill_rows(&fill, &aggs, &[0], 1, &mut v);
        }
        v.pop().unwrap_or_default()
    };
    let asked_windows = match interval {
        Some(win) if !trans.is_empty() => (
            if asked.bounded_below() {
                win.start(asked.start)
            } else {
                i64::MIN
            },
            win.start(asked.end),
        ),
        _ => (i64::MIN, i64::MAX),
    };
    let mut out = Vec::new();
    for (g, ws) in groups {
        let aux_g = aux_rows.get(&g);
        // Base rows: per window, every aggregate (missing windows per fill).
        let mut times: Vec<i64> = Vec::new();
        let mut vals: Vec<Vec<Option<Out>>> = Vec::new();
        let own;
        let windows = match &shared {
            Some(w) => w,
            None => {
                own = windows_of(&ws.keys().copied().collect::<Vec<_>>())?;
                &own
            }
        };
        for &w in windows {
            match ws.get(&w) {
                Some(v) => {
                    times.push(w);
                    vals.push(v.clone());
                }
                // integral() ignores fill(): InfluxDB reports no row for a
                // window without points.
                None if fill == Fill::None || interval.is_none() || all_integral => {}
                None => {
                    times.push(w);
                    vals.push(vec![None; aggs.len()]);
                }
            }
        }
        if let Some(win) = interval {
            // fill(previous) takes the row before in the order reported, as
            // InfluxDB: under ORDER BY time DESC, the later window.
            let backwards = s.order_desc && fill == Fill::Previous;
            if backwards {
                vals.reverse();
            }
            fill_rows(&fill, &aggs, &times, win.every, &mut vals);
            if backwards {
                vals.reverse();
            }
        }
        let report_time = |i: usize, w: i64| -> i64 {
            if lone_selector
                && let Some(t) = vals
                    .get(i)
                    .and_then(|v| v.iter().flatten().next())
                    .and_then(|o| o.time)
            {
                return t;
            }
            // integral() alone and without GROUP BY time reports time 0
            // whatever the range, as InfluxDB 1.6 does for float fields (for
            // integer fields it reports the range's start; see the
            // differential test's known differences).
            if interval.is_none() && (!range.bounded_below() || all_integral) {
                0
            } else {
                w
            }
        };
        // Transform columns, computed down the rows.
        let mut trans_vals: Vec<Vec<Cell>> = Vec::new();
        for t in &trans {
            let Expr::Call { name, args } = t else {
                continue;
            };
            let inner: Vec<(i64, Cell)> = vals
                .iter()
                .zip(&times)
                .map(|(v, &w)| {
                    let res = |e: &Expr| agg_lookup(e, &aggs, v, false);
                    (w, args.first().map_or(Cell::Null, |a| eval(a, &res, 0)))
                })
                .collect();
            trans_vals.push(transform_column(
                name,
                args,
                unit_default as f64,
                &inner,
                s.order_desc,
            ));
        }
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        // Rows of windows without a selected point (filled), for `aux`.
        let mut filled: Vec<bool> = Vec::new();
        for (i, (v, &w)) in vals.iter().zip(&times).enumerate() {
            let outside = w < asked_windows.0 || w > asked_windows.1;
            if outside && !any_ta {
                continue;
            }
            // Transform `k`'s value in this row.
            let trans_cell = |k: usize| -> Cell {
                if outside && !is_ta.get(k).copied().unwrap_or(false) {
                    return Cell::Null;
                }
                trans_vals
                    .get(k)
                    .and_then(|c| c.get(i))
                    .cloned()
                    .unwrap_or(Cell::Null)
            };
            let res = |e: &Expr| -> Option<Cell> {
                if let Some(k) = trans.iter().position(|t| t == e) {
                    return Some(trans_cell(k));
                }
                if outside {
                    if matches!(e, Expr::Var { .. }) {
                        return Some(Cell::Null);
                    }
                    return agg_lookup(e, &aggs, &empty_window, true);
                }
                if aux && let Expr::Var { name, kind } = e {
                    let row = aux_g.and_then(|a| a.get(&w));
                    return Some(match row {
                        Some((tags_of, _)) if is_tag(name, *kind) => tags_of
                            .iter()
                            .find(|(k, _)| k == name)
                            .map_or(Cell::Null, |(_, v)| Cell::Str(v.clone())),
                        Some((_, vals)) => vals
                            .get(name)
                            .and_then(|v| cast::value(*v, *kind))
                            .map_or(Cell::Null, value_cell),
                        None => Cell::Null,
                    });
                }
                agg_lookup(e, &aggs, v, true)
            };
            // A row exists where a transform has a value, or (in the range
            // asked) an aggregate beside the transforms does; there a
            // transform without a value takes fill's number, as in InfluxDB.
            let plain_value = !outside
                && aggs
                    .iter()
                    .zip(v)
                    .any(|(a, o)| a.plain && o.as_ref().is_some_and(|o| o.value != Cell::Null));
            if !trans.is_empty()
                && !plain_value
                && (0..trans.len()).all(|k| trans_cell(k) == Cell::Null)
            {
                continue;
            }
            let filled_res = |e: &Expr| -> Option<Cell> {
                match (res(e), &fill) {
                    (Some(Cell::Null), Fill::Number(n)) if trans.contains(e) => {
                        Some(Cell::Float(*n))
                    }
                    (c, _) => c,
                }
            };
            let cells: Vec<Cell> = fields
                .iter()
                .map(|f| eval(&f.expr, &filled_res, 0))
                .collect();
            let mut row = Vec::with_capacity(cells.len() + 1);
            row.push(Cell::Time(report_time(i, w)));
            row.extend(cells);
            rows.push(row);
            filled.push(aux && aux_g.and_then(|a| a.get(&w)).is_none());
        }
        if s.order_desc {
            rows.reverse();
            filled.reverse();
        }
        if aux {
            fill_aux(&fill, &fields, &mut rows, &filled);
        }
        let rows = page(rows, s.limit, s.offset);
        if rows.is_empty() {
            continue;
        }
        out.push(Series {
            name: m.to_string(),
            tags: g.into_iter().collect(),
            columns: columns.clone(),
            values: rows,
        });
    }
    Ok(out)
}

/// The value of aggregate call `e` in a window's values `v` (`None` if `e`
/// is no aggregate): the one outside transforms (`plain`), or inside.
fn agg_lookup(e: &Expr, aggs: &[Agg], v: &[Option<Out>], plain: bool) -> Option<Cell> {
    let Expr::Call { name, args } = e else {
        return None;
    };
    if !is_agg(name) {
        return None;
    }
    let distinct = count_distinct(name, args);
    let Some((field, cast)) = distinct.or_else(|| args.first().and_then(field_var)) else {
        return Some(Cell::Null);
    };
    let arg = match args.get(1) {
        Some(Expr::Integer(i)) => Some(*i as f64),
        Some(Expr::Number(n)) => Some(*n),
        Some(Expr::Duration(d)) => Some(*d as f64),
        _ => None,
    };
    let i = aggs.iter().position(|a| {
        a.func == *name
            && a.field == field
            && a.cast == cast
            && a.arg == arg
            && a.distinct == distinct.is_some()
            && a.plain == plain
    });
    Some(
        i.and_then(|i| v.get(i))
            .and_then(Option::as_ref)
            .map_or(Cell::Null, |o| o.value.clone()),
    )
}

/// The auxiliary columns (plain fields and tags beside a selector) of the
/// rows of windows without points, as InfluxDB fills them: fill(previous)
/// repeats the row before's (in the order reported), fill(<number>) puts
/// the number in each of them, tags included; other fills leave nulls.
fn fill_aux(fill: &Fill, fields: &[Field], rows: &mut [Vec<Cell>], filled: &[bool]) {
    // Cell positions: after the time column.
    let cols: Vec<usize> = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f.expr, Expr::Var { .. }))
        .map(|(i, _)| i + 1)
        .collect();
    let mut prev: Option<Vec<Cell>> = None;
    for (row, &empty) in rows.iter_mut().zip(filled) {
        if empty {
            for (k, &c) in cols.iter().enumerate() {
                let v = match fill {
                    Fill::Previous => prev.as_ref().and_then(|p| p.get(k)).cloned(),
                    Fill::Number(n) => Some(Cell::Float(*n)),
                    _ => None,
                };
                if let (Some(v), Some(slot)) = (v, row.get_mut(c)) {
                    *slot = v;
                }
            }
        }
        prev = Some(
            cols.iter()
                .map(|&c| row.get(c).cloned().unwrap_or(Cell::Null))
                .collect(),
        );
    }
}

/// fill(previous | linear | <number>) on missing aggregate values, and
/// fill(null)'s 0 for `count`. fill(linear) interpolates on window numbers
/// (`time / every`, truncated), as InfluxDB does: the same as on times for
/// windows of one length, not quite for the 23- and 25-hour days of a zone.
fn fill_rows(fill: &Fill, aggs: &[Agg], times: &[i64], every: i64, vals: &mut [Vec<Option<Out>>]) {
    for (k, a) in aggs.iter().enumerate() {
        if a.func == "integral" {
            continue;
        }
        match fill {
            // As InfluxDB: an empty window counts 0, not null (but the
            // count of a cast to nothing stays null).
            Fill::Null if a.func == "count" && a.cast != Some(VarKind::Nothing) => {
                for slot in vals.iter_mut().filter_map(|v| v.get_mut(k)) {
                    slot.get_or_insert(Out {
                        value: Cell::Int(0),
                        time: None,
                    });
                }
            }
            Fill::Null | Fill::None => {}
            Fill::Number(n) => {
                for slot in vals.iter_mut().filter_map(|v| v.get_mut(k)) {
                    slot.get_or_insert(Out {
                        value: if n.fract() == 0.0 && a.func == "count" {
                            Cell::Int(*n as i64)
                        } else {
                            Cell::Float(*n)
                        },
                        time: None,
                    });
                }
            }
            Fill::Previous => {
                let mut prev: Option<Cell> = None;
                for slot in vals.iter_mut().filter_map(|v| v.get_mut(k)) {
                    match slot {
                        Some(o) => prev = Some(o.value.clone()),
                        None => {
                            if let Some(p) = &prev {
                                *slot = Some(Out {
                                    value: p.clone(),
                                    time: None,
                                });
                            }
                        }
                    }
                }
            }
            Fill::Linear => {
                // (row, value, whether an integer)
                let known: Vec<(usize, f64, bool)> = vals
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| {
                        let o = v.get(k)?.as_ref()?;
                        let int = matches!(o.value, Cell::Int(_) | Cell::UInt(_));
                        o.value.as_f64().map(|x| (i, x, int))
                    })
                    .collect();
                for pair in known.windows(2) {
                    let [(i0, v0, int), (i1, v1, _)] = pair else {
                        continue;
                    };
                    let number = |i: usize| times.get(i).copied().unwrap_or(0) / every.max(1);
                    let (n0, n1) = (number(*i0), number(*i1));
                    let slope = (v1 - v0) / n1.saturating_sub(n0).max(1) as f64;
                    for i in i0 + 1..*i1 {
                        let x = slope * number(i).saturating_sub(n0) as f64 + v0;
                        // Integers stay integers, truncated (InfluxDB's
                        // linearInteger).
                        let value = if *int {
                            Cell::Int(x as i64)
                        } else {
                            Cell::Float(x)
                        };
                        if let Some(slot) = vals.get_mut(i).and_then(|v| v.get_mut(k)) {
                            *slot = Some(Out { value, time: None });
                        }
                    }
                }
            }
        }
    }
}

/// A series' group: its values of the GROUP BY tag keys (empty if absent).
fn group_key(group_by: &[String], tags_of: &[(String, String)]) -> Tags {
    group_by
        .iter()
        .map(|k| {
            (
                k.clone(),
                tags_of
                    .iter()
                    .find(|(a, _)| a == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn page<T>(v: Vec<T>, limit: Option<u64>, offset: Option<u64>) -> Vec<T> {
    let off = offset.unwrap_or(0) as usize;
    let lim = limit.filter(|&l| l > 0).map_or(usize::MAX, |l| l as usize);
    v.into_iter().skip(off).take(lim).collect()
}

/// Per series (its tags, sorted): time → field → value.
type RawRows = Vec<(Vec<(String, String)>, BTreeMap<i64, HashMap<String, Value>>)>;

/// Raw points of `fields` of the series `tags` selects, merged per series by time.
#[allow(clippy::too_many_arguments)]
fn raw_rows(
    ctx: &Ctx<'_>,
    src: Src<'_>,
    db: &str,
    m: &str,
    fields: &[String],
    range: TimeRange,
    tags: &TagExpr,
    cap: usize,
) -> Result<RawRows, String> {
    if let Src::Rows(r) = src {
        return Ok(r.raw_rows(m, fields, tags));
    }
    let mut by_series: GroupRows<Value> = BTreeMap::new();
    let mut total = 0usize;
    for f in fields {
        let q = Query {
            db: db.into(),
            measurement: m.into(),
            tags: tags.clone(),
            field: Some(f.clone()),
            start_ns: range.start,
            end_ns: range.end,
            aggregation: None,
            limit: Some(cap.saturating_add(1)),
        };
        let r = ctx.engine.query(&q).map_err(|e| e.to_string())?;
        for s in r.series {
            let SeriesData::Raw(pts) = s.data else {
                continue;
            };
            total += pts.len();
            if total > cap {
                return Err(format!(
                    "query reads more than {cap} points (limits.max_query_points): narrow the time range, or aggregate with GROUP BY time()"
                ));
            }
            let rows = by_series.entry(s.tags).or_default();
            for (t, v) in pts {
                rows.entry(t).or_default().insert(f.clone(), v);
            }
        }
    }
    Ok(by_series.into_iter().collect())
}

#[allow(clippy::too_many_arguments)]
fn raw_select(
    ctx: &Ctx<'_>,
    src: Src<'_>,
    db: &str,
    m: &str,
    s: &Select,
    fields: &[Field],
    columns: &[String],
    group_by: &[String],
    split: &cond::Split,
    range: TimeRange,
    tag_expr: TagExpr,
    trans: &[Expr],
    is_tag: &dyn Fn(&str, Option<VarKind>) -> bool,
) -> Result<Vec<Series>, String> {
    let cap = ctx.engine.config().max_query_points as usize;
    // Fields read: projected ones and the ones conditions look at.
    let mut needed: Vec<String> = Vec::new();
    let exprs = fields.iter().map(|f| &f.expr).chain(&split.rows);
    fields_read(exprs, is_tag, &mut needed)?;
    let rows = raw_rows(ctx, src, db, m, &needed, range, &tag_expr, cap)?;
    // The fields the projections read, in math and arithmetic too: a row
    // exists where one of them has a value.
    let mut projected: Vec<String> = Vec::new();
    fields_read(fields.iter().map(|f| &f.expr), is_tag, &mut projected)?;
    let mut regexes = HashMap::new();
    // group → rows (time, tagset order, cells)
    let mut groups: BTreeMap<Tags, Vec<(i64, usize, Vec<Cell>)>> = BTreeMap::new();
    for (si, (tags_of, series_rows)) in rows.iter().enumerate() {
        let group = group_key(group_by, tags_of);
        for (t, vals) in series_rows {
            let cells: HashMap<String, Cell> = vals
                .iter()
                .map(|(k, v)| (k.clone(), value_cell(*v)))
                .collect();
            // A row exists where a selected field has a value.
            if !projected.is_empty() && !projected.iter().any(|p| cells.contains_key(p)) {
                continue;
            }
            let row = Row {
                tags: tags_of,
                fields: &cells,
            };
            if !cond::eval_all(&split.rows, &row, is_tag, &mut regexes)? {
                continue;
            }
            let res = |e: &Expr| -> Option<Cell> {
                match e {
                    Expr::Var { name, kind } if is_tag(name, *kind) => Some(
                        tags_of
                            .iter()
                            .find(|(k, _)| k == name)
                            .map_or(Cell::Null, |(_, v)| Cell::Str(v.clone())),
                    ),
                    Expr::Var { name, kind } => Some(
                        cells
                            .get(name)
                            .map_or(Cell::Null, |c| cast::cell(c.clone(), *kind)),
                    ),
                    _ => None,
                }
            };
            let out: Vec<Cell> = fields
                .iter()
                .map(|f| {
                    if trans.is_empty() {
                        eval(&f.expr, &res, 0)
                    } else {
                        Cell::Null
                    }
                })
                .collect();
            // With transforms, keep the inner values to transform below.
            let out = if trans.is_empty() {
                out
            } else {
                trans
                    .iter()
                    .map(|tr| match tr {
                        Expr::Call { args, .. } => {
                            args.first().map_or(Cell::Null, |a| eval(a, &res, 0))
                        }
                        _ => Cell::Null,
                    })
                    .collect()
            };
            groups.entry(group.clone()).or_default().push((*t, si, out));
        }
    }
    let mut result = Vec::new();
    for (g, mut rows) in groups {
        rows.sort_by_key(|r| (r.0, r.1));
        let mut values: Vec<Vec<Cell>> = if trans.is_empty() {
            rows.into_iter()
                .map(|(t, _, cells)| std::iter::once(Cell::Time(t)).chain(cells).collect())
                .collect()
        } else {
            // Each transform column down the rows, then the projections over them.
            let cols: Vec<Vec<Cell>> = trans
                .iter()
                .enumerate()
                .map(|(k, tr)| {
                    let Expr::Call { name, args } = tr else {
                        return Vec::new();
                    };
                    let inner: Vec<(i64, Cell)> = rows
                        .iter()
                        .map(|(t, _, c)| (*t, c.get(k).cloned().unwrap_or(Cell::Null)))
                        .collect();
                    transform_column(name, args, 1e9, &inner, s.order_desc)
                })
                .collect();
            let mut out = Vec::new();
            for (i, (t, _, _)) in rows.iter().enumerate() {
                if cols
                    .iter()
                    .all(|c| matches!(c.get(i), Some(Cell::Null) | None))
                {
                    continue;
                }
                let res = |e: &Expr| {
                    trans.iter().position(|x| x == e).map(|k| {
                        cols.get(k)
                            .and_then(|c| c.get(i))
                            .cloned()
                            .unwrap_or(Cell::Null)
                    })
                };
                let mut row = vec![Cell::Time(*t)];
                row.extend(fields.iter().map(|f| eval(&f.expr, &res, 0)));
                out.push(row);
            }
            out
        };
        if s.order_desc {
            values.reverse();
        }
        let values = page(values, s.limit, s.offset);
        if values.is_empty() {
            continue;
        }
        result.push(Series {
            name: m.to_string(),
            tags: g.into_iter().collect(),
            columns: columns.to_vec(),
            values,
        });
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(t: i64, v: f64) -> (i64, Value) {
        (t, Value::Float(v))
    }

    #[test]
    fn transforms_keep_the_first_point_of_a_time() {
        // Two series merged: 10 and 13 at t=0, 20 and 23 at t=10. The
        // second point of each time does not advance the stream.
        let values = [
            (0, Cell::Float(10.0)),
            (0, Cell::Float(13.0)),
            (10, Cell::Float(20.0)),
            (10, Cell::Float(23.0)),
        ];
        let d = apply_transform("derivative", None, 10.0, &values, false);
        assert_eq!(d, [Cell::Null, Cell::Null, Cell::Float(10.0), Cell::Null]);
        let d = apply_transform("difference", None, 1.0, &values, false);
        assert_eq!(d, [Cell::Null, Cell::Null, Cell::Float(10.0), Cell::Null]);
        // cumulative_sum takes every point.
        let c = apply_transform("cumulative_sum", None, 1.0, &values, false);
        assert_eq!(c.last(), Some(&Cell::Float(66.0)));
    }

    #[test]
    fn integral_splits_the_segment_across_a_window_end() {
        // Windows of 10. The segment 5→15 crosses 10, where the value is
        // 15: (0+10)/2·5 + (10+15)/2·5 = 87.5 before, (15+20)/2·5 after.
        let w0 = [f(0, 0.0), f(5, 10.0)];
        let w1 = [f(15, 20.0)];
        assert_eq!(
            integrals(&[&w0, &w1], Some(&Win::new(10, 0, None)), 1.0),
            vec![Some(87.5), Some(87.5)]
        );
        // Without windows: one trapezoid sum, in units of 5.
        assert_eq!(
            integrals(&[&[f(0, 0.0), f(5, 10.0), f(15, 20.0)]], None, 5.0),
            vec![Some(35.0)]
        );
        // An empty window between two is skipped; the segment's part past
        // the first window's end counts in the next window with points.
        let got = integrals(
            &[&w0, &[], &[f(25, 20.0)]],
            Some(&Win::new(10, 0, None)),
            1.0,
        );
        assert_eq!(got.get(1), Some(&None));
        let total: f64 = got.iter().flatten().sum();
        assert_eq!(total, 25.0 + (10.0 + 20.0) / 2.0 * 20.0);
    }

    #[test]
    fn integral_details_as_influxdb() {
        // The last window's only point at its start: no value for it.
        let got = integrals(
            &[&[f(0, 0.0), f(5, 10.0)], &[f(10, 20.0)]],
            Some(&Win::new(10, 0, None)),
            1.0,
        );
        assert_eq!(got, vec![Some(100.0), None]);
        // A point at the time of the one before replaces it.
        let pts = [f(0, 1.0), f(0, 3.0), f(2, 5.0)];
        assert_eq!(integrals(&[&pts], None, 1.0), vec![Some(8.0)]);
        // Booleans hold no area; a lone point holds none either.
        let bools = [(0, Value::Boolean(true)), (4, Value::Boolean(false))];
        assert_eq!(integrals(&[&bools], None, 1.0), vec![None]);
        assert_eq!(integrals(&[&[f(3, 7.0)]], None, 1.0), vec![Some(0.0)]);
    }

    #[test]
    fn mode_prefers_the_most_frequent_then_the_earliest() {
        let pts = [f(1, 2.0), f(2, 9.0), f(3, 9.0), f(4, 2.0), f(5, 3.0)];
        // 2 and 9 twice each; 2 came first.
        assert_eq!(mode(&pts).value, Cell::Float(2.0));
        let pts = [f(1, 9.0), f(2, 2.0), f(3, 9.0), f(4, 2.0)];
        assert_eq!(mode(&pts).value, Cell::Float(9.0));
        let ints = [
            (1, Value::Integer(i64::MAX)),
            (2, Value::Integer(i64::MAX - 1)),
            (3, Value::Integer(i64::MAX - 1)),
        ];
        // Integers compare exactly (both are the same f64).
        assert_eq!(mode(&ints).value, Cell::Int(i64::MAX - 1));
        let bools = [
            (1, Value::Boolean(false)),
            (2, Value::Boolean(true)),
            (3, Value::Boolean(true)),
        ];
        assert_eq!(mode(&bools).value, Cell::Bool(true));
        assert_eq!(mode(&[]).value, Cell::Null);
    }

    #[test]
    fn elapsed_counts_whole_units_between_values() {
        let col = [
            (0, Cell::Float(1.0)),
            (90, Cell::Null),
            (150, Cell::Bool(true)),
            (400, Cell::Int(2)),
        ];
        let got = apply_transform("elapsed", Some(&Expr::Duration(100)), 1e9, &col, false);
        assert_eq!(
            got,
            vec![Cell::Null, Cell::Null, Cell::Int(1), Cell::Int(2)]
        );
        // Nanoseconds by default, whatever the window.
        let got = apply_transform("elapsed", None, 1e9, &col, true);
        assert_eq!(
            got,
            vec![Cell::Int(150), Cell::Null, Cell::Int(250), Cell::Null]
        );
    }
}
