//! InfluxQL parser: a `/query` string to [`ast::Statement`](super::ast::Statement)s.
//!
//! Recursive descent over [`Lexer`] tokens with one token of lookahead,
//! following InfluxDB 1.x (influxdata/influxql `parser.go`): the same
//! statements, clause order, reserved words and error style
//! (`found X, expected Y at line L, char C`), so Grafana, Telegraf and the
//! client libraries see the answers they were written against. Statements
//! InfluxDB has and PulsarDB does not (creating users, grants, continuous
//! queries or retention policies, `SHOW STATS`...) are recognised and named
//! in the error rather than failing as a syntax error that would send the
//! user looking for a typo.
//!
//! The input is untrusted, so the parser is bounded:
//! - parentheses and function calls nest at most [`MAX_NESTING`] deep (the
//!   only recursion that grows with the input), checked before descending;
//! - the tree it returns is at most [`MAX_EXPR_DEPTH`] deep, so dropping it
//!   or walking it recursively in the planner cannot overflow a stack, while
//!   `a = 1 OR a = 2 OR ...` with hundreds of terms still parses;
//! - every token is read once, except a `/` read again as a regex, so work
//!   is linear in the query length.
//!
//! Binary operators are parsed with an explicit operator stack over five
//! precedence levels (OR; AND; comparisons; `+ -`; `* / %`), all
//! left-associative, instead of one recursive function per level: the
//! stack used per nesting level stays at about 1.5 KiB (optimised build),
//! so [`MAX_NESTING`] levels fit well inside a worker thread's stack.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::fmt;

use super::ast::{
    BinOp, Cardinality, Dimension, Expr, Field, Fill, IntoTarget, NameMatch, Select, Source,
    Statement, VarKind,
};
use super::lexer::{Keyword as K, LexError, Lexer, Pos, Token, TokenKind as T, bounded};

/// Deepest nesting of parentheses and function calls.
pub const MAX_NESTING: usize = 64;

/// What may follow `::` on a variable, in InfluxDB's order.
const CASTS: &[&str] = &[
    "float", "integer", "unsigned", "string", "boolean", "field", "tag",
];

/// Deepest nesting of subqueries (`FROM (SELECT ... FROM (SELECT ...))`).
pub const MAX_SUBQUERIES: usize = 8;

/// Deepest expression tree returned (operator chains count one level per
/// operator).
pub const MAX_EXPR_DEPTH: usize = 1000;

/// A query that does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong: `found X, expected Y`, or a sentence.
    pub message: String,
    /// Line of the offending token, from 1.
    pub line: usize,
    /// Column of the offending token, in chars, from 1.
    pub column: usize,
    /// The offending token as written (`EOF` at the end), at most 40 chars.
    pub near: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error parsing query: {} at line {}, char {}",
            self.message, self.line, self.column
        )
    }
}

impl std::error::Error for ParseError {}

impl From<LexError> for ParseError {
    fn from(e: LexError) -> Self {
        ParseError {
            message: e.to_string(),
            line: e.pos.line,
            column: e.pos.column,
            near: e.near,
        }
    }
}

/// Parses the statements of `query`, separated by `;` (empty ones skipped).
pub fn parse(query: &str) -> Result<Vec<Statement>, ParseError> {
    let mut p = Parser {
        lexer: Lexer::new(query),
        peeked: None,
        nesting: 0,
        subqueries: 0,
        into: None,
    };
    let mut statements = Vec::new();
    loop {
        match p.peek()?.kind {
            T::Eof => return Ok(statements),
            T::Semicolon => {
                p.bump()?;
            }
            _ => statements.push(p.statement()?),
        }
    }
}

/// What may begin an expression operand, for errors.
const OPERAND: &[&str] = &["identifier", "string", "number", "bool"];

/// An expression and the depth of its tree.
struct Node {
    expr: Expr,
    depth: usize,
}

impl Node {
    fn leaf(expr: Expr) -> Node {
        Node { expr, depth: 1 }
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Token>,
    /// Parentheses and calls open around the current token.
    nesting: usize,
    /// Subqueries open around the current token.
    subqueries: usize,
    /// The `INTO` target of the SELECT being parsed.
    into: Option<IntoTarget>,
}

/// Token handling and errors.
impl Parser<'_> {
    fn peek(&mut self) -> Result<&Token, ParseError> {
        let tok = match self.peeked.take() {
            Some(tok) => tok,
            None => self.lexer.next_token()?,
        };
        Ok(self.peeked.insert(tok))
    }

    fn bump(&mut self) -> Result<Token, ParseError> {
        match self.peeked.take() {
            Some(tok) => Ok(tok),
            None => Ok(self.lexer.next_token()?),
        }
    }

    fn peek_is(&mut self, kind: &T) -> Result<bool, ParseError> {
        Ok(self.peek()?.kind == *kind)
    }

    fn peek_kw(&mut self, kw: K) -> Result<bool, ParseError> {
        self.peek_is(&T::Keyword(kw))
    }

    /// Whether the next token is the bare word `word` (any case): the
    /// function-like clauses `fill(...)` and `tz(...)` are not reserved.
    fn peek_word(&mut self, word: &str) -> Result<bool, ParseError> {
        Ok(matches!(&self.peek()?.kind,
            T::Ident { name, quoted: false } if name.eq_ignore_ascii_case(word)))
    }

    fn eat(&mut self, kind: &T) -> Result<bool, ParseError> {
        let found = self.peek_is(kind)?;
        if found {
            self.bump()?;
        }
        Ok(found)
    }

    fn eat_kw(&mut self, kw: K) -> Result<bool, ParseError> {
        self.eat(&T::Keyword(kw))
    }

    fn expect(&mut self, kind: &T, what: &str) -> Result<Token, ParseError> {
        let tok = self.bump()?;
        if tok.kind == *kind {
            Ok(tok)
        } else {
            Err(self.found(&tok, &[what]))
        }
    }

    fn expect_kw(&mut self, kw: K) -> Result<Token, ParseError> {
        self.expect(&T::Keyword(kw), kw.as_str())
    }

    fn ident(&mut self) -> Result<String, ParseError> {
        self.ident_or(&["identifier"])
    }

    fn ident_or(&mut self, expected: &[&str]) -> Result<String, ParseError> {
        let tok = self.bump()?;
        match tok.kind {
            T::Ident { name, .. } => Ok(name),
            _ => Err(self.found(&tok, expected)),
        }
    }

    fn integer(&mut self) -> Result<(u64, Token), ParseError> {
        let tok = self.bump()?;
        match tok.kind {
            T::Integer(n) => Ok((n, tok)),
            _ => Err(self.found(&tok, &["integer"])),
        }
    }

