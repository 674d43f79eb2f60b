//! Time zones for InfluxQL's `tz('Area/City')`, read from the system's
//! zone database as InfluxDB reads it (Go's `time.LoadLocation`): the TZif
//! files (RFC 8536) under `$TZDIR`, else `/usr/share/zoneinfo` (Debian's
//! `tzdata`). `Local` is `/etc/localtime`.
//!
//! A file gives the zone's changes of offset up to some year (2037 in the
//! "fat" files Debian ships, fewer in "slim" ones) and a POSIX TZ rule for
//! the years after (`CET-1CEST,M3.5.0,M10.5.0/3`); the rule's changes are
//! added up to 2262, where nanosecond timestamps end. The result is a core
//! [`Zone`]. The last few zones read are kept, each checked against its
//! file's length and modification time, so a statement (parsed, run,
//! printed) and the dashboards that repeat it read a zone's file once.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use pulsardb_core::query::Zone;

const NS: i64 = 1_000_000_000;
/// Nanosecond timestamps end in 2262.
const LAST_YEAR: i64 = 2262;
/// Zone files are a few KiB; anything far larger is not one.
const MAX_FILE: u64 = 1 << 20;
/// Zones kept after reading.
const CACHED: usize = 8;

/// A zone read, with what its file looked like then (path, length, time).
type Cached = (PathBuf, u64, Option<SystemTime>, Arc<Zone>);

/// The zones read lately, oldest first.
static CACHE: Mutex<Vec<Cached>> = Mutex::new(Vec::new());

/// Whether `name` means UTC without reading any file: `UTC`, `Etc/UTC`,
/// `utc`, or empty (Go's `time.LoadLocation("")` is UTC).
pub fn is_utc(name: &str) -> bool {
    matches!(name, "" | "UTC" | "Etc/UTC" | "utc")
}

/// The zone named `name` (`Europe/Berlin`, `America/New_York`, `Local`),
/// or InfluxDB's message when there is none: `unable to find time zone X`.
pub fn load(name: &str) -> Result<Arc<Zone>, String> {
    let missing = || format!("unable to find time zone {name}");
    let path = if name == "Local" {
        std::path::PathBuf::from("/etc/localtime")
    } else {
        // Names as Go accepts them: relative, no `..`, no backslash.
        if name.is_empty()
            || name.len() > 255
            || name.starts_with('/')
            || name.contains('\\')
            || name.split('/').any(|part| part == ".." || part.is_empty())
            || name.contains('\0')
        {
            return Err(missing());
        }
        let dir = std::env::var_os("TZDIR")
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "/usr/share/zoneinfo".into());
        std::path::Path::new(&dir).join(name)
    };
    let meta = std::fs::metadata(&path).map_err(|_| missing())?;
    let (len, modified) = (meta.len(), meta.modified().ok());
    if let Ok(cache) = CACHE.lock()
        && let Some(hit) = cache
            .iter()
            .find(|c| c.0 == path && c.1 == len && c.2 == modified)
    {
        return Ok(Arc::clone(&hit.3));
    }
    let file = std::fs::File::open(&path).map_err(|_| missing())?;
    let mut bytes = Vec::new();
    use std::io::Read;
    file.take(MAX_FILE)
        .read_to_end(&mut bytes)
        .map_err(|_| missing())?;
    let zone = Arc::new(parse_tzif(&bytes).ok_or_else(missing)?);
    if let Ok(mut cache) = CACHE.lock() {
        cache.retain(|c| c.0 != path);
        if cache.len() >= CACHED {
            cache.remove(0);
        }
        cache.push((path, len, modified, Arc::clone(&zone)));
    }
    Ok(zone)
}

#[allow(clippy::big_endian_bytes, reason = "TZif (RFC 8536) is big-endian")]
fn be32(b: &[u8], at: usize) -> Option<i64> {
    let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(i64::from(i32::from_be_bytes(w)))
}

#[allow(clippy::big_endian_bytes, reason = "TZif (RFC 8536) is big-endian")]
fn be64(b: &[u8], at: usize) -> Option<i64> {
    let w: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
    Some(i64::from_be_bytes(w))
}

