//! The InfluxQL syntax tree: what the parser produces and the planner runs.
//!
//! Names are as written after unquoting; keywords are not kept. Function
//! names are lowercased. Time literals are resolved by the planner (a
//! string compared with `time` is RFC 3339; a duration literal compared
//! with `time` is an absolute time in ns since the epoch, as in InfluxDB:
//! `time >= 1596240000000ms`).

/// One statement of a query string (statements are separated by `;`).
#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    /// `SELECT ...`
    Select(Box<Select>),
    /// `SHOW DATABASES`
    ShowDatabases,
    /// `SHOW MEASUREMENTS [ON db] [WITH MEASUREMENT =~ /re/ | = name] [WHERE cond] [LIMIT n] [OFFSET n]`
    ShowMeasurements {
        /// `ON db`.
        db: Option<String>,
        /// `WITH MEASUREMENT ...`.
        with: Option<NameMatch>,
        /// `WHERE` (on tags).
        condition: Option<Expr>,
        /// `LIMIT`.
        limit: Option<u64>,
        /// `OFFSET`.
        offset: Option<u64>,
    },
    /// `SHOW TAG KEYS [ON db] [FROM sources] [WHERE cond] [LIMIT n] [OFFSET n]`
    ShowTagKeys {
        /// `ON db`.
        db: Option<String>,
        /// `FROM`.
        sources: Vec<Source>,
        /// `WHERE`.
        condition: Option<Expr>,
        /// `LIMIT`.
        limit: Option<u64>,
        /// `OFFSET`.
        offset: Option<u64>,
    },
    /// `SHOW TAG VALUES [ON db] [FROM sources] WITH KEY (= k | != k | IN (k, ...) | =~ /re/ | !~ /re/) [WHERE cond] [LIMIT n] [OFFSET n]`
    ShowTagValues {
        /// `ON db`.
        db: Option<String>,
        /// `FROM`.
        sources: Vec<Source>,
        /// `WITH KEY ...`.
        key: NameMatch,
        /// `WHERE`.
        condition: Option<Expr>,
        /// `LIMIT`.
        limit: Option<u64>,
        /// `OFFSET`.
        offset: Option<u64>,
    },
    /// `SHOW FIELD KEYS [ON db] [FROM sources] [LIMIT n] [OFFSET n]`
    ShowFieldKeys {
        /// `ON db`.
        db: Option<String>,
        /// `FROM`.
        sources: Vec<Source>,
        /// `LIMIT`.
        limit: Option<u64>,
        /// `OFFSET`.
        offset: Option<u64>,
    },
    /// `SHOW SERIES [ON db] [FROM sources] [WHERE cond] [LIMIT n] [OFFSET n]`
    ShowSeries {
        /// `ON db`.
        db: Option<String>,
        /// `FROM`.
        sources: Vec<Source>,
        /// `WHERE`.
        condition: Option<Expr>,
        /// `LIMIT`.
        limit: Option<u64>,
        /// `OFFSET`.
        offset: Option<u64>,
    },
    /// `SHOW SERIES|MEASUREMENT|TAG KEY|TAG VALUES|FIELD KEY [EXACT] CARDINALITY
    /// [ON db] [FROM sources] [WITH KEY ...] [WHERE cond] [LIMIT n] [OFFSET n]`
    /// (`WITH KEY`, required, only for TAG VALUES).
    ShowCardinality {
        /// What is counted.
        of: Cardinality,
        /// `EXACT`.
        exact: bool,
        /// `ON db`.
        db: Option<String>,
        /// `FROM`.
        sources: Vec<Source>,
        /// `WITH KEY ...` (TAG VALUES).
        key: Option<NameMatch>,
        /// `WHERE` (on tags).
        condition: Option<Expr>,
        /// `LIMIT` (on each answer's one row, as in InfluxDB).
        limit: Option<u64>,
        /// `OFFSET`.
        offset: Option<u64>,
    },
    /// `SHOW USERS`: PulsarDB has tokens, not users (an empty list).
    ShowUsers,
    /// `SHOW CONTINUOUS QUERIES`: none exist (each database, empty).
    ShowContinuousQueries,
    /// `SHOW RETENTION POLICIES [ON db]`
    ShowRetentionPolicies {
        /// `ON db`.
        db: Option<String>,
    },
    /// `CREATE DATABASE name [WITH ...]` (the WITH options are accepted and ignored).
    CreateDatabase {
        /// Name.
        name: String,
    },
    /// `DROP DATABASE name`
    DropDatabase {
        /// Name.
        name: String,
    },
    /// `DROP MEASUREMENT name`
    DropMeasurement {
        /// Name.
        name: String,
    },
    /// `DROP SERIES [FROM sources] [WHERE cond]`
    DropSeries {
        /// `FROM`.
        sources: Vec<Source>,
        /// `WHERE`.
        condition: Option<Expr>,
    },
    /// `DELETE [FROM sources] [WHERE cond]`
    Delete {
        /// `FROM`.
        sources: Vec<Source>,
        /// `WHERE`.
        condition: Option<Expr>,
    },
    /// `SELECT ... INTO target FROM ...`: the answer written as points.
    SelectInto(Box<Select>, IntoTarget),
}

