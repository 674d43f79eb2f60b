//! Chunk statistics: what an aggregate needs from a chunk without decoding it.
//!
//! Float min, max, first and last that are exact decimals at one exponent
//! `e` are stored as scaled integers (a few bytes each), otherwise as raw
//! IEEE bits; the float sum is stored raw. Integers and unsigned integers are stored
//! relative to the minimum; booleans as a count of `true`.

use alloc::vec::Vec;

use crate::codec::decimal;
use crate::value::{FieldType, Value};
use crate::varint::{Reader, Truncated, put_i64, put_u64};

/// Statistics of one chunk.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Smallest value.
    pub min: Value,
    /// Largest value.
    pub max: Value,
    /// Value at the smallest timestamp.
    pub first: Value,
    /// Value at the largest timestamp.
    pub last: Value,
    /// Sum of the values.
    pub sum: Sum,
    /// Time of the smallest value (the earliest, if several).
    pub min_at: i64,
    /// Time of the largest value (the earliest, if several).
    pub max_at: i64,
}

/// A chunk's sum, exact for integers and for decimal floats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sum {
    /// Float sum.
    Float(f64),
    /// Signed sum (no overflow).
    Integer(i128),
    /// Unsigned sum (no overflow).
    Unsigned(u128),
    /// Number of `true` values.
    Boolean(u64),
}

fn put_u128(out: &mut Vec<u8>, mut v: u128) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_u128(r: &mut Reader<'_>) -> Result<u128, Truncated> {
    let mut v = 0u128;
    for i in 0..19 {
        let b = r.u8()?;
        v |= u128::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Ok(v);
        }
    }
    Err(Truncated { offset: r.pos() })
}

fn zz128(v: i128) -> u128 {
    ((v << 1) ^ (v >> 127)) as u128
}

fn unzz128(v: u128) -> i128 {
    ((v >> 1) as i128) ^ -((v & 1) as i128)
}

impl Stats {
    /// Computes the statistics of a chunk: `ts` strictly increasing,
    /// `bits` parallel, non-empty.
    pub fn compute(ty: FieldType, ts: &[i64], bits: &[u64]) -> Option<Self> {
        let (&first, &last) = (bits.first()?, bits.last()?);
        let t0 = *ts.first()?;
        // Positions of the extremes; strict comparisons keep the earliest.
        let (mut lo_i, mut hi_i) = (0usize, 0usize);
        let value = |b: u64| Value::from_bits(ty, b);
        let less = |a: u64, b: u64| -> bool {
            match ty {
                FieldType::Float => f64::from_bits(a) < f64::from_bits(b),
                FieldType::Integer => (a as i64) < (b as i64),
                FieldType::Unsigned => a < b,
                FieldType::Boolean => a == 0 && b != 0,
            }
        };
        let (mut lo, mut hi) = (first, first);
        for (i, &b) in bits.iter().enumerate() {
            if less(b, lo) {
                lo = b;
                lo_i = i;
            }
            if less(hi, b) {
                hi = b;
                hi_i = i;
            }
        }
        let sum = match ty {
            FieldType::Float => Sum::Float(bits.iter().map(|&b| f64::from_bits(b)).sum()),
            FieldType::Integer => Sum::Integer(bits.iter().map(|&b| i128::from(b as i64)).sum()),
            FieldType::Unsigned => Sum::Unsigned(bits.iter().map(|&b| u128::from(b)).sum()),
            FieldType::Boolean => Sum::Boolean(bits.iter().filter(|&&b| b != 0).count() as u64),
        };
        Some(Stats {
            min: value(lo),
            max: value(hi),
            first: value(first),
            last: value(last),
            sum,
            min_at: ts.get(lo_i).copied().unwrap_or(t0),
            max_at: ts.get(hi_i).copied().unwrap_or(t0),
        })
    }

    /// Encodes. Float min, max, first and last are stored as scaled decimals
    /// when they share an exponent; the sum is kept as the float the chunk's
    /// values add up to in time order (what decoding the chunk would give).
    /// The times of the smallest and largest value are stored minus
    /// `base_ts`, divided by `unit` (which divides both differences).
    pub fn encode(&self, base_ts: i64, unit: u64, out: &mut Vec<u8>) {
        self.encode_values(out);
        put_u64(out, (self.min_at.wrapping_sub(base_ts) as u64) / unit);
        put_u64(out, (self.max_at.wrapping_sub(base_ts) as u64) / unit);
    }

