//! `WriteBatch`: points to write, built without an allocation per point.
//!
//! Names are copied into one byte arena; points, tags and fields are spans
//! into it. A name equal to the previous point's at the same place (its
//! measurement, a tag, a field key) is not copied again: the point takes the
//! previous point's span, and a point whose measurement and tags all repeat
//! is marked (`same_head`) for the write path. A batch is reused across
//! requests (`clear` keeps the capacity).

use alloc::vec::Vec;

use super::record::def_bound;
use crate::value::Value;

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Span {
    start: u32,
    len: u32,
}

/// A field value as written: a typed value, or a string (which the engine
/// refuses, naming the field, or leaves out: [`StringFields`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum FieldVal {
    Value(Value),
    Str,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct PointRec {
    pub measurement: Span,
    pub tags: (u32, u32),
    pub fields: (u32, u32),
    pub ts: i64,
    /// Same measurement and tags (byte for byte, same order) as the point
    /// before it: the write path reuses that point's series lookup.
    pub same_head: bool,
}

/// The point being built: its measurement, where its tags and fields start,
/// the arena length before it, and whether its head so far repeats the
/// previous point's.
#[derive(Clone, Copy, Debug)]
struct Open {
    measurement: Span,
    tags: u32,
    fields: u32,
    arena: u32,
    same: bool,
    /// Bound of the bytes its measurement and tags take in a series
    /// definition.
    head: usize,
    /// `WriteBatch::defs` before it.
    defs: usize,
    /// `WriteBatch::string_values` before it.
    string_values: usize,
}

/// What [`Db::write`](crate::Db::write) does with a string field value,
/// which this version does not store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StringFields {
    /// The point is rejected ([`PointError::StringField`](crate::PointError::StringField)):
    /// none of its fields is written.
    #[default]
    Reject,
    /// The string values are left out and the point's other fields
    /// written; a point whose fields are all strings writes nothing. The
    /// point is validated in full either way (names, tags, keys, the other
    /// values), and of a field key given twice the last value still wins:
    /// `a=1,a="x"` writes no `a`. Counted in
    /// [`WriteOutcome::strings_dropped`](crate::WriteOutcome::strings_dropped).
    Drop,
}

/// Points to write, all to one database.
#[derive(Clone, Debug, Default)]
pub struct WriteBatch {
    arena: Vec<u8>,
    points: Vec<PointRec>,
    tags: Vec<(Span, Span)>,
    fields: Vec<(Span, FieldVal)>,
    open: Option<Open>,
    /// Bound of the bytes the series definitions of every field take in the
    /// WAL (database name aside), had each field a new series: names shared
    /// with the point before are stored once here but defined in full.
    defs: usize,
    /// String fields in the batch: never logged (left out, or their point
    /// refused), so not in the bounds of logged bytes.
    string_values: usize,
    strings: StringFields,
}

/// One point of a batch, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct PointView<'a> {
    b: &'a WriteBatch,
    p: PointRec,
}

