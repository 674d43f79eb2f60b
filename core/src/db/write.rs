//! The write path: validate each point, resolve its series (creating them),
//! log the batch to the WAL, then apply it to the memtable.
//!
//! A point that fails validation is rejected whole and nothing of it is
//! written; the rest of the batch goes on (InfluxDB's partial-write
//! semantics). Points are applied to the memtable only after the WAL record
//! holding them was appended.
//!
//! Runs of one series (a sensor's readings, a file sorted by series) are
//! the common case: a point whose measurement and tags repeat the previous
//! accepted point's, byte for byte ([`WriteBatch`] marks it), reuses that
//! point's validated tags and tagset; if its field keys repeat too, with
//! values of the same types, their series as well. Anything else takes the
//! full checks, so a batch does exactly what its points would do written one
//! per batch (`core/tests/write_runs.rs`).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use super::Db;
use super::batch::{PointView, StringFields, WriteBatch};
use super::record::def_bound;
use crate::catalog::SeriesIdx;
use crate::error::Error;
use crate::storage::BlockDevice;
use crate::value::{FieldType, SeriesId, Value};
use crate::wal::Lsn;

/// Why one point of a batch was rejected. Each names what to fix.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PointError {
    /// The measurement name is empty.
    EmptyMeasurement,
    /// A tag key is empty.
    EmptyTagKey,
    /// A tag has an empty value.
    EmptyTagValue {
        /// The tag key.
        key: String,
    },
    /// A field key is empty.
    EmptyFieldKey,
    /// The point has no field.
    NoFields,
    /// A name or value is not valid UTF-8.
    NotUtf8 {
        /// Which part.
        what: &'static str,
    },
    /// A name or tag value holds a NUL byte.
    NulByte {
        /// What.
        what: &'static str,
    },
    /// A measurement, tag key or field key is longer than the limit.
    NameTooLong {
        /// Which kind of name.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit (`max_name_len`).
        max: usize,
    },
    /// A tag value is longer than the limit.
    TagValueTooLong {
        /// The tag key.
        key: String,
        /// The value's length in bytes.
        len: usize,
        /// The limit (`max_tag_value_len`).
        max: usize,
    },
    /// More tags than the limit.
    TooManyTags {
        /// Tags on the point.
        count: usize,
        /// The limit (`max_tags_per_point`).
        max: usize,
    },
    /// More fields than the limit.
    TooManyFields {
        /// Fields on the point.
        count: usize,
        /// The limit (`max_fields_per_point`).
        max: usize,
    },
    /// Two tags with one key.
    DuplicateTag {
        /// The key.
        key: String,
    },
    /// `time` used as a tag or field key.
    ReservedKey {
        /// "tag key" or "field key".
        what: &'static str,
    },
    /// A float field is NaN or infinite.
    NotFinite {
        /// The field.
        field: String,
    },
    /// A string field value: not stored by this version.
    StringField {
        /// The field.
        field: String,
    },
    /// The field already has another type in this measurement.
    TypeConflict {
        /// The measurement.
        measurement: String,
        /// The field.
        field: String,
        /// The type it has.
        existing: FieldType,
        /// The type this point has.
        got: FieldType,
    },
    /// Creating the series would exceed the series limit.
    SeriesLimit {
        /// The limit (`max_series`).
        max: usize,
    },
    /// The point is older than the retention period: dropped.
    BeyondRetention,
    /// Creating the series would take the catalog past its memory limit.
    CatalogMemory {
        /// The limit, bytes (`max_catalog_bytes`).
        max: usize,
    },
}

