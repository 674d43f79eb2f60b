//! The engine's WAL records (`docs/format/wal.md`, "Record payloads").
//!
//! A write record carries the definitions of the series it creates, then its
//! points: series id and timestamp as zigzag deltas from the previous point
//! (the timestamp's in the largest unit of s, ms, µs, ns that divides it),
//! the value by type (float: a decimal `n · 10^-e` as one varint when it is
//! exactly one, as sensor readings are, else 8 bytes; integer: zigzag
//! varint; unsigned: varint; boolean: one byte). Replaying it needs nothing
//! but the catalog state the earlier records built.
//!
//! The decimal float halves the WAL's bytes for typical readings (`21.37`:
//! 3 bytes, not 8), and the WAL is most of what a store writes to its
//! medium. Finding the exponent costs one exact check per value (the one
//! the previous value used); values that are not short decimals stop the
//! search for a while, so they cost little more than their 8 bytes.
//!
//! Timestamps step in whole seconds or milliseconds far more often than
//! not, while the WAL holds nanoseconds: a 5-minute step is 6 bytes as
//! nanoseconds and 2 as seconds, and a record's first timestamp (a delta
//! from 0) 9 bytes and 5. Two bits per point name the unit.

use alloc::vec::Vec;

use crate::value::{FieldType, SeriesId};
use crate::varint::{Reader, Truncated, put_i64, put_u64, zigzag};

/// Record format version written (3: timestamp deltas in units; version 2
/// records, deltas in ns, and version 1, also floats as 8 bytes, are still
/// read).
pub const VERSION: u8 = 3;
/// Largest decimal exponent of a float in a write record; the low four bits
/// of the varint hold it, [`RAW_FLOAT`] marks 8 raw bytes instead.
const MAX_FLOAT_E: u32 = 14;
const RAW_FLOAT: u64 = 15;
/// Values a failed exponent search skips the search for.
const RAW_STREAK: u32 = 32;
/// A batch of points.
pub const KIND_WRITE: u8 = 1;
/// A database created.
pub const KIND_CREATE_DB: u8 = 2;
/// Points deleted (and possibly series dropped).
pub const KIND_DELETE: u8 = 3;
/// A database dropped (its series were dropped by a delete record before).
pub const KIND_DROP_DB: u8 = 4;

/// Most bytes [`WriteRecord::point`] appends: a series delta (10), a
/// timestamp delta with its escape (1 + 10) and a raw float (1 + 8).
pub(crate) const POINT_MAX: usize = 30;

/// Upper bounds of the bytes [`WriteRecord::def`] appends, in parts that
/// add up to a definition: its fixed part with the database name and the
/// measurement, each tag, the field. The series id, every length and the
/// tag count are varints of at most 10 bytes.
pub(crate) mod def_bound {
    /// Series id, database and measurement with their lengths, tag count.
    pub(crate) fn head(db: usize, measurement: usize) -> usize {
        10 + 10 + db + 10 + measurement + 10
    }
    /// A tag's key and value with their lengths.
    pub(crate) fn tag(key: usize, value: usize) -> usize {
        10 + key + 10 + value
    }
    /// The field with its length, and the type byte.
    pub(crate) fn field(field: usize) -> usize {
        10 + field + 1
    }
}

/// Builds one write record.
#[derive(Debug, Default)]
pub struct WriteRecord {
    defs: Vec<u8>,
    n_defs: u64,
    points: Vec<u8>,
    n_points: u64,
    prev_id: SeriesId,
    prev_ts: i64,
    /// The exponent the last decimal float used.
    e_hint: u32,
    /// Floats left before the exponent is searched again.
    raw_left: u32,
}

