//! Values, field types and series identities shared by every layer above the WAL.

/// A series' persistent identity: assigned once, never reused, stored in
/// tables and WAL records.
pub type SeriesId = u64;

/// The type of a field. A series has exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum FieldType {
    /// 64-bit IEEE float.
    Float = 0,
    /// Signed 64-bit integer (`1i` in line protocol).
    Integer = 1,
    /// Unsigned 64-bit integer (`1u`).
    Unsigned = 2,
    /// Boolean.
    Boolean = 3,
}

impl FieldType {
    /// The name InfluxDB uses (`SHOW FIELD KEYS`).
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Float => "float",
            FieldType::Integer => "integer",
            FieldType::Unsigned => "unsigned",
            FieldType::Boolean => "boolean",
        }
    }

    /// Decodes the on-media tag.
    pub fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            0 => FieldType::Float,
            1 => FieldType::Integer,
            2 => FieldType::Unsigned,
            3 => FieldType::Boolean,
            _ => return None,
        })
    }
}

/// One field value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// A float.
    Float(f64),
    /// A signed integer.
    Integer(i64),
    /// An unsigned integer.
    Unsigned(u64),
    /// A boolean.
    Boolean(bool),
}

impl Value {
    /// Its type.
    pub fn field_type(&self) -> FieldType {
        match self {
            Value::Float(_) => FieldType::Float,
            Value::Integer(_) => FieldType::Integer,
            Value::Unsigned(_) => FieldType::Unsigned,
            Value::Boolean(_) => FieldType::Boolean,
        }
    }

    /// The 64 bits the memtable and codecs carry for it.
    pub fn to_bits(&self) -> u64 {
        match *self {
            Value::Float(f) => f.to_bits(),
            Value::Integer(i) => i as u64,
            Value::Unsigned(u) => u,
            Value::Boolean(b) => u64::from(b),
        }
    }

    /// Rebuilds a value of type `ty` from [`Value::to_bits`].
    pub fn from_bits(ty: FieldType, bits: u64) -> Self {
        match ty {
            FieldType::Float => Value::Float(f64::from_bits(bits)),
            FieldType::Integer => Value::Integer(bits as i64),
            FieldType::Unsigned => Value::Unsigned(bits),
            FieldType::Boolean => Value::Boolean(bits != 0),
        }
    }

    /// As a float (for means and cross-type arithmetic).
    pub fn as_f64(&self) -> f64 {
        match *self {
            Value::Float(f) => f,
            Value::Integer(i) => i as f64,
            Value::Unsigned(u) => u as f64,
            Value::Boolean(b) => f64::from(u8::from(b)),
        }
    }
}
