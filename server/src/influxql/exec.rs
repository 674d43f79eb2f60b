//! Runs parsed statements against the engine.

use pulsardb_core::catalog::TagExpr;

use super::ast::{Cardinality, Expr, NameMatch, Source, Statement};
use super::cond;
use super::result::{Cell, Series, StatementResult, go_duration};
use crate::engine::Engine;

/// What every statement of a request shares.
#[allow(missing_debug_implementations)] // holds the engine
#[derive(Clone)]
pub struct Ctx<'a> {
    /// The engine.
    pub engine: &'a Engine,
    /// `db` parameter.
    pub db: Option<String>,
    /// `now()`, ns, fixed for the whole request.
    pub now: i64,
    /// Whether the request came by POST (write statements need it).
    pub post: bool,
    /// What the request's token allows.
    pub access: crate::http::auth::Access,
    /// The statement's `tz('...')` zone: times in WHERE without an offset
    /// are its wall-clock times, windows follow its wall clock.
    pub zone: Option<std::sync::Arc<pulsardb_core::query::Zone>>,
}

impl Ctx<'_> {
    /// The database a statement addresses: its own, else the request's.
    pub fn database(&self, own: Option<&str>) -> Result<String, String> {
        let db = own
            .map(str::to_string)
            .or_else(|| self.db.clone())
            .filter(|d| !d.is_empty())
            .ok_or("database name required")?;
        if !self.engine.has_database(&db) {
            return Err(format!("database not found: {db}"));
        }
        Ok(db)
    }

    /// Measurements named by FROM (regexes resolved); all when empty.
    pub fn measurements(&self, db: &str, sources: &[Source]) -> Result<Vec<String>, String> {
        let all: Vec<String> = self
            .engine
            .with_db(|d| d.measurements(db).into_iter().map(str::to_string).collect());
        if sources.is_empty() {
            return Ok(all);
        }
        let mut out: Vec<String> = Vec::new();
        for s in sources {
            match s {
                Source::Measurement { name, .. } => {
                    if !out.contains(name) {
                        out.push(name.clone());
                    }
                }
                Source::Regex { pattern, .. } => {
                    let re = cond::regex(pattern)?;
                    for m in all.iter().filter(|m| re.is_match(m)) {
                        if !out.contains(m) {
                            out.push(m.clone());
                        }
                    }
                }
                Source::Subquery(_) => {
                    return Err(
                        "a subquery must be the only source of its FROM clause in PulsarDB".into(),
                    );
                }
            }
        }
        Ok(out)
    }

    /// A tag expression for a condition on measurement `m` (regexes resolved).
    pub fn tag_condition(&self, db: &str, m: &str, c: Option<&Expr>) -> Result<TagExpr, String> {
        let Some(c) = c else { return Ok(TagExpr::True) };
        let split = cond::split(Some(c), self.now, None, &|_, _| true)?;
        // Every name is a tag here: a conjunct left for rows compares one
        // with a number or the like, which selects nothing sensible. Its
        // error says why (InfluxDB answers every series to `usage = 1`).
        // A conjunct naming nothing is a constant: `1 = 1` or `true` drops
        // out, `false` selects nothing.
        let mut parts: Vec<Expr> = Vec::new();
        for p in split.tags.iter().chain(&split.rows) {
            let mut names = false;
            super::select::walk_expr(p, &mut |e| {
                names |= matches!(e, Expr::Var { .. });
                !names
            });
            if names {
                parts.push(p.clone());
                continue;
            }
            let row = cond::Row {
                tags: &[],
                fields: &Default::default(),
            };
            let holds = cond::eval_all(
                std::slice::from_ref(p),
                &row,
                &|_, _| true,
                &mut Default::default(),
            )?;
            if !holds {
                return Ok(TagExpr::Not(Box::new(TagExpr::True)));
            }
        }
        cond::tag_expr(&parts, &|key| {
            self.engine.with_db(|d| {
                d.tag_values(db, m, key, &TagExpr::True)
                    .into_iter()
                    .map(str::to_string)
                    .collect()
            })
        })
    }
}

/// The database named by a statement's FROM qualifier, if any.
pub fn source_db(sources: &[Source]) -> Option<&str> {
    sources.iter().find_map(|s| match s {
        Source::Measurement { db, .. } | Source::Regex { db, .. } => {
            db.as_deref().filter(|d| !d.is_empty())
        }
        Source::Subquery(inner) => source_db(&inner.sources),
    })
}