/// Appends a timestamp delta: `zigzag(d / unit) << 2 | u` for the largest
/// unit (u = 3: s, 2: ms, 1: µs, 0: ns) dividing `d`, or, when that does not
/// fit in 64 bits (|d| ≥ 2^61 ns, in ns), a 0 and then `zigzag(d)`. A 0 is
/// free as the escape: a delta of 0 is written in seconds.
fn put_ts_delta(out: &mut Vec<u8>, d: i64) {
    if d == 0 {
        // The fields of a line, and lines of one time: the common case.
        out.push(3);
        return;
    }
    let (u, unit) = if d % 1_000_000_000 == 0 {
        (3, 1_000_000_000)
    } else if d % 1_000_000 == 0 {
        (2, 1_000_000)
    } else if d % 1_000 == 0 {
        (1, 1_000)
    } else {
        (0, 1)
    };
    let z = zigzag(d / unit);
    if z >> 62 == 0 {
        put_u64(out, (z << 2) | u);
    } else {
        out.push(0);
        put_i64(out, d);
    }
}

/// Reads what [`put_ts_delta`] wrote.
fn read_ts_delta(r: &mut Reader<'_>) -> Result<i64, Truncated> {
    let h = r.u64()?;
    if h == 0 {
        return r.i64();
    }
    let unit = match h & 3 {
        0 => 1,
        1 => 1_000,
        2 => 1_000_000,
        _ => 1_000_000_000,
    };
    Ok(crate::varint::unzigzag(h >> 2).wrapping_mul(unit))
}

/// The varint of `bits` as the exact decimal `n · 10^-e`, if it is one.
fn decimal_float(bits: u64, e: u32) -> Option<u64> {
    let n = crate::codec::decimal::round_scaled(bits, e)?;
    if crate::codec::decimal::to_bits(n, e) != bits {
        return None;
    }
    let z = zigzag(n);
    (z >> 59 == 0).then_some((z << 4) | u64::from(e))
}

impl WriteRecord {
    fn float(&mut self, bits: u64) {
        let mut h = decimal_float(bits, self.e_hint);
        if h.is_none() {
            if self.raw_left > 0 {
                self.raw_left -= 1;
            } else {
                h = (0..=MAX_FLOAT_E).find_map(|e| {
                    let h = decimal_float(bits, e)?;
                    self.e_hint = e;
                    Some(h)
                });
                if h.is_none() {
                    self.raw_left = RAW_STREAK;
                }
            }
        }
        match h {
            Some(h) => put_u64(&mut self.points, h),
            None => {
                put_u64(&mut self.points, RAW_FLOAT);
                self.points.extend_from_slice(&bits.to_le_bytes());
            }
        }
    }

    /// Bytes so far.
    pub fn len(&self) -> usize {
        self.defs.len() + self.points.len() + 24
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.n_defs == 0 && self.n_points == 0
    }

    /// Adds a series definition.
    pub fn def(
        &mut self,
        id: SeriesId,
        db: &str,
        measurement: &str,
        tags: &[(&str, &str)],
        field: &str,
        ty: FieldType,
    ) {
        let s = |b: &mut Vec<u8>, x: &str| {
            put_u64(b, x.len() as u64);
            b.extend_from_slice(x.as_bytes());
        };
        put_u64(&mut self.defs, id);
        s(&mut self.defs, db);
        s(&mut self.defs, measurement);
        put_u64(&mut self.defs, tags.len() as u64);
        for (k, v) in tags {
            s(&mut self.defs, k);
            s(&mut self.defs, v);
        }
        s(&mut self.defs, field);
        self.defs.push(ty as u8);
        self.n_defs += 1;
    }

    /// Adds a point.
    #[inline]
    pub fn point(&mut self, id: SeriesId, ts: i64, ty: FieldType, bits: u64) {
        put_i64(&mut self.points, id.wrapping_sub(self.prev_id) as i64);
        put_ts_delta(&mut self.points, ts.wrapping_sub(self.prev_ts));
        match ty {
            FieldType::Float => self.float(bits),
            FieldType::Integer => put_u64(&mut self.points, zigzag(bits as i64)),
            FieldType::Unsigned => put_u64(&mut self.points, bits),
            FieldType::Boolean => self.points.push(u8::from(bits != 0)),
        }
        self.prev_id = id;
        self.prev_ts = ts;
        self.n_points += 1;
    }

