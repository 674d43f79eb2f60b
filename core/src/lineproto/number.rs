//! Field values and timestamps from text: floats, integers, booleans.
//!
//! Floats are correctly rounded. Short decimals (at most 19 significant digits
//! and a power of ten within 10^±22, i.e. every sensor reading) take the exact
//! fast path: the digits as an integer (exact below 2^53) times or divided by an
//! exact power of ten, one correctly rounded IEEE operation. Everything else is
//! handed to `core`'s `f64` parser (Eisel-Lemire with a big-decimal fallback),
//! after this module has checked the syntax, which is stricter than `core`'s.

/// Why a number was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NumError {
    /// Not the expected syntax.
    Syntax,
    /// Well-formed, but outside the type's range.
    Range,
}

/// Exact powers of ten as f64 (10^22 is the last one below 2^53 · 2^22).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Parses `-?(D+(.D*)?|.D+)([eE][+-]?D+)?` (D a decimal digit) as the nearest f64.
///
/// Rejected although some parsers take them: a leading `+`, `inf`, `nan`,
/// hexadecimal floats and `_` digit separators. Values beyond ±f64::MAX are
/// [`NumError::Range`]; values below the smallest subnormal round to zero.
pub(super) fn parse_float(s: &[u8]) -> Result<f64, NumError> {
    let (neg, body) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let mut i = 0;
    let mut mantissa: u64 = 0;
    let mut digits = 0u32; // significant digits in `mantissa`
    let mut exact = true; // every significant digit fits in `mantissa`
    let mut exp10: i64 = 0;
    let mut any_digit = false;

    while let Some(&b) = body.get(i) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        any_digit = true;
        if digits < 19 {
            mantissa = mantissa * 10 + u64::from(d);
            digits += u32::from(mantissa != 0);
        } else {
            exact = false;
        }
        i += 1;
    }
    if body.get(i) == Some(&b'.') {
        i += 1;
        while let Some(&b) = body.get(i) {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            any_digit = true;
            if digits < 19 {
                mantissa = mantissa * 10 + u64::from(d);
                digits += u32::from(mantissa != 0);
                exp10 -= 1;
            } else {
                exact = false;
            }
            i += 1;
        }
    }
    if !any_digit {
        return Err(NumError::Syntax);
    }
    if let Some(b'e' | b'E') = body.get(i) {
        i += 1;
        let neg_exp = match body.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        let mut e: i64 = 0;
        while let Some(&b) = body.get(i) {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            // Saturate: beyond this any exponent means overflow or zero.
            e = (e * 10 + i64::from(d)).min(1 << 20);
            i += 1;
        }
        if i == start {
            return Err(NumError::Syntax);
        }
        exp10 += if neg_exp { -e } else { e };
    }
    if i != body.len() {
        return Err(NumError::Syntax);
    }

    let magnitude = if exact && mantissa <= 1 << 53 && (-22..=22).contains(&exp10) {
        let m = mantissa as f64;
        let p = POW10
            .get(exp10.unsigned_abs() as usize)
            .copied()
            .unwrap_or(1.0);
        if exp10 < 0 { m / p } else { m * p }
    } else {
        // The syntax above is a subset of core's, so this parses; the text is ASCII.
        let text = core::str::from_utf8(body).map_err(|_| NumError::Syntax)?;
        text.parse::<f64>().map_err(|_| NumError::Syntax)?
    };
    if magnitude.is_infinite() {
        return Err(NumError::Range);
    }
    Ok(if neg { -magnitude } else { magnitude })
}

/// Parses `-?D+` as an i64.
#[inline]
pub(super) fn parse_int(s: &[u8]) -> Result<i64, NumError> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let magnitude = parse_digits(digits)?;
    if neg {
        0i64.checked_sub_unsigned(magnitude).ok_or(NumError::Range)
    } else {
        i64::try_from(magnitude).map_err(|_| NumError::Range)
    }
}

/// Parses `D+` as a u64.
pub(super) fn parse_uint(s: &[u8]) -> Result<u64, NumError> {
    parse_digits(s)
}