fn page<T>(v: Vec<T>, limit: Option<u64>, offset: Option<u64>) -> Vec<T> {
    let off = offset.unwrap_or(0) as usize;
    let lim = limit.filter(|&l| l > 0).map_or(usize::MAX, |l| l as usize);
    v.into_iter().skip(off).take(lim).collect()
}

fn name_matches(m: &NameMatch, s: &str) -> Result<bool, String> {
    Ok(match m {
        NameMatch::Eq(n) => s == n,
        NameMatch::Ne(n) => s != n,
        NameMatch::In(ns) => ns.iter().any(|n| n == s),
        NameMatch::Regex(p) => cond::regex(p)?.is_match(s),
        NameMatch::NotRegex(p) => !cond::regex(p)?.is_match(s),
    })
}

fn one_column(name: &str, column: &str, values: Vec<String>) -> Vec<Series> {
    if values.is_empty() {
        return Vec::new();
    }
    vec![Series {
        name: name.into(),
        columns: vec![column.into()],
        values: values.into_iter().map(|v| vec![Cell::Str(v)]).collect(),
        ..Default::default()
    }]
}

/// The tag keys of measurement `m`; with a condition, those of the series
/// it selects.
fn tag_keys(
    ctx: &Ctx<'_>,
    db: &str,
    m: &str,
    condition: Option<&Expr>,
) -> Result<Vec<String>, String> {
    if condition.is_none() {
        return Ok(ctx
            .engine
            .with_db(|d| d.tag_keys(db, m).into_iter().map(str::to_string).collect()));
    }
    let expr = ctx.tag_condition(db, m, condition)?;
    Ok(ctx.engine.with_db(|d| {
        let cat = d.catalog();
        let mut keys: Vec<String> = Vec::new();
        if let Some(dbi) = cat.db(db) {
            for t in cat.select_tagsets(dbi, m, &expr) {
                if let Some(ts) = cat.tagset(t) {
                    for &(k, _) in ts.tags.iter() {
                        let k = cat.strings().resolve(k).to_string();
                        if !keys.contains(&k) {
                            keys.push(k);
                        }
                    }
                }
            }
        }
        keys.sort();
        keys
    }))
}

/// The (key, value) pairs of measurement `m` whose key matches `key`, in
/// the series `condition` selects.
fn tag_values(
    ctx: &Ctx<'_>,
    db: &str,
    m: &str,
    key: &NameMatch,
    condition: Option<&Expr>,
) -> Result<Vec<(String, String)>, String> {
    let expr = ctx.tag_condition(db, m, condition)?;
    let keys: Vec<String> = ctx
        .engine
        .with_db(|d| d.tag_keys(db, m).into_iter().map(str::to_string).collect());
    let mut rows = Vec::new();
    for k in keys {
        if !name_matches(key, &k)? {
            continue;
        }
        let vals: Vec<String> = ctx.engine.with_db(|d| {
            d.tag_values(db, m, &k, &expr)
                .into_iter()
                .map(str::to_string)
                .collect()
        });
        rows.extend(vals.into_iter().map(|v| (k.clone(), v)));
    }
    Ok(rows)
}