    /// The payload; the builder is left empty for reuse.
    pub fn take(&mut self, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(self.len());
        out.push(VERSION);
        out.push(KIND_WRITE);
        put_u64(out, self.n_defs);
        out.extend_from_slice(&self.defs);
        put_u64(out, self.n_points);
        out.extend_from_slice(&self.points);
        self.defs.clear();
        self.points.clear();
        self.n_defs = 0;
        self.n_points = 0;
        self.prev_id = 0;
        self.prev_ts = 0;
    }
}

/// A create-database record.
pub fn create_db(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 8);
    out.push(VERSION);
    out.push(KIND_CREATE_DB);
    put_u64(&mut out, name.len() as u64);
    out.extend_from_slice(name.as_bytes());
    out
}

/// A drop-database record.
pub fn drop_db(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 8);
    out.push(VERSION);
    out.push(KIND_DROP_DB);
    put_u64(&mut out, name.len() as u64);
    out.extend_from_slice(name.as_bytes());
    out
}

/// A delete record: `drop` also removes the series from the catalog.
pub fn delete(series: &[SeriesId], min_ts: i64, max_ts: i64, drop: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(series.len() * 2 + 32);
    out.push(VERSION);
    out.push(KIND_DELETE);
    out.push(u8::from(drop));
    put_i64(&mut out, min_ts);
    put_i64(&mut out, max_ts);
    put_u64(&mut out, series.len() as u64);
    let mut prev = 0u64;
    for &s in series {
        put_u64(&mut out, s.wrapping_sub(prev));
        prev = s;
    }
    out
}

/// A series definition read from a record.
#[derive(Debug)]
pub struct Def<'a> {
    /// Series id.
    pub id: SeriesId,
    /// Database.
    pub db: &'a str,
    /// Measurement.
    pub measurement: &'a str,
    /// Tags, sorted by key.
    pub tags: Vec<(&'a str, &'a str)>,
    /// Field.
    pub field: &'a str,
    /// Type.
    pub ty: FieldType,
}