    /// A regex literal if the next token is `/`: the `/` was lexed as
    /// division, so rewind to it and read it again as a regex.
    fn try_regex(&mut self) -> Result<Option<String>, ParseError> {
        if !self.peek_is(&T::Slash)? {
            return Ok(None);
        }
        let Some(slash) = self.peeked.take() else {
            return Ok(None);
        };
        self.lexer.reset(slash.pos);
        match self.lexer.scan_regex()?.kind {
            T::Regex(pattern) => Ok(Some(pattern)),
            _ => Err(self.internal("scan_regex returned no regex")),
        }
    }

    fn regex(&mut self) -> Result<String, ParseError> {
        match self.try_regex()? {
            Some(pattern) => Ok(pattern),
            None => {
                let tok = self.bump()?;
                Err(self.found(&tok, &["regex"]))
            }
        }
    }

    /// The text an error quotes for the token at `pos..end`.
    fn near(&self, pos: Pos, end: usize) -> String {
        // Every token but EOF spans at least one char.
        if end <= pos.offset {
            "EOF".to_owned()
        } else {
            bounded(self.lexer.text(pos.offset, end))
        }
    }

    #[cold]
    #[inline(never)]
    fn error_span(&self, pos: Pos, end: usize, message: String) -> ParseError {
        ParseError {
            message,
            line: pos.line,
            column: pos.column,
            near: self.near(pos, end),
        }
    }

    #[cold]
    #[inline(never)]
    fn error_at(&self, tok: &Token, message: String) -> ParseError {
        self.error_span(tok.pos, tok.end, message)
    }

    #[cold]
    #[inline(never)]
    fn found_span(&self, pos: Pos, end: usize, expected: &[&str]) -> ParseError {
        let near = self.near(pos, end);
        ParseError {
            message: format!("found {near}, expected {}", expected.join(", ")),
            line: pos.line,
            column: pos.column,
            near,
        }
    }

    #[cold]
    #[inline(never)]
    fn found(&self, tok: &Token, expected: &[&str]) -> ParseError {
        self.found_span(tok.pos, tok.end, expected)
    }

    /// A broken parser invariant, reported rather than panicking.
    #[cold]
    fn internal(&self, what: &str) -> ParseError {
        ParseError {
            message: format!("internal parser error ({what}); please report this query"),
            line: self.lexer_pos().line,
            column: self.lexer_pos().column,
            near: String::new(),
        }
    }

    fn lexer_pos(&self) -> Pos {
        self.peeked.as_ref().map_or(self.lexer.pos(), |t| t.pos)
    }

    #[cold]
    #[inline(never)]
    fn unsupported(&self, at: &Token, what: &str) -> ParseError {
        self.error_at(at, format!("{what} is not supported by PulsarDB"))
    }

    /// The end of a statement: `;` or the end of the query. `clauses` are
    /// those that could still have come, for the error.
    fn end(&mut self, clauses: &[&str]) -> Result<(), ParseError> {
        if matches!(self.peek()?.kind, T::Eof | T::Semicolon) {
            return Ok(());
        }
        let tok = self.bump()?;
        let mut expected = clauses.to_vec();
        expected.push(";");
        Err(self.found(&tok, &expected))
    }

    fn enter(&mut self, at: &Token) -> Result<(), ParseError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.error_at(
                at,
                format!(
                    "query nested too deeply: more than {MAX_NESTING} levels of parentheses or function calls"
                ),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting = self.nesting.saturating_sub(1);
    }

    fn node(&self, expr: Expr, depth: usize, at: &Token) -> Result<Node, ParseError> {
        if depth > MAX_EXPR_DEPTH {
            return Err(self.error_at(
                at,
                format!("expression too deep: more than {MAX_EXPR_DEPTH} levels of operators"),
            ));
        }
        Ok(Node { expr, depth })
    }
}