/// `SHOW ... CARDINALITY`, as InfluxDB 1.x answers it:
/// - a count per measurement, named after it, column `count` (series, tag
///   keys, (key, value) pairs, field keys); measurements have one count;
/// - `SHOW SERIES CARDINALITY` and `SHOW MEASUREMENT CARDINALITY` without
///   `EXACT`, FROM, WHERE, LIMIT and OFFSET answer one column `cardinality
///   estimation`. InfluxDB estimates it (HyperLogLog); here it is the exact
///   count, from the catalog's tag index (no data is read);
/// - counts of 0 are left out; LIMIT and OFFSET apply to each answer's one
///   row; a time in WHERE is refused.
#[allow(clippy::too_many_arguments)]
fn cardinality(
    ctx: &Ctx<'_>,
    of: Cardinality,
    exact: bool,
    db: Option<&str>,
    sources: &[Source],
    key: Option<&NameMatch>,
    condition: Option<&Expr>,
    (limit, offset): (Option<u64>, Option<u64>),
) -> Result<Vec<Series>, String> {
    if condition.is_some_and(|c| cond::mentions_time(c, 0)) {
        // InfluxDB's words (it answers nothing for TAG VALUES; refused here
        // too rather than answering an empty count).
        let exact = match of {
            Cardinality::FieldKeys | Cardinality::TagValues => "",
            _ => " EXACT",
        };
        return Err(format!(
            "SHOW {}{exact} CARDINALITY doesn't support time in WHERE clause",
            of.words()
        ));
    }
    let db = ctx.database(db)?;
    let e = ctx.engine;
    let count = |column: &str, name: &str, n: usize| Series {
        name: name.into(),
        columns: vec![column.into()],
        values: page(vec![vec![Cell::Int(n as i64)]], limit, offset),
        ..Default::default()
    };
    let estimate = !exact
        && sources.is_empty()
        && condition.is_none()
        && limit.is_none_or(|l| l == 0)
        && offset.is_none_or(|o| o == 0)
        && matches!(of, Cardinality::Series | Cardinality::Measurements);
    let mut per: Vec<(String, usize)> = Vec::new();
    for m in ctx.measurements(&db, sources)? {
        // Series the condition selects (all without one).
        let selected = || -> Result<usize, String> {
            let expr = ctx.tag_condition(&db, &m, condition)?;
            Ok(e.with_db(|d| {
                d.catalog()
                    .db(&db)
                    .map_or(0, |dbi| d.catalog().select_tagsets(dbi, &m, &expr).len())
            }))
        };
        let n = match of {
            Cardinality::Series => selected()?,
            Cardinality::Measurements => usize::from(selected()? > 0),
            Cardinality::TagKeys => tag_keys(ctx, &db, &m, condition)?.len(),
            Cardinality::TagValues => {
                let key = key.ok_or("SHOW TAG VALUES CARDINALITY needs WITH KEY")?;
                tag_values(ctx, &db, &m, key, condition)?.len()
            }
            Cardinality::FieldKeys => {
                if condition.is_some() && selected()? == 0 {
                    0
                } else {
                    e.with_db(|d| d.field_keys(&db, &m).len())
                }
            }
        };
        per.push((m, n));
    }
    let total: usize = per.iter().map(|(_, n)| n).sum();
    let answers = if estimate {
        vec![count("cardinality estimation", "", total)]
    } else if of == Cardinality::Measurements {
        vec![count("count", "", total)]
            .into_iter()
            .filter(|_| total > 0)
            .collect()
    } else {
        per.into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(m, n)| count("count", &m, n))
            .collect()
    };
    // OFFSET past the one row leaves no answer.
    Ok(answers
        .into_iter()
        .filter(|s| !s.values.is_empty())
        .collect())
}

/// Runs one statement.
pub fn execute(ctx: &Ctx<'_>, id: usize, stmt: &Statement) -> StatementResult {
    let r = if stmt.is_write() && !ctx.post {
        Err(format!("{} must be sent with POST", statement_name(stmt)))
    } else if stmt.is_write() && !ctx.access.can_write() {
        Err(format!(
            "error authorizing query: not authorized to execute {}: the token's scope is \"read\"",
            statement_name(stmt)
        ))
    } else if (!stmt.is_write() || matches!(stmt, Statement::SelectInto(..)))
        && !ctx.access.can_read()
    {
        Err(format!(
            "error authorizing query: not authorized to execute {}: the token's scope is \"write\"",
            statement_name(stmt)
        ))
    } else {
        run(ctx, stmt)
    };
    match r {
        Ok(series) => StatementResult {
            statement_id: id,
            series,
            error: None,
        },
        Err(e) => StatementResult {
            statement_id: id,
            series: Vec::new(),
            error: Some(e),
        },
    }
}

fn statement_name(s: &Statement) -> &'static str {
    match s {
        Statement::CreateDatabase { .. } => "CREATE DATABASE",
        Statement::DropDatabase { .. } => "DROP DATABASE",
        Statement::DropMeasurement { .. } => "DROP MEASUREMENT",
        Statement::DropSeries { .. } => "DROP SERIES",
        Statement::Delete { .. } => "DELETE",
        Statement::SelectInto(..) => "SELECT ... INTO",
        _ => "this statement",
    }
}

