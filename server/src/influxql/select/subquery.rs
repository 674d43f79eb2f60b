//! Subqueries: `SELECT ... FROM (SELECT ...)`, as InfluxDB 1.x runs them.
//!
//! The inner SELECT runs first; its answer becomes the points the outer one
//! reads. Each series of the answer is a series of the measurement it names,
//! with its tags (the inner GROUP BY's); each column but `time` is a field
//! whose points are the rows' non-null values. So the usual rate-then-sum:
//!
//! ```text
//! SELECT sum(rate) FROM (SELECT non_negative_derivative(max(bytes), 1s) AS rate
//!     FROM net WHERE time > now() - 1h GROUP BY time(1m), host)
//! WHERE time > now() - 1h GROUP BY time(1m)
//! ```
//!
//! - The inner query is rewritten as InfluxDB rewrites it: the outer WHERE's
//!   time bounds are added to its own (up to now() under an outer GROUP BY
//!   time), the outer GROUP BY tags to its GROUP BY, the outer interval to
//!   an aggregating inner query without one, and its fill(null) becomes
//!   fill(none): an empty window is no point.
//! - The outer query reads the rows as raw points (no chunk statistics),
//!   all of them: the rows of inner windows that start before the outer
//!   range count too, as in InfluxDB. The inner answer counts against
//!   `limits.max_query_points`.
//! - Differences kept: a subquery must be the only source of its FROM;
//!   string columns (tags projected beside a selector) are not carried over;
//!   subqueries nest at most
//!   [`MAX_SUBQUERIES`](super::super::parser::MAX_SUBQUERIES) deep.

use std::collections::{BTreeMap, HashMap};

use pulsardb_core::catalog::TagExpr;
use pulsardb_core::{FieldType, Value};

use super::super::ast::{BinOp, Dimension, Expr, Fill, Select};
use super::super::cond;
use super::super::exec::Ctx;
use super::super::result::Cell;
use super::{RawRows, Tags, is_agg, walk};

/// One series of a subquery's answer.
struct SubSeries {
    tags: Tags,
    /// Its columns with a value, and their types (the first value's).
    fields: Vec<(String, FieldType)>,
    /// Its rows, in layers: the first row of each time in the first, a
    /// second row of a time (an inner raw SELECT over several series, or
    /// `top()`) in the second, and so on. Each layer reads as a series.
    layers: Vec<BTreeMap<i64, HashMap<String, Value>>>,
}

/// A subquery's answer, as points, by measurement.
pub(in super::super) struct Subrows {
    series: BTreeMap<String, Vec<SubSeries>>,
}