impl<'a> PointView<'a> {
    /// Measurement name as text: from `text` (the batch's arena, when it is
    /// valid UTF-8 as a whole) without another validation, else checked.
    pub(crate) fn measurement_str(&self, text: Option<&'a str>) -> Option<&'a str> {
        self.b.text_of(self.p.measurement, text)
    }
    /// Tags as text (see `measurement_str`); `None` for a name that is not UTF-8.
    pub(crate) fn tags_str(
        &self,
        text: Option<&'a str>,
    ) -> impl ExactSizeIterator<Item = (Option<&'a str>, Option<&'a str>)> + 'a {
        let b = self.b;
        b.tags
            .get(self.p.tags.0 as usize..self.p.tags.1 as usize)
            .unwrap_or_default()
            .iter()
            .map(move |&(k, v)| (b.text_of(k, text), b.text_of(v, text)))
    }
    /// Fields as text (see `measurement_str`).
    pub(crate) fn fields_str(
        &self,
        text: Option<&'a str>,
    ) -> impl ExactSizeIterator<Item = (Option<&'a str>, Option<Value>)> + 'a {
        let b = self.b;
        b.fields
            .get(self.p.fields.0 as usize..self.p.fields.1 as usize)
            .unwrap_or_default()
            .iter()
            .map(move |&(k, v)| {
                (
                    b.text_of(k, text),
                    match v {
                        FieldVal::Value(v) => Some(v),
                        FieldVal::Str => None,
                    },
                )
            })
    }
    /// Measurement name bytes.
    pub fn measurement(&self) -> &'a [u8] {
        self.b.span(self.p.measurement)
    }
    /// Tags in the order given.
    pub fn tags(&self) -> impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let b = self.b;
        b.tags
            .get(self.p.tags.0 as usize..self.p.tags.1 as usize)
            .unwrap_or_default()
            .iter()
            .map(move |&(k, v)| (b.span(k), b.span(v)))
    }
    /// Fields in the order given; `None` for a string value.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = (&'a [u8], Option<Value>)> + 'a {
        let b = self.b;
        b.fields
            .get(self.p.fields.0 as usize..self.p.fields.1 as usize)
            .unwrap_or_default()
            .iter()
            .map(move |&(k, v)| {
                (
                    b.span(k),
                    match v {
                        FieldVal::Value(v) => Some(v),
                        FieldVal::Str => None,
                    },
                )
            })
    }
    /// Timestamp, ns.
    pub fn timestamp(&self) -> i64 {
        self.p.ts
    }
    /// Whether its measurement and tags are those of the point before it.
    pub(crate) fn same_head(&self) -> bool {
        self.p.same_head
    }

    /// What the write does with its string values (the batch's setting).
    pub(crate) fn string_fields(&self) -> StringFields {
        self.b.strings
    }
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes room for `points` more points holding `tags` tags and
    /// `fields` fields in all, and `bytes` more bytes of names and values:
    /// a caller that knows the size of what comes spares the buffers'
    /// regrowth.
    pub fn reserve(&mut self, points: usize, tags: usize, fields: usize, bytes: usize) {
        self.points.reserve(points);
        self.tags.reserve(tags);
        self.fields.reserve(fields);
        self.arena.reserve(bytes);
    }

    /// Sets what the write does with its string field values (kept by
    /// [`WriteBatch::clear`]).
    pub fn set_string_fields(&mut self, s: StringFields) {
        self.strings = s;
    }

    /// What the write does with its string field values.
    pub fn string_fields(&self) -> StringFields {
        self.strings
    }

    /// Empties the batch, keeping its buffers (and its
    /// [`StringFields`] setting).
    pub fn clear(&mut self) {
        self.arena.clear();
        self.points.clear();
        self.tags.clear();
        self.fields.clear();
        self.open = None;
        self.defs = 0;
        self.string_values = 0;
    }

    /// Points in the batch.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether the batch holds no point.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// An upper bound of the bytes its WAL records take when written to
    /// database `db`: each value at most 30 bytes (series delta 10, time
    /// delta 11 with its escape, value 9: `record::POINT_MAX`),
    /// plus a full series definition per value (database, measurement, tags,
    /// field: as if each created a series), plus record framing. String
    /// values count nothing: they are never logged.
    pub fn logged_bytes_bound(&self, db: &str) -> usize {
        self.logged_bytes_with_defs(self.defs + self.logged_values() * db.len())
    }

    /// The bound of the WAL bytes of the batch's values and framing, plus
    /// `defs` bytes of series definitions.
    pub(crate) fn logged_bytes_with_defs(&self, defs: usize) -> usize {
        self.logged_values() * super::record::POINT_MAX + defs + self.points.len() * 8 + 4096
    }

    /// Values that may be logged: the fields but the strings.
    fn logged_values(&self) -> usize {
        self.fields.len() - self.string_values
    }

    /// Field values in the batch.
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// Bytes of names and values held.
    pub fn arena_bytes(&self) -> usize {
        self.arena.len()
    }

    fn put(&mut self, bytes: &[u8]) -> Span {
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(bytes);
        Span {
            start,
            len: bytes.len() as u32,
        }
    }

    /// The whole arena as text, if it is valid UTF-8 (one check per batch
    /// instead of one per name).
    pub(crate) fn text(&self) -> Option<&str> {
        core::str::from_utf8(&self.arena).ok()
    }

    fn text_of<'a>(&'a self, s: Span, text: Option<&'a str>) -> Option<&'a str> {
        let r = s.start as usize..(s.start + s.len) as usize;
        match text {
            Some(t) => t.get(r),
            None => core::str::from_utf8(self.arena.get(r)?).ok(),
        }
    }

    fn span(&self, s: Span) -> &[u8] {
        self.arena
            .get(s.start as usize..(s.start + s.len) as usize)
            .unwrap_or_default()
    }

    /// Starts a point (discarding one begun and not ended).
    ///
    /// Consecutive points of one series are the common case (a sensor's
    /// readings, a file sorted by series): a measurement and tags equal to
    /// the previous point's are not copied again, and the point is marked
    /// so the write path skips resolving its series a second time.
    pub fn begin(&mut self, measurement: &[u8]) {
        if self.open.is_some() {
            self.abort();
        }
        let arena = self.arena.len() as u32;
        let prev = self.points.last().map(|p| p.measurement);
        let (m, same) = match prev {
            Some(pm) if self.span(pm) == measurement => (pm, true),
            _ => (self.put(measurement), false),
        };
        self.open = Some(Open {
            measurement: m,
            tags: self.tags.len() as u32,
            fields: self.fields.len() as u32,
            arena,
            same,
            // The database name is added per value by `logged_bytes_bound`.
            head: def_bound::head(0, measurement.len()),
            defs: self.defs,
            string_values: self.string_values,
        });
    }

    /// Adds a tag to the point begun.
    pub fn tag(&mut self, key: &[u8], value: &[u8]) {
        let reuse = match (self.open, self.points.last()) {
            (Some(o), Some(p)) if o.same => {
                let j = p.tags.0 + (self.tags.len() as u32 - o.tags);
                match self.tags.get(j as usize) {
                    Some(&(k, v))
                        if j < p.tags.1 && self.span(k) == key && self.span(v) == value =>
                    {
                        Some((k, v))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(o) = self.open.as_mut() {
            o.head += def_bound::tag(key.len(), value.len());
            if reuse.is_none() {
                o.same = false;
            }
        }
        let pair = match reuse {
            Some(pair) => pair,
            None => (self.put(key), self.put(value)),
        };
        self.tags.push(pair);
    }

    /// Adds a field to the point begun.
    pub fn field(&mut self, key: &[u8], value: Value) {
        self.count_def(key);
        let k = self.field_key(key);
        self.fields.push((k, FieldVal::Value(value)));
    }

    /// Adds the bound of the definition of field `key`'s series (the
    /// database name aside).
    fn count_def(&mut self, key: &[u8]) {
        let head = self.open.map_or(def_bound::head(0, 0), |o| o.head);
        self.defs += head + def_bound::field(key.len());
    }

    /// The span of a field key: the previous point's, at the same position,
    /// when the head and the key repeat it (see [`WriteBatch::begin`]).
    fn field_key(&mut self, key: &[u8]) -> Span {
        if let (Some(o), Some(p)) = (self.open, self.points.last())
            && o.same
        {
            let j = p.fields.0 + (self.fields.len() as u32 - o.fields);
            if let Some(&(k, _)) = self.fields.get(j as usize)
                && j < p.fields.1
                && self.span(k) == key
            {
                return k;
            }
        }
        self.put(key)
    }

    /// Adds a string field (its value is not kept: the engine refuses the
    /// point naming the field, or leaves the field out; see [`StringFields`]).
    pub fn string_field(&mut self, key: &[u8]) {
        self.string_values += 1;
        let k = self.put(key);
        self.fields.push((k, FieldVal::Str));
    }

    /// Ends the point begun, with its timestamp in ns.
    pub fn end(&mut self, ts_ns: i64) {
        if let Some(o) = self.open.take() {
            let tags = o.tags..self.tags.len() as u32;
            let same_head = o.same
                && self
                    .points
                    .last()
                    .is_some_and(|p| p.tags.1 - p.tags.0 == tags.end - tags.start);
            self.points.push(PointRec {
                measurement: o.measurement,
                tags: (tags.start, tags.end),
                fields: (o.fields, self.fields.len() as u32),
                ts: ts_ns,
                same_head,
            });
        }
    }

    /// Drops the point begun.
    pub fn abort(&mut self) {
        if let Some(o) = self.open.take() {
            self.tags.truncate(o.tags as usize);
            self.fields.truncate(o.fields as usize);
            self.arena.truncate(o.arena as usize);
            self.defs = o.defs;
            self.string_values = o.string_values;
        }
    }

    /// Adds a whole point.
    pub fn push(
        &mut self,
        measurement: &[u8],
        tags: &[(&[u8], &[u8])],
        fields: &[(&[u8], Value)],
        ts_ns: i64,
    ) {
        self.begin(measurement);
        for (k, v) in tags {
            self.tag(k, v);
        }
        for (k, v) in fields {
            self.field(k, *v);
        }
        self.end(ts_ns);
    }

    /// The points.
    pub fn points(&self) -> impl ExactSizeIterator<Item = PointView<'_>> {
        self.points.iter().map(move |&p| PointView { b: self, p })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Owned = (Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>, Vec<Vec<u8>>, i64, bool);

    fn owned(b: &WriteBatch) -> Vec<Owned> {
        b.points()
            .map(|p| {
                (
                    p.measurement().to_vec(),
                    p.tags().map(|(k, v)| (k.to_vec(), v.to_vec())).collect(),
                    p.fields().map(|(k, _)| k.to_vec()).collect(),
                    p.timestamp(),
                    p.same_head(),
                )
            })
            .collect()
    }

    #[test]
    fn repeated_heads_share_bytes_and_are_marked() {
        let mut b = WriteBatch::new();
        let v = Value::Float(1.0);
        b.push(b"m", &[(b"h", b"a")], &[(b"v", v)], 1);
        let one = b.arena_bytes();
        b.push(b"m", &[(b"h", b"a")], &[(b"v", v)], 2);
        // Nothing copied again.
        assert_eq!(b.arena_bytes(), one);
        b.push(b"m", &[(b"h", b"b")], &[(b"v", v)], 3);
        b.push(b"m", &[(b"h", b"b"), (b"x", b"y")], &[(b"v", v)], 4);
        b.push(b"m", &[(b"h", b"b")], &[(b"w", v)], 5);
        b.push(b"n", &[(b"h", b"b")], &[(b"w", v)], 6);
        b.push(b"n", &[], &[(b"w", v)], 7);
        b.push(b"n", &[], &[(b"w", v), (b"v", v)], 8);
        let got = owned(&b);
        let heads: Vec<bool> = got.iter().map(|p| p.4).collect();
        assert_eq!(
            heads,
            [false, true, false, false, false, false, false, true]
        );
        assert_eq!(got[3].1.len(), 2);
        assert_eq!(got[4].1, [(b"h".to_vec(), b"b".to_vec())]);
        assert_eq!(got[7].2, [b"w".to_vec(), b"v".to_vec()]);
    }

    #[test]
    fn abort_after_a_shared_head_keeps_the_point_before() {
        let mut b = WriteBatch::new();
        let v = Value::Float(1.0);
        b.push(b"m", &[(b"h", b"a")], &[(b"v", v)], 1);
        let before = owned(&b);
        let bytes = b.arena_bytes();
        b.begin(b"m");
        b.tag(b"h", b"a");
        b.tag(b"k", b"new");
        b.field(b"v", v);
        b.abort();
        assert_eq!(owned(&b), before);
        assert_eq!(b.arena_bytes(), bytes);
        // A point begun and not ended is dropped by the next `begin`.
        b.begin(b"m");
        b.tag(b"h", b"zz");
        b.push(b"m", &[(b"h", b"a")], &[(b"v", v)], 2);
        let got = owned(&b);
        assert_eq!(got.len(), 2);
        assert!(got[1].4);
        assert_eq!(got[1].1, [(b"h".to_vec(), b"a".to_vec())]);
    }
}
