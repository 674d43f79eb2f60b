//! GROUP BY time windows: in UTC, or on a zone's wall clock (`tz('...')`).
//!
//! In UTC a window starts at `k * every + offset` and lasts `every`. In a
//! zone, windows follow the core's [`zoned_start`] (InfluxDB's rule), so a
//! day window runs from local midnight to local midnight, 23 or 25 hours
//! when the clocks change. The windows reported (and filled) are the ones
//! InfluxDB's fill steps through, merged with those that hold points: the
//! two agree except around a change of offset, where InfluxDB reports both.
//!
//! One difference is kept: under ORDER BY time DESC InfluxDB buckets and
//! steps backwards, which around a change of offset can split windows
//! shorter than a day differently (two-hour windows over the repeated hour,
//! say). PulsarDB buckets as for ascending order and reverses the rows; day
//! windows, the case of dashboards, agree (the differential test has one).

use std::sync::Arc;

use pulsardb_core::query::Zone;
use pulsardb_core::query::window_start;
use pulsardb_core::query::zone::{zoned_bounds, zoned_next, zoned_start};

/// `GROUP BY time(every, offset)`, with the statement's zone if any.
#[derive(Clone, Debug)]
pub struct Win {
    /// Window length, ns (positive).
    pub every: i64,
    /// Offset, ns: in `0..every` in UTC; as written (modulo `every`, sign
    /// kept) in a zone, where InfluxDB's rule depends on it.
    pub offset: i64,
    /// The zone whose wall clock aligns the windows.
    pub zone: Option<Arc<Zone>>,
}

impl Win {
    /// Windows of `every` ns offset by `offset` ns, in `zone` if given.
    pub fn new(every: i64, offset: i64, zone: Option<Arc<Zone>>) -> Self {
        let offset = match zone {
            Some(_) => offset % every,
            None => offset.rem_euclid(every),
        };
        Self {
            every,
            offset,
            zone,
        }
    }

    /// The start of the window holding `t`.
    pub fn start(&self, t: i64) -> i64 {
        match &self.zone {
            Some(z) => zoned_start(t, self.every, self.offset, z),
            None => window_start(t, self.every, self.offset),
        }
    }

    /// The end (exclusive) of the window starting at `start`.
    pub fn end(&self, start: i64) -> i64 {
        match &self.zone {
            Some(z) => zoned_bounds(start, self.every, self.offset, z).1,
            None => start.saturating_add(self.every),
        }
    }

    /// The windows to report from the one holding `lo` to the one holding
    /// `hi`, given the starts of those with points (`have`, ascending), as
    /// InfluxDB's fill walks them: step by step, taking a window with
    /// points where one is due (or overdue) and an empty one otherwise.
    /// `None` when there would be more than `max`.
    pub fn report(&self, lo: i64, hi: i64, have: &[i64], max: usize) -> Option<Vec<i64>> {
        let first = self.start(lo);
        let last = self.start(hi);
        let Some(zone) = &self.zone else {
            let n = (last.saturating_sub(first) / self.every).checked_add(1)?;
            let n = usize::try_from(n).ok()?;
            if n > max {
                return None;
            }
            return Some((0..n as i64).map(|k| first + k * self.every).collect());
        };
        let mut out = Vec::new();
        let mut due = first;
        let mut offset = zone.offset_at(due);
        let mut have = have.iter().copied().peekable();
        loop {
            match have.peek() {
                Some(&w) if w <= due => {
                    out.push(w);
                    have.next();
                }
                Some(_) => out.push(due),
                None if due <= last => out.push(due),
                None => break,
            }
            if out.len() > max {
                return None;
            }
            let next = zoned_next(due, self.every, zone, &mut offset);
            if next <= due {
                break;
            }
            due = next;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000_000;
    /// 2023-10-29T01:00Z: Berlin goes from +2 h back to +1 h.
    const AUTUMN: i64 = 1_698_541_200_000_000_000;

    fn berlin_autumn() -> Option<Arc<Zone>> {
        Some(Arc::new(Zone {
            base_ns: 2 * H,
            changes: vec![(AUTUMN, H)],
        }))
    }

    #[test]
    fn utc_windows_are_every_multiple() {
        let w = Win::new(10, -3, None);
        assert_eq!(w.offset, 7);
        assert_eq!(w.start(25), 17);
        assert_eq!(w.end(17), 27);
        assert_eq!(w.report(5, 40, &[], 100), Some(vec![-3, 7, 17, 27, 37]));
        assert_eq!(w.report(5, 40, &[], 4), None);
    }

    #[test]
    fn days_around_a_change_are_walked_like_influxdb() {
        let w = Win::new(24 * H, 0, berlin_autumn());
        // Local midnights: the 28th at 22:00Z the day before, the 29th (25 h
        // long) at 22:00Z on the 28th, the 30th at 23:00Z on the 29th.
        let m29 = AUTUMN - 3 * H;
        let m28 = m29 - 24 * H;
        let m30 = m29 + 25 * H;
        assert_eq!(w.start(AUTUMN + 10 * H), m29);
        assert_eq!(w.end(m29), m30);
        assert_eq!(w.end(m28), m29);
        // Empty windows are filled; windows with points are taken as they are.
        assert_eq!(
            w.report(m28, m30 + H, &[m29], 100),
            Some(vec![m28, m29, m30])
        );
        // A window with points the walk does not step on is reported too,
        // in the step where it is due (and that step's own window is not,
        // as in InfluxDB's fill).
        assert_eq!(
            w.report(m28, m30 + H, &[m29 + H], 100),
            Some(vec![m28, m29, m29 + H])
        );
        // The bound holds in a zone too.
        assert_eq!(w.report(m28, m28 + 1000 * 24 * H, &[], 10), None);
    }

    #[test]
    fn zone_offsets_keep_their_sign() {
        let w = Win::new(24 * H, -22 * H, berlin_autumn());
        assert_eq!(w.offset, -22 * H);
        let w = Win::new(24 * H, 50 * H, berlin_autumn());
        assert_eq!(w.offset, 2 * H);
    }
}
