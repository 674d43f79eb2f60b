//! InfluxQL tokens, pulled one at a time by [`super::parser`].
//!
//! The lexer does not tokenize the whole query up front because InfluxQL is
//! not context-free at the token level: `/` divides in `a / 2` but opens a
//! regex in `host =~ /^eu/`, and the regex body may hold anything (quotes,
//! `--`, `*`). The parser knows which it expects; where a regex may stand it
//! rewinds to the `/` token ([`Lexer::reset`]) and calls
//! [`Lexer::scan_regex`]. The alternative, guessing from the previous token
//! as JavaScript lexers do, breaks on `FROM db.rp./re/` and in call arguments.
//!
//! Input is untrusted (the `q=` of `/query`): every read is a checked
//! `get`/`chars()` over the source, each call to [`Lexer::next_token`]
//! consumes at least one char or returns [`TokenKind::Eof`], and no literal
//! is built with unchecked arithmetic.
//!
//! Positions are 1-based lines and columns counted in chars, as the InfluxDB
//! error messages print them (`at line 1, char 8`).

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::fmt;

/// Where a token starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    /// Byte offset in the query (always on a char boundary).
    pub offset: usize,
    /// Line, from 1.
    pub line: usize,
    /// Column in chars, from 1.
    pub column: usize,
}

impl Pos {
    /// The start of a query.
    pub const START: Pos = Pos {
        offset: 0,
        line: 1,
        column: 1,
    };
}

