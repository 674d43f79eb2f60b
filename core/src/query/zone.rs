//! Windows aligned to a time zone's wall clock (InfluxQL's `tz('...')`).
//!
//! The core holds no zone database: the caller reads one (the server reads
//! the system's TZif files) and hands the query the zone's offsets from UTC
//! as a [`Zone`]. Windows then start at local multiples of their length
//! plus their offset, so `GROUP BY time(1d)` starts at local midnight and
//! has 23 or 25 hours on the days the clocks change.
//!
//! The rule is InfluxDB 1.x's, so that dashboards give the same answers:
//! for a time `t` (less the window offset), take the zone's offset there,
//! truncate the local time to the window length, then correct the start
//! (and likewise the end) by the change of offset between `t` and it, when
//! that change is shorter than a window. Where the clocks go back by less
//! than a window, the window before the change can end after the next one
//! starts (two hours from 02:00 CEST run to 04:00 CET, while a window starts
//! at 02:00 CET): InfluxDB lets a window take every point before its end,
//! so [`zoned_start`] gives such points the earlier window too.
//!
//! Near a change the window of a time can even go back as time goes on (90
//! minute windows in London when the clocks go back: 01:59 BST is in the
//! window of 01:30, 01:00 GMT a minute later in that of 00:00). So a chunk
//! is answered from its statistics only where the offset is steady for a
//! few windows around it; elsewhere its points are bucketed one by one.

use alloc::vec::Vec;

/// A time zone's offsets from UTC (ns, east positive) over time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Zone {
    /// The offset before the first change (everywhere, without changes).
    pub base_ns: i64,
    /// Changes, by instant: (first instant of the new offset, that offset).
    pub changes: Vec<(i64, i64)>,
}

impl Zone {
    /// How many changes happened at or before `t` (which period `t` is in).
    fn period(&self, t: i64) -> usize {
        self.changes.partition_point(|c| c.0 <= t)
    }

    fn offset_of_period(&self, p: usize) -> i64 {
        match p.checked_sub(1).and_then(|i| self.changes.get(i)) {
            Some(c) => c.1,
            None => self.base_ns,
        }
    }

    /// Whether the offset stays the same from `lo` to `hi` (inclusive).
    pub fn steady(&self, lo: i64, hi: i64) -> bool {
        self.period(lo) == self.period(hi)
    }

    /// The offset from UTC at instant `t`.
    pub fn offset_at(&self, t: i64) -> i64 {
        self.offset_of_period(self.period(t))
    }

    /// The instant of a wall-clock time `local` (ns as if UTC). A local
    /// time skipped when the clocks go forward, or repeated when they go
    /// back, gets the instant Go's `time.Date` gives it (and so InfluxDB):
    /// the offset in force at `local` read as UTC, unless the instant
    /// that gives falls outside that offset's period.
    pub fn from_local(&self, local: i64) -> i64 {
        let p = self.period(local);
        let utc = local.saturating_sub(self.offset_of_period(p));
        if self.period(utc) == p {
            utc
        } else {
            local.saturating_sub(self.offset_at(utc))
        }
    }
}

/// The window `[start, end)` holding `ts`, for windows of `every` ns
/// offset by `offset` ns on the wall clock of `zone` (InfluxDB's rule; see
/// the module docs). `offset` is taken as given, negative or not: with a
/// zone its sign matters, as in InfluxDB.
pub fn zoned_bounds(ts: i64, every: i64, offset: i64, zone: &Zone) -> (i64, i64) {
    let every = every.max(1);
    let t = ts.saturating_sub(offset);
    let z = zone.offset_at(t);
    let dt = t.wrapping_add(z).rem_euclid(every);
    let mut start = t.saturating_sub(dt);
    let shift = z.saturating_sub(zone.offset_at(start));
    if shift != 0 && shift.unsigned_abs() < every.unsigned_abs() {
        start = start.saturating_add(shift);
    }
    let mut end = t.saturating_add(every - dt);
    let end_offset = zone.offset_at(end);
    let shift = z.saturating_sub(end_offset);
    // Time the clocks repeat belongs to the window before; time they skip
    // shortens the window only if the change happens inside it.
    if shift != 0
        && shift.unsigned_abs() < every.unsigned_abs()
        && (shift > 0 || zone.offset_at(end.saturating_add(shift)) == end_offset)
    {
        end = end.saturating_add(shift);
    }
    (start.saturating_add(offset), end.saturating_add(offset))
}

/// The start of the window whose points include `ts`: the start of
/// [`zoned_bounds`], or of the window before when that one reaches past
/// `ts` (see the module docs).
pub fn zoned_start(ts: i64, every: i64, offset: i64, zone: &Zone) -> i64 {
    let (start, _) = zoned_bounds(ts, every, offset, zone);
    if start > i64::MIN {
        let (before, before_end) = zoned_bounds(start - 1, every, offset, zone);
        if before < start && before_end > ts {
            return before;
        }
    }
    start
}