fn run(ctx: &Ctx<'_>, stmt: &Statement) -> Result<Vec<Series>, String> {
    let e = ctx.engine;
    match stmt {
        Statement::Select(s) => super::select::select_shown(ctx, s),
        Statement::SelectInto(s, target) => super::select::select_into(ctx, s, target),
        Statement::ShowDatabases => {
            let dbs: Vec<String> =
                e.with_db(|d| d.databases().into_iter().map(str::to_string).collect());
            Ok(vec![Series {
                name: "databases".into(),
                columns: vec!["name".into()],
                values: dbs.into_iter().map(|n| vec![Cell::Str(n)]).collect(),
                ..Default::default()
            }])
        }
        Statement::ShowMeasurements {
            db,
            with,
            condition,
            limit,
            offset,
        } => {
            let db = ctx.database(db.as_deref())?;
            let mut names = Vec::new();
            for m in ctx.measurements(&db, &[])? {
                if let Some(w) = with
                    && !name_matches(w, &m)?
                {
                    continue;
                }
                if condition.is_some() {
                    let expr = ctx.tag_condition(&db, &m, condition.as_ref())?;
                    if e.with_db(|d| d.series_keys(&db, &m, &expr).is_empty()) {
                        continue;
                    }
                }
                names.push(m);
            }
            Ok(one_column(
                "measurements",
                "name",
                page(names, *limit, *offset),
            ))
        }
        Statement::ShowTagKeys {
            db,
            sources,
            condition,
            limit,
            offset,
        } => {
            let db = ctx.database(db.as_deref().or(source_db(sources)))?;
            let mut out = Vec::new();
            for m in ctx.measurements(&db, sources)? {
                let keys = tag_keys(ctx, &db, &m, condition.as_ref())?;
                out.extend(one_column(&m, "tagKey", page(keys, *limit, *offset)));
            }
            Ok(out)
        }
        Statement::ShowTagValues {
            db,
            sources,
            key,
            condition,
            limit,
            offset,
        } => {
            let db = ctx.database(db.as_deref().or(source_db(sources)))?;
            let mut out = Vec::new();
            for m in ctx.measurements(&db, sources)? {
                let rows: Vec<Vec<Cell>> = tag_values(ctx, &db, &m, key, condition.as_ref())?
                    .into_iter()
                    .map(|(k, v)| vec![Cell::Str(k), Cell::Str(v)])
                    .collect();
                let rows = page(rows, *limit, *offset);
                if !rows.is_empty() {
                    out.push(Series {
                        name: m,
                        columns: vec!["key".into(), "value".into()],
                        values: rows,
                        ..Default::default()
                    });
                }
            }
            Ok(out)
        }
        Statement::ShowFieldKeys {
            db,
            sources,
            limit,
            offset,
        } => {
            let db = ctx.database(db.as_deref().or(source_db(sources)))?;
            let mut out = Vec::new();
            for m in ctx.measurements(&db, sources)? {
                let fields: Vec<(String, &'static str)> = e.with_db(|d| {
                    d.field_keys(&db, &m)
                        .into_iter()
                        .map(|(f, t)| (f.to_string(), t.name()))
                        .collect()
                });
                let rows: Vec<Vec<Cell>> = fields
                    .into_iter()
                    .map(|(f, t)| vec![Cell::Str(f), Cell::Str(t.into())])
                    .collect();
                let rows = page(rows, *limit, *offset);
                if !rows.is_empty() {
                    out.push(Series {
                        name: m,
                        columns: vec!["fieldKey".into(), "fieldType".into()],
                        values: rows,
                        ..Default::default()
                    });
                }
            }
            Ok(out)
        }
        Statement::ShowSeries {
            db,
            sources,
            condition,
            limit,
            offset,
        } => {
            let db = ctx.database(db.as_deref().or(source_db(sources)))?;
            let mut keys = Vec::new();
            for m in ctx.measurements(&db, sources)? {
                let expr = ctx.tag_condition(&db, &m, condition.as_ref())?;
                keys.extend(e.with_db(|d| d.series_keys(&db, &m, &expr)));
            }
            keys.sort();
            Ok(one_column("", "key", page(keys, *limit, *offset)))
        }
        Statement::ShowCardinality {
            of,
            exact,
            db,
            sources,
            key,
            condition,
            limit,
            offset,
        } => cardinality(
            ctx,
            *of,
            *exact,
            db.as_deref().or(source_db(sources)),
            sources,
            key.as_ref(),
            condition.as_ref(),
            (*limit, *offset),
        ),
        // As InfluxDB answers them without users or continuous queries:
        // the columns, no rows; CQs per database.
        Statement::ShowUsers => Ok(vec![Series {
            columns: vec!["user".into(), "admin".into()],
            ..Default::default()
        }]),
        Statement::ShowContinuousQueries => {
            let dbs: Vec<String> =
                e.with_db(|d| d.databases().into_iter().map(str::to_string).collect());
            Ok(dbs
                .into_iter()
                .map(|name| Series {
                    name,
                    columns: vec!["name".into(), "query".into()],
                    ..Default::default()
                })
                .collect())
        }
        Statement::ShowRetentionPolicies { db } => {
            let db = ctx.database(db.as_deref())?;
            let _ = db;
            let days = e.config().retention_days as i64;
            let dur = days * 86_400_000_000_000;
            let shard = pulsardb_core::db::window_for_retention(
                e.config().retention_days as i64 * pulsardb_core::db::DAY_NS,
            );
            Ok(vec![Series {
                columns: [
                    "name",
                    "duration",
                    "shardGroupDuration",
                    "replicaN",
                    "default",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
                values: vec![vec![
                    Cell::Str("autogen".into()),
                    Cell::Str(go_duration(dur)),
                    Cell::Str(go_duration(shard)),
                    Cell::Int(1),
                    Cell::Bool(true),
                ]],
                ..Default::default()
            }])
        }
        Statement::CreateDatabase { name } => {
            if name.is_empty() {
                return Err("database name required".into());
            }
            e.create_database(name).map_err(|err| err.to_string())?;
            Ok(Vec::new())
        }
        Statement::DropDatabase { name } => {
            // As in InfluxDB, dropping a database that does not exist is fine.
            if e.has_database(name) {
                e.drop_database(name).map_err(|err| err.to_string())?;
            }
            Ok(Vec::new())
        }
        Statement::DropMeasurement { name } => {
            let db = ctx.database(None)?;
            if !e.with_db(|d| d.measurements(&db).contains(&name.as_str())) {
                return Err("measurement not found".into());
            }
            e.delete(&db, name, &TagExpr::True, i64::MIN, i64::MAX, true)
                .map_err(|err| err.to_string())?;
            Ok(Vec::new())
        }
        Statement::DropSeries { sources, condition } => {
            delete(ctx, sources, condition.as_ref(), true)?;
            Ok(Vec::new())
        }
        Statement::Delete { sources, condition } => {
            delete(ctx, sources, condition.as_ref(), false)?;
            Ok(Vec::new())
        }
    }
}