macro_rules! keywords {
    ($($variant:ident => $text:literal,)*) => {
        /// A reserved word. Reserved words are case-insensitive and cannot
        /// be used as bare identifiers (`"select"` quoted is an identifier).
        /// The list is InfluxDB's, including words for statements PulsarDB
        /// rejects, so that `CREATE USER` is recognised and named in the
        /// error and a name like `user` fails the same way it does there.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Keyword {
            $(
                #[doc = $text]
                $variant,
            )*
        }

        /// Every keyword, for the tests.
        #[cfg(test)]
        const KEYWORDS: &[(&str, Keyword)] = &[$(($text, Keyword::$variant),)*];

        impl Keyword {
            /// The keyword in upper case, as error messages name it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Keyword::$variant => $text,)*
                }
            }

            /// The keyword spelled `upper` (already upper case).
            fn from_upper(upper: &[u8]) -> Option<Keyword> {
                match upper {
                    $(x if x == $text.as_bytes() => Some(Keyword::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

keywords! {
    All => "ALL",
    Alter => "ALTER",
    Analyze => "ANALYZE",
    And => "AND",
    Any => "ANY",
    As => "AS",
    Asc => "ASC",
    Begin => "BEGIN",
    By => "BY",
    Cardinality => "CARDINALITY",
    Continuous => "CONTINUOUS",
    Create => "CREATE",
    Database => "DATABASE",
    Databases => "DATABASES",
    Default => "DEFAULT",
    Delete => "DELETE",
    Desc => "DESC",
    Destinations => "DESTINATIONS",
    Diagnostics => "DIAGNOSTICS",
    Distinct => "DISTINCT",
    Drop => "DROP",
    Duration => "DURATION",
    End => "END",
    Every => "EVERY",
    Exact => "EXACT",
    Explain => "EXPLAIN",
    False => "FALSE",
    Field => "FIELD",
    For => "FOR",
    From => "FROM",
    Grant => "GRANT",
    Grants => "GRANTS",
    Group => "GROUP",
    Groups => "GROUPS",
    In => "IN",
    Inf => "INF",
    Insert => "INSERT",
    Into => "INTO",
    Key => "KEY",
    Keys => "KEYS",
    Kill => "KILL",
    Limit => "LIMIT",
    Measurement => "MEASUREMENT",
    Measurements => "MEASUREMENTS",
    Name => "NAME",
    Offset => "OFFSET",
    On => "ON",
    Or => "OR",
    Order => "ORDER",
    Password => "PASSWORD",
    Policies => "POLICIES",
    Policy => "POLICY",
    Privileges => "PRIVILEGES",
    Queries => "QUERIES",
    Query => "QUERY",
    Read => "READ",
    Replication => "REPLICATION",
    Resample => "RESAMPLE",
    Retention => "RETENTION",
    Revoke => "REVOKE",
    Select => "SELECT",
    Series => "SERIES",
    Set => "SET",
    Shard => "SHARD",
    Shards => "SHARDS",
    Show => "SHOW",
    Slimit => "SLIMIT",
    Soffset => "SOFFSET",
    Stats => "STATS",
    Subscription => "SUBSCRIPTION",
    Subscriptions => "SUBSCRIPTIONS",
    Tag => "TAG",
    To => "TO",
    True => "TRUE",
    User => "USER",
    Users => "USERS",
    Values => "VALUES",
    Where => "WHERE",
    With => "WITH",
    Write => "WRITE",
}

/// The longest keyword (`SUBSCRIPTIONS`): longer words skip the lookup.
const MAX_KEYWORD_LEN: usize = 13;

impl Keyword {
    /// The keyword spelled `word` in any case.
    pub fn lookup(word: &str) -> Option<Keyword> {
        // Upper-cased on the stack: identifiers are the most common token,
        // and this runs for each of them.
        let mut buf = [0u8; MAX_KEYWORD_LEN];
        let upper = buf.get_mut(..word.len())?;
        upper.copy_from_slice(word.as_bytes());
        upper.make_ascii_uppercase();
        Keyword::from_upper(upper)
    }
}

/// What a token is. Literal values are decoded (escapes resolved, numbers
/// parsed); the source text stays available through [`Lexer::text`].
#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    /// End of the query.
    Eof,
    /// An identifier: bare (`cpu`, never a keyword) or double-quoted (`"my db"`).
    Ident {
        /// The name, unescaped.
        name: String,
        /// Written in double quotes.
        quoted: bool,
    },
    /// A reserved word.
    Keyword(Keyword),
    /// A single-quoted string, unescaped.
    String(String),
    /// An integer without sign (the parser applies unary minus, which is
    /// why `9223372036854775808` is representable here).
    Integer(u64),
    /// A float (`1.5`, `.5`, `1e3`).
    Number(f64),
    /// A duration literal (`10s`, `1h30m`), in ns.
    Duration(i64),
    /// A regex literal, the pattern without slashes (only from
    /// [`Lexer::scan_regex`]).
    Regex(String),
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/` (division, or the start of a regex the parser rescans)
    Slash,
    /// `%`
    Percent,
    /// `=`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `=~`
    EqRegex,
    /// `!~`
    NeRegex,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `;`
    Semicolon,
    /// `.`
    Dot,
    /// `:` (no use in PulsarDB's InfluxQL; kept so errors quote it)
    Colon,
    /// `::`
    DoubleColon,
    /// A char that starts no token (`&`, `$`, `#`, non-ASCII letters...).
    /// The parser reports it with what it expected there.
    Illegal(char),
}

/// One token and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it starts.
    pub pos: Pos,
    /// Byte offset just past it.
    pub end: usize,
}

/// Why a token could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LexErrorKind {
    /// A string (`'`) or quoted identifier (`"`) runs to the end of the query.
    Unterminated(char),
    /// A raw newline inside quotes (InfluxDB rejects it too; write `\n`).
    NewlineInQuotes(char),
    /// A backslash escape other than `\n`, `\\`, `\'`, `\"` inside quotes.
    BadEscape(char),
    /// A `/*` comment without `*/`.
    UnterminatedComment,
    /// A regex without its closing `/`.
    UnterminatedRegex,
    /// A raw newline inside a regex.
    NewlineInRegex,
    /// [`Lexer::scan_regex`] called where no `/` is.
    NotARegex,
    /// An integer followed by letters that are not duration units.
    InvalidDuration,
    /// A duration past ±292 years (i64 ns).
    DurationOverflow,
    /// An integer past 2^64 - 1.
    IntegerOverflow,
    /// A malformed or infinite float (`1.5s`, `1e999`).
    InvalidNumber,
}

/// A token that could not be read, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    /// What is wrong.
    pub kind: LexErrorKind,
    /// Where.
    pub pos: Pos,
    /// The offending text, at most [`NEAR_MAX_CHARS`] chars.
    pub near: String,
}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let near = &self.near;
        match &self.kind {
            LexErrorKind::Unterminated('\'') => write!(f, "unterminated string {near}"),
            LexErrorKind::Unterminated(_) => write!(f, "unterminated quoted identifier {near}"),
            LexErrorKind::NewlineInQuotes('\'') => {
                write!(f, "newline in string {near} (write \\n)")
            }
            LexErrorKind::NewlineInQuotes(_) => {
                write!(f, "newline in quoted identifier {near}")
            }
            LexErrorKind::BadEscape(c) => write!(
                f,
                "bad escape \\{c} (only \\n, \\\\, \\' and \\\" are allowed in quotes)"
            ),
            LexErrorKind::UnterminatedComment => write!(f, "unterminated comment: /* without */"),
            LexErrorKind::UnterminatedRegex => write!(f, "unterminated regex {near}"),
            LexErrorKind::NewlineInRegex => write!(f, "newline in regex {near}"),
            LexErrorKind::NotARegex => write!(f, "found {near}, expected regex"),
            LexErrorKind::InvalidDuration => write!(
                f,
                "invalid duration {near} (units: ns, u, µ, ms, s, m, h, d, w)"
            ),
            LexErrorKind::DurationOverflow => {
                write!(
                    f,
                    "duration {near} overflows (the limit is about 292 years)"
                )
            }
            LexErrorKind::IntegerOverflow => write!(f, "integer {near} is too large"),
            LexErrorKind::InvalidNumber => write!(f, "invalid number {near}"),
        }
    }
}