impl fmt::Display for PointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PointError::EmptyMeasurement => f.write_str("empty measurement name"),
            PointError::EmptyTagKey => f.write_str("empty tag key"),
            PointError::EmptyTagValue { key } => write!(f, "tag \"{key}\" has an empty value"),
            PointError::EmptyFieldKey => f.write_str("empty field key"),
            PointError::NoFields => f.write_str("point has no fields"),
            PointError::NotUtf8 { what } => write!(f, "{what} is not valid UTF-8"),
            PointError::NulByte { what } => write!(f, "{what} contains a NUL byte"),
            PointError::NameTooLong { what, len, max } => {
                write!(
                    f,
                    "{what} is {len} bytes, over the limit of {max} (max_name_len)"
                )
            }
            PointError::TagValueTooLong { key, len, max } => {
                write!(
                    f,
                    "value of tag \"{key}\" is {len} bytes, over the limit of {max} (max_tag_value_len)"
                )
            }
            PointError::TooManyTags { count, max } => {
                write!(
                    f,
                    "point has {count} tags, over the limit of {max} (max_tags_per_point)"
                )
            }
            PointError::TooManyFields { count, max } => {
                write!(
                    f,
                    "point has {count} fields, over the limit of {max} (max_fields_per_point)"
                )
            }
            PointError::DuplicateTag { key } => write!(f, "duplicate tag key \"{key}\""),
            PointError::ReservedKey { what } => write!(f, "\"time\" cannot be used as a {what}"),
            PointError::NotFinite { field } => write!(f, "field \"{field}\" is NaN or infinite"),
            PointError::StringField { field } => {
                write!(
                    f,
                    "field \"{field}\" is a string; string values are not stored (use a tag or a number)"
                )
            }
            PointError::TypeConflict {
                measurement,
                field,
                existing,
                got,
            } => write!(
                f,
                "field type conflict: field \"{field}\" of measurement \"{measurement}\" is {}, this point has {}",
                existing.name(),
                got.name()
            ),
            PointError::BeyondRetention => f.write_str("point is older than the retention period"),
            PointError::SeriesLimit { max } => {
                write!(
                    f,
                    "creating this series would exceed the limit of {max} series (max_series)"
                )
            }
            PointError::CatalogMemory { max } => write!(
                f,
                "creating this series would take the series catalog past its memory limit of {} KiB",
                max / 1024
            ),
        }
    }
}

#[cfg(feature = "std")]
extern crate std;
#[cfg(feature = "std")]
impl std::error::Error for PointError {}

/// What a write did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteOutcome {
    /// LSN of the last WAL record written (0 if nothing was written).
    pub lsn: Lsn,
    /// Field values written.
    pub points: u64,
    /// Rejected points: their index in the batch and why.
    pub rejected: Vec<(usize, PointError)>,
    /// String values left out ([`StringFields::Drop`](super::StringFields::Drop))
    /// of the points not rejected, points of strings alone (which write
    /// nothing) included.
    pub strings_dropped: u64,
}

/// `s` if it is text without a NUL byte; `nul_free`: its batch has none.
fn utf8<'a>(s: Option<&'a str>, what: &'static str, nul_free: bool) -> Result<&'a str, PointError> {
    let s = s.ok_or(PointError::NotUtf8 { what })?;
    // A NUL byte in a name breaks C clients and file formats downstream.
    if !nul_free && s.as_bytes().contains(&0) {
        return Err(PointError::NulByte { what });
    }
    Ok(s)
}

/// `a.cmp(b)`, deciding on the first bytes when they differ, as tag keys
/// usually do, without a call to compare the rest (with small-code, just
/// `a.cmp(b)`).
#[inline]
fn name_cmp(a: &str, b: &str) -> core::cmp::Ordering {
    #[cfg(not(feature = "small-code"))]
    if let (Some(x), Some(y)) = (a.as_bytes().first(), b.as_bytes().first())
        && x != y
    {
        return x.cmp(y);
    }
    a.cmp(b)
}

/// How many points of a batch [`Db::write_with`] writes between two calls
/// of its `between`.
pub const POLL_POINTS: usize = 256;

impl<D: BlockDevice> Db<D> {
    /// Writes a batch to database `db`. Each bad point is rejected (see
    /// [`WriteOutcome::rejected`]) and the others are written. Durable after
    /// [`Db::sync`]. Flushes when the memtable budget is reached (unless
    /// `auto_flush` is off).
    pub fn write(&mut self, db: &str, batch: &WriteBatch) -> Result<WriteOutcome, Error<D::Error>> {
        self.write_with(db, batch, |_| {})
    }

