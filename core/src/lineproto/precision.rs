//! Timestamp precision (the `precision=` parameter of `/write`) and the limits a line must keep.

/// The unit of the timestamps in a line-protocol body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Precision {
    /// Nanoseconds (the default of InfluxDB).
    #[default]
    Nanoseconds,
    /// Microseconds.
    Microseconds,
    /// Milliseconds.
    Milliseconds,
    /// Seconds.
    Seconds,
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
}

impl Precision {
    /// Reads the `precision` query parameter of InfluxDB 1.x and 2.x `/write`:
    /// `n`/`ns`, `u`/`us`/`µ`/`µs` (micro sign or Greek mu), `ms`, `s`, `m`, `h`.
    pub fn from_influx_param(s: &str) -> Option<Self> {
        Some(match s {
            "n" | "ns" => Precision::Nanoseconds,
            "u" | "us" | "µ" | "µs" | "μ" | "μs" => Precision::Microseconds,
            "ms" => Precision::Milliseconds,
            "s" => Precision::Seconds,
            "m" => Precision::Minutes,
            "h" => Precision::Hours,
            _ => return None,
        })
    }

    /// The short name: `ns`, `us`, `ms`, `s`, `m` or `h`.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Nanoseconds => "ns",
            Precision::Microseconds => "us",
            Precision::Milliseconds => "ms",
            Precision::Seconds => "s",
            Precision::Minutes => "m",
            Precision::Hours => "h",
        }
    }

    /// Nanoseconds in one unit.
    pub fn unit_ns(self) -> i64 {
        match self {
            Precision::Nanoseconds => 1,
            Precision::Microseconds => 1_000,
            Precision::Milliseconds => 1_000_000,
            Precision::Seconds => 1_000_000_000,
            Precision::Minutes => 60_000_000_000,
            Precision::Hours => 3_600_000_000_000,
        }
    }

    /// `t` units in nanoseconds, or `None` if that overflows an i64.
    pub fn to_ns(self, t: i64) -> Option<i64> {
        t.checked_mul(self.unit_ns())
    }

    /// `ts_ns` rounded down to a whole unit: what a line without a timestamp
    /// gets when the server's clock reads `ts_ns` (InfluxDB truncates "now"
    /// to the request's precision).
    /// (Within one unit of `i64::MIN`, where rounding down would overflow, it rounds up.)
    pub fn truncate_ns(self, ts_ns: i64) -> i64 {
        let unit = self.unit_ns();
        let r = ts_ns.rem_euclid(unit);
        ts_ns.checked_sub(r).unwrap_or(ts_ns + (unit - r))
    }
}

/// Bounds on one line, so a hostile body cannot make the parser's output
/// (tags and fields are kept in vectors) grow far beyond its input.
///
/// Every value is valid; a zero simply rejects every line that has any of
/// that thing. The errors name the limit ([`ErrorKind::TooManyTags`](super::ErrorKind::TooManyTags), ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// Longest line in bytes, not counting its newline.
    pub max_line_bytes: usize,
    /// Most tags in one line.
    pub max_tags: usize,
    /// Most fields in one line.
    pub max_fields: usize,
}

impl Limits {
    /// 1 MiB lines, 1024 tags, 1024 fields: far above what real writers
    /// (Telegraf, the client libraries) send, and a bounded output.
    pub const DEFAULT: Limits = Limits {
        max_line_bytes: 1 << 20,
        max_tags: 1024,
        max_fields: 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn influx_params() {
        assert_eq!(
            Precision::from_influx_param("n"),
            Some(Precision::Nanoseconds)
        );
        assert_eq!(
            Precision::from_influx_param("µs"),
            Some(Precision::Microseconds)
        );
        assert_eq!(
            Precision::from_influx_param("u"),
            Some(Precision::Microseconds)
        );
        assert_eq!(
            Precision::from_influx_param("ms"),
            Some(Precision::Milliseconds)
        );
        assert_eq!(Precision::from_influx_param("s"), Some(Precision::Seconds));
        assert_eq!(Precision::from_influx_param("m"), Some(Precision::Minutes));
        assert_eq!(Precision::from_influx_param("h"), Some(Precision::Hours));
        assert_eq!(Precision::from_influx_param("S"), None);
        assert_eq!(Precision::from_influx_param(""), None);
    }

    #[test]
    fn conversion_checks_overflow() {
        assert_eq!(Precision::Seconds.to_ns(2), Some(2_000_000_000));
        assert_eq!(Precision::Seconds.to_ns(-2), Some(-2_000_000_000));
        assert_eq!(Precision::Seconds.to_ns(9_223_372_037), None);
        assert_eq!(Precision::Nanoseconds.to_ns(i64::MIN), Some(i64::MIN));
        assert_eq!(
            Precision::Hours.to_ns(i64::MAX / 3_600_000_000_000 + 1),
            None
        );
    }

    #[test]
    fn truncation_rounds_down() {
        assert_eq!(Precision::Seconds.truncate_ns(1_999_999_999), 1_000_000_000);
        assert_eq!(Precision::Seconds.truncate_ns(-1), -1_000_000_000);
        assert_eq!(Precision::Nanoseconds.truncate_ns(-7), -7);
        assert_eq!(
            Precision::Milliseconds.truncate_ns(946_730_096_789_012_345),
            946_730_096_789_000_000
        );
        assert_eq!(
            Precision::Seconds.truncate_ns(i64::MIN),
            -9_223_372_036_000_000_000
        );
    }
}
