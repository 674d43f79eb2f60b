//! The hot path: byte classes and the loops that find where a token ends.
//!
//! One 256-entry table says, per byte, which scans must stop at it; each scan
//! is a tight `position` loop over a slice that leaves the rare bytes
//! (backslashes, non-ASCII, newlines inside strings) to a slower branch.

use super::escaped::Rule;

/// Stops a measurement name: `,`, space, control bytes, `\`, non-ASCII.
pub(super) const MEAS: u8 = 1 << 0;
/// Stops a tag key or field key: `,`, `=`, space, control bytes, `\`, non-ASCII.
pub(super) const KEY: u8 = 1 << 1;
/// Stops a tag value: `,`, `=`, space, `\r`, `\n`, `\`, non-ASCII. Other control
/// bytes are part of the value (the corpus accepts `m,k=x\x01y v=1`).
pub(super) const TAG_VALUE: u8 = 1 << 6;
/// Stops a string value: `"`, `\`, newline, non-ASCII.
pub(super) const STR: u8 = 1 << 2;
/// Ends a number or boolean: `,`, space, `\r`, `\n`.
pub(super) const VAL: u8 = 1 << 3;
/// Not allowed in a comment: control bytes.
pub(super) const NOT_COMMENT: u8 = 1 << 4;
/// Not a timestamp byte: anything but `-` and digits.
pub(super) const NOT_TIME: u8 = 1 << 5;