/// The six counts of a TZif header at `at`.
struct Header {
    version: u8,
    isut: usize,
    isstd: usize,
    leap: usize,
    time: usize,
    types: usize,
    chars: usize,
}

fn header(b: &[u8], at: usize) -> Option<Header> {
    if b.get(at..at + 4)? != b"TZif" {
        return None;
    }
    let count = |k: usize| -> Option<usize> { usize::try_from(be32(b, at + 20 + 4 * k)?).ok() };
    Some(Header {
        version: *b.get(at + 4)?,
        isut: count(0)?,
        isstd: count(1)?,
        leap: count(2)?,
        time: count(3)?,
        types: count(4)?,
        chars: count(5)?,
    })
}

impl Header {
    /// Bytes of the data block with `tsize`-byte times.
    fn data_len(&self, tsize: usize) -> Option<usize> {
        let parts = [
            self.time.checked_mul(tsize)?,
            self.time,
            self.types.checked_mul(6)?,
            self.chars,
            self.leap.checked_mul(tsize + 4)?,
            self.isstd,
            self.isut,
        ];
        parts.iter().try_fold(0usize, |a, &p| a.checked_add(p))
    }
}

/// A zone from a TZif file's bytes; `None` if they are not one.
pub fn parse_tzif(b: &[u8]) -> Option<Zone> {
    let h1 = header(b, 0)?;
    let v2 = h1.version >= b'2';
    let (h, at, tsize) = if v2 {
        // Version 2+: skip the 32-bit block, read the 64-bit one.
        let at2 = 44usize.checked_add(h1.data_len(4)?)?;
        (header(b, at2)?, at2 + 44, 8)
    } else {
        (h1, 44, 4)
    };
    if h.types == 0 || h.data_len(tsize)? > b.len().saturating_sub(at) {
        return None;
    }
    let types_at = at + h.time * tsize + h.time;
    let offset_of = |ty: usize| -> Option<i64> {
        if ty >= h.types {
            return None;
        }
        let s = be32(b, types_at + 6 * ty)?;
        // Offsets beyond a day are not real; RFC 8536 bounds them so.
        (s.abs() <= 26 * 3600).then_some(s * NS)
    };
    // Before the first change: type 0 (RFC 8536 section 3.2).
    let mut zone = Zone {
        base_ns: offset_of(0)?,
        changes: Vec::new(),
    };
    let mut last_s: Option<i64> = None;
    for i in 0..h.time {
        let t = if tsize == 8 {
            be64(b, at + 8 * i)?
        } else {
            be32(b, at + 4 * i)?
        };
        if last_s.is_some_and(|l| t <= l) {
            return None;
        }
        last_s = Some(t);
        let ty = usize::from(*b.get(at + h.time * tsize + i)?);
        let off = offset_of(ty)?;
        match t.checked_mul(NS) {
            Some(ns) => zone.changes.push((ns, off)),
            // Before 1677: the offset everything representable starts with.
            None if t < 0 => zone.base_ns = off,
            None => break,
        }
    }
    // The footer's rule, for the years after the last change.
    if v2 {
        let footer_at = at + h.data_len(tsize)?;
        let footer = b.get(footer_at..)?;
        if let Some(rest) = footer.strip_prefix(b"\n")
            && let Some(end) = rest.iter().position(|&c| c == b'\n')
            && let Ok(text) = std::str::from_utf8(&rest[..end])
            && !text.is_empty()
        {
            let rule = parse_posix(text)?;
            extend(&mut zone, &rule, last_s);
        }
    }
    Some(zone)
}

/// A POSIX TZ rule (`std offset [dst [offset] [,start[/time],end[/time]]]`).
#[derive(Debug, PartialEq)]
struct Posix {
    /// Standard time's offset, ns east of UTC.
    std: i64,
    /// Daylight time: its offset and when it starts and ends.
    dst: Option<(i64, Day, i64, Day, i64)>,
}

/// A rule's day of the year.
#[derive(Debug, PartialEq, Clone, Copy)]
enum Day {
    /// `Jn`: day 1..=365, February 29 never counted.
    Julian(i64),
    /// `n`: day 0..=365, February 29 counted.
    Zero(i64),
    /// `Mm.w.d`: weekday `d` (0 Sunday) of week `w` (5: the last) of month `m`.
    Month(u32, i64, i64),
}

