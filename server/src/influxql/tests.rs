//! Parser tests: every statement and clause with the exact tree expected,
//! the requests Grafana and the client libraries send, error messages and
//! positions, the nesting bounds, and a no-panic run over random and
//! mutated queries.

use super::ast::{
    BinOp, Cardinality, Dimension, Expr, Field, Fill, IntoTarget, NameMatch, Select, Source,
    Statement, VarKind,
};
use super::parser::{MAX_EXPR_DEPTH, MAX_NESTING, MAX_SUBQUERIES, ParseError, parse};

// ---------------------------------------------------------------- helpers

fn one(q: &str) -> Statement {
    let mut all = parse(q).unwrap_or_else(|e| panic!("{q:?}: {e}"));
    assert_eq!(all.len(), 1, "{q:?}");
    all.remove(0)
}

fn select(q: &str) -> Select {
    match one(q) {
        Statement::Select(s) => *s,
        other => panic!("{q:?} is {other:?}"),
    }
}

/// The WHERE of `SELECT v FROM m WHERE <cond>`.
fn cond(c: &str) -> Expr {
    select(&format!("SELECT v FROM m WHERE {c}"))
        .condition
        .unwrap()
}

/// The single projection of `SELECT <f> FROM m`.
fn proj(f: &str) -> Field {
    let mut s = select(&format!("SELECT {f} FROM m"));
    assert_eq!(s.fields.len(), 1);
    s.fields.remove(0)
}

fn err(q: &str) -> ParseError {
    match parse(q) {
        Ok(v) => panic!("{q:?} parsed: {v:?}"),
        Err(e) => e,
    }
}

/// The error's message, line and column.
fn err_at(q: &str) -> (String, usize, usize) {
    let e = err(q);
    (e.message, e.line, e.column)
}

fn var(name: &str) -> Expr {
    Expr::Var {
        name: name.into(),
        kind: None,
    }
}

fn typed(name: &str, kind: VarKind) -> Expr {
    Expr::Var {
        name: name.into(),
        kind: Some(kind),
    }
}

fn int(v: i64) -> Expr {
    Expr::Integer(v)
}

fn num(v: f64) -> Expr {
    Expr::Number(v)
}

fn string(s: &str) -> Expr {
    Expr::String(s.into())
}

fn dur(ns: i64) -> Expr {
    Expr::Duration(ns)
}

fn re(p: &str) -> Expr {
    Expr::Regex(p.into())
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Call {
        name: name.into(),
        args,
    }
}

fn now() -> Expr {
    call("now", vec![])
}

