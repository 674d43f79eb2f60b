//! Time: now, RFC 3339 in and out, durations (`10s`, `1m`, `1h30m`, `500ms`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// (year, month, day) of a day count since 1970-01-01 (Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a civil date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (proleptic Gregorian) year of an instant, in UTC.
pub(crate) fn year_of(ns: i64) -> i64 {
    split(ns).0
}

fn split(ns: i64) -> (i64, u32, u32, i64, i64, i64, i64) {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    (y, mo, d, sod / 3600, sod / 60 % 60, sod % 60, frac)
}

/// RFC 3339 with the fraction as InfluxDB prints it: trailing zeros
/// dropped, none at all for whole seconds (`2020-08-01T00:00:05Z`).
pub fn rfc3339(ns: i64) -> String {
    let mut out = String::with_capacity(30);
    push_rfc3339(ns, &mut out);
    out
}

/// Appends [`rfc3339`]`(ns)` to `out` (query results print one per row:
/// digits are written directly, not through `format!`).
pub fn push_rfc3339(ns: i64, out: &mut String) {
    push_rfc3339_at(ns, 0, out);
}

/// Appends `ns` as RFC 3339 on the wall clock `offset` ns east of UTC, as
/// Go prints it: `2023-03-27T00:00:00+02:00`, or `Z` for a zero offset.
pub fn push_rfc3339_at(ns: i64, offset: i64, out: &mut String) {
    let (y, mo, d, h, mi, s, frac) = split(ns.saturating_add(offset));
    // i64 nanoseconds span the years 1677 to 2262: four digits.
    let digits = |out: &mut String, v: i64, width: u32| {
        for i in (0..width).rev() {
            let digit = (v / 10i64.pow(i)).rem_euclid(10) as u8;
            out.push(char::from(b'0' + digit));
        }
    };
    digits(out, y, 4);
    out.push('-');
    digits(out, i64::from(mo), 2);
    out.push('-');
    digits(out, i64::from(d), 2);
    out.push('T');
    digits(out, h, 2);
    out.push(':');
    digits(out, mi, 2);
    out.push(':');
    digits(out, s, 2);
    if frac != 0 {
        // Trailing zeros dropped.
        let mut width = 9;
        let mut f = frac;
        while f % 10 == 0 {
            f /= 10;
            width -= 1;
        }
        out.push('.');
        digits(out, f, width);
    }
    // Go's rule: `Z` for a zero offset; otherwise whole minutes (seconds
    // dropped), the sign taken from them.
    let minutes = offset / 60_000_000_000;
    if offset / 1_000_000_000 == 0 {
        out.push('Z');
    } else {
        out.push(if minutes < 0 { '-' } else { '+' });
        digits(out, (minutes.abs() / 60).min(99), 2);
        out.push(':');
        digits(out, minutes.abs() % 60, 2);
    }
}

/// An HTTP date (RFC 9110 IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(ns: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, mo, d, h, mi, s, _) = split(ns);
    let wd = ns
        .div_euclid(1_000_000_000)
        .div_euclid(86_400)
        .rem_euclid(7) as usize;
    format!(
        "{}, {d:02} {} {y:04} {h:02}:{mi:02}:{s:02} GMT",
        DAYS.get(wd).copied().unwrap_or("Thu"),
        MONTHS
            .get((mo as usize).wrapping_sub(1))
            .copied()
            .unwrap_or("Jan"),
    )
}

/// RFC 3339 with milliseconds, for logs.
pub fn rfc3339_ms(ns: i64) -> String {
    let (y, mo, d, h, mi, s, frac) = split(ns);
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
        frac / 1_000_000
    )
}

/// Parses RFC 3339 (`2020-08-01T00:00:05Z`, fractions, `+02:00` offsets,
/// and the date alone) into ns since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    if b.len() == 10 {
        return days.checked_mul(86_400_000_000_000);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' '))
        || b.len() < 19
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let digits = s.get(start..i)?;
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        frac = digits.parse::<i64>().ok()? * 10i64.pow(9 - digits.len() as u32);
    }
    let offset_s: i64 = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&c @ (b'+' | b'-')) if b.len() == i + 6 && b.get(i + 3) == Some(&b':') => {
            let off = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if c == b'+' { off } else { -off }
        }
        _ => return None,
    };
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    secs.checked_mul(1_000_000_000)?.checked_add(frac)
}