/// What `SHOW ... CARDINALITY` counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cardinality {
    /// `SHOW SERIES CARDINALITY`: series per measurement.
    Series,
    /// `SHOW MEASUREMENT CARDINALITY`: measurements.
    Measurements,
    /// `SHOW TAG KEY CARDINALITY`: tag keys per measurement.
    TagKeys,
    /// `SHOW TAG VALUES CARDINALITY`: (key, value) pairs per measurement.
    TagValues,
    /// `SHOW FIELD KEY CARDINALITY`: field keys per measurement.
    FieldKeys,
}

impl Cardinality {
    /// The statement's words, as InfluxDB's messages name it.
    pub fn words(self) -> &'static str {
        match self {
            Cardinality::Series => "SERIES",
            Cardinality::Measurements => "MEASUREMENT",
            Cardinality::TagKeys => "TAG KEY",
            Cardinality::TagValues => "TAG VALUES",
            Cardinality::FieldKeys => "FIELD KEY",
        }
    }
}

/// Where `SELECT ... INTO` writes: `[db.[rp].]measurement`, or
/// `:MEASUREMENT` (each series into its own measurement's name).
#[derive(Clone, Debug, PartialEq)]
pub struct IntoTarget {
    /// Database, if named.
    pub db: Option<String>,
    /// Measurement; `None` for `:MEASUREMENT`.
    pub measurement: Option<String>,
}

impl Statement {
    /// Whether the statement changes data (only allowed with POST).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Statement::CreateDatabase { .. }
                | Statement::DropDatabase { .. }
                | Statement::DropMeasurement { .. }
                | Statement::DropSeries { .. }
                | Statement::Delete { .. }
                | Statement::SelectInto(..)
        )
    }
}

/// `= name`, `!= name`, `IN (a, b)`, `=~ /re/`, `!~ /re/` on a name.
#[derive(Clone, Debug, PartialEq)]
pub enum NameMatch {
    /// `= name`
    Eq(String),
    /// `!= name` / `<> name`
    Ne(String),
    /// `IN (a, b, ...)`
    In(Vec<String>),
    /// `=~ /re/` (the pattern, without slashes)
    Regex(String),
    /// `!~ /re/`
    NotRegex(String),
}

/// `SELECT fields FROM sources [WHERE cond] [GROUP BY dims] [fill(...)]
/// [ORDER BY time [ASC|DESC]] [LIMIT n] [OFFSET n] [SLIMIT n] [SOFFSET n] [tz('...')]`
#[derive(Clone, Debug, PartialEq)]
pub struct Select {
    /// Projections, in order.
    pub fields: Vec<Field>,
    /// `FROM`.
    pub sources: Vec<Source>,
    /// `WHERE`.
    pub condition: Option<Expr>,
    /// `GROUP BY`.
    pub dimensions: Vec<Dimension>,
    /// `fill(...)`; `None` when absent (the default is `fill(null)`).
    pub fill: Option<Fill>,
    /// `ORDER BY time DESC`.
    pub order_desc: bool,
    /// `LIMIT`.
    pub limit: Option<u64>,
    /// `OFFSET`.
    pub offset: Option<u64>,
    /// `SLIMIT`.
    pub slimit: Option<u64>,
    /// `SOFFSET`.
    pub soffset: Option<u64>,
    /// `tz('Area/City')`.
    pub tz: Option<String>,
}

/// One projection: `expr [AS alias]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The expression.
    pub expr: Expr,
    /// `AS alias`.
    pub alias: Option<String>,
}