fn parse_posix(s: &str) -> Option<Posix> {
    let mut p = Cursor {
        s: s.as_bytes(),
        i: 0,
    };
    p.name()?;
    let std = -p.zone_offset()?;
    if p.done() {
        return Some(Posix { std, dst: None });
    }
    p.name()?;
    let dst = if p.peek().is_some_and(|c| c != b',') {
        -p.zone_offset()?
    } else {
        std + 3600 * NS
    };
    // Without a rule, POSIX leaves the dates to the implementation; zone
    // files always give one.
    p.eat(b',')?;
    let (start, start_t) = p.rule()?;
    p.eat(b',')?;
    let (end, end_t) = p.rule()?;
    p.done().then_some(Posix {
        std,
        dst: Some((dst, start, start_t, end, end_t)),
    })
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }
    /// A zone abbreviation: letters, or anything but `>` between `<` `>`.
    fn name(&mut self) -> Option<()> {
        let start = self.i;
        if self.peek() == Some(b'<') {
            while self.peek()? != b'>' {
                self.i += 1;
            }
            self.i += 1;
        } else {
            while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                self.i += 1;
            }
        }
        (self.i > start).then_some(())
    }
    fn number(&mut self) -> Option<i64> {
        let start = self.i;
        let mut n: i64 = 0;
        while let Some(c) = self.peek().filter(u8::is_ascii_digit) {
            n = n.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
            self.i += 1;
        }
        (self.i > start && n <= 1000).then_some(n)
    }
    /// `[+-]hh[:mm[:ss]]`, in ns.
    fn offset(&mut self) -> Option<i64> {
        let sign = match self.peek() {
            Some(b'-') => {
                self.i += 1;
                -1
            }
            Some(b'+') => {
                self.i += 1;
                1
            }
            _ => 1,
        };
        let mut secs = self.number()? * 3600;
        for unit in [60, 1] {
            if self.peek() == Some(b':') {
                self.i += 1;
                secs += self.number()? * unit;
            }
        }
        Some(sign * secs * NS)
    }
    /// A zone's offset: within a day (rule times may reach 167 hours).
    fn zone_offset(&mut self) -> Option<i64> {
        self.offset().filter(|o| o.abs() <= 25 * 3600 * NS)
    }
    /// A date and its time of day (02:00 unless given).
    fn rule(&mut self) -> Option<(Day, i64)> {
        let day = match self.peek()? {
            b'J' => {
                self.i += 1;
                Day::Julian(self.number().filter(|n| (1..=365).contains(n))?)
            }
            b'M' => {
                self.i += 1;
                let m = self.number().filter(|n| (1..=12).contains(n))?;
                self.eat(b'.')?;
                let w = self.number().filter(|n| (1..=5).contains(n))?;
                self.eat(b'.')?;
                let d = self.number().filter(|n| (0..=6).contains(n))?;
                Day::Month(m as u32, w, d)
            }
            _ => Day::Zero(self.number().filter(|n| (0..=365).contains(n))?),
        };
        let time = if self.peek() == Some(b'/') {
            self.i += 1;
            self.offset()?
        } else {
            2 * 3600 * NS
        };
        Some((day, time))
    }
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Days since 1970-01-01 of `day` in year `y`.
fn day_of(y: i64, day: Day) -> i64 {
    let jan1 = crate::time::days_from_civil(y, 1, 1);
    match day {
        Day::Julian(n) => jan1 + n - 1 + i64::from(is_leap(y) && n >= 60),
        Day::Zero(n) => jan1 + n,
        Day::Month(m, w, d) => {
            let first = crate::time::days_from_civil(y, m, 1);
            let next = if m == 12 {
                crate::time::days_from_civil(y + 1, 1, 1)
            } else {
                crate::time::days_from_civil(y, m + 1, 1)
            };
            // 1970-01-01 was a Thursday (4).
            let weekday = (first + 4).rem_euclid(7);
            let mut day = first + (d - weekday).rem_euclid(7) + 7 * (w - 1);
            while day >= next {
                day -= 7;
            }
            day
        }
    }
}