impl std::error::Error for LexError {}

/// The most chars of source text an error quotes.
pub const NEAR_MAX_CHARS: usize = 40;

/// `text` cut to [`NEAR_MAX_CHARS`] chars (the cut marked with `...`), so
/// an error about a megabyte-long string stays a line.
pub fn bounded(text: &str) -> String {
    if text.chars().nth(NEAR_MAX_CHARS).is_none() {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(NEAR_MAX_CHARS - 3).collect();
    out.push_str("...");
    out
}

/// Nanoseconds per duration unit.
fn unit_ns(unit: &str) -> Option<i64> {
    Some(match unit {
        "ns" => 1,
        // U+00B5 MICRO SIGN (what InfluxDB documents) or U+03BC GREEK SMALL
        // LETTER MU (what many keyboards type).
        "u" | "\u{b5}" | "\u{3bc}" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        "w" => 604_800_000_000_000,
        _ => return None,
    })
}

fn is_mu(c: char) -> bool {
    c == '\u{b5}' || c == '\u{3bc}'
}

fn is_unit_char(c: char) -> bool {
    c.is_ascii_alphabetic() || is_mu(c)
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The value in ns of a duration literal: one or more `<digits><unit>`
/// segments (`10s`, `1596240000000ms`, `1h30m`), as InfluxDB accepts.
fn parse_duration(text: &str) -> Result<i64, LexErrorKind> {
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits_len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (digits, after) = rest
            .split_at_checked(digits_len)
            .ok_or(LexErrorKind::InvalidDuration)?;
        let unit_len = after
            .find(|c: char| !is_unit_char(c))
            .unwrap_or(after.len());
        let (unit, after) = after
            .split_at_checked(unit_len)
            .ok_or(LexErrorKind::InvalidDuration)?;
        if digits.is_empty() {
            return Err(LexErrorKind::InvalidDuration);
        }
        let per_unit_ns = unit_ns(unit).ok_or(LexErrorKind::InvalidDuration)?;
        let n: i64 = digits.parse().map_err(|_| LexErrorKind::DurationOverflow)?;
        total = n
            .checked_mul(per_unit_ns)
            .and_then(|ns| total.checked_add(ns))
            .ok_or(LexErrorKind::DurationOverflow)?;
        rest = after;
    }
    Ok(total)
}

/// The lexer: a cursor over the query.
#[derive(Clone, Debug)]
pub struct Lexer<'a> {
    src: &'a str,
    at: Pos,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`.
    pub fn new(src: &'a str) -> Self {
        Lexer {
            src,
            at: Pos::START,
        }
    }

    /// The source text between two byte offsets (empty if they are not
    /// offsets of this lexer's tokens).
    pub fn text(&self, start: usize, end: usize) -> &'a str {
        self.src.get(start..end).unwrap_or("")
    }

    /// Where the next token would start (before whitespace).
    pub fn pos(&self) -> Pos {
        self.at
    }

    /// Moves back to `pos`, which must be the position of a token this
    /// lexer returned (so it is on a char boundary, with the right line).
    pub fn reset(&mut self, pos: Pos) {
        self.at = pos;
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.at.offset..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_nth(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at.offset += c.len_utf8();
        if c == '\n' {
            self.at.line += 1;
            self.at.column = 1;
        } else {
            self.at.column += 1;
        }
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn eat_while(&mut self, pred: impl Fn(char) -> bool) {
        while self.peek().is_some_and(&pred) {
            self.bump();
        }
    }

    fn error(&self, kind: LexErrorKind, start: Pos) -> LexError {
        LexError {
            kind,
            pos: start,
            near: bounded(self.text(start.offset, self.at.offset)),
        }
    }

    /// Skips whitespace, `-- line` and `/* block */` comments.
    fn skip_trivia(&mut self) -> Result<(), LexError> {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\n' | '\r') => {
                    self.bump();
                }
                Some('-') if self.peek_nth(1) == Some('-') => {
                    self.eat_while(|c| c != '\n');
                }
                Some('/') if self.peek_nth(1) == Some('*') => {
                    let start = self.at;
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            None => {
                                return Err(self.error(LexErrorKind::UnterminatedComment, start));
                            }
                            Some('*') if self.eat('/') => break,
                            Some(_) => {}
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// The next token, after whitespace and comments.
    pub fn next_token(&mut self) -> Result<Token, LexError> {
        self.skip_trivia()?;
        let start = self.at;
        let Some(c) = self.bump() else {
            return Ok(Token {
                kind: TokenKind::Eof,
                pos: start,
                end: start.offset,
            });
        };
        let kind = match c {
            'a'..='z' | 'A'..='Z' | '_' => {
                self.eat_while(is_ident_char);
                let word = self.text(start.offset, self.at.offset);
                match Keyword::lookup(word) {
                    Some(kw) => TokenKind::Keyword(kw),
                    None => TokenKind::Ident {
                        name: word.to_owned(),
                        quoted: false,
                    },
                }
            }
            '0'..='9' => self.number(start)?,
            '.' if self.peek().is_some_and(|c| c.is_ascii_digit()) => self.number(start)?,
            '.' => TokenKind::Dot,
            '"' => TokenKind::Ident {
                name: self.quoted(start, '"')?,
                quoted: true,
            },
            '\'' => TokenKind::String(self.quoted(start, '\'')?),
            '+' => TokenKind::Plus,
            '-' => TokenKind::Minus,
            '*' => TokenKind::Star,
            '/' => TokenKind::Slash,
            '%' => TokenKind::Percent,
            '=' if self.eat('~') => TokenKind::EqRegex,
            '=' => TokenKind::Eq,
            '!' if self.eat('=') => TokenKind::Ne,
            '!' if self.eat('~') => TokenKind::NeRegex,
            '<' if self.eat('=') => TokenKind::Le,
            '<' if self.eat('>') => TokenKind::Ne,
            '<' => TokenKind::Lt,
            '>' if self.eat('=') => TokenKind::Ge,
            '>' => TokenKind::Gt,
            '(' => TokenKind::LParen,
            ')' => TokenKind::RParen,
            ',' => TokenKind::Comma,
            ';' => TokenKind::Semicolon,
            ':' if self.eat(':') => TokenKind::DoubleColon,
            ':' => TokenKind::Colon,
            other => TokenKind::Illegal(other),
        };
        Ok(Token {
            kind,
            pos: start,
            end: self.at.offset,
        })
    }

    /// A number or duration; its first char (digit, or `.` before a digit)
    /// is consumed.
    fn number(&mut self, start: Pos) -> Result<TokenKind, LexError> {
        let mut float = self.text(start.offset, self.at.offset) == ".";
        self.eat_while(|c| c.is_ascii_digit());
        if !float
            && self.peek() == Some('.')
            && self.peek_nth(1).is_some_and(|c| c.is_ascii_digit())
        {
            self.bump();
            self.eat_while(|c| c.is_ascii_digit());
            float = true;
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let digit_at = match self.peek_nth(1) {
                Some('+' | '-') => 2,
                _ => 1,
            };
            if self.peek_nth(digit_at).is_some_and(|c| c.is_ascii_digit()) {
                for _ in 0..digit_at {
                    self.bump();
                }
                self.eat_while(|c| c.is_ascii_digit());
                float = true;
            }
        }
        if float {
            // `1.5s`: InfluxDB has no fractional durations; a float glued to
            // a word is a typo either way.
            if self.peek().is_some_and(|c| is_ident_char(c) || is_mu(c)) {
                self.eat_while(|c| is_ident_char(c) || is_mu(c));
                return Err(self.error(LexErrorKind::InvalidNumber, start));
            }
            let text = self.text(start.offset, self.at.offset);
            return match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(TokenKind::Number(v)),
                _ => Err(self.error(LexErrorKind::InvalidNumber, start)),
            };
        }
        if self.peek().is_some_and(is_unit_char) {
            // InfluxDB reads digits and units on to the end of the word, then
            // validates: `5mins` is one bad token, not `5m` and `ins`.
            self.eat_while(|c| c.is_ascii_digit() || is_unit_char(c));
            let text = self.text(start.offset, self.at.offset);
            return parse_duration(text)
                .map(TokenKind::Duration)
                .map_err(|kind| self.error(kind, start));
        }
        let text = self.text(start.offset, self.at.offset);
        text.parse::<u64>()
            .map(TokenKind::Integer)
            .map_err(|_| self.error(LexErrorKind::IntegerOverflow, start))
    }

    /// The body of a quoted string or identifier; the opening quote is consumed.
    fn quoted(&mut self, start: Pos, quote: char) -> Result<String, LexError> {
        let mut out = String::new();
        loop {
            let escape_at = self.at;
            if self.peek() == Some('\n') {
                return Err(self.error(LexErrorKind::NewlineInQuotes(quote), start));
            }
            match self.bump() {
                None => return Err(self.error(LexErrorKind::Unterminated(quote), start)),
                Some(c) if c == quote => return Ok(out),
                Some('\\') => match self.bump() {
                    Some('n') => out.push('\n'),
                    Some(c @ ('\\' | '\'' | '"')) => out.push(c),
                    Some(c) => return Err(self.error(LexErrorKind::BadEscape(c), escape_at)),
                    None => return Err(self.error(LexErrorKind::Unterminated(quote), start)),
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// A regex literal `/.../` starting at the current position (the parser
    /// [`reset`](Self::reset)s to a [`TokenKind::Slash`] first).
    ///
    /// `\/` stands for `/`; every other backslash pair is kept as written
    /// for the regex engine (`\d`, `\\`). Keeping `\\` whole means
    /// `/a\\/` is the pattern `a\\` (a literal backslash), where InfluxDB
    /// would read the second backslash as escaping the closing slash.
    pub fn scan_regex(&mut self) -> Result<Token, LexError> {
        let start = self.at;
        if !self.eat('/') {
            self.bump();
            return Err(self.error(LexErrorKind::NotARegex, start));
        }
        let mut pattern = String::new();
        loop {
            if self.peek() == Some('\n') {
                return Err(self.error(LexErrorKind::NewlineInRegex, start));
            }
            match self.bump() {
                None => return Err(self.error(LexErrorKind::UnterminatedRegex, start)),
                Some('/') => break,
                Some('\\') => {
                    if self.eat('/') {
                        pattern.push('/');
                    } else if self.eat('\\') {
                        pattern.push_str("\\\\");
                    } else {
                        pattern.push('\\');
                    }
                }
                Some(c) => pattern.push(c),
            }
        }
        Ok(Token {
            kind: TokenKind::Regex(pattern),
            pos: start,
            end: self.at.offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        let mut lx = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let tok = lx.next_token().unwrap();
            if tok.kind == TokenKind::Eof {
                return out;
            }
            out.push(tok.kind);
        }
    }

    fn lex_err(src: &str) -> LexError {
        let mut lx = Lexer::new(src);
        loop {
            match lx.next_token() {
                Ok(t) if t.kind == TokenKind::Eof => panic!("no error in {src:?}"),
                Ok(_) => {}
                Err(e) => return e,
            }
        }
    }

    fn ident(name: &str, quoted: bool) -> TokenKind {
        TokenKind::Ident {
            name: name.into(),
            quoted,
        }
    }

    #[test]
    fn keywords_are_case_insensitive_and_idents_keep_case() {
        assert_eq!(
            kinds("select SeLeCt FROM Cpu _x9 \"select\""),
            vec![
                TokenKind::Keyword(Keyword::Select),
                TokenKind::Keyword(Keyword::Select),
                TokenKind::Keyword(Keyword::From),
                ident("Cpu", false),
                ident("_x9", false),
                ident("select", true),
            ]
        );
        assert_eq!(
            Keyword::lookup("subscriptions"),
            Some(Keyword::Subscriptions)
        );
        assert_eq!(Keyword::lookup("subscriptionsx"), None);
        assert_eq!(Keyword::lookup("time"), None);
        for &(text, kw) in KEYWORDS {
            assert_eq!(kw.as_str(), text);
            assert!(text.len() <= MAX_KEYWORD_LEN);
        }
    }

    #[test]
    fn quoted_identifiers_and_strings_unescape() {
        assert_eq!(
            kinds(r#""a \"b\" \\ c" 'it\'s \\ \n "x"'"#),
            vec![
                ident("a \"b\" \\ c", true),
                TokenKind::String("it's \\ \n \"x\"".into()),
            ]
        );
        assert_eq!(
            kinds("'' \"\""),
            vec![TokenKind::String(String::new()), ident("", true)]
        );
        assert_eq!(
            kinds("'héllo ✓'"),
            vec![TokenKind::String("héllo ✓".into())]
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(
            kinds("0 42 1.5 .5 1e3 2.5E-2 1E+2 18446744073709551615"),
            vec![
                TokenKind::Integer(0),
                TokenKind::Integer(42),
                TokenKind::Number(1.5),
                TokenKind::Number(0.5),
                TokenKind::Number(1000.0),
                TokenKind::Number(0.025),
                TokenKind::Number(100.0),
                TokenKind::Integer(u64::MAX),
            ]
        );
        // `1.` is the integer then a dot, `-2` is minus then 2.
        assert_eq!(
            kinds("1. -2"),
            vec![
                TokenKind::Integer(1),
                TokenKind::Dot,
                TokenKind::Minus,
                TokenKind::Integer(2)
            ]
        );
    }

    #[test]
    fn durations_in_ns() {
        assert_eq!(
            kinds("10ns 10u 10µ 10μ 1ms 10s 5m 1h 1d 1w 1h30m 1596240000000ms"),
            vec![
                TokenKind::Duration(10),
                TokenKind::Duration(10_000),
                TokenKind::Duration(10_000),
                TokenKind::Duration(10_000),
                TokenKind::Duration(1_000_000),
                TokenKind::Duration(10_000_000_000),
                TokenKind::Duration(300_000_000_000),
                TokenKind::Duration(3_600_000_000_000),
                TokenKind::Duration(86_400_000_000_000),
                TokenKind::Duration(604_800_000_000_000),
                TokenKind::Duration(5_400_000_000_000),
                TokenKind::Duration(1_596_240_000_000_000_000),
            ]
        );
        // The largest: i64::MAX ns.
        assert_eq!(
            kinds("9223372036854775807ns"),
            vec![TokenKind::Duration(i64::MAX)]
        );
    }

    #[test]
    fn bad_literals() {
        for (src, kind) in [
            ("5mins", LexErrorKind::InvalidDuration),
            ("10x", LexErrorKind::InvalidDuration),
            ("1h30", LexErrorKind::InvalidDuration),
            ("9223372036854775808ns", LexErrorKind::DurationOverflow),
            ("15251w", LexErrorKind::DurationOverflow),
            ("99999999999999999999999s", LexErrorKind::DurationOverflow),
            ("18446744073709551616", LexErrorKind::IntegerOverflow),
            ("1.5s", LexErrorKind::InvalidNumber),
            ("1e999", LexErrorKind::InvalidNumber),
            ("'abc", LexErrorKind::Unterminated('\'')),
            ("\"abc", LexErrorKind::Unterminated('"')),
            ("'a\\", LexErrorKind::Unterminated('\'')),
            ("'a\nb'", LexErrorKind::NewlineInQuotes('\'')),
            ("'a\\tb'", LexErrorKind::BadEscape('t')),
            ("x /* never closed", LexErrorKind::UnterminatedComment),
        ] {
            assert_eq!(lex_err(src).kind, kind, "{src}");
        }
        let e = lex_err("SELECT 'ab\\qc'");
        assert_eq!((e.pos.column, e.near.as_str()), (11, "\\q"));
        assert_eq!(
            e.to_string(),
            "bad escape \\q (only \\n, \\\\, \\' and \\\" are allowed in quotes)"
        );
        assert_eq!(
            lex_err("x = 5mins").to_string(),
            "invalid duration 5mins (units: ns, u, µ, ms, s, m, h, d, w)"
        );
    }

    #[test]
    fn operators_and_punctuation() {
        use TokenKind as T;
        assert_eq!(
            kinds("+ - * / % = != <> < <= > >= =~ !~ ( ) , ; . :: : & ! $"),
            vec![
                T::Plus,
                T::Minus,
                T::Star,
                T::Slash,
                T::Percent,
                T::Eq,
                T::Ne,
                T::Ne,
                T::Lt,
                T::Le,
                T::Gt,
                T::Ge,
                T::EqRegex,
                T::NeRegex,
                T::LParen,
                T::RParen,
                T::Comma,
                T::Semicolon,
                T::Dot,
                T::DoubleColon,
                T::Colon,
                T::Illegal('&'),
                T::Illegal('!'),
                T::Illegal('$'),
            ]
        );
        assert_eq!(
            kinds("a<=b"),
            vec![ident("a", false), T::Le, ident("b", false)]
        );
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(
            kinds("a -- to the end\n b /* block\n ** */ c --"),
            vec![ident("a", false), ident("b", false), ident("c", false)]
        );
        // `--` always starts a comment, even between numbers, as in InfluxDB.
        assert_eq!(kinds("5--3"), vec![TokenKind::Integer(5)]);
    }

    #[test]
    fn positions_are_lines_and_char_columns() {
        let mut lx = Lexer::new("µ é\n  x\r\n'y'");
        let a = lx.next_token().unwrap();
        assert_eq!(
            (a.kind, a.pos.line, a.pos.column),
            (TokenKind::Illegal('µ'), 1, 1)
        );
        let b = lx.next_token().unwrap();
        assert_eq!(
            (b.kind, b.pos.line, b.pos.column),
            (TokenKind::Illegal('é'), 1, 3)
        );
        let c = lx.next_token().unwrap();
        assert_eq!((c.pos.line, c.pos.column), (2, 3));
        let d = lx.next_token().unwrap();
        assert_eq!(
            (d.pos.line, d.pos.column, lx.text(d.pos.offset, d.end)),
            (3, 1, "'y'")
        );
        let eof = lx.next_token().unwrap();
        assert_eq!(
            (eof.kind, eof.pos.line, eof.pos.column),
            (TokenKind::Eof, 3, 4)
        );
    }

    #[test]
    fn regexes_are_scanned_on_request() {
        let src = r"x =~ /^a\/b\d+ 'q' -- \\/ y";
        let mut lx = Lexer::new(src);
        lx.next_token().unwrap();
        lx.next_token().unwrap();
        let slash = lx.next_token().unwrap();
        assert_eq!(slash.kind, TokenKind::Slash);
        lx.reset(slash.pos);
        let re = lx.scan_regex().unwrap();
        assert_eq!(re.kind, TokenKind::Regex(r"^a/b\d+ 'q' -- \\".into()));
        assert_eq!(lx.text(re.pos.offset, re.end), r"/^a\/b\d+ 'q' -- \\/");
        assert_eq!(lx.next_token().unwrap().kind, ident("y", false));

        for (src, kind) in [
            ("/abc", LexErrorKind::UnterminatedRegex),
            ("/a\\/", LexErrorKind::UnterminatedRegex),
            ("/a\nb/", LexErrorKind::NewlineInRegex),
            ("x", LexErrorKind::NotARegex),
            ("", LexErrorKind::NotARegex),
        ] {
            assert_eq!(
                Lexer::new(src).scan_regex().unwrap_err().kind,
                kind,
                "{src:?}"
            );
        }
        assert_eq!(
            Lexer::new("//").scan_regex().unwrap().kind,
            TokenKind::Regex(String::new())
        );
    }

    #[test]
    fn near_text_is_bounded() {
        assert_eq!(bounded("short"), "short");
        let forty = "x".repeat(40);
        assert_eq!(bounded(&forty), forty);
        let long = "é".repeat(1000);
        let b = bounded(&long);
        assert_eq!(b.chars().count(), 40);
        assert!(b.ends_with("..."));
        let e = lex_err(&format!("'{}", "y".repeat(100_000)));
        assert!(e.near.chars().count() <= NEAR_MAX_CHARS);
    }
}