#[expect(
    clippy::indexing_slicing,
    reason = "const table builder; i < 256 is the loop bound"
)]
const fn build_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let ctrl = b < 0x20 || b == 0x7f;
        let high = b >= 0x80;
        let mut c = 0;
        if ctrl || high || b == b',' || b == b' ' || b == b'\\' {
            c |= MEAS;
        }
        if ctrl || high || b == b',' || b == b'=' || b == b' ' || b == b'\\' {
            c |= KEY;
        }
        if high || b == b',' || b == b'=' || b == b' ' || b == b'\r' || b == b'\n' || b == b'\\' {
            c |= TAG_VALUE;
        }
        if high || b == b'"' || b == b'\\' || b == b'\n' {
            c |= STR;
        }
        if b == b',' || b == b' ' || b == b'\r' || b == b'\n' {
            c |= VAL;
        }
        if ctrl {
            c |= NOT_COMMENT;
        }
        if !(b == b'-' || b.is_ascii_digit()) {
            c |= NOT_TIME;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CLASSES: [u8; 256] = build_classes();

#[cfg_attr(not(feature = "small-code"), inline(always))]
pub(super) fn class(b: u8) -> u8 {
    match CLASSES.get(usize::from(b)) {
        Some(&c) => c,
        None => 0,
    }
}

/// Index of the first byte at or after `from` whose class has a bit of `mask`, or `data.len()`.
#[cfg_attr(not(feature = "small-code"), inline(always))]
pub(super) fn find(data: &[u8], from: usize, mask: u8) -> usize {
    let rest = data.get(from..).unwrap_or_default();
    from + rest
        .iter()
        .position(|&b| class(b) & mask != 0)
        .unwrap_or(rest.len())
}

/// Index of the first byte at or after `from` that is not a space.
#[cfg_attr(not(feature = "small-code"), inline(always))]
pub(super) fn skip_spaces(data: &[u8], from: usize) -> usize {
    let rest = data.get(from..).unwrap_or_default();
    from + rest.iter().position(|&b| b != b' ').unwrap_or(rest.len())
}

/// Index of the first `\n` at or after `from`.
pub(super) fn find_newline(data: &[u8], from: usize) -> Option<usize> {
    let rest = data.get(from..)?;
    rest.iter().position(|&b| b == b'\n').map(|i| from + i)
}

/// Where a name token ends, and what it held.
#[derive(Clone, Copy, Debug)]
pub(super) struct Name {
    /// Index just past the token.
    pub end: usize,
    /// It holds an escape sequence.
    pub escaped: bool,
    /// It holds a byte >= 0x80 (so its UTF-8 must be checked).
    pub non_ascii: bool,
}

/// Scans a measurement name (`MASK = MEAS`, `rule = Measurement`), a key
/// (`MASK = KEY`, `rule = Key`) or a tag value (`MASK = TAG_VALUE`, `rule = Key`) from `from`: up to the first byte
/// of the class that is not part of an escape sequence or non-ASCII text.
/// A `\` before any other byte is a literal backslash.
#[cfg_attr(not(feature = "small-code"), inline(always))]
pub(super) fn name<const MASK: u8>(data: &[u8], from: usize, rule: Rule) -> Name {
    let mut i = from;
    let mut escaped = false;
    let mut non_ascii = false;
    loop {
        i = find(data, i, MASK);
        match data.get(i) {
            Some(b'\\') => match data.get(i + 1) {
                Some(&c) if rule.escapes(c) => {
                    escaped = true;
                    i += 2;
                }
                _ => i += 1,
            },
            Some(&b) if b >= 0x80 => {
                non_ascii = true;
                i += 1;
            }
            _ => {
                return Name {
                    end: i,
                    escaped,
                    non_ascii,
                };
            }
        }
    }
}

/// Where a string value ends.
#[derive(Clone, Copy, Debug)]
pub(super) struct Str {
    /// Index of the closing quote, or `None` if the input ends first.
    pub close: Option<usize>,
    /// It holds `\"` or `\\`.
    pub escaped: bool,
    /// It holds a byte >= 0x80.
    pub non_ascii: bool,
    /// Newlines inside it.
    pub newlines: usize,
}

/// Scans a string value's contents from `from` (just past the opening quote).
#[inline]
pub(super) fn string(data: &[u8], from: usize) -> Str {
    let mut i = from;
    let mut s = Str {
        close: None,
        escaped: false,
        non_ascii: false,
        newlines: 0,
    };
    loop {
        i = find(data, i, STR);
        match data.get(i) {
            None => return s,
            Some(b'"') => {
                s.close = Some(i);
                return s;
            }
            Some(b'\\') => match data.get(i + 1) {
                Some(b'"' | b'\\') => {
                    s.escaped = true;
                    i += 2;
                }
                _ => i += 1,
            },
            Some(b'\n') => {
                s.newlines += 1;
                i += 1;
            }
            Some(_) => {
                s.non_ascii = true;
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stop_at_their_class_and_keep_escapes() {
        let d = br"a\,b\ c=d,e";
        let m = name::<MEAS>(d, 0, Rule::Measurement);
        assert_eq!((m.end, m.escaped, m.non_ascii), (9, true, false));
        let k = name::<KEY>(d, 0, Rule::Key);
        assert_eq!(k.end, 7);
        let lit = name::<KEY>(br"a\x b", 0, Rule::Key);
        assert_eq!((lit.end, lit.escaped), (3, false));
        let tail = name::<KEY>(br"ab\", 0, Rule::Key);
        assert_eq!(tail.end, 3);
        let utf = name::<KEY>("wè=1".as_bytes(), 0, Rule::Key);
        assert_eq!((utf.end, utf.non_ascii), (3, true));
        assert_eq!(name::<MEAS>(b"a\tb", 0, Rule::Measurement).end, 1);
        assert_eq!(name::<KEY>(b"a\x01b", 0, Rule::Key).end, 1);
        assert_eq!(name::<TAG_VALUE>(b"a\x01\tb\rc", 0, Rule::Key).end, 4);
    }

    #[test]
    fn strings_count_newlines_and_skip_escaped_quotes() {
        let s = string(b"a\\\"b\nc\\\\\"x", 0);
        assert_eq!((s.close, s.escaped, s.newlines), (Some(8), true, 1));
        let open = string(br#"abc\""#, 0);
        assert_eq!(open.close, None);
        let lit = string(br#"a\nb""#, 0);
        assert_eq!((lit.close, lit.escaped), (Some(4), false));
    }

    #[test]
    fn classes() {
        assert_ne!(class(b'\t') & NOT_COMMENT, 0);
        assert_eq!(class(0xC3) & NOT_COMMENT, 0);
        assert_eq!(class(b'-') & NOT_TIME, 0);
        assert_ne!(class(b'+') & NOT_TIME, 0);
        assert_eq!(find(b"12.5,x", 0, VAL), 4);
        assert_eq!(skip_spaces(b"   x", 1), 3);
        assert_eq!(find_newline(b"ab\ncd", 0), Some(2));
    }
}