impl Subrows {
    fn of<'a>(&'a self, m: &str) -> impl Iterator<Item = &'a SubSeries> + 'a {
        self.series.get(m).into_iter().flatten()
    }

    /// The measurements the answer names, sorted.
    pub(super) fn measurements(&self) -> Vec<String> {
        self.series.keys().cloned().collect()
    }

    /// Fields of measurement `m`, sorted by name.
    pub(super) fn fields(&self, m: &str) -> Vec<(String, FieldType)> {
        let mut out: Vec<(String, FieldType)> = Vec::new();
        for s in self.of(m) {
            for (f, t) in &s.fields {
                if !out.iter().any(|(g, _)| g == f) {
                    out.push((f.clone(), *t));
                }
            }
        }
        out.sort();
        out
    }

    /// Tag keys of measurement `m`, sorted.
    pub(super) fn tag_keys(&self, m: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .of(m)
            .flat_map(|s| s.tags.iter().map(|(k, _)| k.clone()))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Values of tag `key` in measurement `m`, sorted.
    pub(super) fn tag_values(&self, m: &str, key: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .of(m)
            .filter_map(|s| {
                s.tags
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The points of `fields` of the series of `m` that `tags` selects, per
    /// series (ordered by tags), as the store's reads give them; a series
    /// with several rows at one time reads as several series of its tags.
    /// No time bounds: the outer ones were the inner query's, whose windows
    /// may start before them (InfluxDB reads those rows too).
    pub(super) fn raw_rows(&self, m: &str, fields: &[String], tags: &TagExpr) -> RawRows {
        let mut out: RawRows = Vec::new();
        for s in self.of(m) {
            let get = |k: &str| s.tags.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
            if !tags.eval(&get) {
                continue;
            }
            for layer in &s.layers {
                let rows: BTreeMap<i64, HashMap<String, Value>> = layer
                    .iter()
                    .filter_map(|(&t, vals)| {
                        let picked: HashMap<String, Value> = vals
                            .iter()
                            .filter(|(k, _)| fields.contains(k))
                            .map(|(k, v)| (k.clone(), *v))
                            .collect();
                        (!picked.is_empty()).then_some((t, picked))
                    })
                    .collect();
                if !rows.is_empty() {
                    out.push((s.tags.clone(), rows));
                }
            }
        }
        // Stable: the layers of a series stay in order.
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

fn too_many(cap: usize) -> String {
    format!(
        "query reads more than {cap} points (limits.max_query_points): narrow the time range, or aggregate with GROUP BY time()"
    )
}

/// `time <op> t`.
fn time_cmp(op: BinOp, t: i64) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(Expr::Var {
            name: "time".into(),
            kind: None,
        }),
        rhs: Box::new(Expr::Integer(t)),
    }
}

/// Whether a SELECT aggregates (an aggregate or selector call anywhere).
fn aggregates(s: &Select) -> bool {
    let mut found = false;
    for f in &s.fields {
        let _ = walk(&f.expr, 0, &mut |e| {
            if let Expr::Call { name, .. } = e
                && (is_agg(name) || matches!(name.as_str(), "top" | "bottom" | "distinct"))
            {
                found = true;
            }
            Ok(!found)
        });
    }
    found
}

/// The inner query as InfluxDB runs it under `outer`: the outer time bounds
/// (up to now() under an outer GROUP BY time) and GROUP BY tags are added to
/// it; an aggregating inner query without GROUP BY time takes the outer's;
/// its fill(null) becomes fill(none) (empty windows are no points).
fn rewrite(ctx: &Ctx<'_>, outer: &Select, inner: &Select) -> Result<Select, String> {
    let mut bounds = cond::split(
        outer.condition.as_ref(),
        ctx.now,
        ctx.zone.as_deref(),
        &|_, _| false,
    )?
    .time;
    let outer_time = outer
        .dimensions
        .iter()
        .find(|d| matches!(d, Dimension::Time { .. }));
    if outer_time.is_some() && bounds.end == i64::MAX {
        bounds.end = ctx.now;
    }
    let mut inner = inner.clone();
    let aggregating = aggregates(&inner);
    for d in &outer.dimensions {
        let wanted = match d {
            Dimension::Time { .. } => {
                aggregating
                    && !inner
                        .dimensions
                        .iter()
                        .any(|x| matches!(x, Dimension::Time { .. }))
            }
            _ => !inner.dimensions.contains(d),
        };
        if wanted {
            inner.dimensions.push(d.clone());
        }
    }
    let inner_time = inner
        .dimensions
        .iter()
        .any(|x| matches!(x, Dimension::Time { .. }));
    if aggregating && inner_time && matches!(inner.fill, None | Some(Fill::Null)) {
        inner.fill = Some(Fill::None);
    }
    let mut extra = Vec::new();
    if bounds.bounded_below() {
        extra.push(time_cmp(BinOp::Gte, bounds.start));
    }
    if bounds.end != i64::MAX {
        extra.push(time_cmp(BinOp::Lte, bounds.end));
    }
    for e in extra {
        inner.condition = Some(match inner.condition.take() {
            Some(c) => Expr::Binary {
                op: BinOp::And,
                lhs: Box::new(Expr::Paren(Box::new(c))),
                rhs: Box::new(e),
            },
            None => e,
        });
    }
    Ok(inner)
}

/// Runs `inner`, the subquery of `outer`, and turns its answer into points.
pub(super) fn run(ctx: &Ctx<'_>, outer: &Select, inner: &Select) -> Result<Subrows, String> {
    let inner = rewrite(ctx, outer, inner)?;
    let answer = super::select(ctx, &inner)?;
    // Charged against the query's point budget: each value twice (here and
    // in the outer read), each row and each layer of a series for its map.
    let cap = ctx.engine.config().max_query_points as usize;
    let mut total = 0usize;
    let mut charge = |n: usize| {
        total += n;
        if total > cap {
            Err(too_many(cap))
        } else {
            Ok(())
        }
    };
    let mut series: BTreeMap<String, Vec<SubSeries>> = BTreeMap::new();
    for a in answer {
        let mut fields: Vec<(String, FieldType)> = Vec::new();
        let mut layers: Vec<BTreeMap<i64, HashMap<String, Value>>> = Vec::new();
        let (mut prev, mut k) = (None, 0usize);
        for row in &a.values {
            let Some(&Cell::Time(t)) = row.first() else {
                continue;
            };
            let mut vals = HashMap::new();
            for (name, cell) in a.columns.iter().zip(row).skip(1) {
                let v = match *cell {
                    Cell::Float(x) => Value::Float(x),
                    Cell::Int(x) => Value::Integer(x),
                    Cell::UInt(x) => Value::Unsigned(x),
                    Cell::Bool(x) => Value::Boolean(x),
                    Cell::Null | Cell::Time(_) | Cell::LocalTime(..) | Cell::Str(_) => continue,
                };
                if !fields.iter().any(|(f, _)| f == name) {
                    fields.push((name.clone(), v.field_type()));
                }
                charge(2)?;
                vals.insert(name.clone(), v);
            }
            if vals.is_empty() {
                continue;
            }
            // Rows come ordered by time: a repeated time is the next layer.
            k = if prev == Some(t) { k + 1 } else { 0 };
            prev = Some(t);
            while layers.get(k).is_some_and(|l| l.contains_key(&t)) {
                k += 1;
            }
            charge(1)?;
            match layers.get_mut(k) {
                Some(layer) => {
                    layer.insert(t, vals);
                }
                None => {
                    charge(8)?;
                    layers.push(BTreeMap::from([(t, vals)]));
                }
            }
        }
        series.entry(a.name).or_default().push(SubSeries {
            tags: a.tags.into_iter().collect(),
            fields,
            layers,
        });
    }
    Ok(Subrows { series })
}
