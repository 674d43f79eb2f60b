//! Names and string values as they appear in the input, unescaped on demand.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Which backslash sequences a token's text may hold (they differ by position in the line).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) enum Rule {
    /// No escape sequence: the raw bytes are the value.
    #[default]
    Plain,
    /// Measurement: `\,` and `\ `.
    Measurement,
    /// Tag key, tag value, field key: `\,`, `\=` and `\ `.
    Key,
    /// String field value: `\"` and `\\`.
    Str,
}

impl Rule {
    /// Whether `\` followed by `b` stands for `b`. Any other backslash is a literal backslash.
    #[cfg_attr(not(feature = "small-code"), inline(always))]
    pub(super) fn escapes(self, b: u8) -> bool {
        match self {
            Rule::Plain => false,
            Rule::Measurement => matches!(b, b',' | b' '),
            Rule::Key => matches!(b, b',' | b'=' | b' '),
            Rule::Str => matches!(b, b'"' | b'\\'),
        }
    }
}

/// Appends `name` escaped for its place in a line, the inverse of
/// unescaping: a measurement's `,` and space, or (`measurement` false) a tag
/// key's, tag value's or field key's `,`, `=` and space get a backslash. As
/// InfluxDB writes series keys, a backslash itself is left as it is.
pub fn escape_name_into(out: &mut String, name: &str, measurement: bool) {
    let rule = if measurement {
        Rule::Measurement
    } else {
        Rule::Key
    };
    for c in name.chars() {
        if c.is_ascii() && rule.escapes(c as u8) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// A measurement name, tag key or value, field key or string value: a slice
/// of the input, escapes and all. Comparing and unescaping cost nothing for
/// the common text without escape sequences.
///
/// Names and strings are valid UTF-8 (the parser checks), so [`Escaped::to_str`] never loses data.
#[derive(Clone, Copy, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Escaped<'a> {
    raw: &'a [u8],
    rule: Rule,
}

impl<'a> Escaped<'a> {
    /// The empty name.
    pub const EMPTY: Escaped<'static> = Escaped {
        raw: &[],
        rule: Rule::Plain,
    };

    /// Text that holds no escape sequences: `raw` is the value.
    pub const fn plain(raw: &'a [u8]) -> Self {
        Escaped {
            raw,
            rule: Rule::Plain,
        }
    }

    pub(super) fn new(raw: &'a [u8], escaped: bool, rule: Rule) -> Self {
        Escaped {
            raw,
            rule: if escaped { rule } else { Rule::Plain },
        }
    }

    /// The bytes as they appear in the input (without the quotes of a string value).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether unescaping changes the bytes.
    pub fn has_escapes(&self) -> bool {
        self.rule != Rule::Plain
    }

    /// The unescaped bytes, one by one.
    pub fn bytes(&self) -> Unescape<'a> {
        Unescape {
            rest: self.raw,
            rule: self.rule,
        }
    }

    /// Length of the unescaped value in bytes.
    pub fn unescaped_len(&self) -> usize {
        if self.has_escapes() {
            self.bytes().count()
        } else {
            self.raw.len()
        }
    }

    /// Appends the unescaped value to `out`.
    pub fn unescape_into(&self, out: &mut Vec<u8>) {
        if self.has_escapes() {
            out.extend(self.bytes());
        } else {
            out.extend_from_slice(self.raw);
        }
    }

    /// The unescaped value; borrowed unless it holds escape sequences.
    pub fn to_unescaped(&self) -> Cow<'a, [u8]> {
        if self.has_escapes() {
            Cow::Owned(self.bytes().collect())
        } else {
            Cow::Borrowed(self.raw)
        }
    }

    /// The unescaped value as text; borrowed unless it holds escape sequences.
    pub fn to_str(&self) -> Cow<'a, str> {
        match self.to_unescaped() {
            Cow::Borrowed(b) => String::from_utf8_lossy(b),
            Cow::Owned(v) => match String::from_utf8(v) {
                Ok(s) => Cow::Owned(s),
                Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
            },
        }
    }
}

/// Equal when the unescaped values are equal.
impl PartialEq for Escaped<'_> {
    fn eq(&self, other: &Self) -> bool {
        if !self.has_escapes() && !other.has_escapes() {
            return self.raw == other.raw;
        }
        self.bytes().eq(other.bytes())
    }
}

impl Eq for Escaped<'_> {}

/// Compares the unescaped value with `other`.
impl PartialEq<[u8]> for Escaped<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        if self.has_escapes() {
            self.bytes().eq(other.iter().copied())
        } else {
            self.raw == other
        }
    }
}

impl PartialEq<&[u8]> for Escaped<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        *self == **other
    }
}

impl PartialEq<str> for Escaped<'_> {
    fn eq(&self, other: &str) -> bool {
        *self == *other.as_bytes()
    }
}

impl PartialEq<&str> for Escaped<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self == *other.as_bytes()
    }
}

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_str())
    }
}

/// The unescaped value (invalid UTF-8 would be shown as U+FFFD; the parser rejects it).
impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_str())
    }
}

/// Iterator over the unescaped bytes of an [`Escaped`].
#[derive(Clone, Debug)]
pub struct Unescape<'a> {
    rest: &'a [u8],
    rule: Rule,
}

impl Iterator for Unescape<'_> {
    type Item = u8;

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        if b == b'\\'
            && let Some((&c, after)) = rest.split_first()
            && self.rule.escapes(c)
        {
            self.rest = after;
            return Some(c);
        }
        Some(b)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.rest.len().div_ceil(2), Some(self.rest.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_rule_s_sequences_are_escapes() {
        let m = Escaped::new(br"a\,b\ c\=d\\e", true, Rule::Measurement);
        assert_eq!(m, &br"a,b c\=d\\e"[..]);
        let k = Escaped::new(br"a\,b\ c\=d\\e", true, Rule::Key);
        assert_eq!(k, &br"a,b c=d\\e"[..]);
        let s = Escaped::new(br#"a\"b\\c\nd\"#, true, Rule::Str);
        assert_eq!(s, &br#"a"b\c\nd\"#[..]);
        assert_eq!(s.unescaped_len(), 9);
        assert_eq!(s.to_str(), r#"a"b\c\nd\"#);
    }

    #[test]
    fn plain_text_is_borrowed() {
        let p = Escaped::new(br"a\b", false, Rule::Key);
        assert!(!p.has_escapes());
        assert!(matches!(p.to_unescaped(), Cow::Borrowed(b"a\\b")));
        assert_eq!(p, "a\\b");
        let mut out = Vec::new();
        p.unescape_into(&mut out);
        Escaped::new(br"\ x", true, Rule::Key).unescape_into(&mut out);
        assert_eq!(out, b"a\\b x");
    }

    #[test]
    fn equality_is_on_unescaped_values() {
        assert_eq!(
            Escaped::new(br"a\ b", true, Rule::Key),
            Escaped::plain(b"a b")
        );
        assert_ne!(
            Escaped::new(br"a\ b", true, Rule::Key),
            Escaped::plain(b"a\\ b")
        );
    }
}