/// `clauses[from..]`, or nothing.
fn after<'c>(clauses: &'c [&'c str], from: usize) -> &'c [&'c str] {
    clauses.get(from..).unwrap_or_default()
}

/// `Some(s)` unless `s` is empty (`db..m` has no retention policy).
fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

/// Statements.
impl Parser<'_> {
    fn statement(&mut self) -> Result<Statement, ParseError> {
        let first = self.bump()?;
        let unsupported = match first.kind {
            T::Keyword(K::Select) => {
                let s = Box::new(self.select()?);
                return Ok(match self.into.take() {
                    Some(target) => Statement::SelectInto(s, target),
                    None => Statement::Select(s),
                });
            }
            T::Keyword(K::Show) => return self.show(&first),
            T::Keyword(K::Create) => return self.create(&first),
            T::Keyword(K::Drop) => return self.drop(&first),
            T::Keyword(K::Delete) => return self.delete(),
            T::Keyword(K::Explain) => "EXPLAIN",
            T::Keyword(K::Grant) => "GRANT",
            T::Keyword(K::Revoke) => "REVOKE",
            T::Keyword(K::Alter) => "ALTER RETENTION POLICY",
            T::Keyword(K::Set) => "SET PASSWORD",
            T::Keyword(K::Kill) => "KILL QUERY",
            T::Keyword(K::Insert) => {
                return Err(self.error_at(
                    &first,
                    "INSERT is not supported by PulsarDB (it is an influx CLI command): \
                     write line protocol to /write"
                        .to_owned(),
                ));
            }
            _ => return Err(self.found(&first, &["SELECT", "SHOW", "CREATE", "DROP", "DELETE"])),
        };
        Err(self.unsupported(&first, unsupported))
    }

    fn select(&mut self) -> Result<Select, ParseError> {
        const CLAUSES: &[&str] = &[
            "WHERE",
            "GROUP BY",
            "fill(...)",
            "ORDER BY",
            "LIMIT",
            "OFFSET",
            "SLIMIT",
            "SOFFSET",
            "tz(...)",
        ];
        let mut fields = Vec::new();
        loop {
            fields.push(self.field()?);
            if !self.eat(&T::Comma)? {
                break;
            }
        }
        if self.peek_kw(K::Into)? {
            let into = self.bump()?;
            if self.subqueries > 0 {
                return Err(self.error_at(&into, "INTO is not allowed in a subquery".to_owned()));
            }
            self.into = Some(self.write_target()?);
        }
        self.expect_kw(K::From)?;
        let sources = self.sources(true)?;
        let mut next = 0;
        let condition = if self.eat_kw(K::Where)? {
            next = 1;
            Some(self.expr()?)
        } else {
            None
        };
        let mut dimensions = Vec::new();
        if self.eat_kw(K::Group)? {
            self.expect_kw(K::By)?;
            next = 2;
            loop {
                dimensions.push(self.dimension()?);
                if !self.eat(&T::Comma)? {
                    break;
                }
            }
        }
        let fill = if self.peek_word("fill")? {
            next = 3;
            Some(self.fill()?)
        } else {
            None
        };
        let mut order_desc = false;
        if self.eat_kw(K::Order)? {
            next = 4;
            order_desc = self.order_by()?;
        }
        let mut counts = [None; 4];
        for (i, (kw, count)) in [K::Limit, K::Offset, K::Slimit, K::Soffset]
            .into_iter()
            .zip(counts.iter_mut())
            .enumerate()
        {
            if self.eat_kw(kw)? {
                next = 5 + i;
                *count = Some(self.integer()?.0);
            }
        }
        let [limit, offset, slimit, soffset] = counts;
        let tz = if self.peek_word("tz")? {
            next = 9;
            Some(self.tz()?)
        } else {
            None
        };
        // A subquery ends at its closing parenthesis.
        if self.subqueries == 0 || !self.peek_is(&T::RParen)? {
            self.end(after(CLAUSES, next))?;
        }
        Ok(Select {
            fields,
            sources,
            condition,
            dimensions,
            fill,
            order_desc,
            limit,
            offset,
            slimit,
            soffset,
            tz,
        })
    }

    /// One projection: `expr [AS alias]`, or a regex selecting fields.
    fn field(&mut self) -> Result<Field, ParseError> {
        let start = self.peek()?;
        let (start_pos, start_end) = (start.pos, start.end);
        let expr = match self.try_regex()? {
            Some(pattern) => Expr::Regex(pattern),
            None => self.expr()?,
        };
        if let Some(op) = condition_op(&expr) {
            return Err(self.error_span(
                start_pos,
                start_end,
                format!(
                    "invalid operator {} in SELECT clause; operator is intended for WHERE clause",
                    op.symbol()
                ),
            ));
        }
        let alias = if self.eat_kw(K::As)? {
            Some(self.ident()?)
        } else {
            None
        };
        Ok(Field { expr, alias })
    }

    /// `INTO [db.[rp].]measurement` or `... :MEASUREMENT`; the retention
    /// policy is accepted and ignored (a store has one).
    fn write_target(&mut self) -> Result<IntoTarget, ParseError> {
        // As InfluxDB: a name first (`:MEASUREMENT` only after `db..` or `rp.`).
        let mut parts: Vec<Option<String>> = vec![Some(self.ident()?)];
        while self.eat(&T::Dot)? {
            if parts.len() == 3 {
                let tok = self.bump()?;
                return Err(self.error_at(
                    &tok,
                    "too many segments in INTO (at most db.rp.measurement)".to_owned(),
                ));
            }
            if self.peek_is(&T::Colon)? {
                self.bump()?;
                let tok = self.bump()?;
                match tok.kind {
                    T::Keyword(K::Measurement) => parts.push(None),
                    _ => return Err(self.found(&tok, &["MEASUREMENT"])),
                }
                break;
            }
            if self.peek_is(&T::Dot)? {
                // `db..m`: no retention policy named.
                parts.push(Some(String::new()));
                continue;
            }
            parts.push(Some(self.ident_or(&["identifier", ":MEASUREMENT"])?));
        }
        let measurement = parts.pop().flatten();
        let db = match parts.as_slice() {
            [Some(db), _] => non_empty(db.clone()),
            _ => None,
        };
        Ok(IntoTarget { db, measurement })
    }

    /// `FROM` items, comma-separated.
    fn sources(&mut self, in_select: bool) -> Result<Vec<Source>, ParseError> {
        let mut sources = Vec::new();
        loop {
            sources.push(self.source(in_select)?);
            if !self.eat(&T::Comma)? {
                return Ok(sources);
            }
        }
    }

    /// `m`, `rp.m`, `db.rp.m`, `db..m`, `/re/`, `rp./re/`, `db.rp./re/`, and
    /// in a SELECT `(SELECT ...)`.
    fn source(&mut self, in_select: bool) -> Result<Source, ParseError> {
        const EXPECTED: &[&str] = &["identifier", "regex"];
        if in_select && self.peek_is(&T::LParen)? {
            let paren = self.bump()?;
            self.subqueries += 1;
            if self.subqueries > MAX_SUBQUERIES {
                return Err(self.error_at(
                    &paren,
                    format!("subqueries nested more than {MAX_SUBQUERIES} deep"),
                ));
            }
            self.enter(&paren)?;
            self.expect_kw(K::Select)?;
            let inner = self.select()?;
            self.expect(&T::RParen, ")")?;
            self.leave();
            self.subqueries -= 1;
            return Ok(Source::Subquery(Box::new(inner)));
        }
        if let Some(pattern) = self.try_regex()? {
            return Ok(Source::Regex {
                db: None,
                rp: None,
                pattern,
            });
        }
        let mut segments = vec![self.ident_or(EXPECTED)?];
        let mut regex = None;
        while self.peek_is(&T::Dot)? {
            let dot = self.bump()?;
            if segments.len() == 3 {
                return Err(self.error_at(
                    &dot,
                    "too many segments in measurement name (at most db.rp.measurement)".to_owned(),
                ));
            }
            if let Some(pattern) = self.try_regex()? {
                regex = Some(pattern);
                break;
            }
            if self.peek_is(&T::Dot)? {
                segments.push(String::new());
            } else {
                segments.push(self.ident_or(EXPECTED)?);
            }
        }
        let mut it = segments.into_iter();
        let (a, b, c) = (it.next(), it.next(), it.next());
        Ok(match (regex, a, b, c) {
            (Some(pattern), Some(rp), None, None) => Source::Regex {
                db: None,
                rp: non_empty(rp),
                pattern,
            },
            (Some(pattern), Some(db), Some(rp), None) => Source::Regex {
                db: non_empty(db),
                rp: non_empty(rp),
                pattern,
            },
            (None, Some(name), None, None) => Source::Measurement {
                db: None,
                rp: None,
                name,
            },
            (None, Some(rp), Some(name), None) => Source::Measurement {
                db: None,
                rp: non_empty(rp),
                name,
            },
            (None, Some(db), Some(rp), Some(name)) => Source::Measurement {
                db: non_empty(db),
                rp: non_empty(rp),
                name,
            },
            // Unreachable: one to three segments, a regex only after at most two.
            _ => {
                let tok = self.bump()?;
                return Err(self.found(&tok, EXPECTED));
            }
        })
    }

    /// A `GROUP BY` item.
    fn dimension(&mut self) -> Result<Dimension, ParseError> {
        if let Some(pattern) = self.try_regex()? {
            return Ok(Dimension::Regex(pattern));
        }
        let tok = self.bump()?;
        match tok.kind {
            T::Star => Ok(Dimension::Wildcard),
            T::Ident { ref name, .. } if name.eq_ignore_ascii_case("time") => {
                if self.eat(&T::LParen)? {
                    self.time_dimension()
                } else {
                    Err(self.error_at(
                        &tok,
                        "GROUP BY time needs an interval, e.g. time(5m)".to_owned(),
                    ))
                }
            }
            T::Ident { name, .. } => {
                // `"host"::tag`, as Grafana's editor writes it: InfluxDB
                // accepts any cast here and groups by the tag all the same.
                if self.eat(&T::DoubleColon)? {
                    let cast = self.bump()?;
                    let known = match &cast.kind {
                        T::Keyword(K::Field | K::Tag) => true,
                        T::Ident { name: c, .. } => {
                            ["float", "integer", "unsigned", "string", "boolean"]
                                .iter()
                                .any(|t| c.eq_ignore_ascii_case(t))
                        }
                        _ => false,
                    };
                    if !known {
                        return Err(self.found(
                            &cast,
                            &[
                                "float", "integer", "unsigned", "string", "boolean", "field", "tag",
                            ],
                        ));
                    }
                }
                Ok(Dimension::Tag(name))
            }
            _ => Err(self.found(&tok, &["time(...)", "tag key", "*", "regex"])),
        }
    }

    /// `time(interval[, offset])` after `time(`.
    fn time_dimension(&mut self) -> Result<Dimension, ParseError> {
        let (interval_ns, at) = self.signed_duration()?;
        if interval_ns <= 0 {
            return Err(self.error_at(&at, "GROUP BY time interval must be positive".to_owned()));
        }
        let offset_ns = if self.eat(&T::Comma)? {
            self.signed_duration()?.0
        } else {
            0
        };
        self.expect(&T::RParen, ")")?;
        Ok(Dimension::Time {
            interval_ns,
            offset_ns,
        })
    }

    /// `[+|-]<duration>` in ns, and its first token.
    fn signed_duration(&mut self) -> Result<(i64, Token), ParseError> {
        let first = self.bump()?;
        let (negative, tok) = match first.kind {
            T::Minus => (true, self.bump()?),
            T::Plus => (false, self.bump()?),
            _ => (false, first.clone()),
        };
        match tok.kind {
            // Durations are lexed non-negative, so negating cannot overflow.
            T::Duration(ns) => Ok((if negative { -ns } else { ns }, first)),
            _ => Err(self.found(&tok, &["duration"])),
        }
    }

    /// `fill(null | none | previous | linear | <number>)`.
    fn fill(&mut self) -> Result<Fill, ParseError> {
        const EXPECTED: &[&str] = &["null", "none", "previous", "linear", "number"];
        self.bump()?;
        self.expect(&T::LParen, "(")?;
        let tok = self.bump()?;
        let fill = match &tok.kind {
            T::Ident { name, .. } => match name.to_ascii_lowercase().as_str() {
                "null" => Fill::Null,
                "none" => Fill::None,
                "previous" => Fill::Previous,
                "linear" => Fill::Linear,
                _ => return Err(self.found(&tok, EXPECTED)),
            },
            T::Minus | T::Plus => {
                let negative = tok.kind == T::Minus;
                let num = self.bump()?;
                let v = match num.kind {
                    // Fill values above 2^53 round; InfluxDB stores them as float too
                    // for float fields.
                    T::Integer(n) => n as f64,
                    T::Number(v) => v,
                    _ => return Err(self.found(&num, &["number"])),
                };
                Fill::Number(if negative { -v } else { v })
            }
            T::Integer(n) => Fill::Number(*n as f64),
            T::Number(v) => Fill::Number(*v),
            _ => return Err(self.found(&tok, EXPECTED)),
        };
        self.expect(&T::RParen, ")")?;
        Ok(fill)
    }

    /// After `ORDER`: `BY time [ASC|DESC]` or `BY ASC|DESC`; true for DESC.
    fn order_by(&mut self) -> Result<bool, ParseError> {
        self.expect_kw(K::By)?;
        let tok = self.bump()?;
        let desc = match &tok.kind {
            T::Keyword(K::Asc) => false,
            T::Keyword(K::Desc) => true,
            T::Ident { name, .. } if name.eq_ignore_ascii_case("time") => {
                if self.eat_kw(K::Desc)? {
                    true
                } else {
                    self.eat_kw(K::Asc)?;
                    false
                }
            }
            T::Ident { .. } => {
                return Err(self.error_at(&tok, "only ORDER BY time is supported".to_owned()));
            }
            _ => return Err(self.found(&tok, &["time", "ASC", "DESC"])),
        };
        if self.peek_is(&T::Comma)? {
            let comma = self.bump()?;
            return Err(self.error_at(&comma, "only ORDER BY time is supported".to_owned()));
        }
        Ok(desc)
    }

    /// `tz('Area/City')`.
    fn tz(&mut self) -> Result<String, ParseError> {
        self.bump()?;
        self.expect(&T::LParen, "(")?;
        let tok = self.bump()?;
        let T::String(zone) = tok.kind.clone() else {
            return Err(self.found(&tok, &["string"]));
        };
        // As InfluxDB, an unknown zone fails the parse (its zone database
        // is read here; see `crate::tz`).
        if !crate::tz::is_utc(&zone)
            && let Err(e) = crate::tz::load(&zone)
        {
            return Err(self.error_at(&tok, e));
        }
        self.expect(&T::RParen, ")")?;
        Ok(zone)
    }

    fn show(&mut self, show: &Token) -> Result<Statement, ParseError> {
        let what = self.bump()?;
        let unsupported = match what.kind {
            T::Keyword(K::Databases) => {
                self.end(&[])?;
                return Ok(Statement::ShowDatabases);
            }
            T::Keyword(K::Measurements) => return self.show_measurements(),
            T::Keyword(K::Tag) => {
                let which = self.bump()?;
                match which.kind {
                    T::Keyword(K::Keys) => return self.show_tag_keys(),
                    T::Keyword(K::Values)
                        if self.peek_kw(K::Exact)? || self.peek_kw(K::Cardinality)? =>
                    {
                        return self.show_cardinality(Cardinality::TagValues);
                    }
                    T::Keyword(K::Values) => return self.show_tag_values(),
                    T::Keyword(K::Key) => return self.show_cardinality(Cardinality::TagKeys),
                    _ => return Err(self.found(&which, &["KEYS", "VALUES"])),
                }
            }
            T::Keyword(K::Field) => {
                let which = self.bump()?;
                match which.kind {
                    T::Keyword(K::Keys) => return self.show_field_keys(),
                    T::Keyword(K::Key) => return self.show_cardinality(Cardinality::FieldKeys),
                    _ => return Err(self.found(&which, &["KEYS"])),
                }
            }
            T::Keyword(K::Series) if self.peek_kw(K::Exact)? || self.peek_kw(K::Cardinality)? => {
                return self.show_cardinality(Cardinality::Series);
            }
            T::Keyword(K::Series) => return self.show_series(),
            T::Keyword(K::Retention) => {
                self.expect_kw(K::Policies)?;
                let db = if self.eat_kw(K::On)? {
                    Some(self.ident()?)
                } else {
                    None
                };
                let rest: &[&str] = if db.is_some() { &[] } else { &["ON"] };
                self.end(rest)?;
                return Ok(Statement::ShowRetentionPolicies { db });
            }
            T::Keyword(K::Measurement)
                if self.peek_kw(K::Exact)? || self.peek_kw(K::Cardinality)? =>
            {
                return self.show_cardinality(Cardinality::Measurements);
            }
            T::Keyword(K::Users) => {
                self.end(&[])?;
                return Ok(Statement::ShowUsers);
            }
            T::Keyword(K::Grants) => "SHOW GRANTS",
            T::Keyword(K::Stats) => "SHOW STATS",
            T::Keyword(K::Diagnostics) => "SHOW DIAGNOSTICS",
            T::Keyword(K::Shards) => "SHOW SHARDS",
            T::Keyword(K::Shard) => "SHOW SHARD GROUPS",
            T::Keyword(K::Continuous) => {
                self.expect_kw(K::Queries)?;
                self.end(&[])?;
                return Ok(Statement::ShowContinuousQueries);
            }
            T::Keyword(K::Queries) => "SHOW QUERIES",
            T::Keyword(K::Subscriptions) => "SHOW SUBSCRIPTIONS",
            _ => {
                return Err(self.found(
                    &what,
                    &[
                        "DATABASES",
                        "MEASUREMENTS",
                        "TAG KEYS",
                        "TAG VALUES",
                        "FIELD KEYS",
                        "SERIES",
                        "RETENTION POLICIES",
                    ],
                ));
            }
        };
        Err(self.unsupported(show, unsupported))
    }

    /// `ON db`, if present.
    fn on_db(&mut self) -> Result<Option<String>, ParseError> {
        if self.eat_kw(K::On)? {
            Ok(Some(self.ident()?))
        } else {
            Ok(None)
        }
    }

    /// `[ON db] [FROM sources]`, and the index of the last present in a
    /// statement's clause list (which starts with them).
    #[allow(clippy::type_complexity, reason = "the three parts of one prefix")]
    fn on_db_from(&mut self) -> Result<(Option<String>, Option<Vec<Source>>, usize), ParseError> {
        let db = self.on_db()?;
        let sources = self.optional_from()?;
        let next = if sources.is_some() {
            2
        } else {
            usize::from(db.is_some())
        };
        Ok((db, sources, next))
    }

    /// `WITH KEY (= k | != k | IN (...) | =~ /re/ | !~ /re/)`, required;
    /// `clauses` (with WITH KEY at index 2) and `next` name what could have
    /// come instead.
    fn with_key(&mut self, clauses: &[&str], next: usize) -> Result<NameMatch, ParseError> {
        if !self.peek_kw(K::With)? {
            let tok = self.bump()?;
            let expected = clauses.get(next..=2).unwrap_or_default();
            return Err(self.found(&tok, expected));
        }
        self.bump()?;
        self.expect_kw(K::Key)?;
        self.tag_key_match()
    }

    fn optional_from(&mut self) -> Result<Option<Vec<Source>>, ParseError> {
        if self.eat_kw(K::From)? {
            Ok(Some(self.sources(false)?))
        } else {
            Ok(None)
        }
    }

    fn where_condition(&mut self) -> Result<Option<Expr>, ParseError> {
        if self.eat_kw(K::Where)? {
            Ok(Some(self.expr()?))
        } else {
            Ok(None)
        }
    }

    /// `LIMIT n`, `OFFSET n` (each optional, in that order), and the index
    /// of the last clause present (`next` if neither).
    fn limit_offset(
        &mut self,
        next: usize,
        at: usize,
    ) -> Result<(Option<u64>, Option<u64>, usize), ParseError> {
        let mut next = next;
        let limit = if self.eat_kw(K::Limit)? {
            next = at + 1;
            Some(self.integer()?.0)
        } else {
            None
        };
        let offset = if self.eat_kw(K::Offset)? {
            next = at + 2;
            Some(self.integer()?.0)
        } else {
            None
        };
        Ok((limit, offset, next))
    }

    fn show_measurements(&mut self) -> Result<Statement, ParseError> {
        const CLAUSES: &[&str] = &["ON", "WITH MEASUREMENT", "WHERE", "LIMIT", "OFFSET"];
        let mut next = 0;
        let db = self.on_db()?;
        if db.is_some() {
            next = 1;
        }
        let with = if self.eat_kw(K::With)? {
            self.expect_kw(K::Measurement)?;
            next = 2;
            Some(self.measurement_match()?)
        } else {
            None
        };
        let condition = self.where_condition()?;
        if condition.is_some() {
            next = 3;
        }
        let (limit, offset, next) = self.limit_offset(next, 3)?;
        self.end(after(CLAUSES, next))?;
        Ok(Statement::ShowMeasurements {
            db,
            with,
            condition,
            limit,
            offset,
        })
    }

    /// After `WITH MEASUREMENT`: `= name`, `!= name`, `=~ /re/`, `!~ /re/`
    /// (`= /re/` too, which InfluxDB also reads as a regex match).
    fn measurement_match(&mut self) -> Result<NameMatch, ParseError> {
        let op = self.bump()?;
        Ok(match op.kind {
            T::Eq => match self.try_regex()? {
                Some(pattern) => NameMatch::Regex(pattern),
                None => NameMatch::Eq(self.ident_or(&["identifier", "regex"])?),
            },
            T::Ne => match self.try_regex()? {
                Some(pattern) => NameMatch::NotRegex(pattern),
                None => NameMatch::Ne(self.ident_or(&["identifier", "regex"])?),
            },
            T::EqRegex => NameMatch::Regex(self.regex()?),
            T::NeRegex => NameMatch::NotRegex(self.regex()?),
            _ => return Err(self.found(&op, &["=", "!=", "=~", "!~"])),
        })
    }

    fn show_tag_keys(&mut self) -> Result<Statement, ParseError> {
        const CLAUSES: &[&str] = &["ON", "FROM", "WHERE", "LIMIT", "OFFSET"];
        let (db, sources, mut next) = self.on_db_from()?;
        let condition = self.where_condition()?;
        if condition.is_some() {
            next = 3;
        }
        let (limit, offset, next) = self.limit_offset(next, 3)?;
        self.end(after(CLAUSES, next))?;
        Ok(Statement::ShowTagKeys {
            db,
            sources: sources.unwrap_or_default(),
            condition,
            limit,
            offset,
        })
    }

    fn show_tag_values(&mut self) -> Result<Statement, ParseError> {
        const CLAUSES: &[&str] = &["ON", "FROM", "WITH KEY", "WHERE", "LIMIT", "OFFSET"];
        let (db, sources, mut next) = self.on_db_from()?;
        let key = self.with_key(CLAUSES, next)?;
        next = 3;
        let condition = self.where_condition()?;
        if condition.is_some() {
            next = 4;
        }
        let (limit, offset, next) = self.limit_offset(next, 4)?;
        self.end(after(CLAUSES, next))?;
        Ok(Statement::ShowTagValues {
            db,
            sources: sources.unwrap_or_default(),
            key,
            condition,
            limit,
            offset,
        })
    }

    /// After `WITH KEY`: `= k`, `!= k`, `IN (k, ...)`, `=~ /re/`, `!~ /re/`.
    fn tag_key_match(&mut self) -> Result<NameMatch, ParseError> {
        let op = self.bump()?;
        Ok(match op.kind {
            T::Eq => NameMatch::Eq(self.ident()?),
            T::Ne => NameMatch::Ne(self.ident()?),
            T::EqRegex => NameMatch::Regex(self.regex()?),
            T::NeRegex => NameMatch::NotRegex(self.regex()?),
            T::Keyword(K::In) => {
                self.expect(&T::LParen, "(")?;
                let mut keys = vec![self.ident()?];
                loop {
                    let tok = self.bump()?;
                    match tok.kind {
                        T::Comma => keys.push(self.ident()?),
                        T::RParen => break,
                        _ => return Err(self.found(&tok, &[")"])),
                    }
                }
                NameMatch::In(keys)
            }
            _ => return Err(self.found(&op, &["=", "!=", "IN", "=~", "!~"])),
        })
    }

    fn show_field_keys(&mut self) -> Result<Statement, ParseError> {
        const CLAUSES: &[&str] = &["ON", "FROM", "LIMIT", "OFFSET"];
        let (db, sources, next) = self.on_db_from()?;
        let (limit, offset, next) = self.limit_offset(next, 2)?;
        self.end(after(CLAUSES, next))?;
        Ok(Statement::ShowFieldKeys {
            db,
            sources: sources.unwrap_or_default(),
            limit,
            offset,
        })
    }

    /// After `SHOW SERIES` (or `MEASUREMENT`, `TAG KEY`, `TAG VALUES`,
    /// `FIELD KEY`): `[EXACT] CARDINALITY` and the clauses.
    fn show_cardinality(&mut self, of: Cardinality) -> Result<Statement, ParseError> {
        const CLAUSES: &[&str] = &["ON", "FROM", "WITH KEY", "WHERE", "LIMIT", "OFFSET"];
        let exact = self.eat_kw(K::Exact)?;
        self.expect_kw(K::Cardinality)?;
        let (db, sources, mut next) = self.on_db_from()?;
        // WITH KEY, required, only after TAG VALUES (and only listed there).
        let key = if of == Cardinality::TagValues {
            let key = self.with_key(CLAUSES, next)?;
            next = 3;
            Some(key)
        } else {
            None
        };
        let condition = self.where_condition()?;
        if condition.is_some() {
            next = 4;
        }
        if self.peek_kw(K::Group)? {
            let tok = self.bump()?;
            return Err(self.unsupported(&tok, "GROUP BY in SHOW ... CARDINALITY"));
        }
        let (limit, offset, next) = self.limit_offset(next, 4)?;
        let clauses: Vec<&str> = after(CLAUSES, next)
            .iter()
            .copied()
            .filter(|c| *c != "WITH KEY" || of == Cardinality::TagValues)
            .collect();
        self.end(&clauses)?;
        Ok(Statement::ShowCardinality {
            of,
            exact,
            db,
            sources: sources.unwrap_or_default(),
            key,
            condition,
            limit,
            offset,
        })
    }

    fn show_series(&mut self) -> Result<Statement, ParseError> {
        const CLAUSES: &[&str] = &["ON", "FROM", "WHERE", "LIMIT", "OFFSET"];
        let (db, sources, mut next) = self.on_db_from()?;
        let condition = self.where_condition()?;
        if condition.is_some() {
            next = 3;
        }
        let (limit, offset, next) = self.limit_offset(next, 3)?;
        self.end(after(CLAUSES, next))?;
        Ok(Statement::ShowSeries {
            db,
            sources: sources.unwrap_or_default(),
            condition,
            limit,
            offset,
        })
    }

    fn create(&mut self, create: &Token) -> Result<Statement, ParseError> {
        let what = self.bump()?;
        let unsupported = match what.kind {
            T::Keyword(K::Database) => return self.create_database(),
            T::Keyword(K::User) => "CREATE USER",
            T::Keyword(K::Retention) => "CREATE RETENTION POLICY",
            T::Keyword(K::Continuous) => "CREATE CONTINUOUS QUERY",
            T::Keyword(K::Subscription) => "CREATE SUBSCRIPTION",
            _ => return Err(self.found(&what, &["DATABASE"])),
        };
        Err(self.unsupported(create, unsupported))
    }

    /// After `CREATE DATABASE`: `name [WITH [DURATION d] [REPLICATION n]
    /// [SHARD DURATION d] [FUTURE LIMIT d] [PAST LIMIT d] [NAME rp]]`.
    /// The options are checked as InfluxDB does, then dropped (PulsarDB
    /// has one retention setting for the whole store).
    fn create_database(&mut self) -> Result<Statement, ParseError> {
        let name = self.ident()?;
        if !self.eat_kw(K::With)? {
            self.end(&["WITH"])?;
            return Ok(Statement::CreateDatabase { name });
        }
        let mut any = false;
        if self.eat_kw(K::Duration)? {
            any = true;
            if !self.eat_kw(K::Inf)? {
                self.duration()?;
            }
        }
        if self.eat_kw(K::Replication)? {
            any = true;
            let (n, tok) = self.integer()?;
            if n == 0 || n > i32::MAX as u64 {
                return Err(self.error_at(
                    &tok,
                    format!("invalid value {n}: must be 1 <= n <= {}", i32::MAX),
                ));
            }
        }
        if self.eat_kw(K::Shard)? {
            any = true;
            self.expect_kw(K::Duration)?;
            if self.peek_kw(K::Inf)? {
                let inf = self.bump()?;
                return Err(
                    self.error_at(&inf, "invalid duration INF for shard duration".to_owned())
                );
            }
            self.duration()?;
        }
        for word in ["future", "past"] {
            if self.peek_word(word)? {
                any = true;
                self.bump()?;
                self.expect_kw(K::Limit)?;
                self.duration()?;
            }
        }
        if self.eat_kw(K::Name)? {
            any = true;
            self.ident()?;
        }
        if !any {
            let tok = self.bump()?;
            return Err(self.found(&tok, &["DURATION", "REPLICATION", "SHARD", "NAME"]));
        }
        self.end(&[])?;
        Ok(Statement::CreateDatabase { name })
    }

    fn duration(&mut self) -> Result<i64, ParseError> {
        let tok = self.bump()?;
        match tok.kind {
            T::Duration(ns) => Ok(ns),
            _ => Err(self.found(&tok, &["duration"])),
        }
    }

    fn drop(&mut self, drop: &Token) -> Result<Statement, ParseError> {
        let what = self.bump()?;
        let unsupported = match what.kind {
            T::Keyword(K::Database) => {
                let name = self.ident()?;
                self.end(&[])?;
                return Ok(Statement::DropDatabase { name });
            }
            T::Keyword(K::Measurement) => {
                let name = self.ident()?;
                self.end(&[])?;
                return Ok(Statement::DropMeasurement { name });
            }
            T::Keyword(K::Series) => {
                let (sources, condition) = self.series_filter("DROP SERIES", true)?;
                return Ok(Statement::DropSeries { sources, condition });
            }
            T::Keyword(K::User) => "DROP USER",
            T::Keyword(K::Retention) => "DROP RETENTION POLICY",
            T::Keyword(K::Continuous) => "DROP CONTINUOUS QUERY",
            T::Keyword(K::Subscription) => "DROP SUBSCRIPTION",
            T::Keyword(K::Shard) => "DROP SHARD",
            _ => return Err(self.found(&what, &["DATABASE", "MEASUREMENT", "SERIES"])),
        };
        Err(self.unsupported(drop, unsupported))
    }

    fn delete(&mut self) -> Result<Statement, ParseError> {
        let (sources, condition) = self.series_filter("DELETE", false)?;
        Ok(Statement::Delete { sources, condition })
    }

    /// `[FROM sources] [WHERE cond]`, at least one, for `DROP SERIES` and
    /// `DELETE`. As in InfluxDB these act on the database of the request:
    /// a source may not name another database (nor, for `DROP SERIES`, a
    /// retention policy).
    fn series_filter(
        &mut self,
        statement: &str,
        no_rp: bool,
    ) -> Result<(Vec<Source>, Option<Expr>), ParseError> {
        let mut sources = Vec::new();
        if self.peek_kw(K::From)? {
            let from = self.bump()?;
            sources = self.sources(false)?;
            let qualified = sources.iter().any(|s| match s {
                Source::Measurement { db, rp, .. } | Source::Regex { db, rp, .. } => {
                    db.is_some() || (no_rp && rp.is_some())
                }
                Source::Subquery(_) => false,
            });
            if qualified {
                let what = if no_rp {
                    "a database or retention policy"
                } else {
                    "a database"
                };
                return Err(self.error_at(
                    &from,
                    format!("{statement} FROM cannot name {what}: it acts on the database of the request (db=)"),
                ));
            }
        }
        let condition = self.where_condition()?;
        if sources.is_empty() && condition.is_none() {
            let tok = self.bump()?;
            return Err(self.found(&tok, &["FROM", "WHERE"]));
        }
        let rest: &[&str] = if condition.is_some() { &[] } else { &["WHERE"] };
        self.end(rest)?;
        Ok((sources, condition))
    }
}