#[inline]
fn parse_digits(s: &[u8]) -> Result<u64, NumError> {
    if s.is_empty() {
        return Err(NumError::Syntax);
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    // 19 digits stay below 10^19 < 2^64: no overflow check needed up to there.
    let (head, tail) = s.split_at(s.len().min(19));
    for &b in head {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return Err(NumError::Syntax);
        }
        value = value * 10 + u64::from(d);
    }
    for &b in tail {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return Err(NumError::Syntax);
        }
        match value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
    }
    if overflow {
        Err(NumError::Range)
    } else {
        Ok(value)
    }
}

/// `t T true True TRUE` and `f F false False FALSE`.
pub(super) fn parse_bool(s: &[u8]) -> Option<bool> {
    match s {
        b"t" | b"T" | b"true" | b"True" | b"TRUE" => Some(true),
        b"f" | b"F" | b"false" | b"False" | b"FALSE" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Result<f64, NumError> {
        parse_float(s.as_bytes())
    }

    #[test]
    fn floats_are_correctly_rounded() {
        for s in [
            "0",
            "-0",
            "1",
            "21.37",
            "-67",
            "1013.25",
            "3.912",
            ".5",
            "1.",
            "-.5",
            "1e4",
            "1E+4",
            "1.0e-4",
            "0.1",
            "9007199254740993",
            "123456789012345678901234567890",
            "2.2250738585072011e-308",
            "4.9e-324",
            "1.7976931348623157e308",
            "0.000000000000000000000000000001",
            "1e-400",
            "00012.50",
            "1e22",
            "1e23",
            "8.98846567431158e307",
        ] {
            let want: f64 = s.parse().unwrap();
            let got = f(s).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{s}");
        }
        assert!(f("-0").unwrap().is_sign_negative());
    }

    /// The fast path must give core's correctly rounded answer, bit for bit.
    #[test]
    fn random_decimals_match_core() {
        let mut x: u64 = 0x0123_4567_89AB_CDEF;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut fast = 0;
        for _ in 0..200_000 {
            let mut s = alloc::string::String::new();
            if next(2) == 0 {
                s.push('-');
            }
            let digits = 1 + next(24) as usize;
            let dot = next(digits as u64 + 2) as usize;
            for i in 0..digits {
                if i == dot {
                    s.push('.');
                }
                s.push(char::from(b'0' + next(10) as u8));
            }
            if next(3) == 0 {
                s.push(if next(2) == 0 { 'e' } else { 'E' });
                s.push_str(&alloc::format!("{}", next(61) as i64 - 30));
            }
            let want: f64 = s.parse().unwrap();
            let got = parse_float(s.as_bytes()).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{s}");
            fast += usize::from(digits <= 15);
        }
        assert!(fast > 100_000);
    }

    #[test]
    fn float_syntax_is_strict() {
        for s in [
            "", "-", ".", "-.", "+1", "1e", "1e+", "e5", "1.2.3", "1e5.0", "inf", "-inf", "NaN",
            "0x1p3", "1_000", "1 ", "--1", "1-", "1ee5", ".e1",
        ] {
            assert_eq!(f(s), Err(NumError::Syntax), "{s:?}");
        }
        assert_eq!(f("1e309"), Err(NumError::Range));
        assert_eq!(f("-1.8e308"), Err(NumError::Range));
        assert_eq!(f("1e99999999999999999999999"), Err(NumError::Range));
        assert_eq!(f("0e99999999999999999999999"), Ok(0.0));
        assert_eq!(f("1e-99999999999999999999999"), Ok(0.0));
    }

    #[test]
    fn integers() {
        assert_eq!(parse_int(b"-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_int(b"0009223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_int(b"9223372036854775808"), Err(NumError::Range));
        assert_eq!(parse_int(b"-9223372036854775809"), Err(NumError::Range));
        assert_eq!(parse_int(b"-0"), Ok(0));
        for s in [&b""[..], b"-", b"+1", b"1.0", b"--1", b"1_0", b" 1"] {
            assert_eq!(parse_int(s), Err(NumError::Syntax), "{s:?}");
        }
        assert_eq!(parse_uint(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_uint(b"18446744073709551616"), Err(NumError::Range));
        assert_eq!(parse_uint(b"-1"), Err(NumError::Syntax));
        assert_eq!(parse_uint(b"-0"), Err(NumError::Syntax));
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool(b"True"), Some(true));
        assert_eq!(parse_bool(b"F"), Some(false));
        assert_eq!(parse_bool(b"tRUE"), None);
        assert_eq!(parse_bool(b"yes"), None);
    }
}
