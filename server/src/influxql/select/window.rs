//! GROUP BY time windows: in UTC, or on a zone's wall clock (`tz('...')`).
//!
//! In UTC a window starts at `k * every + offset` and lasts `every`. In a
//! zone, windows follow the core's [`zoned_start`] (InfluxDB's rule), so a
//! day window runs from local midnight to local midnight, 23 or 25 hours
//! when the clocks change. The windows reported (and filled) are the ones
//! InfluxDB's fill steps through, merged with those that hold points: the
//! two agree except around a change of offset, where InfluxDB reports both.

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
            let n = usize::try_from((last.saturating_sub(first)) / self.every + 1).ok()?;
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
