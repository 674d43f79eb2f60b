//! Housekeeping: retention, capacity and compaction as one policy.
//!
//! [`Db::enforce`] applies retention (drop the windows that ended before
//! now − retention, refuse older writes) and the capacity policy (keep
//! `reserve_bytes` free by dropping the oldest windows, or report the store
//! full so the caller refuses writes). [`Db::maintain`] does that and then
//! compacts until no window needs it: what firmware calls from its main loop.
//! The server runs the same [`Db::enforce`] under its lock and the compaction
//! steps outside it.
//!
//! The reserve is what flushes and compactions need to make progress: a
//! compaction writes its output before its inputs are freed, and a flush
//! writes a memtable's tables before its WAL blocks are released.

use super::Db;
use super::retention::DropOutcome;
use crate::error::Error;
use crate::storage::BlockDevice;

/// Table time window for a retention: about a tenth of it, between an hour
/// and a week (retention drops whole windows: smaller windows drop closer to
/// the deadline, larger ones make fewer tables). A week without retention.
pub fn window_for_retention(retention_ns: i64) -> i64 {
    const HOUR: i64 = 3_600_000_000_000;
    if retention_ns <= 0 {
        return 7 * super::DAY_NS;
    }
    (retention_ns / 10).clamp(HOUR, 7 * super::DAY_NS)
}

/// What to do when the device nears its capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnFull {
    /// Drop the oldest windows (the newest is always kept).
    #[default]
    DropOldest,
    /// Keep everything; the caller refuses writes while full.
    Reject,
}

/// The housekeeping policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Keep this long (ns); 0 keeps everything.
    pub retention_ns: i64,
    /// Bytes to keep free for flushes and compactions.
    pub reserve_bytes: u64,
    /// What to do when less than the reserve is free.
    pub on_full: OnFull,
    /// A window is compacted once more this long after it closed.
    pub grace_ns: i64,
}

impl Policy {
    /// A policy for a device of `capacity_bytes` with memtables of
    /// `memtable_bytes`: kept free are a sixteenth of the device (compaction
    /// output) plus a memtable's worth (the WAL that fills until the next
    /// flush, and the flush's tables), at most half the device.
    pub fn for_capacity(
        capacity_bytes: u64,
        memtable_bytes: usize,
        retention_ns: i64,
        on_full: OnFull,
    ) -> Self {
        let reserve = (capacity_bytes / 16)
            .saturating_add(memtable_bytes as u64)
            .min(capacity_bytes / 2);
        Self {
            retention_ns,
            reserve_bytes: reserve,
            on_full,
            grace_ns: 0,
        }
    }
}

/// What [`Db::enforce`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Enforced {
    /// Dropped by retention.
    pub retention: DropOutcome,
    /// Dropped to make room.
    pub capacity: DropOutcome,
    /// Less than the reserve is free after it (with `Reject`, or when only
    /// the newest window is left).
    pub full: bool,
}

/// What [`Db::maintain`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Maintained {
    /// Retention and capacity.
    pub enforced: Enforced,
    /// Compactions run.
    pub compactions: u64,
}

impl<D: BlockDevice> Db<D> {
    /// Applies retention and the capacity policy at `now_ns`.
    pub fn enforce(&mut self, now_ns: i64, p: &Policy) -> Result<Enforced, Error<D::Error>> {
        let mut out = Enforced::default();
        if p.retention_ns > 0 {
            let cutoff = now_ns.saturating_sub(p.retention_ns);
            self.set_retention_cutoff(cutoff);
            out.retention = self.apply_retention(cutoff)?;
        }
        self.reap();
        if p.on_full == OnFull::DropOldest {
            out.capacity = self.make_room(p.reserve_bytes)?;
        }
        out.full = self.free_bytes() < p.reserve_bytes;
        Ok(out)
    }

    /// [`Db::enforce`], then compactions until none is due (at most
    /// `max_compactions`).
    pub fn maintain(
        &mut self,
        now_ns: i64,
        p: &Policy,
        max_compactions: u64,
    ) -> Result<Maintained, Error<D::Error>> {
        let enforced = self.enforce(now_ns, p)?;
        let mut compactions = 0;
        while compactions < max_compactions {
            match self.compact(now_ns, p.grace_ns) {
                Ok(Some(_)) => compactions += 1,
                Ok(None) => break,
                // No room for the merged table: the next pass (after drops
                // or deletes) tries again.
                Err(Error::DeviceFull) => break,
                Err(e) => return Err(e),
            }
        }
        self.reap();
        Ok(Maintained {
            enforced,
            compactions,
        })
    }
}