/// DROP SERIES (`drop`) and DELETE: the series the tag conditions select in
/// each measurement of FROM (all when absent); DELETE within the time bounds.
/// A DELETE without time bounds removes the series too, as InfluxDB does once
/// a series has no points left.
fn delete(
    ctx: &Ctx<'_>,
    sources: &[Source],
    condition: Option<&Expr>,
    drop: bool,
) -> Result<(), String> {
    let what = if drop { "DROP SERIES" } else { "DELETE" };
    if sources.is_empty() && condition.is_none() {
        return Err(format!(
            "{what} needs FROM or WHERE (use DROP DATABASE to remove everything)"
        ));
    }
    let db = ctx.database(None)?;
    let e = ctx.engine;
    for m in ctx.measurements(&db, sources)? {
        let fields: Vec<String> = e.with_db(|d| {
            d.field_keys(&db, &m)
                .into_iter()
                .map(|(f, _)| f.to_string())
                .collect()
        });
        let split = cond::split(condition, ctx.now, None, &|name, kind| match kind {
            Some(k) => k == super::ast::VarKind::Tag,
            None => !fields.iter().any(|f| f == name),
        })?;
        if !split.rows.is_empty() {
            return Err(format!(
                "{what}: fields are not supported in WHERE (only tags and time)"
            ));
        }
        let range = split.time;
        if drop && (range.start != i64::MIN || range.end != i64::MAX) {
            return Err("DROP SERIES doesn't support time in WHERE clause".into());
        }
        if range.start > range.end {
            continue;
        }
        let tags = cond::tag_expr(&split.tags, &|key| {
            e.with_db(|d| {
                d.tag_values(&db, &m, key, &TagExpr::True)
                    .into_iter()
                    .map(str::to_string)
                    .collect()
            })
        })?;
        let whole = range.start == i64::MIN && range.end == i64::MAX;
        e.delete(&db, &m, &tags, range.start, range.end, drop || whole)
            .map_err(|err| err.to_string())?;
    }
    Ok(())
}