/// What a record asks the engine to do, streamed to these callbacks.
pub trait Apply<'a> {
    /// The error.
    type Error;
    /// Maps a decoding failure to the error.
    fn bad(&mut self, at: usize) -> Self::Error;
    /// A database was created.
    fn create_db(&mut self, name: &'a str) -> Result<(), Self::Error>;
    /// A series was defined.
    fn def(&mut self, d: Def<'a>) -> Result<(), Self::Error>;
    /// The type of a series, for decoding its values.
    fn type_of(&mut self, id: SeriesId) -> Option<FieldType>;
    /// A point.
    fn point(&mut self, id: SeriesId, ts: i64, bits: u64) -> Result<(), Self::Error>;
    /// A delete.
    fn delete(
        &mut self,
        series: Vec<SeriesId>,
        min_ts: i64,
        max_ts: i64,
        drop: bool,
    ) -> Result<(), Self::Error>;
    /// A database dropped.
    fn drop_db(&mut self, name: &'a str) -> Result<(), Self::Error>;
}

const MAX_NAME: usize = 1 << 16;

/// Decodes a record and streams it to `a`.
pub fn apply<'a, A: Apply<'a>>(payload: &'a [u8], a: &mut A) -> Result<(), A::Error> {
    let mut r = Reader::new(payload);
    let res: Result<(), Result<Truncated, A::Error>> = (|| {
        let version = r.u8().map_err(Ok)?;
        if !(1..=VERSION).contains(&version) {
            return Err(Ok(Truncated { offset: 0 }));
        }
        match r.u8().map_err(Ok)? {
            KIND_CREATE_DB => a.create_db(r.str(MAX_NAME).map_err(Ok)?).map_err(Err),
            KIND_DROP_DB => a.drop_db(r.str(MAX_NAME).map_err(Ok)?).map_err(Err),
            KIND_DELETE => {
                let at = r.pos();
                let drop = match r.u8().map_err(Ok)? {
                    0 => false,
                    1 => true,
                    _ => return Err(Ok(Truncated { offset: at })),
                };
                let min_ts = r.i64().map_err(Ok)?;
                let max_ts = r.i64().map_err(Ok)?;
                let n = r.u64().map_err(Ok)?;
                if n > r.remaining() as u64 {
                    return Err(Ok(Truncated { offset: r.pos() }));
                }
                let mut series = Vec::with_capacity(n as usize);
                let mut prev = 0u64;
                for _ in 0..n {
                    prev = prev.wrapping_add(r.u64().map_err(Ok)?);
                    series.push(prev);
                }
                if r.remaining() != 0 {
                    return Err(Ok(Truncated { offset: r.pos() }));
                }
                a.delete(series, min_ts, max_ts, drop).map_err(Err)
            }
            KIND_WRITE => {
                let n_defs = r.u64().map_err(Ok)?;
                for _ in 0..n_defs {
                    let id = r.u64().map_err(Ok)?;
                    let db = r.str(MAX_NAME).map_err(Ok)?;
                    let measurement = r.str(MAX_NAME).map_err(Ok)?;
                    let n_tags = r.u64().map_err(Ok)?;
                    if n_tags > r.remaining() as u64 {
                        return Err(Ok(Truncated { offset: r.pos() }));
                    }
                    let mut tags = Vec::with_capacity(n_tags as usize);
                    for _ in 0..n_tags {
                        let k = r.str(MAX_NAME).map_err(Ok)?;
                        let v = r.str(MAX_NAME).map_err(Ok)?;
                        tags.push((k, v));
                    }
                    let field = r.str(MAX_NAME).map_err(Ok)?;
                    let at = r.pos();
                    let ty = FieldType::from_u8(r.u8().map_err(Ok)?)
                        .ok_or(Ok(Truncated { offset: at }))?;
                    a.def(Def {
                        id,
                        db,
                        measurement,
                        tags,
                        field,
                        ty,
                    })
                    .map_err(Err)?;
                }
                let n = r.u64().map_err(Ok)?;
                let (mut id, mut ts) = (0u64, 0i64);
                for _ in 0..n {
                    id = id.wrapping_add(r.i64().map_err(Ok)? as u64);
                    let d = if version >= 3 {
                        read_ts_delta(&mut r)
                    } else {
                        r.i64()
                    };
                    ts = ts.wrapping_add(d.map_err(Ok)?);
                    let at = r.pos();
                    let bits = match a.type_of(id).ok_or(Ok(Truncated { offset: at }))? {
                        FieldType::Float if version == 1 => r.u64_le().map_err(Ok)?,
                        FieldType::Float => match r.u64().map_err(Ok)? {
                            RAW_FLOAT => r.u64_le().map_err(Ok)?,
                            h if h & 15 <= u64::from(MAX_FLOAT_E) => {
                                let n = crate::varint::unzigzag(h >> 4);
                                crate::codec::decimal::to_bits(n, (h & 15) as u32)
                            }
                            _ => return Err(Ok(Truncated { offset: at })),
                        },
                        FieldType::Integer => crate::varint::unzigzag(r.u64().map_err(Ok)?) as u64,
                        FieldType::Unsigned => r.u64().map_err(Ok)?,
                        FieldType::Boolean => u64::from(r.u8().map_err(Ok)? != 0),
                    };
                    a.point(id, ts, bits).map_err(Err)?;
                }
                if r.remaining() != 0 {
                    return Err(Ok(Truncated { offset: r.pos() }));
                }
                Ok(())
            }
            _ => Err(Ok(Truncated { offset: 1 })),
        }
    })();
    match res {
        Ok(()) => Ok(()),
        Err(Ok(t)) => Err(a.bad(t.offset)),
        Err(Err(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    struct Collect(Vec<(SeriesId, i64, u64)>);

    impl<'a> Apply<'a> for Collect {
        type Error = usize;
        fn bad(&mut self, at: usize) -> usize {
            at
        }
        fn create_db(&mut self, _: &'a str) -> Result<(), usize> {
            Ok(())
        }
        fn def(&mut self, _: Def<'a>) -> Result<(), usize> {
            Ok(())
        }
        fn type_of(&mut self, _: SeriesId) -> Option<FieldType> {
            Some(FieldType::Float)
        }
        fn point(&mut self, id: SeriesId, ts: i64, bits: u64) -> Result<(), usize> {
            self.0.push((id, ts, bits));
            Ok(())
        }
        fn delete(&mut self, _: Vec<SeriesId>, _: i64, _: i64, _: bool) -> Result<(), usize> {
            Ok(())
        }
        fn drop_db(&mut self, _: &'a str) -> Result<(), usize> {
            Ok(())
        }
    }

    fn decode(payload: &[u8]) -> Vec<(SeriesId, i64, u64)> {
        let mut c = Collect(Vec::new());
        apply(payload, &mut c).expect("decodes");
        c.0
    }

    fn round_trip(values: &[f64]) -> usize {
        let mut w = WriteRecord::default();
        for (i, v) in values.iter().enumerate() {
            w.point(i as u64 % 7, i as i64 * 10, FieldType::Float, v.to_bits());
        }
        let mut out = Vec::new();
        w.take(&mut out);
        let got = decode(&out);
        assert_eq!(got.len(), values.len());
        for (i, (&(id, ts, bits), v)) in got.iter().zip(values).enumerate() {
            assert_eq!((id, ts), (i as u64 % 7, i as i64 * 10));
            assert_eq!(bits, v.to_bits(), "value {i}: {v:e}");
        }
        out.len()
    }

    #[test]
    fn floats_round_trip_bit_for_bit() {
        let mut rng = crate::codec::testutil::Rng::new(0x9E37_79B9_7F4A_7C15_u64);
        let mut v: Vec<f64> = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            21.37,
            -273.15,
            0.1 + 0.2,
            1e-310,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            1e15 + 0.5,
            9.007_199_254_740_993e15,
            123_456_789.123_456_78,
            1e-14,
            1.234_567_890_123_45e-5,
            (1u64 << 60) as f64,
        ];
        for _ in 0..20_000 {
            let x = rng.next();
            v.push(f64::from_bits(x));
            v.push((x % 100_000) as f64 / 100.0 - 400.0);
            v.push((x % 1_000_000_007) as f64 / 1e6);
        }
        v.retain(|x| !x.is_nan());
        round_trip(&v);
    }

    #[test]
    fn timestamps_round_trip_in_every_unit_and_at_the_extremes() {
        let mut rng = crate::codec::testutil::Rng::new(0x2545_F491_4F6C_DD1D_u64);
        let mut ts: Vec<i64> = vec![
            0,
            i64::MIN,
            i64::MAX,
            0,
            i64::MAX,
            i64::MIN,
            -1,
            1,
            1_700_000_000_000_000_000,
            1_700_000_000_000_000_000,
            1_700_000_300_000_000_000,
            1_700_000_300_001_000_000,
            1_700_000_300_001_001_000,
            1_700_000_300_001_001_001,
            i64::MIN + 1_000_000_000,
            i64::MAX - 999,
        ];
        for _ in 0..20_000 {
            let x = rng.next();
            let unit = [1, 1_000, 1_000_000, 1_000_000_000][(x % 4) as usize];
            ts.push(match (x >> 2) % 4 {
                0 => x as i64,
                1 => (x as i64 >> 20).wrapping_mul(unit),
                _ => ts
                    .last()
                    .copied()
                    .unwrap_or(0)
                    .wrapping_add(((x >> 8) % 600) as i64 * unit),
            });
        }
        let mut w = WriteRecord::default();
        for (i, &t) in ts.iter().enumerate() {
            w.point(i as u64 % 3, t, FieldType::Float, 1.5f64.to_bits());
        }
        let mut out = Vec::new();
        w.take(&mut out);
        let got = decode(&out);
        assert_eq!(got.len(), ts.len());
        for (i, (&(_, t, _), &want)) in got.iter().zip(&ts).enumerate() {
            assert_eq!(t, want, "point {i}");
        }
    }

    #[test]
    fn a_point_takes_at_most_point_max_bytes() {
        let mut w = WriteRecord::default();
        let mut most = 0;
        for (id, ts) in [
            (u64::MAX / 2, i64::MIN + 1),
            (0, i64::MAX - 1),
            (u64::MAX, i64::MIN + 7),
        ] {
            let before = w.points.len();
            w.point(id, ts, FieldType::Float, core::f64::consts::PI.to_bits());
            most = most.max(w.points.len() - before);
        }
        assert_eq!(most, POINT_MAX);
    }

    #[test]
    fn second_steps_take_two_bytes() {
        // Five-minute steps of one series: 1 byte of series delta, 2 of
        // timestamp delta, 2 of value (2.5 with no decimals to 49.5).
        let mut w = WriteRecord::default();
        for i in 0..1000i64 {
            let t = 1_700_000_000_000_000_000 + i * 300_000_000_000;
            w.point(
                7,
                t,
                FieldType::Float,
                (f64::from(i as i32 % 20) + 2.5).to_bits(),
            );
        }
        let mut out = Vec::new();
        w.take(&mut out);
        // The first point's delta from 0, in seconds: 5 bytes.
        assert!(out.len() <= 1000 * 5 + 16, "{} bytes", out.len());
        assert_eq!(decode(&out).len(), 1000);
    }

    #[test]
    fn version_2_records_still_read() {
        // Version 2: timestamp deltas as plain zigzag ns.
        let points: [(u64, i64, f64); 3] = [
            (5, 1_000_000_007, 21.37),
            (5, 2_000_000_000, -0.5),
            (6, 2_000_000_000, 1e300),
        ];
        let mut out = vec![2, KIND_WRITE];
        put_u64(&mut out, 0);
        put_u64(&mut out, points.len() as u64);
        let (mut id, mut ts) = (0u64, 0i64);
        for &(i, t, v) in &points {
            put_i64(&mut out, i.wrapping_sub(id) as i64);
            put_i64(&mut out, t.wrapping_sub(ts));
            put_u64(&mut out, RAW_FLOAT);
            out.extend_from_slice(&v.to_bits().to_le_bytes());
            (id, ts) = (i, t);
        }
        let got = decode(&out);
        let want: Vec<(u64, i64, u64)> = points
            .iter()
            .map(|&(i, t, v)| (i, t, v.to_bits()))
            .collect();
        assert_eq!(got, want);
        // An unknown version is refused.
        out[0] = VERSION + 1;
        let mut c = Collect(Vec::new());
        assert!(apply(&out, &mut c).is_err());
    }

    #[test]
    fn short_decimals_take_a_few_bytes() {
        // As a parser reads them: the doubles nearest to 20.00 ... 24.99.
        let v: Vec<f64> = (0..1000)
            .map(|i| f64::from(2000 + i % 500) / 100.0)
            .collect();
        let len = round_trip(&v);
        // Series and timestamp deltas (2 bytes) and the value (3 bytes).
        assert!(len <= 1000 * 5 + 16, "{len} bytes");
        let v: Vec<f64> = (0..1000).map(|i| 1.0 / f64::from(i + 3)).collect();
        let len = round_trip(&v);
        assert!(len <= 1000 * 12 + 16, "{len} bytes");
    }
}
