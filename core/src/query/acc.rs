//! Window accumulators: count, sum, min, max, first, last in one pass, fed
//! either point by point or from a chunk's statistics.

use crate::sstable::{Stats, Sum};
use crate::value::{FieldType, Value};

/// A running sum, exact for integers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AccSum {
    /// Floats.
    Float(f64),
    /// Signed integers (no overflow below 2^127).
    Integer(i128),
    /// Unsigned integers.
    Unsigned(u128),
    /// Booleans: the number of `true`.
    Boolean(u64),
}

/// Aggregates of one window of one series (or group).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Acc {
    /// Points.
    pub count: u64,
    /// Sum.
    pub sum: AccSum,
    /// Smallest value.
    pub min: Value,
    /// Largest value.
    pub max: Value,
    /// Time of the smallest value (the earliest, if several).
    pub min_at: i64,
    /// Time of the largest value (the earliest, if several).
    pub max_at: i64,
    /// Earliest point (time, value).
    pub first: (i64, Value),
    /// Latest point.
    pub last: (i64, Value),
}

fn less(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Integer(x), Value::Integer(y)) => x < y,
        (Value::Unsigned(x), Value::Unsigned(y)) => x < y,
        (Value::Boolean(x), Value::Boolean(y)) => !x & y,
        _ => false,
    }
}

impl Acc {
    /// A window holding one point.
    pub fn point(ts: i64, v: Value) -> Self {
        Self {
            count: 1,
            sum: match v {
                Value::Float(f) => AccSum::Float(f),
                Value::Integer(i) => AccSum::Integer(i128::from(i)),
                Value::Unsigned(u) => AccSum::Unsigned(u128::from(u)),
                Value::Boolean(b) => AccSum::Boolean(u64::from(b)),
            },
            min: v,
            max: v,
            min_at: ts,
            max_at: ts,
            first: (ts, v),
            last: (ts, v),
        }
    }

    /// A window holding exactly one chunk.
    pub fn chunk(count: u32, min_ts: i64, max_ts: i64, s: &Stats) -> Self {
        Self {
            count: u64::from(count),
            sum: match s.sum {
                Sum::Float(f) => AccSum::Float(f),
                Sum::Integer(i) => AccSum::Integer(i),
                Sum::Unsigned(u) => AccSum::Unsigned(u),
                Sum::Boolean(b) => AccSum::Boolean(b),
            },
            min: s.min,
            max: s.max,
            min_at: s.min_at,
            max_at: s.max_at,
            first: (min_ts, s.first),
            last: (max_ts, s.last),
        }
    }

    /// Folds `o` in (a window of another series, or later points of the same
    /// series).
    pub fn merge(&mut self, o: &Acc) {
        self.count += o.count;
        self.sum = match (self.sum, o.sum) {
            (AccSum::Float(a), AccSum::Float(b)) => AccSum::Float(a + b),
            (AccSum::Integer(a), AccSum::Integer(b)) => AccSum::Integer(a.saturating_add(b)),
            (AccSum::Unsigned(a), AccSum::Unsigned(b)) => AccSum::Unsigned(a.saturating_add(b)),
            (AccSum::Boolean(a), AccSum::Boolean(b)) => AccSum::Boolean(a + b),
            (a, _) => a,
        };
        // On equal values the earlier point is the one selected, as InfluxDB does.
        if less(&o.min, &self.min) || (o.min == self.min && o.min_at < self.min_at) {
            self.min = o.min;
            self.min_at = o.min_at;
        }
        if less(&self.max, &o.max) || (o.max == self.max && o.max_at < self.max_at) {
            self.max = o.max;
            self.max_at = o.max_at;
        }
        // Points of different series at one time: InfluxDB's tie-break,
        // the larger value (for booleans, `first` takes false and `last`
        // true), so answers do not depend on the order series are read in.
        let first_tie = match (o.first.1, self.first.1) {
            (Value::Boolean(a), Value::Boolean(b)) => !a & b,
            (a, b) => less(&b, &a),
        };
        if o.first.0 < self.first.0 || (o.first.0 == self.first.0 && first_tie) {
            self.first = o.first;
        }
        if o.last.0 > self.last.0 || (o.last.0 == self.last.0 && less(&self.last.1, &o.last.1)) {
            self.last = o.last;
        }
    }

    /// Adds one point.
    #[inline]
    pub fn add(&mut self, ts: i64, v: Value) {
        self.merge(&Acc::point(ts, v));
    }

    /// The sum as a value of the field's type (floats for floats; integers
    /// clamp to the 64-bit range).
    pub fn sum_value(&self) -> Value {
        match self.sum {
            AccSum::Float(f) => Value::Float(f),
            AccSum::Integer(i) => {
                Value::Integer(i.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
            }
            AccSum::Unsigned(u) => Value::Unsigned(u.min(u128::from(u64::MAX)) as u64),
            AccSum::Boolean(b) => Value::Unsigned(b),
        }
    }

    /// The mean, as a float.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        let n = self.count as f64;
        match self.sum {
            AccSum::Float(f) => f / n,
            AccSum::Integer(i) => i as f64 / n,
            AccSum::Unsigned(u) => u as f64 / n,
            AccSum::Boolean(b) => b as f64 / n,
        }
    }

    /// The field type the accumulator holds.
    pub fn field_type(&self) -> FieldType {
        self.min.field_type()
    }
}