/// Adds the rule's changes after `after_s` (seconds; the file's last
/// change) up to [`LAST_YEAR`].
fn extend(zone: &mut Zone, rule: &Posix, after_s: Option<i64>) {
    let Some((dst, start, start_t, end, end_t)) = rule.dst else {
        // A fixed offset from the last change on: the file's last change
        // already gives it, or there is none and it is the only one.
        if after_s.is_none() {
            zone.base_ns = rule.std;
        }
        return;
    };
    let after = after_s.map_or(i64::MIN, |s| s.saturating_mul(NS));
    let first_year = match after_s {
        Some(s) => crate::time::year_of(s.saturating_mul(NS)),
        None => 1970,
    };
    if after_s.is_none() {
        zone.base_ns = rule.std;
    }
    for y in first_year..=LAST_YEAR {
        // Start of daylight time is given in standard local time, its end
        // in daylight local time.
        let at = |day: Day, t: i64, offset: i64| {
            day_of(y, day)
                .checked_mul(86_400 * NS)?
                .checked_add(t)?
                .checked_sub(offset)
        };
        // 2262 ends in April, nanoseconds with it.
        let (Some(on), Some(off)) = (at(start, start_t, rule.std), at(end, end_t, dst)) else {
            break;
        };
        let mut pair = [(on, dst), (off, rule.std)];
        pair.sort_unstable();
        for (t, o) in pair {
            match zone.changes.last_mut() {
                _ if t <= after => {}
                // Daylight time all year (`EST5EDT,0/0,J365/25`): a year's
                // end is the next one's start, which wins.
                Some(l) if t == l.0 => l.1 = o,
                Some(l) if t < l.0 => {}
                _ => zone.changes.push((t, o)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600 * NS;

    #[test]
    fn posix_rules() {
        let p = parse_posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        assert_eq!(p.std, H);
        assert_eq!(
            p.dst,
            Some((
                2 * H,
                Day::Month(3, 5, 0),
                2 * H,
                Day::Month(10, 5, 0),
                3 * H
            ))
        );
        let p = parse_posix("<+0530>-5:30").unwrap();
        assert_eq!((p.std, p.dst), (5 * H + H / 2, None));
        let p = parse_posix("EST5EDT,M3.2.0,M11.1.0").unwrap();
        assert_eq!(p.std, -5 * H);
        assert_eq!(p.dst.unwrap().0, -4 * H);
        let p = parse_posix("IST-2IDT,M3.4.4/26,M10.5.0").unwrap();
        assert_eq!(p.dst.unwrap().2, 26 * H);
        let p = parse_posix("<-01>1<+00>,M3.5.0/0,M10.5.0/1").unwrap();
        assert_eq!((p.std, p.dst.unwrap().0), (-H, 0));
        for bad in [
            "",
            "CET",
            "CET-1CEST,M3.5.0",
            "CET-1CEST,M13.5.0,M10.5.0",
            "<CET",
            "XXX-100",
        ] {
            assert_eq!(parse_posix(bad), None, "{bad}");
        }
    }

    #[test]
    fn rule_days() {
        // Last Sunday of March 2023: the 26th; of October: the 29th.
        assert_eq!(
            day_of(2023, Day::Month(3, 5, 0)),
            crate::time::days_from_civil(2023, 3, 26)
        );
        assert_eq!(
            day_of(2023, Day::Month(10, 5, 0)),
            crate::time::days_from_civil(2023, 10, 29)
        );
        // Second Sunday of March 2024: the 10th.
        assert_eq!(
            day_of(2024, Day::Month(3, 2, 0)),
            crate::time::days_from_civil(2024, 3, 10)
        );
        // J60 is March 1 even in leap years; 59 (zero-based) is Feb 29 then.
        assert_eq!(
            day_of(2024, Day::Julian(60)),
            crate::time::days_from_civil(2024, 3, 1)
        );
        assert_eq!(
            day_of(2024, Day::Zero(59)),
            crate::time::days_from_civil(2024, 2, 29)
        );
    }

    /// A version 2 file with one change and a footer, built by hand.
    #[allow(clippy::big_endian_bytes, reason = "TZif (RFC 8536) is big-endian")]
    fn tzif(footer: &str) -> Vec<u8> {
        let mut b = Vec::new();
        let head = |b: &mut Vec<u8>, counts: [u32; 6]| {
            b.extend_from_slice(b"TZif2");
            b.extend_from_slice(&[0; 15]);
            for c in counts {
                b.extend_from_slice(&c.to_be_bytes());
            }
        };
        // Empty 32-bit block (one type, required).
        head(&mut b, [0, 0, 0, 0, 1, 4]);
        b.extend_from_slice(&3600i32.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(b"CET\0");
        // 64-bit block: LMT until 1893, then CET.
        head(&mut b, [0, 0, 0, 1, 2, 8]);
        b.extend_from_slice(&(-2_422_051_208i64).to_be_bytes());
        b.push(1);
        b.extend_from_slice(&3208i32.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&3600i32.to_be_bytes());
        b.extend_from_slice(&[0, 4]);
        b.extend_from_slice(b"LMT\0CET\0");
        b.push(b'\n');
        b.extend_from_slice(footer.as_bytes());
        b.push(b'\n');
        b
    }

    #[test]
    fn files_and_footers() {
        let z = parse_tzif(&tzif("CET-1CEST,M3.5.0,M10.5.0/3")).unwrap();
        assert_eq!(z.base_ns, 3208 * NS);
        // 2023-03-26T01:00Z on, +2 h; 2023-10-29T01:00Z on, +1 h.
        let spring = 1_679_792_400 * NS;
        let autumn = 1_698_541_200 * NS;
        assert_eq!(z.offset_at(spring - 1), H);
        assert_eq!(z.offset_at(spring), 2 * H);
        assert_eq!(z.offset_at(autumn - 1), 2 * H);
        assert_eq!(z.offset_at(autumn), H);
        // Years from 1893 to 2262, two changes each.
        assert!(z.changes.len() > 700, "{}", z.changes.len());
        // Daylight time all year: -4 h from the first rule's start on.
        let always = parse_tzif(&tzif("EST5EDT,0/0,J365/25")).unwrap();
        assert_eq!(always.offset_at(spring), -4 * H);
        assert_eq!(always.offset_at(autumn + 400 * 24 * H), -4 * H);
        let fixed = parse_tzif(&tzif("CET-1")).unwrap();
        assert_eq!(fixed.changes.len(), 1);
        assert_eq!(fixed.offset_at(spring), H);
        // Damaged files are refused, never misread or a panic.
        let good = tzif("CET-1CEST,M3.5.0,M10.5.0/3");
        for cut in 0..good.len() {
            let _ = parse_tzif(&good[..cut]);
        }
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut b = good.clone();
                b[i] ^= 1 << bit;
                let _ = parse_tzif(&b);
            }
        }
        assert!(parse_tzif(b"not a zone file").is_none());
    }

    #[test]
    fn system_zones_match_known_changes() {
        // The suite's setup installs tzdata; these are facts of the
        // database, not of this code.
        let z = load("Europe/Berlin").expect("tzdata: /usr/share/zoneinfo/Europe/Berlin");
        assert_eq!(z.offset_at(1_679_792_400 * NS - 1), H);
        assert_eq!(z.offset_at(1_679_792_400 * NS), 2 * H);
        // 2100-03-28T01:00Z: beyond the file's own table, from its rule.
        let t2100 = 4_109_878_800 * NS;
        assert_eq!(z.offset_at(t2100 - 1), H);
        assert_eq!(z.offset_at(t2100), 2 * H);
        let ny = load("America/New_York").unwrap();
        assert_eq!(ny.offset_at(1_700_000_000 * NS), -5 * H);
        let kolkata = load("Asia/Kolkata").unwrap();
        assert_eq!(kolkata.offset_at(1_700_000_000 * NS), 5 * H + H / 2);
        for bad in [
            "Nowhere/Foo",
            "../etc/passwd",
            "/etc/localtime",
            "Europe//Berlin",
            "",
        ] {
            assert_eq!(
                load(bad).unwrap_err(),
                format!("unable to find time zone {bad}")
            );
        }
    }
}