fn bin(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

fn paren(e: Expr) -> Expr {
    Expr::Paren(Box::new(e))
}

fn field(expr: Expr) -> Field {
    Field { expr, alias: None }
}

fn aliased(expr: Expr, alias: &str) -> Field {
    Field {
        expr,
        alias: Some(alias.into()),
    }
}

fn m(name: &str) -> Source {
    Source::Measurement {
        db: None,
        rp: None,
        name: name.into(),
    }
}

fn qualified(db: Option<&str>, rp: Option<&str>, name: &str) -> Source {
    Source::Measurement {
        db: db.map(Into::into),
        rp: rp.map(Into::into),
        name: name.into(),
    }
}

fn regex_source(db: Option<&str>, rp: Option<&str>, pattern: &str) -> Source {
    Source::Regex {
        db: db.map(Into::into),
        rp: rp.map(Into::into),
        pattern: pattern.into(),
    }
}

fn time_dim(interval_ns: i64, offset_ns: i64) -> Dimension {
    Dimension::Time {
        interval_ns,
        offset_ns,
    }
}

fn tag_dim(name: &str) -> Dimension {
    Dimension::Tag(name.into())
}

/// A SELECT with only fields and sources.
fn bare(fields: Vec<Field>, sources: Vec<Source>) -> Select {
    Select {
        fields,
        sources,
        condition: None,
        dimensions: vec![],
        fill: None,
        order_desc: false,
        limit: None,
        offset: None,
        slimit: None,
        soffset: None,
        tz: None,
    }
}

const S: i64 = 1_000_000_000;
const M: i64 = 60 * S;
const H: i64 = 60 * M;

use BinOp::{Add, And, Div, Eq, EqRegex, Gt, Gte, Lt, Lte, Mod, Mul, Ne, NeRegex, Or, Sub};

// ------------------------------------------------- real client requests

#[test]
fn grafana_requests() {
    assert_eq!(
        one(r#"SHOW RETENTION POLICIES on "db""#),
        Statement::ShowRetentionPolicies {
            db: Some("db".into())
        }
    );
    assert_eq!(
        one("SHOW measurements"),
        Statement::ShowMeasurements {
            db: None,
            with: None,
            condition: None,
            limit: None,
            offset: None
        }
    );
    assert_eq!(
        one("SHOW MEASUREMENTS WITH MEASUREMENT =~ /cpu/ LIMIT 100"),
        Statement::ShowMeasurements {
            db: None,
            with: Some(NameMatch::Regex("cpu".into())),
            condition: None,
            limit: Some(100),
            offset: None
        }
    );
    assert_eq!(
        one(r#"SHOW TAG KEYS FROM "cpu""#),
        Statement::ShowTagKeys {
            db: None,
            sources: vec![m("cpu")],
            condition: None,
            limit: None,
            offset: None
        }
    );
    assert_eq!(
        one(r#"SHOW TAG VALUES FROM "cpu" WITH KEY = "host" WHERE "dc" =~ /^eu/"#),
        Statement::ShowTagValues {
            db: None,
            sources: vec![m("cpu")],
            key: NameMatch::Eq("host".into()),
            condition: Some(bin(EqRegex, var("dc"), re("^eu"))),
            limit: None,
            offset: None
        }
    );
    assert_eq!(
        select(
            r#"SELECT mean("value") FROM "cpu" WHERE ("host" = 'a' OR "host" = 'b') AND time >= 1596240000000ms and time <= 1596240300000ms GROUP BY time(5s), "dc" fill(null)"#
        ),
        Select {
            condition: Some(bin(
                And,
                bin(
                    And,
                    paren(bin(
                        Or,
                        bin(Eq, var("host"), string("a")),
                        bin(Eq, var("host"), string("b")),
                    )),
                    bin(Gte, var("time"), dur(1_596_240_000_000_000_000)),
                ),
                bin(Lte, var("time"), dur(1_596_240_300_000_000_000)),
            )),
            dimensions: vec![time_dim(5 * S, 0), tag_dim("dc")],
            fill: Some(Fill::Null),
            ..bare(
                vec![field(call("mean", vec![var("value")]))],
                vec![m("cpu")]
            )
        }
    );
    assert_eq!(
        select(
            r#"SELECT non_negative_derivative(mean("bytes_recv"), 1s) *8 FROM "net" WHERE time >= now() - 6h GROUP BY time(30s) fill(none)"#
        ),
        Select {
            condition: Some(bin(Gte, var("time"), bin(Sub, now(), dur(6 * H)))),
            dimensions: vec![time_dim(30 * S, 0)],
            fill: Some(Fill::None),
            ..bare(
                vec![field(bin(
                    Mul,
                    call(
                        "non_negative_derivative",
                        vec![call("mean", vec![var("bytes_recv")]), dur(S)]
                    ),
                    int(8),
                ))],
                vec![m("net")]
            )
        }
    );
    assert_eq!(
        select(r#"SELECT last("value") FROM "autogen"."cpu" WHERE time > now() - 1h"#),
        Select {
            condition: Some(bin(Gt, var("time"), bin(Sub, now(), dur(H)))),
            ..bare(
                vec![field(call("last", vec![var("value")]))],
                vec![qualified(None, Some("autogen"), "cpu")]
            )
        }
    );
    // Grafana's table/raw mode and its variable queries.
    assert_eq!(
        select(
            r#"SELECT "usage_idle" FROM "telegraf"."autogen"."cpu" WHERE ("cpu" =~ /^(cpu0|cpu1)$/) AND time >= now() - 5m ORDER BY time DESC LIMIT 10 SLIMIT 5 tz('Europe/Paris')"#
        ),
        Select {
            condition: Some(bin(
                And,
                paren(bin(EqRegex, var("cpu"), re("^(cpu0|cpu1)$"))),
                bin(Gte, var("time"), bin(Sub, now(), dur(5 * M))),
            )),
            order_desc: true,
            limit: Some(10),
            slimit: Some(5),
            tz: Some("Europe/Paris".into()),
            ..bare(
                vec![field(var("usage_idle"))],
                vec![qualified(Some("telegraf"), Some("autogen"), "cpu")]
            )
        }
    );
    assert_eq!(
        one(r#"SHOW FIELD KEYS FROM "cpu""#),
        Statement::ShowFieldKeys {
            db: None,
            sources: vec![m("cpu")],
            limit: None,
            offset: None
        }
    );
}

#[test]
fn client_library_requests() {
    assert_eq!(
        one(r#"CREATE DATABASE "testdb""#),
        Statement::CreateDatabase {
            name: "testdb".into()
        }
    );
    assert_eq!(one("SHOW DATABASES"), Statement::ShowDatabases);
    assert_eq!(
        one("SHOW MEASUREMENTS"),
        Statement::ShowMeasurements {
            db: None,
            with: None,
            condition: None,
            limit: None,
            offset: None
        }
    );
    assert_eq!(
        one(r#"DROP DATABASE "x""#),
        Statement::DropDatabase { name: "x".into() }
    );
    // Telegraf's output plugin creates its database on start.
    assert_eq!(
        one(r#"CREATE DATABASE "telegraf""#),
        Statement::CreateDatabase {
            name: "telegraf".into()
        }
    );
    // influxdb-python's get_list_retention_policies and drop_measurement.
    assert_eq!(
        one(r#"SHOW RETENTION POLICIES ON "testdb""#),
        Statement::ShowRetentionPolicies {
            db: Some("testdb".into())
        }
    );
    assert_eq!(
        one(r#"DROP MEASUREMENT "cpu load""#),
        Statement::DropMeasurement {
            name: "cpu load".into()
        }
    );
}

// ------------------------------------------------------------- SELECT

#[test]
fn select_with_every_clause() {
    assert_eq!(
        select(
            "SELECT mean(value) AS m, max(value) FROM cpu WHERE host = 'a' \
             GROUP BY time(5m, -1m), host, * fill(previous) ORDER BY time DESC \
             LIMIT 10 OFFSET 2 SLIMIT 3 SOFFSET 4 tz('America/New_York')"
        ),
        Select {
            fields: vec![
                aliased(call("mean", vec![var("value")]), "m"),
                field(call("max", vec![var("value")])),
            ],
            sources: vec![m("cpu")],
            condition: Some(bin(Eq, var("host"), string("a"))),
            dimensions: vec![time_dim(5 * M, -M), tag_dim("host"), Dimension::Wildcard],
            fill: Some(Fill::Previous),
            order_desc: true,
            limit: Some(10),
            offset: Some(2),
            slimit: Some(3),
            soffset: Some(4),
            tz: Some("America/New_York".into()),
        }
    );
    assert_eq!(
        select("SELECT * FROM cpu"),
        bare(vec![field(Expr::Wildcard(None))], vec![m("cpu")])
    );
    // Every clause is optional and each may appear alone.
    assert_eq!(select("SELECT v FROM m OFFSET 5").offset, Some(5));
    assert_eq!(select("SELECT v FROM m SOFFSET 5").soffset, Some(5));
    assert_eq!(select("SELECT v FROM m tz('UTC')").tz, Some("UTC".into()));
    assert_eq!(
        select("SELECT v FROM m LIMIT 18446744073709551615").limit,
        Some(u64::MAX)
    );
}

#[test]
fn fill_options() {
    for (q, fill) in [
        ("fill(null)", Fill::Null),
        ("fill(none)", Fill::None),
        ("fill(previous)", Fill::Previous),
        ("fill(linear)", Fill::Linear),
        ("FILL(NULL)", Fill::Null),
        ("fill(0)", Fill::Number(0.0)),
        ("fill(-1)", Fill::Number(-1.0)),
        ("fill(1.5)", Fill::Number(1.5)),
        ("fill(-2.5)", Fill::Number(-2.5)),
        ("fill(+3)", Fill::Number(3.0)),
    ] {
        let s = select(&format!("SELECT mean(v) FROM m GROUP BY time(1m) {q}"));
        assert_eq!(s.fill, Some(fill), "{q}");
    }
    // InfluxDB also reads fill() without GROUP BY (and ignores it).
    assert_eq!(select("SELECT v FROM m fill(none)").fill, Some(Fill::None));
    assert_eq!(select("SELECT v FROM m GROUP BY host").fill, None);
    // `fill` is not reserved: a tag may be called that.
    assert_eq!(
        select("SELECT v FROM m GROUP BY fill").dimensions,
        vec![tag_dim("fill")]
    );
    // A cast on a GROUP BY tag (Grafana's editor writes `"host"::tag`) is
    // read and ignored, as InfluxDB does; an unknown one is an error.
    assert_eq!(
        select(r#"SELECT mean(v) FROM m GROUP BY time(1m), "host"::tag, dc::field, x::Float fill(null)"#)
            .dimensions,
        vec![time_dim(M, 0), tag_dim("host"), tag_dim("dc"), tag_dim("x")]
    );
    assert_eq!(
        err_at("SELECT v FROM m GROUP BY host::foo"),
        (
            "found foo, expected float, integer, unsigned, string, boolean, field, tag".into(),
            1,
            32
        )
    );
    assert_eq!(
        err_at("SELECT v FROM m GROUP BY time(1m) fill(zero)"),
        (
            "found zero, expected null, none, previous, linear, number".into(),
            1,
            40
        )
    );
    assert_eq!(
        err_at("SELECT v FROM m GROUP BY time(1m) fill()").0,
        "found ), expected null, none, previous, linear, number"
    );
    assert_eq!(
        err_at("SELECT v FROM m GROUP BY time(1m) fill(-x)").0,
        "found x, expected number"
    );
    assert_eq!(
        err_at("SELECT v FROM m GROUP BY time(1m) fill(0, 1)").0,
        "found ,, expected )"
    );
}

#[test]
fn order_by() {
    for (q, desc) in [
        ("ORDER BY time", false),
        ("ORDER BY time ASC", false),
        ("ORDER BY time DESC", true),
        ("order by TIME desc", true),
        ("ORDER BY DESC", true),
        ("ORDER BY ASC", false),
    ] {
        assert_eq!(
            select(&format!("SELECT v FROM m {q}")).order_desc,
            desc,
            "{q}"
        );
    }
    assert_eq!(
        err_at("SELECT v FROM m ORDER BY host"),
        ("only ORDER BY time is supported".into(), 1, 26)
    );
    assert_eq!(
        err_at("SELECT v FROM m ORDER BY time, host"),
        ("only ORDER BY time is supported".into(), 1, 30)
    );
    assert_eq!(
        err_at("SELECT v FROM m ORDER time").0,
        "found time, expected BY"
    );
}

#[test]
fn sources() {
    for (q, source) in [
        ("m", m("m")),
        (r#""m""#, m("m")),
        (r#""my.measure ment""#, m("my.measure ment")),
        ("rp.m", qualified(None, Some("rp"), "m")),
        ("db.rp.m", qualified(Some("db"), Some("rp"), "m")),
        ("db..m", qualified(Some("db"), None, "m")),
        (r#""db"."rp"."m""#, qualified(Some("db"), Some("rp"), "m")),
        (r#""db".."m""#, qualified(Some("db"), None, "m")),
        ("/cpu.*/", regex_source(None, None, "cpu.*")),
        ("/a\\/b/", regex_source(None, None, "a/b")),
        ("rp./re/", regex_source(None, Some("rp"), "re")),
        ("db.rp./re/", regex_source(Some("db"), Some("rp"), "re")),
        ("db../re/", regex_source(Some("db"), None, "re")),
    ] {
        assert_eq!(
            select(&format!("SELECT v FROM {q}")).sources,
            vec![source],
            "{q}"
        );
    }
    assert_eq!(
        select("SELECT v FROM cpu, \"mem\", /^disk/, db.rp.net").sources,
        vec![
            m("cpu"),
            m("mem"),
            regex_source(None, None, "^disk"),
            qualified(Some("db"), Some("rp"), "net")
        ]
    );
    assert_eq!(
        err_at("SELECT v FROM a.b.c.d"),
        (
            "too many segments in measurement name (at most db.rp.measurement)".into(),
            1,
            20
        )
    );
    assert_eq!(
        err_at("SELECT v FROM a.b.c./re/").0,
        "too many segments in measurement name (at most db.rp.measurement)"
    );
    // Subqueries: one level parses into the AST; too deep is an error.
    let nested = |n: usize| {
        let mut q = "SELECT v FROM m".to_string();
        for _ in 0..n {
            q = format!("SELECT mean(v) AS v FROM ({q}) GROUP BY time(1m)");
        }
        q
    };
    assert!(parse(&nested(MAX_SUBQUERIES)).is_ok());
    assert_eq!(
        err_at(&nested(MAX_SUBQUERIES + 1)).0,
        format!("subqueries nested more than {MAX_SUBQUERIES} deep")
    );
    // INTO: the target, with `:MEASUREMENT`; not inside a subquery.
    let into = |q: &str| match parse(q).map(|mut v| v.pop()) {
        Ok(Some(Statement::SelectInto(_, t))) => Some(t),
        _ => None,
    };
    assert_eq!(
        into("SELECT mean(v) INTO db..:MEASUREMENT FROM m GROUP BY time(1m), *"),
        Some(IntoTarget {
            db: Some("db".into()),
            measurement: None
        })
    );
    assert_eq!(
        into("SELECT v INTO \"rp\".\"m 2\" FROM m"),
        Some(IntoTarget {
            db: None,
            measurement: Some("m 2".into())
        })
    );
    assert_eq!(
        into("SELECT v INTO a.b.c FROM m"),
        Some(IntoTarget {
            db: Some("a".into()),
            measurement: Some("c".into())
        })
    );
    assert_eq!(
        err_at("SELECT v INTO :MEASUREMENT FROM m").0,
        "found :, expected identifier"
    );
    assert_eq!(
        err_at("SELECT v INTO a.b.c.d FROM m").0,
        "too many segments in INTO (at most db.rp.measurement)"
    );
    assert_eq!(
        err_at("SELECT v FROM (SELECT v INTO x FROM m)").0,
        "INTO is not allowed in a subquery"
    );
    assert_eq!(
        err_at("SELECT v FROM (SELECT v FROM m").0,
        "found EOF, expected )"
    );
    assert_eq!(
        err_at("SELECT v FROM (SHOW DATABASES)").0,
        "found SHOW, expected SELECT"
    );
    assert_eq!(
        err_at("SELECT v FROM db.").0,
        "found EOF, expected identifier, regex"
    );
    assert_eq!(
        err_at("SELECT v FROM 'cpu'").0,
        "found 'cpu', expected identifier, regex"
    );
}

#[test]
fn dimensions() {
    for (q, dims) in [
        ("time(5m)", vec![time_dim(5 * M, 0)]),
        ("time(5m, 1m)", vec![time_dim(5 * M, M)]),
        ("time(5m,-1m)", vec![time_dim(5 * M, -M)]),
        ("time(1h30m)", vec![time_dim(90 * M, 0)]),
        ("TIME(10s)", vec![time_dim(10 * S, 0)]),
        ("host", vec![tag_dim("host")]),
        (r#""data center""#, vec![tag_dim("data center")]),
        ("*", vec![Dimension::Wildcard]),
        ("/^h/", vec![Dimension::Regex("^h".into())]),
        (
            r#"time(1m), "host", /dc/, *"#,
            vec![
                time_dim(M, 0),
                tag_dim("host"),
                Dimension::Regex("dc".into()),
                Dimension::Wildcard,
            ],
        ),
    ] {
        assert_eq!(
            select(&format!("SELECT count(v) FROM m GROUP BY {q}")).dimensions,
            dims,
            "{q}"
        );
    }
    for (q, message) in [
        ("time", "GROUP BY time needs an interval, e.g. time(5m)"),
        ("time(0s)", "GROUP BY time interval must be positive"),
        ("time(-5m)", "GROUP BY time interval must be positive"),
        ("time(5)", "found 5, expected duration"),
        ("time(5m, now())", "found now, expected duration"),
        ("time(5m", "found EOF, expected )"),
        ("5", "found 5, expected time(...), tag key, *, regex"),
    ] {
        assert_eq!(
            err(&format!("SELECT v FROM m GROUP BY {q}")).message,
            message,
            "{q}"
        );
    }
    assert_eq!(
        err_at("SELECT v FROM m GROUP host").0,
        "found host, expected BY"
    );
}

#[test]
fn projections() {
    for (q, expected) in [
        (r#"mean("value")"#, field(call("mean", vec![var("value")]))),
        ("MEAN(value)", field(call("mean", vec![var("value")]))),
        (
            "percentile(value, 95)",
            field(call("percentile", vec![var("value"), int(95)])),
        ),
        (
            "derivative(mean(value), 1s)",
            field(call(
                "derivative",
                vec![call("mean", vec![var("value")]), dur(S)],
            )),
        ),
        (
            "non_negative_derivative(max(x))",
            field(call(
                "non_negative_derivative",
                vec![call("max", vec![var("x")])],
            )),
        ),
        ("count(*)", field(call("count", vec![Expr::Wildcard(None)]))),
        ("count(/^u/)", field(call("count", vec![re("^u")]))),
        ("*", field(Expr::Wildcard(None))),
        ("*::field", field(Expr::Wildcard(Some(VarKind::Field)))),
        ("*::TAG", field(Expr::Wildcard(Some(VarKind::Tag)))),
        (r#""x"::field"#, field(typed("x", VarKind::Field))),
        ("host::tag", field(typed("host", VarKind::Tag))),
        ("host::TAG", field(typed("host", VarKind::Tag))),
        (r#""x"::float"#, field(typed("x", VarKind::Float))),
        ("x::INTEGER", field(typed("x", VarKind::Integer))),
        ("x::unsigned", field(typed("x", VarKind::Unsigned))),
        ("x::string", field(typed("x", VarKind::String))),
        ("x::boolean", field(typed("x", VarKind::Boolean))),
        (
            "value * 2 + 1",
            field(bin(Add, bin(Mul, var("value"), int(2)), int(1))),
        ),
        ("value AS v", aliased(var("value"), "v")),
        (
            r#"max(v) as "the max""#,
            aliased(call("max", vec![var("v")]), "the max"),
        ),
        ("/^usage/", field(re("^usage"))),
        ("DISTINCT host", field(call("distinct", vec![var("host")]))),
        ("distinct(host)", field(call("distinct", vec![var("host")]))),
        (
            "count(distinct(host))",
            field(call("count", vec![call("distinct", vec![var("host")])])),
        ),
        (
            "count(DISTINCT host)",
            field(call("count", vec![call("distinct", vec![var("host")])])),
        ),
        (
            "top(value, host, 3)",
            field(call("top", vec![var("value"), var("host"), int(3)])),
        ),
        ("cpu.usage", field(var("cpu.usage"))),
        ("now()", field(now())),
        ("-value", field(bin(Mul, int(-1), var("value")))),
        ("'literal'", field(string("literal"))),
        ("time", field(var("time"))),
    ] {
        assert_eq!(proj(q), expected, "{q}");
    }
    assert_eq!(
        select("SELECT a, b AS c, *, /d/ FROM m").fields,
        vec![
            field(var("a")),
            aliased(var("b"), "c"),
            field(Expr::Wildcard(None)),
            field(re("d"))
        ]
    );
}

#[test]
fn precedence_and_associativity() {
    let (a, b, c, d) = (var("a"), var("b"), var("c"), var("d"));
    for (q, expected) in [
        (
            "a OR b AND c",
            bin(Or, a.clone(), bin(And, b.clone(), c.clone())),
        ),
        (
            "a AND b OR c",
            bin(Or, bin(And, a.clone(), b.clone()), c.clone()),
        ),
        (
            "a OR b OR c",
            bin(Or, bin(Or, a.clone(), b.clone()), c.clone()),
        ),
        (
            "a AND b AND c",
            bin(And, bin(And, a.clone(), b.clone()), c.clone()),
        ),
        (
            "a = 1 + 2 * 3",
            bin(Eq, a.clone(), bin(Add, int(1), bin(Mul, int(2), int(3)))),
        ),
        (
            "a - b - c",
            bin(Sub, bin(Sub, a.clone(), b.clone()), c.clone()),
        ),
        (
            "a / b / c",
            bin(Div, bin(Div, a.clone(), b.clone()), c.clone()),
        ),
        (
            "a % b * c",
            bin(Mul, bin(Mod, a.clone(), b.clone()), c.clone()),
        ),
        (
            "a - b + c",
            bin(Add, bin(Sub, a.clone(), b.clone()), c.clone()),
        ),
        (
            "(a + b) * c",
            bin(Mul, paren(bin(Add, a.clone(), b.clone())), c.clone()),
        ),
        (
            "a + b * c",
            bin(Add, a.clone(), bin(Mul, b.clone(), c.clone())),
        ),
        (
            "a * b + c",
            bin(Add, bin(Mul, a.clone(), b.clone()), c.clone()),
        ),
        (
            "a < b = c",
            bin(Eq, bin(Lt, a.clone(), b.clone()), c.clone()),
        ),
        (
            "a + 1 > b * 2",
            bin(Gt, bin(Add, a.clone(), int(1)), bin(Mul, b.clone(), int(2))),
        ),
        (
            "a = 1 AND b != 2 OR c <> 3 AND d",
            bin(
                Or,
                bin(And, bin(Eq, a.clone(), int(1)), bin(Ne, b.clone(), int(2))),
                bin(And, bin(Ne, c.clone(), int(3)), d.clone()),
            ),
        ),
        (
            "a =~ /x/ AND b !~ /y/",
            bin(
                And,
                bin(EqRegex, a.clone(), re("x")),
                bin(NeRegex, b.clone(), re("y")),
            ),
        ),
        (
            "a OR (b OR (c))",
            bin(Or, a.clone(), paren(bin(Or, b.clone(), paren(c.clone())))),
        ),
        ("((a))", paren(paren(a.clone()))),
        (
            "a >= 1 AND a <= 2",
            bin(
                And,
                bin(Gte, a.clone(), int(1)),
                bin(Lte, a.clone(), int(2)),
            ),
        ),
        ("a * -2", bin(Mul, a.clone(), int(-2))),
        ("a - -2", bin(Sub, a.clone(), int(-2))),
        (
            "-(a + b)",
            bin(Mul, int(-1), paren(bin(Add, a.clone(), b.clone()))),
        ),
    ] {
        assert_eq!(cond(q), expected, "{q}");
    }
}

#[test]
fn literals_in_conditions() {
    for (q, rhs) in [
        ("'a b'", string("a b")),
        ("42", int(42)),
        ("-42", int(-42)),
        ("+42", int(42)),
        ("1.5", num(1.5)),
        (".5", num(0.5)),
        ("-.5", num(-0.5)),
        ("1e3", num(1000.0)),
        ("-1.5e-3", num(-0.0015)),
        ("true", Expr::Bool(true)),
        ("FALSE", Expr::Bool(false)),
        ("10s", dur(10 * S)),
        ("-5m", dur(-5 * M)),
        ("now()", now()),
        ("now() - 6h", bin(Sub, now(), dur(6 * H))),
        ("now() -6h", bin(Sub, now(), dur(6 * H))),
        ("NOW() + 1d", bin(Add, now(), dur(24 * H))),
        ("'2020-08-01T00:00:00Z'", string("2020-08-01T00:00:00Z")),
        ("9223372036854775807", int(i64::MAX)),
        ("-9223372036854775808", int(i64::MIN)),
        ("other", var("other")),
        (r#""other""#, var("other")),
        ("other::field", typed("other", VarKind::Field)),
    ] {
        assert_eq!(cond(&format!("x = {q}")), bin(Eq, var("x"), rhs), "{q}");
    }
    assert_eq!(
        cond("time >= '2020-08-01T00:00:00Z'"),
        bin(Gte, var("time"), string("2020-08-01T00:00:00Z"))
    );
    assert_eq!(
        err_at("SELECT v FROM m WHERE x = 9223372036854775808"),
        (
            "integer 9223372036854775808 is out of range (max 9223372036854775807)".into(),
            1,
            27
        )
    );
    assert_eq!(
        err_at("SELECT v FROM m WHERE x = -9223372036854775809"),
        ("integer -9223372036854775809 is out of range".into(), 1, 27)
    );
    assert_eq!(
        err_at("SELECT v FROM m WHERE x = - 'a'").0,
        "found 'a', expected identifier, number, duration, ("
    );
}

#[test]
fn durations_are_ns() {
    for (lit, ns) in [
        ("1596240000000ms", 1_596_240_000_000_000_000),
        ("10ns", 10),
        ("10u", 10_000),
        ("10µ", 10_000),
        ("1ms", 1_000_000),
        ("10s", 10 * S),
        ("5m", 5 * M),
        ("1h", H),
        ("1d", 24 * H),
        ("1w", 7 * 24 * H),
        ("9223372036854775807ns", i64::MAX),
    ] {
        assert_eq!(
            cond(&format!("time > {lit}")),
            bin(Gt, var("time"), dur(ns)),
            "{lit}"
        );
    }
    assert_eq!(
        err_at("SELECT v FROM m WHERE time > 15251w"),
        (
            "duration 15251w overflows (the limit is about 292 years)".into(),
            1,
            30
        )
    );
    assert_eq!(
        err_at("SELECT v FROM m WHERE time > 99999999999999999999s").0,
        "duration 99999999999999999999s overflows (the limit is about 292 years)"
    );
    assert_eq!(
        err_at("SELECT v FROM m WHERE time > now() - 5mins"),
        (
            "invalid duration 5mins (units: ns, u, µ, ms, s, m, h, d, w)".into(),
            1,
            38
        )
    );
}

#[test]
fn quoting_and_escapes() {
    assert_eq!(
        select(r#"SELECT "my \"field\"" FROM "my \\ db"."rp"."cpu, \"x\"""#),
        bare(
            vec![field(var("my \"field\""))],
            vec![qualified(Some("my \\ db"), Some("rp"), "cpu, \"x\"")]
        )
    );
    assert_eq!(cond(r"s = 'it\'s'"), bin(Eq, var("s"), string("it's")));
    assert_eq!(cond(r"s = 'a\nb\\c'"), bin(Eq, var("s"), string("a\nb\\c")));
    assert_eq!(
        cond(r#"s = 'say "hi"'"#),
        bin(Eq, var("s"), string("say \"hi\""))
    );
    assert_eq!(cond("s = 'héllo ✓'"), bin(Eq, var("s"), string("héllo ✓")));
    // Keywords are reserved unless quoted.
    assert_eq!(
        select(r#"SELECT "from" FROM "where" WHERE "select" = 1"#),
        Select {
            condition: Some(bin(Eq, var("select"), int(1))),
            ..bare(vec![field(var("from"))], vec![m("where")])
        }
    );
    assert_eq!(
        err_at("SELECT v FROM where"),
        ("found where, expected identifier, regex".into(), 1, 15)
    );
    // A regex keeps its escapes, except \/.
    assert_eq!(
        cond(r"h =~ /^a\.b\/c\d$/"),
        bin(EqRegex, var("h"), re(r"^a\.b/c\d$"))
    );
    assert_eq!(cond(r"h =~ /a\\/"), bin(EqRegex, var("h"), re(r"a\\")));
    assert_eq!(
        cond(r"h =~ /it's -- not \/* a comment/"),
        bin(EqRegex, var("h"), re("it's -- not /* a comment"))
    );
    // An unescaped slash ends the regex, whatever follows.
    assert_eq!(
        err_at("SELECT v FROM m WHERE h =~ /a/* b/").0,
        "found EOF, expected identifier, string, number, bool"
    );
    assert_eq!(
        cond("h =~ /a/ + 1 AND b"),
        bin(
            And,
            bin(EqRegex, var("h"), bin(Add, re("a"), int(1))),
            var("b")
        )
    );
}

#[test]
fn multiple_statements_and_comments() {
    assert_eq!(
        parse("SHOW DATABASES; SHOW MEASUREMENTS ON db").unwrap(),
        vec![
            Statement::ShowDatabases,
            Statement::ShowMeasurements {
                db: Some("db".into()),
                with: None,
                condition: None,
                limit: None,
                offset: None
            }
        ]
    );
    assert_eq!(
        parse(";; SHOW DATABASES ;;; SHOW DATABASES;").unwrap(),
        vec![Statement::ShowDatabases, Statement::ShowDatabases]
    );
    assert_eq!(parse("").unwrap(), vec![]);
    assert_eq!(parse("  ;\n; ").unwrap(), vec![]);
    assert_eq!(parse("-- only a comment").unwrap(), vec![]);
    assert_eq!(parse("/* only */ -- comments").unwrap(), vec![]);
    assert_eq!(
        select("SELECT /* the field */ v -- trailing\nFROM m -- done"),
        bare(vec![field(var("v"))], vec![m("m")])
    );
    assert_eq!(
        select("SELECT v\r\nFROM m\r\nWHERE a = 1"),
        Select {
            condition: Some(bin(Eq, var("a"), int(1))),
            ..bare(vec![field(var("v"))], vec![m("m")])
        }
    );
    assert_eq!(
        err_at("SHOW DATABASES SHOW MEASUREMENTS"),
        ("found SHOW, expected ;".into(), 1, 16)
    );
    assert_eq!(
        err_at("SHOW DATABASES; SELECT"),
        (
            "found EOF, expected identifier, string, number, bool".into(),
            1,
            23
        )
    );
    assert_eq!(
        err_at("SELECT v FROM m /* unclosed"),
        ("unterminated comment: /* without */".into(), 1, 17)
    );
}

#[test]
fn case_insensitive_keywords() {
    assert_eq!(
        select(
            "select MEAN(v) from m where a = 1 group by TIME(5m) FILL(NONE) order by TIME desc limit 1 TZ('UTC')"
        ),
        Select {
            condition: Some(bin(Eq, var("a"), int(1))),
            dimensions: vec![time_dim(5 * M, 0)],
            fill: Some(Fill::None),
            order_desc: true,
            limit: Some(1),
            tz: Some("UTC".into()),
            ..bare(vec![field(call("mean", vec![var("v")]))], vec![m("m")])
        }
    );
    assert_eq!(one("sHoW dAtAbAsEs"), Statement::ShowDatabases);
    // Identifiers keep their case.
    assert_eq!(proj("Value"), field(var("Value")));
}

// --------------------------------------------------------------- SHOW

#[test]
fn show_measurements() {
    assert_eq!(
        one("SHOW MEASUREMENTS ON db WITH MEASUREMENT = cpu WHERE host = 'a' LIMIT 5 OFFSET 10"),
        Statement::ShowMeasurements {
            db: Some("db".into()),
            with: Some(NameMatch::Eq("cpu".into())),
            condition: Some(bin(Eq, var("host"), string("a"))),
            limit: Some(5),
            offset: Some(10)
        }
    );
    for (q, with) in [
        ("= cpu", NameMatch::Eq("cpu".into())),
        (r#"= "cpu load""#, NameMatch::Eq("cpu load".into())),
        ("!= cpu", NameMatch::Ne("cpu".into())),
        ("<> cpu", NameMatch::Ne("cpu".into())),
        ("=~ /^c/", NameMatch::Regex("^c".into())),
        ("!~ /^c/", NameMatch::NotRegex("^c".into())),
        ("= /^c/", NameMatch::Regex("^c".into())),
    ] {
        let Statement::ShowMeasurements { with: got, .. } =
            one(&format!("SHOW MEASUREMENTS WITH MEASUREMENT {q}"))
        else {
            panic!("{q}")
        };
        assert_eq!(got, Some(with), "{q}");
    }
    assert_eq!(
        err_at("SHOW MEASUREMENTS WITH MEASUREMENT =~ cpu"),
        ("found cpu, expected regex".into(), 1, 39)
    );
    assert_eq!(
        err_at("SHOW MEASUREMENTS WITH MEASUREMENT IN (a)").0,
        "found IN, expected =, !=, =~, !~"
    );
    assert_eq!(
        err_at("SHOW MEASUREMENTS WITH cpu").0,
        "found cpu, expected MEASUREMENT"
    );
    assert_eq!(
        err_at("SHOW MEASUREMENTS LIMIT 1 WHERE a = 1"),
        ("found WHERE, expected OFFSET, ;".into(), 1, 27)
    );
    assert_eq!(
        err_at("SHOW MEASUREMENTS foo").0,
        "found foo, expected ON, WITH MEASUREMENT, WHERE, LIMIT, OFFSET, ;"
    );
}

#[test]
fn show_tag_keys() {
    assert_eq!(
        one("SHOW TAG KEYS ON db FROM cpu, /^m/ WHERE host = 'a' LIMIT 1 OFFSET 2"),
        Statement::ShowTagKeys {
            db: Some("db".into()),
            sources: vec![m("cpu"), regex_source(None, None, "^m")],
            condition: Some(bin(Eq, var("host"), string("a"))),
            limit: Some(1),
            offset: Some(2)
        }
    );
    assert_eq!(
        one("SHOW TAG KEYS"),
        Statement::ShowTagKeys {
            db: None,
            sources: vec![],
            condition: None,
            limit: None,
            offset: None
        }
    );
    assert_eq!(
        err_at("SHOW TAG KEYS FROM cpu ON db").0,
        "found ON, expected WHERE, LIMIT, OFFSET, ;"
    );
}

#[test]
fn show_tag_values() {
    for (q, key) in [
        (r#"= "host""#, NameMatch::Eq("host".into())),
        ("= host", NameMatch::Eq("host".into())),
        (r#"!= "host""#, NameMatch::Ne("host".into())),
        (
            r#"IN ("a", "b")"#,
            NameMatch::In(vec!["a".into(), "b".into()]),
        ),
        ("in (a)", NameMatch::In(vec!["a".into()])),
        ("=~ /^h/", NameMatch::Regex("^h".into())),
        ("!~ /^h/", NameMatch::NotRegex("^h".into())),
    ] {
        assert_eq!(
            one(&format!("SHOW TAG VALUES WITH KEY {q}")),
            Statement::ShowTagValues {
                db: None,
                sources: vec![],
                key,
                condition: None,
                limit: None,
                offset: None
            },
            "{q}"
        );
    }
    assert_eq!(
        one(
            r#"SHOW TAG VALUES ON "db" FROM "cpu" WITH KEY = "host" WHERE "dc" = 'eu' LIMIT 3 OFFSET 4"#
        ),
        Statement::ShowTagValues {
            db: Some("db".into()),
            sources: vec![m("cpu")],
            key: NameMatch::Eq("host".into()),
            condition: Some(bin(Eq, var("dc"), string("eu"))),
            limit: Some(3),
            offset: Some(4)
        }
    );
    assert_eq!(
        err_at("SHOW TAG VALUES FROM cpu WHERE dc = 'eu'"),
        ("found WHERE, expected WITH KEY".into(), 1, 26)
    );
    assert_eq!(
        err_at("SHOW TAG VALUES").0,
        "found EOF, expected ON, FROM, WITH KEY"
    );
    assert_eq!(
        err_at("SHOW TAG VALUES WITH KEY = 'host'"),
        ("found 'host', expected identifier".into(), 1, 28)
    );
    assert_eq!(
        err_at("SHOW TAG VALUES WITH KEY IN (a b)").0,
        "found b, expected )"
    );
    assert_eq!(
        err_at("SHOW TAG VALUES WITH KEY IN ()").0,
        "found ), expected identifier"
    );
    assert_eq!(
        err_at("SHOW TAG VALUES WITH KEY > a").0,
        "found >, expected =, !=, IN, =~, !~"
    );
    assert_eq!(err_at("SHOW TAG foo").0, "found foo, expected KEYS, VALUES");
}

#[test]
fn show_field_keys_series_and_retention_policies() {
    assert_eq!(
        one("SHOW FIELD KEYS ON db FROM cpu LIMIT 1 OFFSET 2"),
        Statement::ShowFieldKeys {
            db: Some("db".into()),
            sources: vec![m("cpu")],
            limit: Some(1),
            offset: Some(2)
        }
    );
    assert_eq!(
        one("SHOW FIELD KEYS"),
        Statement::ShowFieldKeys {
            db: None,
            sources: vec![],
            limit: None,
            offset: None
        }
    );
    assert_eq!(
        err_at("SHOW FIELD KEYS WHERE a = 1").0,
        "found WHERE, expected ON, FROM, LIMIT, OFFSET, ;"
    );
    assert_eq!(
        one("SHOW SERIES ON db FROM cpu WHERE host = 'a' LIMIT 1 OFFSET 2"),
        Statement::ShowSeries {
            db: Some("db".into()),
            sources: vec![m("cpu")],
            condition: Some(bin(Eq, var("host"), string("a"))),
            limit: Some(1),
            offset: Some(2)
        }
    );
    assert_eq!(
        one("SHOW SERIES"),
        Statement::ShowSeries {
            db: None,
            sources: vec![],
            condition: None,
            limit: None,
            offset: None
        }
    );
    assert_eq!(
        one("SHOW RETENTION POLICIES"),
        Statement::ShowRetentionPolicies { db: None }
    );
    assert_eq!(
        err_at("SHOW RETENTION POLICY ON db").0,
        "found POLICY, expected POLICIES"
    );
    assert_eq!(
        err_at("SHOW RETENTION POLICIES db").0,
        "found db, expected ON, ;"
    );
    assert_eq!(
        err_at("SHOW FOO"),
        (
            "found FOO, expected DATABASES, MEASUREMENTS, TAG KEYS, TAG VALUES, FIELD KEYS, SERIES, RETENTION POLICIES"
                .into(),
            1,
            6
        )
    );
    assert_eq!(err_at("SHOW DATABASES ON db").0, "found ON, expected ;");
    assert_eq!(err_at("SHOW FIELD VALUES").0, "found VALUES, expected KEYS");
}

// ----------------------------------------------------- CREATE, DROP, DELETE

#[test]
fn create_database() {
    for q in [
        "CREATE DATABASE db",
        "create database db",
        "CREATE DATABASE db WITH DURATION 7d",
        "CREATE DATABASE db WITH DURATION INF",
        "CREATE DATABASE db WITH REPLICATION 1",
        "CREATE DATABASE db WITH SHARD DURATION 1h",
        "CREATE DATABASE db WITH NAME rp",
        "CREATE DATABASE db WITH DURATION 30d REPLICATION 1 SHARD DURATION 1d NAME \"one month\"",
        "CREATE DATABASE db WITH DURATION 1d FUTURE LIMIT 1h PAST LIMIT 2h NAME rp",
    ] {
        assert_eq!(
            one(q),
            Statement::CreateDatabase { name: "db".into() },
            "{q}"
        );
    }
    assert_eq!(
        err_at("CREATE DATABASE db WITH"),
        (
            "found EOF, expected DURATION, REPLICATION, SHARD, NAME".into(),
            1,
            24
        )
    );
    assert_eq!(
        err_at("CREATE DATABASE db WITH REPLICATION 0"),
        (
            "invalid value 0: must be 1 <= n <= 2147483647".into(),
            1,
            37
        )
    );
    assert_eq!(
        err_at("CREATE DATABASE db WITH SHARD DURATION INF").0,
        "invalid duration INF for shard duration"
    );
    assert_eq!(
        err_at("CREATE DATABASE db WITH DURATION 7").0,
        "found 7, expected duration"
    );
    assert_eq!(
        err_at("CREATE DATABASE db WITH NAME rp DURATION 1d").0,
        "found DURATION, expected ;"
    );
    assert_eq!(
        err_at("CREATE DATABASE").0,
        "found EOF, expected identifier"
    );
    assert_eq!(
        err_at("CREATE DATABASE db db2").0,
        "found db2, expected WITH, ;"
    );
    assert_eq!(err_at("CREATE TABLE x").0, "found TABLE, expected DATABASE");
}

#[test]
fn drop_statements() {
    assert_eq!(
        one("DROP DATABASE db"),
        Statement::DropDatabase { name: "db".into() }
    );
    assert_eq!(
        one("DROP MEASUREMENT \"cpu\""),
        Statement::DropMeasurement { name: "cpu".into() }
    );
    assert_eq!(
        one("DROP SERIES FROM cpu, /^m/"),
        Statement::DropSeries {
            sources: vec![m("cpu"), regex_source(None, None, "^m")],
            condition: None
        }
    );
    assert_eq!(
        one("DROP SERIES WHERE host = 'a'"),
        Statement::DropSeries {
            sources: vec![],
            condition: Some(bin(Eq, var("host"), string("a")))
        }
    );
    assert_eq!(
        one("DROP SERIES FROM cpu WHERE host = 'a'"),
        Statement::DropSeries {
            sources: vec![m("cpu")],
            condition: Some(bin(Eq, var("host"), string("a")))
        }
    );
    assert_eq!(
        err_at("DROP SERIES"),
        ("found EOF, expected FROM, WHERE".into(), 1, 12)
    );
    assert_eq!(
        err_at("DROP SERIES FROM rp.cpu"),
        (
            "DROP SERIES FROM cannot name a database or retention policy: it acts on the database of the request (db=)"
                .into(),
            1,
            13
        )
    );
    assert_eq!(
        err_at("DROP SERIES FROM cpu LIMIT 1").0,
        "found LIMIT, expected WHERE, ;"
    );
    assert_eq!(err_at("DROP DATABASE").0, "found EOF, expected identifier");
    assert_eq!(err_at("DROP DATABASE a b").0, "found b, expected ;");
    assert_eq!(
        err_at("DROP TABLE x").0,
        "found TABLE, expected DATABASE, MEASUREMENT, SERIES"
    );
}

#[test]
fn delete_statements() {
    assert_eq!(
        one("DELETE FROM cpu WHERE time < '2020-01-01T00:00:00Z'"),
        Statement::Delete {
            sources: vec![m("cpu")],
            condition: Some(bin(Lt, var("time"), string("2020-01-01T00:00:00Z")))
        }
    );
    assert_eq!(
        one("DELETE FROM cpu"),
        Statement::Delete {
            sources: vec![m("cpu")],
            condition: None
        }
    );
    assert_eq!(
        one("DELETE WHERE time < now() - 30d"),
        Statement::Delete {
            sources: vec![],
            condition: Some(bin(Lt, var("time"), bin(Sub, now(), dur(30 * 24 * H))))
        }
    );
    // A retention policy is allowed in DELETE, not a database (InfluxDB's rule).
    assert_eq!(
        one("DELETE FROM rp.cpu"),
        Statement::Delete {
            sources: vec![qualified(None, Some("rp"), "cpu")],
            condition: None
        }
    );
    assert_eq!(
        err_at("DELETE FROM db.rp.cpu").0,
        "DELETE FROM cannot name a database: it acts on the database of the request (db=)"
    );
    assert_eq!(
        err_at("DELETE"),
        ("found EOF, expected FROM, WHERE".into(), 1, 7)
    );
    assert_eq!(err_at("DELETE cpu").0, "found cpu, expected FROM, WHERE");
}

#[test]
fn cardinality_statements() {
    let card = |of, exact, db: Option<&str>, sources, key, condition, limit, offset| {
        Statement::ShowCardinality {
            of,
            exact,
            db: db.map(str::to_string),
            sources,
            key,
            condition,
            limit,
            offset,
        }
    };
    let cpu = || {
        vec![Source::Measurement {
            db: None,
            rp: None,
            name: "cpu".into(),
        }]
    };
    use Cardinality as C;
    for (q, want) in [
        (
            "SHOW MEASUREMENT CARDINALITY",
            card(C::Measurements, false, None, vec![], None, None, None, None),
        ),
        (
            "SHOW MEASUREMENT EXACT CARDINALITY ON db",
            card(
                C::Measurements,
                true,
                Some("db"),
                vec![],
                None,
                None,
                None,
                None,
            ),
        ),
        (
            "SHOW SERIES CARDINALITY FROM cpu WHERE host = 'a' LIMIT 1 OFFSET 2",
            card(
                C::Series,
                false,
                None,
                cpu(),
                None,
                Some(cond("host = 'a'")),
                Some(1),
                Some(2),
            ),
        ),
        (
            "SHOW TAG KEY EXACT CARDINALITY",
            card(C::TagKeys, true, None, vec![], None, None, None, None),
        ),
        (
            "SHOW TAG VALUES CARDINALITY ON db FROM cpu WITH KEY IN (a, b) WHERE x = 'y'",
            card(
                C::TagValues,
                false,
                Some("db"),
                cpu(),
                Some(NameMatch::In(vec!["a".into(), "b".into()])),
                Some(cond("x = 'y'")),
                None,
                None,
            ),
        ),
        (
            "SHOW FIELD KEY CARDINALITY FROM cpu",
            card(C::FieldKeys, false, None, cpu(), None, None, None, None),
        ),
    ] {
        assert_eq!(one(q), want, "{q}");
    }
    assert_eq!(
        err_at("SHOW TAG VALUES CARDINALITY"),
        ("found EOF, expected ON, FROM, WITH KEY".into(), 1, 28)
    );
    // ON and FROM may still come there; WITH KEY is only for TAG VALUES.
    assert_eq!(
        err_at("SHOW SERIES CARDINALITY WITH KEY = a").0,
        "found WITH, expected ON, FROM, WHERE, LIMIT, OFFSET, ;"
    );
    assert_eq!(
        err_at("SHOW SERIES CARDINALITY FROM cpu WITH KEY = a").0,
        "found WITH, expected WHERE, LIMIT, OFFSET, ;"
    );
    assert_eq!(
        err_at("SHOW SERIES EXACT CARDINALITY GROUP BY host"),
        (
            "GROUP BY in SHOW ... CARDINALITY is not supported by PulsarDB".into(),
            1,
            31
        )
    );
    assert_eq!(
        err_at("SHOW FIELD KEY CARDINALITY LIMIT 1 LIMIT 2").0,
        "found LIMIT, expected OFFSET, ;"
    );
}

#[test]
fn unsupported_statements_are_named() {
    for (q, name) in [
        (
            "CREATE USER admin WITH PASSWORD 'x' WITH ALL PRIVILEGES",
            "CREATE USER",
        ),
        ("DROP USER admin", "DROP USER"),
        ("GRANT ALL TO admin", "GRANT"),
        ("REVOKE ALL FROM admin", "REVOKE"),
        ("SET PASSWORD FOR admin = 'x'", "SET PASSWORD"),
        ("SHOW GRANTS FOR admin", "SHOW GRANTS"),
        ("SHOW STATS", "SHOW STATS"),
        ("SHOW DIAGNOSTICS", "SHOW DIAGNOSTICS"),
        (
            "CREATE RETENTION POLICY rp ON db DURATION 1d REPLICATION 1",
            "CREATE RETENTION POLICY",
        ),
        (
            "ALTER RETENTION POLICY rp ON db DURATION 1d",
            "ALTER RETENTION POLICY",
        ),
        ("DROP RETENTION POLICY rp ON db", "DROP RETENTION POLICY"),
        (
            "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT 1 END",
            "CREATE CONTINUOUS QUERY",
        ),
        ("DROP CONTINUOUS QUERY cq ON db", "DROP CONTINUOUS QUERY"),
        ("SHOW SHARDS", "SHOW SHARDS"),
        ("SHOW SHARD GROUPS", "SHOW SHARD GROUPS"),
        ("DROP SHARD 1", "DROP SHARD"),
        ("SHOW QUERIES", "SHOW QUERIES"),
        ("KILL QUERY 1", "KILL QUERY"),
        ("SHOW SUBSCRIPTIONS", "SHOW SUBSCRIPTIONS"),
        (
            "CREATE SUBSCRIPTION s ON db.rp DESTINATIONS ALL 'x'",
            "CREATE SUBSCRIPTION",
        ),
        ("DROP SUBSCRIPTION s ON db.rp", "DROP SUBSCRIPTION"),
        ("EXPLAIN SELECT v FROM m", "EXPLAIN"),
        ("EXPLAIN ANALYZE SELECT v FROM m", "EXPLAIN"),
    ] {
        let e = err(q);
        assert_eq!(
            (e.message.as_str(), e.line, e.column),
            (
                format!("{name} is not supported by PulsarDB").as_str(),
                1,
                1
            ),
            "{q}"
        );
    }
    assert_eq!(
        err_at("INSERT cpu value=1").0,
        "INSERT is not supported by PulsarDB (it is an influx CLI command): write line protocol to /write"
    );
    // Later statements are named at their own position.
    assert_eq!(
        err_at("SHOW DATABASES;\n  SHOW STATS"),
        ("SHOW STATS is not supported by PulsarDB".into(), 2, 3)
    );
    assert_eq!(one("SHOW USERS"), Statement::ShowUsers);
    assert_eq!(
        one("SHOW CONTINUOUS QUERIES"),
        Statement::ShowContinuousQueries
    );
}

// ------------------------------------------------------------- errors

#[test]
fn typical_mistakes() {
    for (q, message, line, column) in [
        (
            "SELECT FROM cpu",
            "found FROM, expected identifier, string, number, bool",
            1,
            8,
        ),
        ("SELECT value cpu", "found cpu, expected FROM", 1, 14),
        (
            "SELECT * FROM",
            "found EOF, expected identifier, regex",
            1,
            14,
        ),
        (
            "SELECT * FROM cpu WHERE",
            "found EOF, expected identifier, string, number, bool",
            1,
            24,
        ),
        (
            "SELECT * FROM cpu WHERE host = 'a' LIMIT 10 GROUP BY host",
            "found GROUP, expected OFFSET, SLIMIT, SOFFSET, tz(...), ;",
            1,
            45,
        ),
        (
            "SELECT * FROM cpu GROUP BY host WHERE host = 'a'",
            "found WHERE, expected fill(...), ORDER BY, LIMIT, OFFSET, SLIMIT, SOFFSET, tz(...), ;",
            1,
            33,
        ),
        (
            "SELECT * FROM cpu foo",
            "found foo, expected WHERE, GROUP BY, fill(...), ORDER BY, LIMIT, OFFSET, SLIMIT, SOFFSET, tz(...), ;",
            1,
            19,
        ),
        (
            "SELECT mean(value FROM cpu",
            "found FROM, expected )",
            1,
            19,
        ),
        (
            "SELECT mean(value)) FROM cpu",
            "found ), expected FROM",
            1,
            19,
        ),
        (
            "SELECT * FROM cpu WHERE (a = 1",
            "found EOF, expected )",
            1,
            31,
        ),
        (
            "SELECT * FROM cpu WHERE host = 'a",
            "unterminated string 'a",
            1,
            32,
        ),
        (
            "SELECT * FROM cpu WHERE \"host = 'a'",
            "unterminated quoted identifier \"host = 'a'",
            1,
            25,
        ),
        (
            "SELECT * FROM cpu WHERE host = 'a\nb'",
            "newline in string 'a (write \\n)",
            1,
            32,
        ),
        (
            "SELECT * FROM cpu LIMIT -1",
            "found -, expected integer",
            1,
            25,
        ),
        (
            "SELECT * FROM cpu LIMIT 1.5",
            "found 1.5, expected integer",
            1,
            25,
        ),
        (
            "SELECT * FROM cpu LIMIT",
            "found EOF, expected integer",
            1,
            24,
        ),
        (
            "SELECT v FROM m WHERE host IN ('a', 'b')",
            "IN is not supported in expressions: use tag = 'a' OR tag = 'b', or tag =~ /^(a|b)$/",
            1,
            28,
        ),
        (
            "SELECT v FROM m WHERE a & 1 = 1",
            "bitwise operator & is not supported by PulsarDB",
            1,
            25,
        ),
        (
            "SELECT v FROM m WHERE host = /a/",
            "found /, expected identifier, string, number, bool (a regex is only allowed after =~ or !~)",
            1,
            30,
        ),
        (
            "SELECT v FROM m WHERE host =~ 'a'",
            "found 'a', expected regex",
            1,
            31,
        ),
        (
            "SELECT v FROM m WHERE host =~ /a",
            "unterminated regex /a",
            1,
            31,
        ),
        (
            "SELECT a = 1 FROM m",
            "invalid operator = in SELECT clause; operator is intended for WHERE clause",
            1,
            8,
        ),
        (
            "SELECT x, max(a) + (b OR c) FROM m",
            "invalid operator OR in SELECT clause; operator is intended for WHERE clause",
            1,
            11,
        ),
        (
            "SELECT x::foo FROM m",
            "found foo, expected float, integer, unsigned, string, boolean, field, tag",
            1,
            11,
        ),
        (
            "SELECT *::integer FROM m",
            "found integer, expected field, tag",
            1,
            11,
        ),
        (
            "SELECT v AS FROM m",
            "found FROM, expected identifier",
            1,
            13,
        ),
        (
            "SELECT v FROM m WHERE $x = 1",
            "found $, expected identifier, string, number, bool",
            1,
            23,
        ),
        (
            "SELECT v FROM m WHERE x = 'a' tz(UTC)",
            "found UTC, expected string",
            1,
            34,
        ),
        // A zone the zone database lacks fails the parse, as in InfluxDB.
        (
            "SELECT v FROM m tz('Nowhere/Foo')",
            "unable to find time zone Nowhere/Foo",
            1,
            20,
        ),
        (
            "SELECT v FROM m tz('../../etc/passwd')",
            "unable to find time zone ../../etc/passwd",
            1,
            20,
        ),
        (
            "SELECT v FROM m WHERE x = 1.5s",
            "invalid number 1.5s",
            1,
            27,
        ),
        (
            "SELECT v FROM m WHERE x = 'a\\tb'",
            "bad escape \\t (only \\n, \\\\, \\' and \\\" are allowed in quotes)",
            1,
            29,
        ),
        (
            "SELECT DISTINCT 5 FROM m",
            "found 5, expected (, identifier",
            1,
            17,
        ),
        (
            "SELECT v FROM m WHERE a = = 1",
            "found =, expected identifier, string, number, bool",
            1,
            27,
        ),
        (
            "UPDATE m SET v = 1",
            "found UPDATE, expected SELECT, SHOW, CREATE, DROP, DELETE",
            1,
            1,
        ),
        (
            "select",
            "found EOF, expected identifier, string, number, bool",
            1,
            7,
        ),
        (
            "é",
            "found é, expected SELECT, SHOW, CREATE, DROP, DELETE",
            1,
            1,
        ),
        (
            ")",
            "found ), expected SELECT, SHOW, CREATE, DROP, DELETE",
            1,
            1,
        ),
    ] {
        let e = err(q);
        assert_eq!(
            (e.message.as_str(), e.line, e.column),
            (message, line, column),
            "{q}"
        );
    }
}

#[test]
fn error_display_and_position() {
    let e = err("SELECT FROM cpu");
    assert_eq!(
        e.to_string(),
        "error parsing query: found FROM, expected identifier, string, number, bool at line 1, char 8"
    );
    assert_eq!(e.near, "FROM");
    let e = err("SELECT v FROM m WHERE host = 'a' OR (\n  dc = )");
    assert_eq!(
        e.to_string(),
        "error parsing query: found ), expected identifier, string, number, bool at line 2, char 8"
    );
    // Columns count chars, not bytes.
    let e = err("SELECT \"é✓\" FROM m WHERE x = )");
    assert_eq!((e.line, e.column), (1, 30));
    // Quoted identifiers and strings are quoted in the message as written.
    assert_eq!(
        err("SELECT v FROM m \"other\"").message,
        "found \"other\", expected WHERE, GROUP BY, fill(...), ORDER BY, LIMIT, OFFSET, SLIMIT, SOFFSET, tz(...), ;"
    );
    // `near` is bounded however long the token.
    let long = "x".repeat(10_000);
    let e = err(&format!("SELECT v FROM m '{long}'"));
    assert_eq!(e.near.chars().count(), 40);
    assert!(e.near.starts_with("'xxx") && e.near.ends_with("..."));
    assert!(e.message.len() < 250, "{}", e.message);
    let e = err(&format!("SELECT v FROM m WHERE x = '{long}"));
    assert!(
        e.near.chars().count() <= 40 && e.message.len() < 100,
        "{}",
        e.message
    );
    assert_eq!(err("SELECT").near, "EOF");
}

// ------------------------------------------------------------- bounds

fn nested_parens(n: usize) -> String {
    format!("SELECT v FROM m WHERE {}a{}", "(".repeat(n), ")".repeat(n))
}

fn nested_calls(n: usize) -> String {
    format!("SELECT {}v{} FROM m", "f(".repeat(n), ")".repeat(n))
}

#[test]
fn nesting_is_bounded() {
    let mut e = cond(&format!(
        "{}a{}",
        "(".repeat(MAX_NESTING),
        ")".repeat(MAX_NESTING)
    ));
    for _ in 0..MAX_NESTING {
        let Expr::Paren(inner) = e else { panic!() };
        e = *inner;
    }
    assert_eq!(e, var("a"));
    assert!(parse(&nested_calls(MAX_NESTING)).is_ok());
    let msg = "query nested too deeply: more than 64 levels of parentheses or function calls";
    assert_eq!(
        err_at(&nested_parens(MAX_NESTING + 1)),
        (msg.into(), 1, 23 + MAX_NESTING)
    );
    assert_eq!(err_at(&nested_calls(MAX_NESTING + 1)).0, msg);
    // Mixed: parens around calls around unary minus.
    let mixed = format!(
        "SELECT v FROM m WHERE {}1{}",
        "-(f(".repeat(40),
        "))".repeat(40)
    );
    assert_eq!(err_at(&mixed).0, msg);
    // Far past the limit: an error, not a stack overflow.
    for n in [10_000, 1_000_000] {
        assert_eq!(err_at(&nested_parens(n)).0, msg);
        assert_eq!(err_at(&nested_calls(n)).0, msg);
        assert_eq!(
            err_at(&format!("SELECT v FROM m WHERE {}", "(".repeat(n))).0,
            msg
        );
    }
}

/// The deepest queries the bounds allow, with every operator level open at
/// each nesting level, parse on a small thread stack: the parser recurses
/// only at parentheses and calls, about 1.5 KiB per level when optimised
/// (the workers that parse have 2 MiB).
#[test]
fn deepest_queries_fit_a_small_stack() {
    let levels = MAX_NESTING / 2;
    let calls = format!(
        "SELECT v FROM m WHERE {}a{}",
        "a OR a AND a = a + a * -(f(".repeat(levels),
        "))".repeat(levels)
    );
    let parens = format!(
        "SELECT v FROM m WHERE {}a{}",
        "a OR a AND a = a + a * (".repeat(MAX_NESTING),
        ")".repeat(MAX_NESTING)
    );
    let too_deep = format!(
        "SELECT v FROM m WHERE {}a",
        "a OR a AND a = a + a * -(f(".repeat(100_000)
    );
    let handle = std::thread::Builder::new()
        .stack_size(512 << 10)
        .spawn(move || {
            assert!(parse(&calls).is_ok());
            assert!(parse(&parens).is_ok());
            assert!(parse(&too_deep).is_err());
        })
        .unwrap();
    handle.join().unwrap();
}

#[test]
fn expression_depth_is_bounded() {
    // A chain of n operands is n levels deep.
    let chain = |n: usize, op: &str| {
        let terms: Vec<String> = (0..n).map(|i| format!("a = {i}")).collect();
        format!("SELECT v FROM m WHERE {}", terms.join(op))
    };
    // `a = i` is 2 deep, so an OR chain of n of them is n + 1.
    assert!(parse(&chain(MAX_EXPR_DEPTH - 1, " OR ")).is_ok());
    let e = err(&chain(MAX_EXPR_DEPTH, " OR "));
    assert_eq!(
        e.message,
        "expression too deep: more than 1000 levels of operators"
    );
    assert_eq!(e.near, "OR");
    let sum = |n: usize| format!("SELECT {} FROM m", vec!["v"; n].join(" + "));
    assert!(parse(&sum(MAX_EXPR_DEPTH)).is_ok());
    assert!(parse(&sum(MAX_EXPR_DEPTH + 1)).is_err());
    assert!(parse(&sum(200_000)).is_err());
    // Long flat lists stay fine.
    let many_fields = vec!["mean(v)"; 10_000].join(", ");
    assert_eq!(
        select(&format!("SELECT {many_fields} FROM m")).fields.len(),
        10_000
    );
    let many_statements = "SHOW DATABASES;".repeat(100_000);
    assert_eq!(parse(&many_statements).unwrap().len(), 100_000);
}

// ------------------------------------------------------------- no panic

/// splitmix64: deterministic, so a failure names its case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const VALID: &[&str] = &[
    r#"SHOW RETENTION POLICIES on "db""#,
    "SHOW measurements",
    "SHOW MEASUREMENTS WITH MEASUREMENT =~ /cpu/ LIMIT 100",
    r#"SHOW TAG KEYS FROM "cpu""#,
    r#"SHOW TAG VALUES FROM "cpu" WITH KEY = "host" WHERE "dc" =~ /^eu/"#,
    r#"SELECT mean("value") FROM "cpu" WHERE ("host" = 'a' OR "host" = 'b') AND time >= 1596240000000ms and time <= 1596240300000ms GROUP BY time(5s), "dc" fill(null)"#,
    r#"SELECT non_negative_derivative(mean("bytes_recv"), 1s) *8 FROM "net" WHERE time >= now() - 6h GROUP BY time(30s) fill(none)"#,
    r#"SELECT last("value") FROM "autogen"."cpu" WHERE time > now() - 1h"#,
    r#"CREATE DATABASE "testdb""#,
    "SHOW DATABASES",
    "SHOW MEASUREMENTS",
    r#"DROP DATABASE "x""#,
    "SELECT mean(value) AS m, max(value) FROM cpu WHERE host = 'a' GROUP BY time(5m, -1m), host, * fill(-1.5) ORDER BY time DESC LIMIT 10 OFFSET 2 SLIMIT 3 SOFFSET 4 tz('Europe/Paris')",
    "SELECT \"x\"::field, host::tag, percentile(v, 95), count(*), /re/ FROM db.rp./re/, db..m WHERE a =~ /a\\/b/ AND b !~ /c/ OR -c * (d + 1.5e3) % 2 != -5m",
    "SHOW TAG VALUES ON db WITH KEY IN (\"a\", \"b\") LIMIT 1 OFFSET 2; SHOW SERIES ON db FROM m WHERE a = 'x' LIMIT 1",
    "CREATE DATABASE db WITH DURATION 30d REPLICATION 1 SHARD DURATION 1d NAME rp; DROP SERIES FROM m WHERE a = 'b'",
    "DELETE FROM m WHERE time < '2020-01-01T00:00:00Z' -- comment\n; /* c */ DROP MEASUREMENT m; SHOW FIELD KEYS ON db FROM m",
];

/// Tokens and fragments to splice into queries.
const FRAGMENTS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP BY",
    "fill(",
    "ORDER BY",
    "LIMIT",
    "OFFSET",
    "tz(",
    "SHOW",
    "TAG",
    "VALUES",
    "WITH KEY",
    "IN",
    "AND",
    "OR",
    "(",
    ")",
    ",",
    ";",
    ".",
    "::",
    "=~",
    "!~",
    "/",
    "//",
    "/*",
    "*/",
    "--",
    "\n",
    "'",
    "\"",
    "\\",
    "'str'",
    "\"id\"",
    "x",
    "time",
    "now()",
    "1",
    "-",
    "+",
    "*",
    "%",
    "1.5",
    ".5",
    "1e3",
    "10s",
    "1596240000000ms",
    "15251w",
    "99999999999999999999",
    "µ",
    "é",
    "\u{0}",
    "\u{feff}",
    "$",
    "&",
    "   ",
    "/re/",
    "DISTINCT",
    "INTO",
    "time(",
    "5m",
    "-1m",
    "CARDINALITY",
    "EXACT",
    "INF",
];

fn check(q: &str, count: &mut usize) {
    // No panic (the test harness would report it) and sane errors.
    if let Err(e) = parse(q) {
        assert!(e.line >= 1 && e.column >= 1, "{q:?}: {e:?}");
        assert!(e.near.chars().count() <= 40, "{q:?}: {e:?}");
        assert!(!e.message.is_empty());
    }
    *count += 1;
}

#[test]
fn random_and_mutated_queries_never_panic() {
    let mut rng = Rng(0x05ee_d1f1);
    let mut count = 0;

    // Random bytes, read as UTF-8 lossily (the HTTP layer hands over &str).
    for _ in 0..5_000 {
        let len = rng.below(80);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check(&String::from_utf8_lossy(&bytes), &mut count);
    }
    // Random printable ASCII, which reaches further into the lexer.
    for _ in 0..5_000 {
        let len = rng.below(60);
        let s: String = (0..len)
            .map(|_| char::from(b' ' + rng.below(95) as u8))
            .collect();
        check(&s, &mut count);
    }
    // Token soup: keywords, operators and literals in random order.
    for _ in 0..10_000 {
        let n = rng.below(25);
        let parts: Vec<&str> = (0..n).map(|_| rng.pick(FRAGMENTS)).collect();
        check(&parts.join(" "), &mut count);
        check(&parts.concat(), &mut count);
    }
    // Mutations of valid queries: truncate, delete, duplicate, splice, swap.
    for q in VALID {
        assert!(parse(q).is_ok(), "{q}");
    }
    for _ in 0..40_000 {
        let base: Vec<char> = rng.pick(VALID).chars().collect();
        let mut s = base.clone();
        for _ in 0..1 + rng.below(3) {
            let len = s.len().max(1);
            let (i, j) = {
                let a = rng.below(len);
                let b = rng.below(len);
                (a.min(b), a.max(b).min(s.len()))
            };
            match rng.below(6) {
                0 => s.truncate(i),
                1 => {
                    s.drain(i.min(s.len())..j);
                }
                2 => {
                    let dup: Vec<char> = s[i.min(s.len())..j].to_vec();
                    let at = i.min(s.len());
                    s.splice(at..at, dup);
                }
                3 => {
                    let at = i.min(s.len());
                    s.splice(at..at, rng.pick(FRAGMENTS).chars());
                }
                4 => {
                    if i < s.len() && j < s.len() {
                        s.swap(i, j);
                    }
                }
                _ => {
                    if i < s.len() {
                        s[i] = char::from(b' ' + rng.below(95) as u8);
                    }
                }
            }
        }
        check(&s.into_iter().collect::<String>(), &mut count);
    }
    // Pathological sizes.
    for q in [
        "(".repeat(100_000),
        ")".repeat(100_000),
        "-".repeat(100_001),
        "/".repeat(100_001),
        format!("SELECT v FROM m WHERE a = {}", "-".repeat(100_000)),
        format!("SELECT v FROM m WHERE a =~ /{}/", "x".repeat(1 << 20)),
        format!("SELECT v FROM m WHERE a = '{}'", "\\'".repeat(1 << 18)),
        format!("SELECT v FROM {}", "a.".repeat(100_000)),
        format!("SELECT {} FROM m", "a.".repeat(100_000) + "b"),
        format!("SELECT v FROM m WHERE a = {}", "9".repeat(100_000)),
        format!("SELECT v FROM m WHERE a = {}s", "9".repeat(100_000)),
        "SELECT v FROM m WHERE a = 1".to_owned() + &" AND a = 1".repeat(100_000),
        ";".repeat(100_000),
        "/*".repeat(50_000),
    ] {
        check(&q, &mut count);
    }
    println!("parsed {count} random and mutated queries without a panic");
    assert!(count > 70_000);
}
