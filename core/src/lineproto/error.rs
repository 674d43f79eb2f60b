//! Parse errors: where (line and column) and what was wrong.
//!
//! Errors own everything they show (a bounded copy of the offending name or
//! value, [`Snippet`]), so they outlive the input buffer and never allocate:
//! a stream parser can report an error and then overwrite its buffer.

use core::fmt;

use super::Precision;

/// Longest piece of input an error keeps for its message; longer text is cut.
pub const SNIPPET_MAX_BYTES: usize = 32;

/// A parse error in one line; the parser goes on with the next line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ParseError {
    /// 1-based line of the input where the error is (string values may span lines).
    pub line: usize,
    /// 1-based byte column in that line.
    pub column: usize,
    /// What was wrong.
    pub kind: ErrorKind,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.kind
        )
    }
}

impl core::error::Error for ParseError {}

/// What the input held where something else was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Found {
    /// The input ended.
    End,
    /// This byte (`b'\n'` is shown as "end of line").
    Byte(u8),
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Found::End => f.write_str("end of input"),
            Found::Byte(b'\n') => f.write_str("end of line"),
            Found::Byte(b) if b.is_ascii_graphic() || b == b' ' => write!(f, "'{}'", char::from(b)),
            Found::Byte(b'\t') => f.write_str("a tab"),
            Found::Byte(b'\r') => f.write_str("a carriage return ('\\r')"),
            Found::Byte(b) => write!(f, "byte 0x{b:02X}"),
        }
    }
}

/// The part of a line that a UTF-8 error was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Token {
    /// The measurement name.
    Measurement,
    /// A tag key.
    TagKey,
    /// A tag value.
    TagValue,
    /// A field key.
    FieldKey,
    /// A string field value.
    StringValue,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Token::Measurement => "measurement name",
            Token::TagKey => "tag key",
            Token::TagValue => "tag value",
            Token::FieldKey => "field key",
            Token::StringValue => "string field value",
        })
    }
}

/// The type a field value was read as (from its suffix or first character).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FieldType {
    /// `1.5`, `-2e3`, `7` (no suffix): f64.
    Float,
    /// `7i`: i64.
    Int,
    /// `7u`: u64.
    UInt,
    /// `t`, `true`, `F`, `False`, ...
    Bool,
    /// `"text"`.
    Str,
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FieldType::Float => "float",
            FieldType::Int => "integer",
            FieldType::UInt => "unsigned integer",
            FieldType::Bool => "boolean",
            FieldType::Str => "string",
        })
    }
}