    /// [`Db::write`], calling `between(self)` after every
    /// [`POLL_POINTS`] points of the batch (and once at its end): a caller
    /// holding the database under a lock for a long batch can do short,
    /// urgent work there that would otherwise wait for the whole batch — a
    /// group commit's [`Db::sync_done`], say. `between` must leave the
    /// points written (catalog, memtable) alone.
    pub fn write_with(
        &mut self,
        db: &str,
        batch: &WriteBatch,
        mut between: impl FnMut(&mut Self),
    ) -> Result<WriteOutcome, Error<D::Error>> {
        if self.store.is_poisoned() {
            return Err(Error::Poisoned);
        }
        let dbi = self.catalog.db(db).ok_or(Error::DatabaseNotFound)?;
        let mut out = WriteOutcome::default();
        let mut tags: Vec<(&str, &str)> = Vec::with_capacity(16);
        let mut fields: Vec<(&str, Option<Value>, Option<SeriesIdx>)> = Vec::with_capacity(16);
        let text = batch.text();
        self.names_nul_free = text.is_some_and(|t| !t.as_bytes().contains(&0));
        // The series head (tagset, measurement) of the point before, when it
        // was accepted: `tags` still holds its validated, sorted tags.
        let mut prev: Option<(u32, &str)> = None;
        for (i, p) in batch.points().enumerate() {
            let same = prev.filter(|_| p.same_head());
            match self.prepare_point(dbi, db, &p, text, same, &mut tags, &mut fields) {
                Ok(w) => {
                    out.points += w.values;
                    out.strings_dropped += w.strings_dropped;
                    prev = w.head;
                }
                Err(e) => {
                    out.rejected.push((i, e));
                    prev = None;
                }
            }
            if self.record.len() >= self.cfg.wal_record_bytes {
                out.lsn = self.append_record()?;
            }
            if i % POLL_POINTS == POLL_POINTS - 1 {
                between(self);
            }
        }
        if !self.record.is_empty() {
            out.lsn = self.append_record()?;
        }
        self.counters.points_written += out.points;
        self.counters.points_rejected += out.rejected.len() as u64;
        self.counters.points_beyond_retention += out
            .rejected
            .iter()
            .filter(|(_, e)| matches!(e, PointError::BeyondRetention))
            .count() as u64;
        between(self);
        if self.cfg.auto_flush && self.active.bytes() >= self.cfg.memtable_bytes {
            self.flush()?;
        }
        Ok(out)
    }

    /// An upper bound of the bytes `write(db, batch)` would log with the
    /// catalog as it is now: [`WriteBatch::logged_bytes_bound`], except that
    /// only values whose series does not exist yet count a definition.
    /// Costs a series lookup per point that does not repeat the previous
    /// point's measurement and tags; for checking free space when the cheap
    /// bound does not fit.
    pub fn logged_bytes_bound(&mut self, db: &str, batch: &WriteBatch) -> usize {
        let Some(dbi) = self.catalog.db(db) else {
            return batch.logged_bytes_bound(db);
        };
        let text = batch.text();
        let mut tags: Vec<(&str, &str)> = Vec::new();
        let mut prev: Option<Option<u32>> = None;
        let mut defs = 0usize;
        for p in batch.points() {
            let tagset = match prev {
                Some(t) if p.same_head() => t,
                _ => {
                    tags.clear();
                    let mut ok = true;
                    for (k, v) in p.tags_str(text) {
                        match (k, v) {
                            (Some(k), Some(v)) => tags.push((k, v)),
                            _ => ok = false,
                        }
                    }
                    crate::sort::sort_by(&mut tags, |a, b| name_cmp(a.0, b.0));
                    match p.measurement_str(text) {
                        Some(m) if ok => self.catalog.find_tagset(dbi, m, &tags),
                        _ => None,
                    }
                }
            };
            prev = Some(tagset);
            let head = def_bound::head(db.len(), p.measurement().len())
                + p.tags()
                    .map(|(k, v)| def_bound::tag(k.len(), v.len()))
                    .sum::<usize>();
            for (i, (k, v)) in p.fields_str(text).enumerate() {
                if v.is_none() {
                    continue; // a string: never logged
                }
                let known = match (tagset, k) {
                    (Some(t), Some(k)) => self.catalog.find_field_hint(t, k, i).is_some(),
                    _ => false,
                };
                if !known {
                    defs += head + def_bound::field(k.map_or(0, str::len));
                }
            }
        }
        batch.logged_bytes_with_defs(defs)
    }