/// Parses a duration: one or more `<integer><unit>` with units `ns`, `u`/`µ`/`us`,
/// `ms`, `s`, `m`, `h`, `d`, `w` (InfluxQL's duration literals). Returns ns.
pub fn parse_duration(s: &str) -> Option<i64> {
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: i64 = rest.get(..digits)?.parse().ok()?;
        rest = rest.get(digits..)?;
        let unit_len = rest
            .chars()
            .take_while(|c| c.is_alphabetic())
            .map(char::len_utf8)
            .sum::<usize>();
        let unit = rest.get(..unit_len)?;
        rest = rest.get(unit_len..)?;
        let mul: i64 = match unit {
            "ns" => 1,
            "u" | "µ" | "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            "w" => 604_800_000_000_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(mul)?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_on_a_wall_clock_print_go_s_offsets() {
        let at = |ns: i64, offset_s: i64| {
            let mut out = String::new();
            push_rfc3339_at(ns, offset_s * 1_000_000_000, &mut out);
            out
        };
        let t = 1_698_620_400_000_000_000; // 2023-10-29T23:00:00Z
        assert_eq!(at(t, 3600), "2023-10-30T00:00:00+01:00");
        assert_eq!(at(t, -4 * 3600), "2023-10-29T19:00:00-04:00");
        assert_eq!(at(t + 1_500_000, 19_800), "2023-10-30T04:30:00.0015+05:30");
        assert_eq!(at(t, 0), "2023-10-29T23:00:00Z");
        // Seconds of an old local mean time are dropped from the offset;
        // under a minute it is +00:00, not Z.
        assert_eq!(at(t, -75), "2023-10-29T22:58:45-00:01");
        assert_eq!(at(t, 30), "2023-10-29T23:00:30+00:00");
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            http_date(784_111_777_000_000_000),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    /// The digits written directly match `format!`'s, over the whole range.
    #[test]
    fn rfc3339_digits_match_format() {
        let reference = |ns: i64| {
            let (y, mo, d, h, mi, s, frac) = split(ns);
            let mut out = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
            if frac != 0 {
                out.push('.');
                out.push_str(format!("{frac:09}").trim_end_matches('0'));
            }
            out + "Z"
        };
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut n = 0;
        for ns in [i64::MIN, i64::MAX, 0, -1, 1, 999_999_999, -999_999_999] {
            assert_eq!(rfc3339(ns), reference(ns), "{ns}");
            n += 1;
        }
        for shift in [0, 9, 20, 33] {
            for _ in 0..5_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let ns = (x as i64) >> shift;
                let ns = if shift >= 20 { ns / 1000 * 1000 } else { ns };
                assert_eq!(rfc3339(ns), reference(ns), "{ns}");
                n += 1;
            }
        }
        println!("{n} times formatted alike");
    }

    #[test]
    fn rfc3339_round_trips() {
        for (s, ns) in [
            ("1970-01-01T00:00:00Z", 0i64),
            ("2020-08-01T00:00:05Z", 1_596_240_005_000_000_000),
            ("2020-08-01T00:00:05.5Z", 1_596_240_005_500_000_000),
            ("2020-08-01T00:00:05.000000001Z", 1_596_240_005_000_000_001),
            ("1969-12-31T23:59:59Z", -1_000_000_000),
        ] {
            assert_eq!(parse_rfc3339(s), Some(ns), "{s}");
            assert_eq!(rfc3339(ns), s);
        }
        assert_eq!(
            parse_rfc3339("2020-08-01T02:00:05+02:00"),
            Some(1_596_240_005_000_000_000)
        );
        assert_eq!(parse_rfc3339("2020-08-01"), Some(1_596_240_000_000_000_000));
        for bad in [
            "",
            "2020",
            "2020-13-01T00:00:00Z",
            "2020-08-01T00:00:05",
            "2020-08-01T00:00:05.Z",
            "x",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Some(10_000_000_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("500ms"), Some(500_000_000));
        assert_eq!(parse_duration("1w"), Some(604_800_000_000_000));
        for bad in ["", "10", "s", "10x", "1.5h", "-1h"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