/// A `FROM` item: `[db.][rp.]name`, `[db.][rp.]/regex/` or `(SELECT ...)`.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A measurement.
    Measurement {
        /// Database, if qualified (`db.rp.m` or `db..m`).
        db: Option<String>,
        /// Retention policy, if qualified.
        rp: Option<String>,
        /// Name.
        name: String,
    },
    /// Every measurement matching a regex.
    Regex {
        /// Database, if qualified.
        db: Option<String>,
        /// Retention policy, if qualified.
        rp: Option<String>,
        /// The pattern, without slashes.
        pattern: String,
    },
    /// `(SELECT ...)`: the rows of a subquery.
    Subquery(Box<Select>),
}

/// A `GROUP BY` item.
#[derive(Clone, Debug, PartialEq)]
pub enum Dimension {
    /// `time(interval[, offset])`; offset may be negative. The expressions
    /// are duration literals in ns (`time(5m, -1m)` → 300e9, -60e9).
    Time {
        /// Interval, ns.
        interval_ns: i64,
        /// Offset, ns.
        offset_ns: i64,
    },
    /// A tag key.
    Tag(String),
    /// `*`: every tag key.
    Wildcard,
    /// `/regex/`: tag keys matching.
    Regex(String),
}

/// `fill(...)`.
#[derive(Clone, Debug, PartialEq)]
pub enum Fill {
    /// `fill(null)`: empty windows are reported with null values (default).
    Null,
    /// `fill(none)`: empty windows are omitted.
    None,
    /// `fill(previous)`.
    Previous,
    /// `fill(linear)`.
    Linear,
    /// `fill(<number>)`.
    Number(f64),
}

/// How a variable reference was qualified: `"x"::tag`, `"x"::field`, or a
/// type cast of a field's values (`"x"::integer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VarKind {
    /// `::tag`
    Tag,
    /// `::field`
    Field,
    /// `::float`
    Float,
    /// `::integer`
    Integer,
    /// `::unsigned`
    Unsigned,
    /// `::string`
    String,
    /// `::boolean`
    Boolean,
    /// A cast the field's stored type cannot take (a boolean to a number,
    /// a number to boolean or string): no value at all. Made by the planner
    /// from the store's field types, never parsed.
    Nothing,
}

impl VarKind {
    /// Whether values change under this qualifier (a cast, not `::field`
    /// or `::tag`).
    pub fn is_cast(self) -> bool {
        !matches!(self, VarKind::Tag | VarKind::Field)
    }
}

/// Binary operators, loosest-binding first: OR; AND; comparisons
/// (`=`, `!=`/`<>`, `<`, `<=`, `>`, `>=`, `=~`, `!~`); `+`, `-`; `*`, `/`, `%`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `OR`
    Or,
    /// `AND`
    And,
    /// `=`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `=~`
    EqRegex,
    /// `!~`
    NeRegex,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
}

impl BinOp {
    /// The operator as written (`!=` for `<>` too).
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "OR",
            BinOp::And => "AND",
            BinOp::Eq => "=",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Lte => "<=",
            BinOp::Gt => ">",
            BinOp::Gte => ">=",
            BinOp::EqRegex => "=~",
            BinOp::NeRegex => "!~",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
        }
    }
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A name: field, tag, or `time`.
    Var {
        /// The name.
        name: String,
        /// `::tag` / `::field`, if given.
        kind: Option<VarKind>,
    },
    /// `*`, or `*::field` / `*::tag` (every field, or every tag).
    Wildcard(Option<VarKind>),
    /// A function call; `name` lowercased. `now()` is `Call { name: "now", args: [] }`.
    Call {
        /// Function name, lowercased.
        name: String,
        /// Arguments.
        args: Vec<Expr>,
    },
    /// An integer literal.
    Integer(i64),
    /// A float literal.
    Number(f64),
    /// A single-quoted string literal.
    String(String),
    /// `true` / `false`.
    Bool(bool),
    /// A duration literal (`10s`, `1596240000000ms`), in ns.
    Duration(i64),
    /// A regex literal `/.../`, the pattern without slashes (`\/` unescaped to `/`).
    Regex(String),
    /// A binary operation.
    Binary {
        /// Operator.
        op: BinOp,
        /// Left side.
        lhs: Box<Expr>,
        /// Right side.
        rhs: Box<Expr>,
    },
    /// `( expr )`, kept so errors can quote the query faithfully.
    Paren(Box<Expr>),
}
