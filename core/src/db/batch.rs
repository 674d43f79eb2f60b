//! `WriteBatch`: points to write, built without an allocation per point.
//!
//! Names and values are copied into one byte arena; points, tags and fields
//! are spans into it. A batch is reused across requests (`clear` keeps the
//! capacity).

use alloc::vec::Vec;

use crate::value::Value;

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Span {
    start: u32,
    len: u32,
}

/// A field value as written: a typed value, or a string (which the engine
/// refuses, with an error naming the field).
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
}

/// Points to write, all to one database.
#[derive(Clone, Debug, Default)]
pub struct WriteBatch {
    arena: Vec<u8>,
    points: Vec<PointRec>,
    tags: Vec<(Span, Span)>,
    fields: Vec<(Span, FieldVal)>,
    open: Option<(Span, u32, u32)>,
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
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.arena.clear();
        self.points.clear();
        self.tags.clear();
        self.fields.clear();
        self.open = None;
    }

    /// Points in the batch.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether the batch holds no point.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// An upper bound of the bytes its WAL records take: each value at
    /// most 30 bytes (series, time, value), plus every name it holds (new
    /// series are defined in the record), plus record framing.
    pub fn logged_bytes_bound(&self) -> usize {
        self.fields.len() * 30 + self.arena.len() + self.points.len() * 8 + 4096
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
    pub fn begin(&mut self, measurement: &[u8]) {
        if self.open.is_some() {
            self.abort();
        }
        let m = self.put(measurement);
        self.open = Some((m, self.tags.len() as u32, self.fields.len() as u32));
    }

    /// Adds a tag to the point begun.
    pub fn tag(&mut self, key: &[u8], value: &[u8]) {
        let k = self.put(key);
        let v = self.put(value);
        self.tags.push((k, v));
    }

    /// Adds a field to the point begun.
    pub fn field(&mut self, key: &[u8], value: Value) {
        let k = self.put(key);
        self.fields.push((k, FieldVal::Value(value)));
    }

    /// Adds a string field (kept so the engine can name it in its refusal).
    pub fn string_field(&mut self, key: &[u8]) {
        let k = self.put(key);
        self.fields.push((k, FieldVal::Str));
    }

    /// Ends the point begun, with its timestamp in ns.
    pub fn end(&mut self, ts_ns: i64) {
        if let Some((m, t0, f0)) = self.open.take() {
            self.points.push(PointRec {
                measurement: m,
                tags: (t0, self.tags.len() as u32),
                fields: (f0, self.fields.len() as u32),
                ts: ts_ns,
            });
        }
    }

    /// Drops the point begun.
    pub fn abort(&mut self) {
        if let Some((m, t0, f0)) = self.open.take() {
            self.tags.truncate(t0 as usize);
            self.fields.truncate(f0 as usize);
            self.arena.truncate(m.start as usize);
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