    fn encode_values(&self, out: &mut Vec<u8>) {
        match (self.min, self.max, self.first, self.last, self.sum) {
            (
                Value::Float(min),
                Value::Float(max),
                Value::Float(first),
                Value::Float(last),
                Sum::Float(sum),
            ) => {
                let n = |v: f64, e: u8| decimal::scale(v, e);
                if let Some(e) = decimal::common_exponent(&[min, max, first, last])
                    && let (Some(lo), Some(hi), Some(f), Some(l)) =
                        (n(min, e), n(max, e), n(first, e), n(last, e))
                {
                    out.push(1);
                    out.push(e);
                    put_i64(out, lo);
                    put_u64(out, hi.wrapping_sub(lo) as u64);
                    put_u64(out, f.wrapping_sub(lo) as u64);
                    put_u64(out, l.wrapping_sub(lo) as u64);
                } else {
                    out.push(0);
                    for v in [min, max, first, last] {
                        out.extend_from_slice(&v.to_bits().to_le_bytes());
                    }
                }
                out.extend_from_slice(&sum.to_bits().to_le_bytes());
            }
            (
                Value::Integer(min),
                Value::Integer(max),
                Value::Integer(first),
                Value::Integer(last),
                Sum::Integer(sum),
            ) => {
                put_i64(out, min);
                put_u64(out, max.wrapping_sub(min) as u64);
                put_u64(out, first.wrapping_sub(min) as u64);
                put_u64(out, last.wrapping_sub(min) as u64);
                put_u128(out, zz128(sum));
            }
            (
                Value::Unsigned(min),
                Value::Unsigned(max),
                Value::Unsigned(first),
                Value::Unsigned(last),
                Sum::Unsigned(sum),
            ) => {
                put_u64(out, min);
                put_u64(out, max.wrapping_sub(min));
                put_u64(out, first.wrapping_sub(min));
                put_u64(out, last.wrapping_sub(min));
                put_u128(out, sum);
            }
            (_, _, Value::Boolean(first), Value::Boolean(last), Sum::Boolean(trues)) => {
                out.push(u8::from(first) | (u8::from(last) << 1));
                put_u64(out, trues);
            }
            _ => {}
        }
    }

    /// Decodes statistics of a chunk of `count` values of type `ty`.
    /// `base_ts` and `unit` as given to [`Stats::encode`].
    pub fn decode(
        ty: FieldType,
        count: u64,
        base_ts: i64,
        unit: u64,
        r: &mut Reader<'_>,
    ) -> Result<Self, Truncated> {
        let mut st = match ty {
            FieldType::Float => match r.u8()? {
                1 => {
                    let at = Truncated { offset: r.pos() };
                    let e = r.u8()?;
                    let lo = r.i64()?;
                    let rel = |r: &mut Reader<'_>| -> Result<i64, Truncated> {
                        Ok(lo.wrapping_add(r.u64()? as i64))
                    };
                    let (hi, f, l) = (rel(r)?, rel(r)?, rel(r)?);
                    let v = |n: i64| decimal::unscale(n, e).ok_or(at);
                    Stats {
                        min: Value::Float(v(lo)?),
                        max: Value::Float(v(hi)?),
                        first: Value::Float(v(f)?),
                        last: Value::Float(v(l)?),
                        sum: Sum::Float(f64::from_bits(r.u64_le()?)),
                        min_at: 0,
                        max_at: 0,
                    }
                }
                0 => {
                    let mut f = [0.0; 5];
                    for x in &mut f {
                        *x = f64::from_bits(r.u64_le()?);
                    }
                    // min, max, first, last, then the sum.
                    let [min, max, first, last, sum] = f;
                    Stats {
                        min: Value::Float(min),
                        max: Value::Float(max),
                        first: Value::Float(first),
                        last: Value::Float(last),
                        sum: Sum::Float(sum),
                        min_at: 0,
                        max_at: 0,
                    }
                }
                _ => return Err(Truncated { offset: r.pos() }),
            },
            FieldType::Integer => {
                let lo = r.i64()?;
                let rel = |r: &mut Reader<'_>| -> Result<i64, Truncated> {
                    Ok(lo.wrapping_add(r.u64()? as i64))
                };
                let (hi, f, l) = (rel(r)?, rel(r)?, rel(r)?);
                Stats {
                    min: Value::Integer(lo),
                    max: Value::Integer(hi),
                    first: Value::Integer(f),
                    last: Value::Integer(l),
                    sum: Sum::Integer(unzz128(get_u128(r)?)),
                    min_at: 0,
                    max_at: 0,
                }
            }
            FieldType::Unsigned => {
                let lo = r.u64()?;
                let rel = |r: &mut Reader<'_>| -> Result<u64, Truncated> {
                    Ok(lo.wrapping_add(r.u64()?))
                };
                let (hi, f, l) = (rel(r)?, rel(r)?, rel(r)?);
                Stats {
                    min: Value::Unsigned(lo),
                    max: Value::Unsigned(hi),
                    first: Value::Unsigned(f),
                    last: Value::Unsigned(l),
                    sum: Sum::Unsigned(get_u128(r)?),
                    min_at: 0,
                    max_at: 0,
                }
            }
            FieldType::Boolean => {
                let at = Truncated { offset: r.pos() };
                let fl = r.u8()?;
                let trues = r.u64()?;
                if trues > count || fl > 3 {
                    return Err(at);
                }
                Stats {
                    min: Value::Boolean(trues == count),
                    max: Value::Boolean(trues > 0),
                    first: Value::Boolean(fl & 1 != 0),
                    last: Value::Boolean(fl & 2 != 0),
                    sum: Sum::Boolean(trues),
                    min_at: 0,
                    max_at: 0,
                }
            }
        };
        let mut at = || {
            let at = Truncated { offset: r.pos() };
            r.u64()?.checked_mul(unit).ok_or(at)
        };
        st.min_at = base_ts.wrapping_add(at()? as i64);
        st.max_at = base_ts.wrapping_add(at()? as i64);
        Ok(st)
    }
}
