//! One parsed line (a point with one or more fields), borrowing the input.

use alloc::vec::Vec;

use super::{Escaped, FieldType};

/// A field value, typed by its syntax.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FieldValue<'a> {
    /// A number without suffix: `1.5`, `-3`, `1e6`.
    Float(f64),
    /// A number with suffix `i`: `-3i`.
    Int(i64),
    /// A number with suffix `u`: `3u`.
    UInt(u64),
    /// `t`, `T`, `true`, `True`, `TRUE`, and the same for false.
    Bool(bool),
    /// A quoted string, without its quotes; `\"` and `\\` are its escapes.
    Str(Escaped<'a>),
}

impl FieldValue<'_> {
    /// The value's type.
    pub fn field_type(&self) -> FieldType {
        match self {
            FieldValue::Float(_) => FieldType::Float,
            FieldValue::Int(_) => FieldType::Int,
            FieldValue::UInt(_) => FieldType::UInt,
            FieldValue::Bool(_) => FieldType::Bool,
            FieldValue::Str(_) => FieldType::Str,
        }
    }
}

/// A parsed line: measurement, tags, fields, timestamp.
///
/// Reuse one `Line` for a whole body: each parse clears it and keeps the
/// vectors' capacity, so parsing allocates nothing once they have grown to
/// the widest line.
#[derive(Clone, Debug, Default)]
pub struct Line<'a> {
    /// The measurement name.
    pub measurement: Escaped<'a>,
    /// Tag keys and values in input order (keys are unique; not sorted).
    pub tags: Vec<(Escaped<'a>, Escaped<'a>)>,
    /// Field keys and values in input order (at least one; a key may repeat, the last one wins).
    pub fields: Vec<(Escaped<'a>, FieldValue<'a>)>,
    /// The timestamp converted to nanoseconds, or `None` if the line has none
    /// (the writer then applies its clock, see [`Precision::truncate_ns`](super::Precision::truncate_ns)).
    pub timestamp_ns: Option<i64>,
    /// 1-based input line where this line starts.
    pub line_no: usize,
    /// Indexes for the duplicate-tag check of wide lines.
    pub(super) scratch: Vec<u32>,
}

impl<'a> Line<'a> {
    /// An empty line.
    pub fn new() -> Self {
        Line::default()
    }

    /// Empties the line, keeping its capacity.
    pub fn clear(&mut self) {
        self.measurement = Escaped::EMPTY;
        self.tags.clear();
        self.fields.clear();
        self.timestamp_ns = None;
        self.line_no = 0;
    }

    /// The same storage, emptied, for text of another lifetime. No allocation:
    /// collecting an emptied vector's iterator reuses its buffer.
    pub fn recycle<'b>(self) -> Line<'b> {
        let Line {
            mut tags,
            mut fields,
            scratch,
            ..
        } = self;
        tags.clear();
        fields.clear();
        Line {
            measurement: Escaped::EMPTY,
            tags: tags
                .into_iter()
                .map(|_| (Escaped::EMPTY, Escaped::EMPTY))
                .collect(),
            fields: fields
                .into_iter()
                .map(|_| (Escaped::EMPTY, FieldValue::Bool(false)))
                .collect(),
            timestamp_ns: None,
            line_no: 0,
            scratch,
        }
    }

    /// The value of field `key` (the last one if it repeats).
    pub fn field(&self, key: &[u8]) -> Option<&FieldValue<'a>> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| *k == *key)
            .map(|(_, v)| v)
    }

    /// The value of tag `key`.
    pub fn tag(&self, key: &[u8]) -> Option<&Escaped<'a>> {
        self.tags.iter().find(|(k, _)| *k == *key).map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycling_keeps_the_buffers() {
        let text = alloc::vec![b'a'; 4];
        let mut line = Line::new();
        line.tags.reserve(8);
        line.fields.reserve(8);
        line.tags
            .push((Escaped::plain(&text), Escaped::plain(&text)));
        let (tags_ptr, fields_ptr) = (line.tags.as_ptr() as usize, line.fields.as_ptr() as usize);
        let back: Line<'static> = line.recycle();
        assert!(back.tags.is_empty() && back.tags.capacity() >= 8 && back.fields.capacity() >= 8);
        assert_eq!(back.tags.as_ptr() as usize, tags_ptr);
        assert_eq!(back.fields.as_ptr() as usize, fields_ptr);
    }
}
