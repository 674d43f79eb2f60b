//! Type casts of field values: `"x"::float`, `::integer`, `::unsigned`,
//! `::string`, `::boolean`, as InfluxDB 1.x applies them.
//!
//! - Between the numeric types a value converts: a float to an integer
//!   truncates toward zero (`-18.5::integer` is `-18`); a negative integer
//!   to unsigned wraps (`-20` is `18446744073709551596`).
//! - A float outside the target's range converts as Go does on amd64, the
//!   platform InfluxDB is released for: to an integer, `i64::MIN`.
//! - Any other cast (a number to boolean or string, a boolean to a number)
//!   gives null, and the value counts as absent: `count(b::integer)` over
//!   booleans is null, as in InfluxDB.
//! - The column keeps the variable's name (`usage::integer` is `usage`).
//! - A cast names a field: `host::integer` on a tag selects nothing.

use pulsardb_core::Value;

use super::ast::VarKind;
use super::result::Cell;

/// 2^63 as a float: the first float past `i64::MAX`.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// `int64(f)` in Go on amd64: truncation, `i64::MIN` outside the range (and
/// for NaN).
fn float_to_int(f: f64) -> i64 {
    if (-TWO_63..TWO_63).contains(&f) {
        f as i64
    } else {
        i64::MIN
    }
}

/// `uint64(f)` in Go on amd64: below 2^63 through `int64`, above it by
/// offsetting 2^63.
fn float_to_uint(f: f64) -> u64 {
    if f < TWO_63 {
        float_to_int(f) as u64
    } else {
        // Go sets the top bit: 2^64 and beyond give 2^63.
        (float_to_int(f - TWO_63) as u64) | (1 << 63)
    }
}

/// A stored value under the qualifier `kind` (`None`, `::field` and
/// `::tag` leave it as is); `None` where the cast gives null.
pub fn value(v: Value, kind: Option<VarKind>) -> Option<Value> {
    let Some(kind) = kind.filter(|k| k.is_cast()) else {
        return Some(v);
    };
    Some(match (kind, v) {
        (VarKind::Float, Value::Float(f)) => Value::Float(f),
        (VarKind::Float, Value::Integer(i)) => Value::Float(i as f64),
        (VarKind::Float, Value::Unsigned(u)) => Value::Float(u as f64),
        (VarKind::Integer, Value::Float(f)) => Value::Integer(float_to_int(f)),
        (VarKind::Integer, Value::Integer(i)) => Value::Integer(i),
        (VarKind::Integer, Value::Unsigned(u)) => Value::Integer(u as i64),
        (VarKind::Unsigned, Value::Float(f)) => Value::Unsigned(float_to_uint(f)),
        (VarKind::Unsigned, Value::Integer(i)) => Value::Unsigned(i as u64),
        (VarKind::Unsigned, Value::Unsigned(u)) => Value::Unsigned(u),
        (VarKind::Boolean, Value::Boolean(b)) => Value::Boolean(b),
        _ => return None,
    })
}

/// A cell read for a variable, under the qualifier `kind`: as [`value`],
/// and a string stays a string only under `::string`.
pub fn cell(c: Cell, kind: Option<VarKind>) -> Cell {
    let Some(kind) = kind.filter(|k| k.is_cast()) else {
        return c;
    };
    let v = match c {
        Cell::Float(f) => Value::Float(f),
        Cell::Int(i) => Value::Integer(i),
        Cell::UInt(u) => Value::Unsigned(u),
        Cell::Bool(b) => Value::Boolean(b),
        Cell::Str(s) if kind == VarKind::String => return Cell::Str(s),
        _ => return Cell::Null,
    };
    value(v, Some(kind)).map_or(Cell::Null, super::select::value_cell)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_convert_others_are_null() {
        let i = Some(VarKind::Integer);
        assert_eq!(value(Value::Float(-18.5), i), Some(Value::Integer(-18)));
        assert_eq!(value(Value::Float(18.99), i), Some(Value::Integer(18)));
        assert_eq!(
            value(Value::Float(1e300), i),
            Some(Value::Integer(i64::MIN))
        );
        assert_eq!(
            value(Value::Float(-TWO_63), i),
            Some(Value::Integer(i64::MIN))
        );
        assert_eq!(value(Value::Boolean(true), i), None);
        let u = Some(VarKind::Unsigned);
        assert_eq!(
            value(Value::Float(-20.0), u),
            Some(Value::Unsigned(18_446_744_073_709_551_596))
        );
        assert_eq!(
            value(Value::Integer(-1), u),
            Some(Value::Unsigned(u64::MAX))
        );
        assert_eq!(
            value(Value::Float(1.5 * TWO_63), u),
            Some(Value::Unsigned(3 << 62))
        );
        for f in [1e20, 4.0 * TWO_63, f64::INFINITY] {
            assert_eq!(
                value(Value::Float(f), u),
                Some(Value::Unsigned(1 << 63)),
                "{f}"
            );
        }
        assert_eq!(value(Value::Float(7.0), Some(VarKind::Nothing)), None);
        assert_eq!(
            value(Value::Integer(7), Some(VarKind::Float)),
            Some(Value::Float(7.0))
        );
        assert_eq!(value(Value::Float(7.0), Some(VarKind::Boolean)), None);
        assert_eq!(value(Value::Float(7.0), Some(VarKind::String)), None);
        assert_eq!(
            value(Value::Boolean(false), Some(VarKind::Boolean)),
            Some(Value::Boolean(false))
        );
        // Qualifiers that are no casts leave the value alone.
        assert_eq!(
            value(Value::Boolean(true), Some(VarKind::Field)),
            Some(Value::Boolean(true))
        );
        assert_eq!(value(Value::Float(0.5), None), Some(Value::Float(0.5)));
        assert_eq!(
            cell(Cell::Str("a".into()), Some(VarKind::String)),
            Cell::Str("a".into())
        );
        assert_eq!(
            cell(Cell::Str("a".into()), Some(VarKind::Float)),
            Cell::Null
        );
        assert_eq!(cell(Cell::Float(2.9), Some(VarKind::Integer)), Cell::Int(2));
    }
}