    /// Appends the record being built and applies its points.
    fn append_record(&mut self) -> Result<Lsn, Error<D::Error>> {
        let mut payload = core::mem::take(&mut self.payload);
        self.record.take(&mut payload);
        let r = self.store.append(&payload);
        self.counters.logged_bytes += payload.len() as u64;
        self.payload = payload;
        let lsn = r?;
        for &(idx, id, ty, ts, bits) in &self.pending {
            self.active.insert(idx, id, ty, ts, bits);
        }
        self.pending.clear();
        self.active.note_lsn(lsn);
        Ok(lsn)
    }

    /// Validates one point and adds it to the record being built; returns
    /// what it wrote.
    ///
    /// `same`: the tagset and measurement of the point before, whose
    /// measurement and tags this point repeats byte for byte and which was
    /// accepted; `tags` still holds them. They are not validated or looked
    /// up again.
    #[expect(clippy::too_many_arguments, reason = "the write loop's scratch state")]
    fn prepare_point<'a>(
        &mut self,
        dbi: u32,
        db: &str,
        p: &PointView<'a>,
        text: Option<&'a str>,
        same: Option<(u32, &'a str)>,
        tags: &mut Vec<(&'a str, &'a str)>,
        fields: &mut Vec<(&'a str, Option<Value>, Option<SeriesIdx>)>,
    ) -> Result<Written<'a>, PointError> {
        if p.timestamp() < self.min_write_ts {
            return Err(PointError::BeyondRetention);
        }
        let (tagset, measurement) = match same {
            Some((t, m)) => {
                if let Some(n) = self.repeat_fields(p, text, fields) {
                    return Ok(Written {
                        values: n,
                        strings_dropped: 0,
                        head: Some((t, m)),
                    });
                }
                (Some(t), m)
            }
            None => {
                let m = self.validate_head(p, text, tags)?;
                (self.catalog.find_tagset(dbi, m, tags), m)
            }
        };
        let (values, strings_dropped, tagset) =
            self.prepare_fields(dbi, db, p, text, tagset, measurement, tags, fields)?;
        Ok(Written {
            values,
            strings_dropped,
            head: tagset.map(|t| (t, measurement)),
        })
    }