/// Expressions.
impl Parser<'_> {
    fn expr(&mut self) -> Result<Expr, ParseError> {
        Ok(self.binary()?.expr)
    }

    /// The binary operator next, if any, and its precedence (1 binds loosest).
    fn peek_binop(&mut self) -> Result<Option<(BinOp, u8)>, ParseError> {
        let op = match &self.peek()?.kind {
            T::Keyword(K::Or) => (BinOp::Or, 1),
            T::Keyword(K::And) => (BinOp::And, 2),
            T::Eq => (BinOp::Eq, 3),
            T::Ne => (BinOp::Ne, 3),
            T::Lt => (BinOp::Lt, 3),
            T::Le => (BinOp::Lte, 3),
            T::Gt => (BinOp::Gt, 3),
            T::Ge => (BinOp::Gte, 3),
            T::EqRegex => (BinOp::EqRegex, 3),
            T::NeRegex => (BinOp::NeRegex, 3),
            T::Plus => (BinOp::Add, 4),
            T::Minus => (BinOp::Sub, 4),
            T::Star => (BinOp::Mul, 5),
            T::Slash => (BinOp::Div, 5),
            T::Percent => (BinOp::Mod, 5),
            T::Keyword(K::In) => {
                let tok = self.bump()?;
                return Err(self.error_at(
                    &tok,
                    "IN is not supported in expressions: use tag = 'a' OR tag = 'b', or tag =~ /^(a|b)$/"
                        .to_owned(),
                ));
            }
            T::Illegal(c @ ('&' | '|' | '^')) => {
                let c = *c;
                let tok = self.bump()?;
                return Err(self.error_at(
                    &tok,
                    format!("bitwise operator {c} is not supported by PulsarDB"),
                ));
            }
            _ => return Ok(None),
        };
        Ok(Some(op))
    }

    /// An expression: operands joined by binary operators.
    ///
    /// Operator precedence parsing with an explicit operator stack rather
    /// than one recursive call per precedence level: recursion then happens
    /// only at parentheses and calls, which keeps the stack used per
    /// [`MAX_NESTING`] level to a couple of frames.
    fn binary(&mut self) -> Result<Node, ParseError> {
        let mut operands = vec![self.unary()?];
        // Strictly increasing precedence from bottom to top, so at most five.
        let mut operators: Vec<(BinOp, u8, Token)> = Vec::new();
        while let Some((op, precedence)) = self.peek_binop()? {
            let op_tok = self.bump()?;
            // Left-associative: an operator waiting with the same or higher
            // precedence takes its operands first.
            while operators
                .last()
                .is_some_and(|&(_, waiting, _)| waiting >= precedence)
            {
                self.reduce(&mut operands, &mut operators)?;
            }
            operators.push((op, precedence, op_tok));
            operands.push(if matches!(op, BinOp::EqRegex | BinOp::NeRegex) {
                Node::leaf(Expr::Regex(self.regex()?))
            } else {
                self.unary()?
            });
        }
        while !operators.is_empty() {
            self.reduce(&mut operands, &mut operators)?;
        }
        match (operands.pop(), operands.is_empty()) {
            (Some(node), true) => Ok(node),
            _ => Err(self.internal("operand stack not reduced to one")),
        }
    }

    /// Applies the top operator to the top two operands.
    fn reduce(
        &self,
        operands: &mut Vec<Node>,
        operators: &mut Vec<(BinOp, u8, Token)>,
    ) -> Result<(), ParseError> {
        let (Some((op, _, op_tok)), Some(rhs), Some(lhs)) =
            (operators.pop(), operands.pop(), operands.pop())
        else {
            return Err(self.internal("operator without two operands"));
        };
        let depth = lhs.depth.max(rhs.depth) + 1;
        let expr = Expr::Binary {
            op,
            lhs: Box::new(lhs.expr),
            rhs: Box::new(rhs.expr),
        };
        operands.push(self.node(expr, depth, &op_tok)?);
        Ok(())
    }

    /// An operand: literal, variable, call, `*`, `( expr )`, or a signed one.
    fn unary(&mut self) -> Result<Node, ParseError> {
        let tok = self.bump()?;
        let expr = match tok.kind {
            T::LParen => {
                self.enter(&tok)?;
                let inner = self.binary()?;
                self.expect(&T::RParen, ")")?;
                self.leave();
                return self.node(Expr::Paren(Box::new(inner.expr)), inner.depth + 1, &tok);
            }
            T::Minus | T::Plus => return self.signed(tok),
            T::Ident { ref name, .. } if self.peek_is(&T::LParen)? => {
                let name = name.to_ascii_lowercase();
                let paren = self.bump()?;
                return self.call(name, &paren);
            }
            T::Ident { name, .. } => self.var_ref(name)?,
            T::Keyword(K::Distinct) => {
                // `DISTINCT x` is InfluxDB's spelling of `distinct(x)`.
                let next = self.bump()?;
                match next.kind {
                    T::LParen => return self.call("distinct".to_owned(), &next),
                    T::Ident { name, .. } => {
                        let var = Expr::Var { name, kind: None };
                        return Ok(Node {
                            expr: Expr::Call {
                                name: "distinct".to_owned(),
                                args: vec![var],
                            },
                            depth: 2,
                        });
                    }
                    _ => return Err(self.found(&next, &["(", "identifier"])),
                }
            }
            T::Keyword(K::True) => Expr::Bool(true),
            T::Keyword(K::False) => Expr::Bool(false),
            T::String(s) => Expr::String(s),
            T::Integer(n) => match i64::try_from(n) {
                Ok(v) => Expr::Integer(v),
                Err(_) => {
                    return Err(self.error_at(
                        &tok,
                        format!("integer {n} is out of range (max {})", i64::MAX),
                    ));
                }
            },
            T::Number(v) => Expr::Number(v),
            T::Duration(ns) => Expr::Duration(ns),
            T::Star => {
                if self.eat(&T::DoubleColon)? {
                    let kind = self.bump()?;
                    match kind.kind {
                        T::Keyword(K::Field) => Expr::Wildcard(Some(VarKind::Field)),
                        T::Keyword(K::Tag) => Expr::Wildcard(Some(VarKind::Tag)),
                        _ => return Err(self.found(&kind, &["field", "tag"])),
                    }
                } else {
                    Expr::Wildcard(None)
                }
            }
            T::Slash => {
                let near = self.near(tok.pos, tok.end);
                return Err(self.error_at(
                    &tok,
                    format!(
                        "found {near}, expected {} (a regex is only allowed after =~ or !~)",
                        OPERAND.join(", ")
                    ),
                ));
            }
            _ => return Err(self.found(&tok, OPERAND)),
        };
        Ok(Node::leaf(expr))
    }

    /// After a unary `+`/`-`: a negative literal, or `-1 * operand` as in
    /// InfluxDB (the AST has no negation node).
    fn signed(&mut self, sign: Token) -> Result<Node, ParseError> {
        let negative = sign.kind == T::Minus;
        let tok = self.bump()?;
        let expr = match tok.kind {
            T::Integer(n) => {
                let v = if negative {
                    // -9223372036854775808 fits although its magnitude does not.
                    0i64.checked_sub_unsigned(n)
                } else {
                    i64::try_from(n).ok()
                };
                match v {
                    Some(v) => Expr::Integer(v),
                    None => {
                        let near = self.near(sign.pos, tok.end);
                        return Err(self.error_at(&sign, format!("integer {near} is out of range")));
                    }
                }
            }
            T::Number(v) => Expr::Number(if negative { -v } else { v }),
            // Durations are lexed non-negative, so negating cannot overflow.
            T::Duration(ns) => Expr::Duration(if negative { -ns } else { ns }),
            T::LParen | T::Ident { .. } => {
                self.peeked = Some(tok);
                let operand = self.unary()?;
                if !negative {
                    return Ok(operand);
                }
                let depth = operand.depth + 1;
                let expr = Expr::Binary {
                    op: BinOp::Mul,
                    lhs: Box::new(Expr::Integer(-1)),
                    rhs: Box::new(operand.expr),
                };
                return self.node(expr, depth, &sign);
            }
            _ => return Err(self.found(&tok, &["identifier", "number", "duration", "("])),
        };
        Ok(Node::leaf(expr))
    }

    /// A call after `name(`; arguments may be regexes, as in InfluxDB.
    fn call(&mut self, name: String, paren: &Token) -> Result<Node, ParseError> {
        self.enter(paren)?;
        let mut args = Vec::new();
        let mut depth = 1;
        if !self.eat(&T::RParen)? {
            loop {
                let arg = match self.try_regex()? {
                    Some(pattern) => Node::leaf(Expr::Regex(pattern)),
                    None => self.binary()?,
                };
                depth = depth.max(arg.depth + 1);
                args.push(arg.expr);
                let tok = self.bump()?;
                match tok.kind {
                    T::Comma => {}
                    T::RParen => break,
                    _ => return Err(self.found(&tok, &[")"])),
                }
            }
        }
        self.leave();
        self.node(Expr::Call { name, args }, depth, paren)
    }

    /// A variable after its first identifier: more `.segments` are joined
    /// (`cpu.usage` is the field `cpu.usage`, as in InfluxDB), then an
    /// optional `::field` / `::tag` or type cast (`::integer`).
    fn var_ref(&mut self, first: String) -> Result<Expr, ParseError> {
        let mut name = first;
        while self.eat(&T::Dot)? {
            name.push('.');
            name.push_str(&self.ident()?);
        }
        let kind = if self.eat(&T::DoubleColon)? {
            let tok = self.bump()?;
            match &tok.kind {
                T::Keyword(K::Field) => Some(VarKind::Field),
                T::Keyword(K::Tag) => Some(VarKind::Tag),
                T::Ident { name: cast, .. } => match cast.to_ascii_lowercase().as_str() {
                    "float" => Some(VarKind::Float),
                    "integer" => Some(VarKind::Integer),
                    "unsigned" => Some(VarKind::Unsigned),
                    "string" => Some(VarKind::String),
                    "boolean" => Some(VarKind::Boolean),
                    _ => return Err(self.found(&tok, CASTS)),
                },
                _ => return Err(self.found(&tok, CASTS)),
            }
        } else {
            None
        };
        Ok(Expr::Var { name, kind })
    }
}

/// The first boolean operator in a projection (InfluxDB rejects them
/// there). Iterative: the tree may be [`MAX_EXPR_DEPTH`] deep.
fn condition_op(expr: &Expr) -> Option<BinOp> {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Binary { op, lhs, rhs } => {
                if !matches!(
                    op,
                    BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod
                ) {
                    return Some(*op);
                }
                stack.push(rhs);
                stack.push(lhs);
            }
            Expr::Paren(inner) => stack.push(inner),
            Expr::Call { args, .. } => stack.extend(args.iter().rev()),
            _ => {}
        }
    }
    None
}
