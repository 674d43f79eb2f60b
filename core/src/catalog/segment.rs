//! Catalog segments: the series and databases a flush persists.
//!
//! Layout (`docs/format/catalog.md`): version byte; the databases named;
//! a string table; groups of series sharing a tag set (measurement, tags,
//! then each field with its series id and type); a CRC-32C of everything
//! before it. Strings appear once per segment, so a tag set with five fields
//! costs its tags once.

use alloc::vec::Vec;

use crate::map::Index;

use super::{Catalog, SeriesIdx, StrId};
use crate::crc::crc32c;
use crate::value::FieldType;
use crate::varint::{Reader, put_u64};

/// Segment format version.
pub const VERSION: u8 = 1;

/// Encodes the given databases and series.
pub fn encode(cat: &Catalog, series: &[SeriesIdx], dbs: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    out.push(VERSION);
    // Databases: the ones created plus every one a series belongs to.
    let mut db_list: Vec<u32> = dbs.to_vec();
    let mut groups: Vec<(u32, Vec<SeriesIdx>)> = Vec::new();
    let mut group_of: Index<u32, usize> = Index::new();
    for &s in series {
        let Some(m) = cat.series(s).filter(|m| !m.dead) else {
            continue;
        };
        let g = *group_of.entry(m.tagset).or_insert_with(|| {
            groups.push((m.tagset, Vec::new()));
            groups.len() - 1
        });
        if let Some(g) = groups.get_mut(g) {
            g.1.push(s);
        }
        if let Some(t) = cat.tagset(m.tagset)
            && !db_list.contains(&t.db)
        {
            db_list.push(t.db);
        }
    }
    put_u64(&mut out, db_list.len() as u64);
    for &d in &db_list {
        let name = cat
            .all_dbs()
            .get(d as usize)
            .map(|i| cat.strings().resolve(i.name))
            .unwrap_or("");
        put_u64(&mut out, name.len() as u64);
        out.extend_from_slice(name.as_bytes());
    }
    // String table.
    let mut local: Index<StrId, u64> = Index::new();
    let mut strings: Vec<StrId> = Vec::new();
    let mut note = |id: StrId| {
        local.entry(id).or_insert_with(|| {
            strings.push(id);
            strings.len() as u64 - 1
        });
    };
    for (t, ss) in &groups {
        if let Some(ts) = cat.tagset(*t) {
            note(ts.measurement);
            for &(k, v) in ts.tags.iter() {
                note(k);
                note(v);
            }
        }
        for &s in ss {
            if let Some(m) = cat.series(s) {
                note(m.field);
            }
        }
    }
    put_u64(&mut out, strings.len() as u64);
    for &id in &strings {
        let s = cat.strings().resolve(id);
        put_u64(&mut out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }
    let idx = |id: StrId| local.get(&id).copied().unwrap_or(0);
    put_u64(&mut out, groups.len() as u64);
    for (t, ss) in &groups {
        let Some(ts) = cat.tagset(*t) else { continue };
        put_u64(
            &mut out,
            db_list.iter().position(|&d| d == ts.db).unwrap_or(0) as u64,
        );
        put_u64(&mut out, idx(ts.measurement));
        put_u64(&mut out, ts.tags.len() as u64);
        for &(k, v) in ts.tags.iter() {
            put_u64(&mut out, idx(k));
            put_u64(&mut out, idx(v));
        }
        put_u64(&mut out, ss.len() as u64);
        for &s in ss {
            if let Some(m) = cat.series(s) {
                put_u64(&mut out, idx(m.field));
                put_u64(&mut out, m.id);
                out.push(m.ty as u8);
            }
        }
    }
    let crc = crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Why a segment could not be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentError {
    /// Bad checksum, truncated, or impossible values; the byte offset.
    Corrupted(usize),
    /// A definition contradicts one already loaded.
    Conflict,
    /// Written by a newer format version.
    Version(u8),
}

/// Loads a segment into `cat`; returns the number of series defined.
pub fn decode_into(cat: &mut Catalog, bytes: &[u8]) -> Result<usize, SegmentError> {
    let Some((body, crc)) = bytes.split_last_chunk::<4>() else {
        return Err(SegmentError::Corrupted(0));
    };
    if crc32c(body) != u32::from_le_bytes(*crc) {
        return Err(SegmentError::Corrupted(body.len()));
    }
    let mut r = Reader::new(body);
    let bad = |e: crate::varint::Truncated| SegmentError::Corrupted(e.offset);
    let version = r.u8().map_err(bad)?;
    if version != VERSION {
        return Err(SegmentError::Version(version));
    }
    let max_str = 1 << 20;
    let n_dbs = r.u64().map_err(bad)?;
    let mut dbs = Vec::new();
    for _ in 0..n_dbs {
        let name = r.str(max_str).map_err(bad)?;
        cat.load_db(name);
        dbs.push(name);
    }
    let n_strings = r.u64().map_err(bad)?;
    if n_strings > r.remaining() as u64 {
        return Err(SegmentError::Corrupted(r.pos()));
    }
    let mut strings = Vec::with_capacity(n_strings as usize);
    for _ in 0..n_strings {
        strings.push(r.str(max_str).map_err(bad)?);
    }
    let s = |r: &mut Reader<'_>| -> Result<&str, SegmentError> {
        let at = r.pos();
        let i = r.u64().map_err(bad)?;
        strings
            .get(i as usize)
            .copied()
            .ok_or(SegmentError::Corrupted(at))
    };
    let n_groups = r.u64().map_err(bad)?;
    let mut defined = 0;
    let mut tags: Vec<(&str, &str)> = Vec::new();
    for _ in 0..n_groups {
        let at = r.pos();
        let db = *dbs
            .get(r.u64().map_err(bad)? as usize)
            .ok_or(SegmentError::Corrupted(at))?;
        let measurement = s(&mut r)?;
        let n_tags = r.u64().map_err(bad)?;
        if n_tags > r.remaining() as u64 {
            return Err(SegmentError::Corrupted(r.pos()));
        }
        tags.clear();
        for _ in 0..n_tags {
            let k = s(&mut r)?;
            let v = s(&mut r)?;
            tags.push((k, v));
        }
        let n_fields = r.u64().map_err(bad)?;
        for _ in 0..n_fields {
            let field = s(&mut r)?;
            let id = r.u64().map_err(bad)?;
            let at = r.pos();
            let ty = FieldType::from_u8(r.u8().map_err(bad)?).ok_or(SegmentError::Corrupted(at))?;
            cat.load_series(db, measurement, &tags, field, ty, id)
                .map_err(|_| SegmentError::Conflict)?;
            defined += 1;
        }
    }
    if r.remaining() != 0 {
        return Err(SegmentError::Corrupted(r.pos()));
    }
    Ok(defined)
}