    /// The point repeats the series head of the point before, which was
    /// accepted: if its fields are that point's (the same keys from the same
    /// batch bytes, in the same order) with values of the same types, logs
    /// them against the same series and returns how many. `None`: anything
    /// else, left to the full checks.
    fn repeat_fields<'a>(
        &mut self,
        p: &PointView<'a>,
        text: Option<&'a str>,
        fields: &mut [(&'a str, Option<Value>, Option<SeriesIdx>)],
    ) -> Option<u64> {
        if p.fields().len() != fields.len() {
            return None;
        }
        for ((k, v), prev) in p.fields_str(text).zip(fields.iter()) {
            let (k, v) = (k?, v?);
            let same_key = core::ptr::eq(k.as_ptr(), prev.0.as_ptr()) && k.len() == prev.0.len();
            let same_type = prev.1.is_some_and(|pv| pv.field_type() == v.field_type());
            let finite = !matches!(v, Value::Float(x) if !x.is_finite());
            if !(same_key && same_type && finite && prev.2.is_some()) {
                return None;
            }
        }
        let ts = p.timestamp();
        let mut n = 0;
        for ((_, v), prev) in p.fields_str(text).zip(fields.iter_mut()) {
            let (Some(v), Some(idx)) = (v, prev.2) else {
                continue;
            };
            prev.1 = Some(v);
            self.log_value(idx, ts, v);
            n += 1;
        }
        Some(n)
    }

    /// Adds a value of series `idx` to the record being built, to be
    /// applied to the memtable once the record is appended.
    fn log_value(&mut self, idx: SeriesIdx, ts: i64, v: Value) {
        let ty = v.field_type();
        let id: SeriesId = self.catalog.series(idx).map_or(0, |m| m.id);
        let bits = v.to_bits();
        self.record.point(id, ts, ty, bits);
        self.pending.push((idx, id, ty, ts, bits));
    }

    /// Checks a point's measurement and tags; fills `tags` with them, sorted
    /// by key.
    fn validate_head<'a>(
        &self,
        p: &PointView<'a>,
        text: Option<&'a str>,
        tags: &mut Vec<(&'a str, &'a str)>,
    ) -> Result<&'a str, PointError> {
        let lim = *self.catalog.limits();
        let measurement = utf8(
            p.measurement_str(text),
            "measurement name",
            self.names_nul_free,
        )?;
        if measurement.is_empty() {
            return Err(PointError::EmptyMeasurement);
        }
        if measurement.len() > lim.max_name_len {
            return Err(PointError::NameTooLong {
                what: "measurement name",
                len: measurement.len(),
                max: lim.max_name_len,
            });
        }
        if p.tags().len() > lim.max_tags_per_point {
            return Err(PointError::TooManyTags {
                count: p.tags().len(),
                max: lim.max_tags_per_point,
            });
        }
        tags.clear();
        for (k, v) in p.tags_str(text) {
            let k = utf8(k, "tag key", self.names_nul_free)?;
            let v = utf8(v, "tag value", self.names_nul_free)?;
            if k.is_empty() {
                return Err(PointError::EmptyTagKey);
            }
            if k.len() > lim.max_name_len {
                return Err(PointError::NameTooLong {
                    what: "tag key",
                    len: k.len(),
                    max: lim.max_name_len,
                });
            }
            if k == "time" {
                return Err(PointError::ReservedKey { what: "tag key" });
            }
            if v.is_empty() {
                return Err(PointError::EmptyTagValue { key: k.to_string() });
            }
            if v.len() > lim.max_tag_value_len {
                return Err(PointError::TagValueTooLong {
                    key: k.to_string(),
                    len: v.len(),
                    max: lim.max_tag_value_len,
                });
            }
            tags.push((k, v));
        }
        if !tags.is_sorted_by(|a, b| name_cmp(a.0, b.0).is_le()) {
            crate::sort::sort_by(tags, |a, b| name_cmp(a.0, b.0));
        }
        if let Some(w) = tags.windows(2).find(|w| matches!(w, [a, b] if a.0 == b.0)) {
            return Err(PointError::DuplicateTag {
                key: w.first().map(|x| x.0).unwrap_or("").to_string(),
            });
        }
        Ok(measurement)
    }

    /// Checks a point's fields against `tagset` (`None`: not created yet),
    /// creates what is missing and logs the values; returns how many, how
    /// many string values were left out, and the tagset (`None` when every
    /// value was a string left out: nothing is created for a point that
    /// writes nothing, and `fields` no longer describes it, so the next
    /// point is checked in full).
    #[expect(clippy::too_many_arguments, reason = "the write loop's scratch state")]
    fn prepare_fields<'a>(
        &mut self,
        dbi: u32,
        db: &str,
        p: &PointView<'a>,
        text: Option<&'a str>,
        tagset: Option<u32>,
        measurement: &'a str,
        tags: &[(&'a str, &'a str)],
        fields: &mut Vec<(&'a str, Option<Value>, Option<SeriesIdx>)>,
    ) -> Result<(u64, u64, Option<u32>), PointError> {
        let strings = p.string_fields();
        let lim = *self.catalog.limits();
        let nf = p.fields().len();
        if nf == 0 {
            return Err(PointError::NoFields);
        }
        if nf > lim.max_fields_per_point {
            return Err(PointError::TooManyFields {
                count: nf,
                max: lim.max_fields_per_point,
            });
        }
        fields.clear();
        for (k, v) in p.fields_str(text) {
            let k = utf8(k, "field key", self.names_nul_free)?;
            if k.is_empty() {
                return Err(PointError::EmptyFieldKey);
            }
            if k.len() > lim.max_name_len {
                return Err(PointError::NameTooLong {
                    what: "field key",
                    len: k.len(),
                    max: lim.max_name_len,
                });
            }
            if k == "time" {
                return Err(PointError::ReservedKey { what: "field key" });
            }
            match v {
                None if strings == StringFields::Reject => {
                    return Err(PointError::StringField {
                        field: k.to_string(),
                    });
                }
                Some(Value::Float(x)) if !x.is_finite() => {
                    return Err(PointError::NotFinite {
                        field: k.to_string(),
                    });
                }
                _ => {}
            }
            // A repeated field key: the last one wins (a string left out
            // included).
            if let Some(prev) = fields.iter_mut().find(|(f, _, _)| *f == k) {
                prev.1 = v;
            } else {
                fields.push((k, v, None));
            }
        }
        // Strings left out (`StringFields::Drop`; rejected above otherwise).
        let mut dropped = 0;
        if strings == StringFields::Drop {
            let before = fields.len();
            fields.retain(|f| f.1.is_some());
            dropped = (before - fields.len()) as u64;
            if fields.is_empty() {
                return Ok((0, dropped, None));
            }
        }

        // Types, and how many series this point would create.
        let mut new_series = 0usize;
        for (i, (f, v, sidx)) in fields.iter_mut().enumerate() {
            let (f, v) = (*f, *v);
            let got = v.map_or(FieldType::Float, |v| v.field_type());
            *sidx = tagset.and_then(|t| self.catalog.find_field_hint(t, f, i));
            let existing = sidx.and_then(|s| self.catalog.series(s)).map(|s| s.ty);
            let existing = match existing {
                Some(t) => Some(t),
                None => {
                    new_series += 1;
                    self.catalog.field_type(dbi, measurement, f)
                }
            };
            if let Some(e) = existing
                && e != got
            {
                return Err(PointError::TypeConflict {
                    measurement: measurement.to_string(),
                    field: f.to_string(),
                    existing: e,
                    got,
                });
            }
        }
        if new_series > 0 && self.catalog.series_count() + new_series > lim.max_series {
            return Err(PointError::SeriesLimit {
                max: lim.max_series,
            });
        }
        if new_series > 0 && self.catalog.bytes() >= lim.max_catalog_bytes {
            return Err(PointError::CatalogMemory {
                max: lim.max_catalog_bytes,
            });
        }

        // Accepted: create what is missing, then log the points.
        let t = match tagset {
            Some(t) => t,
            None => self.catalog.create_tagset(dbi, measurement, tags),
        };
        let ts = p.timestamp();
        let mut n = 0;
        for entry in fields.iter_mut() {
            let (f, v, sidx) = *entry;
            let Some(v) = v else { continue };
            let ty = v.field_type();
            let idx: SeriesIdx = match sidx {
                Some(s) => s,
                None => {
                    let Some(s) = self.catalog.create_series(t, f, ty, None) else {
                        return Err(PointError::SeriesLimit {
                            max: lim.max_series,
                        });
                    };
                    let id = self.catalog.series(s).map_or(0, |m| m.id);
                    self.record.def(id, db, measurement, tags, f, ty);
                    s
                }
            };
            // The next point of the run finds its series here.
            entry.2 = Some(idx);
            self.log_value(idx, ts, v);
            n += 1;
        }
        Ok((n, dropped, Some(t)))
    }
}

/// What [`Db::prepare_point`] wrote of a point.
struct Written<'a> {
    /// Field values logged.
    values: u64,
    /// String values left out.
    strings_dropped: u64,
    /// The point's tagset and measurement, for the next point to repeat
    /// (`None`: the next point is checked in full).
    head: Option<(u32, &'a str)>,
}