/// What was wrong with a line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ErrorKind {
    /// The line does not start with a measurement name.
    ExpectedMeasurement {
        /// What is there instead.
        found: Found,
    },
    /// After the measurement or a tag, neither `,` (a tag) nor a space (the fields) follows.
    ExpectedTagOrFields {
        /// What is there instead.
        found: Found,
    },
    /// A `,` in the tag list is not followed by a tag key.
    ExpectedTagKey {
        /// What is there instead.
        found: Found,
    },
    /// A tag key is not followed by `=`.
    ExpectedTagEquals {
        /// The tag key, as written.
        key: Snippet,
        /// What is there instead.
        found: Found,
    },
    /// A tag has no value (empty tag values are not allowed).
    ExpectedTagValue {
        /// The tag key, as written.
        key: Snippet,
        /// What is there instead.
        found: Found,
    },
    /// A tag key appears more than once in the line.
    DuplicateTagKey {
        /// The tag key, as written.
        key: Snippet,
    },
    /// A field key is missing: the line has no fields, or a `,` is not followed by a field.
    ExpectedFieldKey {
        /// What is there instead.
        found: Found,
    },
    /// A field key is not followed by `=`.
    ExpectedFieldEquals {
        /// The field key, as written.
        key: Snippet,
        /// What is there instead.
        found: Found,
    },
    /// A field has no value, or its value starts with a character no value type starts with.
    ExpectedFieldValue {
        /// The field key, as written.
        key: Snippet,
        /// What is there instead.
        found: Found,
    },
    /// A field value is not valid for the type its suffix or first character selects.
    InvalidFieldValue {
        /// The field key, as written.
        key: Snippet,
        /// The type the value was read as.
        ty: FieldType,
        /// The value, as written.
        value: Snippet,
    },
    /// A numeric field value does not fit its type (f64, i64 or u64).
    FieldValueOutOfRange {
        /// The field key, as written.
        key: Snippet,
        /// The type the value was read as.
        ty: FieldType,
        /// The value, as written.
        value: Snippet,
    },
    /// A string field value has no closing `"` (the rest of the input was taken as the string).
    UnterminatedString {
        /// The field key, as written.
        key: Snippet,
    },
    /// After a field value, neither `,`, a space nor the end of the line follows.
    ExpectedFieldSeparator {
        /// The field key, as written.
        key: Snippet,
        /// What is there instead.
        found: Found,
    },
    /// The timestamp is not a decimal integer.
    InvalidTimestamp {
        /// The text where the timestamp should be, up to the end of the line.
        value: Snippet,
    },
    /// The timestamp in nanoseconds does not fit an i64.
    TimestampOutOfRange {
        /// The timestamp, as written.
        value: Snippet,
        /// The precision it was read in.
        precision: Precision,
    },
    /// Something other than spaces follows the timestamp.
    ExpectedEndOfLine {
        /// What is there instead.
        found: Found,
    },
    /// A comment line holds a control character.
    InvalidCharInComment {
        /// The offending byte.
        found: u8,
    },
    /// A name, tag value or string value is not valid UTF-8.
    InvalidUtf8 {
        /// Where it was.
        token: Token,
    },
    /// The line has more tags than [`Limits::max_tags`](super::Limits::max_tags).
    TooManyTags {
        /// The limit.
        max: usize,
    },
    /// The line has more fields than [`Limits::max_fields`](super::Limits::max_fields).
    TooManyFields {
        /// The limit.
        max: usize,
    },
    /// The line is longer than [`Limits::max_line_bytes`](super::Limits::max_line_bytes),
    /// or than a stream parser's buffer; it was skipped up to the next newline.
    LineTooLong {
        /// The limit in bytes.
        max_bytes: usize,
    },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::ExpectedMeasurement { found } => {
                write!(f, "expected a measurement name, found {found}")
            }
            ErrorKind::ExpectedTagOrFields { found } => {
                write!(
                    f,
                    "expected ',' and a tag or ' ' and the fields, found {found}"
                )
            }
            ErrorKind::ExpectedTagKey { found } => {
                write!(f, "expected a tag key after ',', found {found}")
            }
            ErrorKind::ExpectedTagEquals { key, found } => {
                write!(f, "expected '=' after tag key {key}, found {found}")
            }
            ErrorKind::ExpectedTagValue { key, found } => {
                write!(
                    f,
                    "expected a value for tag key {key} (tag values cannot be empty), found {found}"
                )
            }
            ErrorKind::DuplicateTagKey { key } => write!(f, "tag key {key} appears more than once"),
            ErrorKind::ExpectedFieldKey { found } => {
                write!(f, "expected a field key, found {found}")
            }
            ErrorKind::ExpectedFieldEquals { key, found } => {
                write!(f, "expected '=' after field key {key}, found {found}")
            }
            ErrorKind::ExpectedFieldValue { key, found } => write!(
                f,
                "expected a value for field {key} (a number such as 1.5, 1i, 1u, \"text\", true or false), found {found}"
            ),
            ErrorKind::InvalidFieldValue { key, ty, value } => {
                write!(f, "invalid {ty} value {value} for field {key}")?;
                match ty {
                    FieldType::Float => f.write_str(" (expected a decimal number such as -1.5e3)"),
                    FieldType::Int => f.write_str(" (expected a decimal integer followed by 'i')"),
                    FieldType::UInt => f.write_str(" (expected a decimal integer followed by 'u')"),
                    FieldType::Bool => f.write_str(
                        " (expected t, T, true, True, TRUE, f, F, false, False or FALSE)",
                    ),
                    FieldType::Str => Ok(()),
                }
            }
            ErrorKind::FieldValueOutOfRange { key, ty, value } => {
                let range = match ty {
                    FieldType::Int => "i64",
                    FieldType::UInt => "u64",
                    _ => "f64",
                };
                write!(
                    f,
                    "{ty} value {value} for field {key} is out of the {range} range"
                )
            }
            ErrorKind::UnterminatedString { key } => {
                write!(f, "string value of field {key} has no closing '\"'")
            }
            ErrorKind::ExpectedFieldSeparator { key, found } => write!(
                f,
                "expected ',', ' ' or end of line after the value of field {key}, found {found}"
            ),
            ErrorKind::InvalidTimestamp { value } => {
                write!(f, "invalid timestamp {value} (expected a decimal integer)")
            }
            ErrorKind::TimestampOutOfRange { value, precision } => write!(
                f,
                "timestamp {value} with precision {} is out of range (nanoseconds since 1970 must fit an i64)",
                precision.as_str()
            ),
            ErrorKind::ExpectedEndOfLine { found } => {
                write!(f, "expected end of line after the timestamp, found {found}")
            }
            ErrorKind::InvalidCharInComment { found } => {
                write!(
                    f,
                    "comment line holds a control character ({})",
                    Found::Byte(*found)
                )
            }
            ErrorKind::InvalidUtf8 { token } => write!(f, "invalid UTF-8 in {token}"),
            ErrorKind::TooManyTags { max } => write!(f, "more than {max} tags (limit max_tags)"),
            ErrorKind::TooManyFields { max } => {
                write!(f, "more than {max} fields (limit max_fields)")
            }
            ErrorKind::LineTooLong { max_bytes } => {
                write!(
                    f,
                    "line longer than {max_bytes} bytes (limit max_line_bytes); skipped"
                )
            }
        }
    }
}

/// A bounded copy of input text, kept for an error message; shown quoted.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Snippet {
    bytes: [u8; SNIPPET_MAX_BYTES],
    len: u8,
    truncated: bool,
}

impl Snippet {
    /// Copies up to [`SNIPPET_MAX_BYTES`] of `text`.
    pub fn new(text: &[u8]) -> Self {
        let mut bytes = [0u8; SNIPPET_MAX_BYTES];
        let n = text.len().min(SNIPPET_MAX_BYTES);
        let (head, _) = text.split_at(n);
        if let Some(dst) = bytes.get_mut(..n) {
            dst.copy_from_slice(head);
        }
        Snippet {
            bytes,
            len: n as u8,
            truncated: text.len() > n,
        }
    }

    /// The bytes kept.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// Whether the original text was longer than what is kept.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Debug for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Quoted, with control characters, quotes, backslashes and invalid UTF-8 escaped.
impl fmt::Display for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for chunk in self.as_bytes().utf8_chunks() {
            write!(f, "{}", chunk.valid().escape_debug())?;
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        f.write_str(if self.truncated { "...\"" } else { "\"" })
    }
}

/// An error of a [`StreamParser`](super::StreamParser): reading failed, or a line is bad.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StreamError<E> {
    /// The reader failed; calling again retries the read.
    Read(E),
    /// A line is bad; the parser goes on with the next line.
    Parse(ParseError),
}

impl<E: fmt::Debug> fmt::Display for StreamError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Read(e) => write!(f, "read error: {e:?}"),
            StreamError::Parse(e) => write!(f, "{e}"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for StreamError<E> {}