/// The window after the one starting at `start`, as InfluxDB steps through
/// the windows it fills: one window length on, then corrected by the change
/// of offset at the step (when shorter than a window). `offset_ns` is the
/// offset the stepping last saw; it is updated.
pub fn zoned_next(start: i64, every: i64, zone: &Zone, offset_ns: &mut i64) -> i64 {
    let mut next = start.saturating_add(every.max(1));
    let now = zone.offset_at(next.saturating_sub(1));
    if now != *offset_ns {
        let shift = offset_ns.saturating_sub(now);
        if shift.unsigned_abs() < every.unsigned_abs() {
            next = next.saturating_add(shift);
        }
        *offset_ns = now;
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000_000;
    /// 2023-03-26T01:00Z, when Berlin goes from +1 h to +2 h.
    const SPRING: i64 = 1_679_792_400_000_000_000;
    /// 2023-10-29T01:00Z, when it goes back.
    const AUTUMN: i64 = 1_698_541_200_000_000_000;

    fn berlin() -> Zone {
        Zone {
            base_ns: H,
            changes: alloc::vec![(SPRING, 2 * H), (AUTUMN, H)],
        }
    }

    #[test]
    fn days_start_at_local_midnight() {
        let z = berlin();
        // Noon UTC on the short day: its window is 23 hours, midnight to midnight.
        let (s, e) = zoned_bounds(SPRING + 11 * H, 24 * H, 0, &z);
        assert_eq!((s, e), (SPRING - 2 * H, SPRING + 21 * H));
        // Half past midnight UTC, before the change: the same window.
        assert_eq!(
            zoned_bounds(SPRING - H / 2, 24 * H, 0, &z),
            (SPRING - 2 * H, SPRING + 21 * H)
        );
        // The long day: 25 hours.
        let (s, e) = zoned_bounds(AUTUMN + 5 * H, 24 * H, 0, &z);
        assert_eq!(e - s, 25 * H);
        assert_eq!(s, AUTUMN - 3 * H);
        // Stepping from one midnight gives the next.
        let mut off = z.offset_at(SPRING - 2 * H);
        assert_eq!(
            zoned_next(SPRING - 2 * H, 24 * H, &z, &mut off),
            SPRING + 21 * H
        );
        assert_eq!(off, 2 * H);
    }

    #[test]
    fn repeated_hour_goes_to_the_window_before() {
        let z = berlin();
        // Two-hour windows: 02:00 CEST (00:00Z) runs to 04:00 CET (03:00Z)
        // while another starts at 02:00 CET (01:00Z).
        assert_eq!(
            zoned_bounds(AUTUMN - H, 2 * H, 0, &z),
            (AUTUMN - H, AUTUMN + 2 * H)
        );
        assert_eq!(zoned_bounds(AUTUMN, 2 * H, 0, &z).0, AUTUMN);
        assert_eq!(zoned_start(AUTUMN, 2 * H, 0, &z), AUTUMN - H);
        assert_eq!(zoned_start(AUTUMN + H, 2 * H, 0, &z), AUTUMN - H);
        assert_eq!(zoned_start(AUTUMN + 2 * H, 2 * H, 0, &z), AUTUMN + 2 * H);
    }

    #[test]
    fn local_times_resolve_like_go() {
        let z = berlin();
        // 2023-03-26T02:30 does not exist in Berlin; Go reads it with the
        // offset before the change: 01:30Z.
        let local = SPRING + 90 * 60_000_000_000;
        assert_eq!(z.from_local(local), SPRING + H / 2);
        // 2023-10-29T02:30 happens twice; Go picks the second (CET), 01:30Z.
        let local = AUTUMN + H + H / 2;
        assert_eq!(z.from_local(local), AUTUMN + H / 2);
        // An ordinary time.
        assert_eq!(z.from_local(12 * H), 11 * H);
        // Without changes, a fixed offset.
        let fixed = Zone {
            base_ns: -5 * H,
            changes: Vec::new(),
        };
        assert_eq!(fixed.from_local(0), 5 * H);
        assert_eq!(zoned_bounds(0, 24 * H, 0, &fixed), (5 * H - 24 * H, 5 * H));
    }

    #[test]
    fn extremes_do_not_overflow() {
        let z = berlin();
        for ts in [i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1, 0] {
            for every in [1, H, 24 * H, i64::MAX] {
                for offset in [0, -H, H, i64::MIN, i64::MAX] {
                    let _ = zoned_bounds(ts, every, offset, &z);
                    let _ = zoned_start(ts, every, offset, &z);
                    let mut o = 0;
                    let _ = zoned_next(ts, every, &z, &mut o);
                }
            }
            let _ = z.from_local(ts);
        }
    }
}
