//! The catalog: databases, measurements, series and the tag index.
//!
//! A *series* is (database, measurement, sorted tag set, field) and has one
//! field type; it gets a persistent [`SeriesId`] when first written. Series
//! sharing a tag set are grouped in a *tagset*, so a line with five fields
//! costs one tag-set lookup and five short name comparisons. Strings are
//! interned once.
//!
//! Persistence: each flush writes a *catalog segment* with the databases and
//! series created since the previous one ([`segment`]); a series' definition
//! is also in the WAL record that created it. Open rebuilds the catalog from
//! the segments, then WAL replay adds the newest. Keeping definitions out of
//! the data tables (unlike a design where every table repeats its series keys)
//! means table bytes go to data, and dropping an old table by retention never
//! loses the definition of a series that still has newer data.
//!
//! Field types are enforced per (database, measurement, field), like InfluxDB
//! 1.x, so `SHOW FIELD KEYS` is never ambiguous.

mod expr;
mod interner;
pub mod segment;

use crate::lineproto::escape_name_into;
use crate::map::{Index, Map};
use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

pub use expr::TagExpr;
pub use interner::{Interner, StrId};

use crate::value::{FieldType, SeriesId};

/// Dense in-memory index of a series (position in the catalog's series list).
pub type SeriesIdx = u32;

/// Limits on what a write may create. Every error names the limit it hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest measurement name, tag key or field key, in bytes.
    pub max_name_len: usize,
    /// Longest tag value, in bytes.
    pub max_tag_value_len: usize,
    /// Most tags on one point.
    pub max_tags_per_point: usize,
    /// Most fields on one point.
    pub max_fields_per_point: usize,
    /// Most series in the store.
    pub max_series: usize,
    /// Most databases in the store.
    pub max_databases: usize,
    /// Most bytes of memory the catalog may take (new series are refused
    /// beyond it).
    pub max_catalog_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_name_len: 256,
            max_tag_value_len: 1024,
            max_tags_per_point: 64,
            max_fields_per_point: 256,
            max_series: 1_000_000,
            max_databases: 256,
            max_catalog_bytes: usize::MAX,
        }
    }
}

/// A database.
#[derive(Debug)]
pub struct DbInfo {
    /// Its name.
    pub name: StrId,
    measurements: Map<StrId, MeasInfo>,
    /// Dropped.
    pub removed: bool,
}

#[derive(Debug, Default)]
struct MeasInfo {
    tagsets: Vec<u32>,
    fields: Map<StrId, FieldType>,
    /// tag key → tag value → tagsets.
    tag_index: Map<StrId, Map<StrId, Vec<u32>>>,
}

/// Series sharing (database, measurement, tags).
#[derive(Debug)]
pub struct Tagset {
    /// Database index.
    pub db: u32,
    /// Measurement name.
    pub measurement: StrId,
    /// Tags, sorted by key.
    pub tags: Box<[(StrId, StrId)]>,
    /// Its fields and their series.
    pub fields: Vec<(StrId, SeriesIdx)>,
}

/// One series.
#[derive(Clone, Copy, Debug)]
pub struct SeriesMeta {
    /// Persistent id.
    pub id: SeriesId,
    /// Its tagset.
    pub tagset: u32,
    /// Field name.
    pub field: StrId,
    /// Field type.
    pub ty: FieldType,
    /// Dropped (kept only so dense indexes stay valid).
    pub dead: bool,
}

/// Why the catalog refused a definition read from media.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conflict;

/// Databases, series and the tag index.
#[derive(Debug)]
pub struct Catalog {
    strings: Interner,
    dbs: Vec<DbInfo>,
    tagsets: Vec<Tagset>,
    tagset_index: Index<Box<[u8]>, u32>,
    series: Vec<SeriesMeta>,
    by_id: Index<SeriesId, SeriesIdx>,
    next_id: SeriesId,
    unpersisted_series: Vec<SeriesIdx>,
    unpersisted_dbs: Vec<u32>,
    limits: Limits,
    bytes: usize,
    key_buf: Vec<u8>,
    live: usize,
    full_rewrite: bool,
}

fn put_str(buf: &mut Vec<u8>, s: &[u8]) {
    crate::varint::put_u64(buf, s.len() as u64);
    buf.extend_from_slice(s);
}

impl Catalog {
    /// An empty catalog.
    pub fn new(limits: Limits) -> Self {
        Self {
            strings: Interner::default(),
            dbs: Vec::new(),
            tagsets: Vec::new(),
            tagset_index: Index::new(),
            series: Vec::new(),
            by_id: Index::new(),
            next_id: 1,
            unpersisted_series: Vec::new(),
            unpersisted_dbs: Vec::new(),
            limits,
            bytes: 0,
            key_buf: Vec::new(),
            live: 0,
            full_rewrite: false,
        }
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Approximate heap bytes held (for the memory budget).
    pub fn bytes(&self) -> usize {
        self.bytes + self.strings.bytes()
    }

    /// Number of live series.
    pub fn series_count(&self) -> usize {
        self.live
    }

    /// Number of dense indexes handed out (live and dropped series).
    pub fn series_slots(&self) -> usize {
        self.series.len()
    }

    /// Whether the next catalog segment must hold every series (a series
    /// was dropped, so older segments are out of date).
    pub fn needs_full_rewrite(&self) -> bool {
        self.full_rewrite
    }

    /// A full segment was committed.
    pub fn full_rewrite_done(&mut self) {
        self.full_rewrite = false;
    }

    /// Removes a series (DROP SERIES / MEASUREMENT / DATABASE). Its tagset
    /// goes too when it has no field left, and its measurement when it has
    /// no tagset left.
    pub fn remove_series(&mut self, idx: SeriesIdx) {
        let Some(meta) = self.series.get_mut(idx as usize) else {
            return;
        };
        if meta.dead {
            return;
        }
        meta.dead = true;
        let (id, t) = (meta.id, meta.tagset);
        self.live -= 1;
        self.by_id.remove(&id);
        self.unpersisted_series.retain(|&s| s != idx);
        self.full_rewrite = true;
        let Some(ts) = self.tagsets.get_mut(t as usize) else {
            return;
        };
        ts.fields.retain(|&(_, s)| s != idx);
        let (db, m, empty) = (ts.db, ts.measurement, ts.fields.is_empty());
        let tags: Vec<(StrId, StrId)> = ts.tags.to_vec();
        if empty {
            // Forget the tagset so the same tags can be written again.
            let mut key = Vec::new();
            let m_s = self.strings.resolve(m).to_owned();
            let pairs: Vec<(String, String)> = tags
                .iter()
                .map(|&(k, v)| (self.owned(k), self.owned(v)))
                .collect();
            let refs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            Self::canonical_key(&mut key, db, &m_s, &refs);
            self.tagset_index.remove(key.as_slice());
        }
        let Some(d) = self.dbs.get_mut(db as usize) else {
            return;
        };
        let Some(mi) = d.measurements.get_mut(&m) else {
            return;
        };
        if empty {
            mi.tagsets.retain(|&x| x != t);
            for &(k, v) in &tags {
                if let Some(vals) = mi.tag_index.get_mut(&k) {
                    if let Some(list) = vals.get_mut(&v) {
                        list.retain(|&x| x != t);
                        if list.is_empty() {
                            vals.remove(&v);
                        }
                    }
                    if vals.is_empty() {
                        mi.tag_index.remove(&k);
                    }
                }
            }
        }
        // Field types: what the remaining series have.
        let mut fields = Map::new();
        for &ti in &mi.tagsets {
            if let Some(ts) = self.tagsets.get(ti as usize) {
                for &(f, s) in &ts.fields {
                    if let Some(sm) = self.series.get(s as usize) {
                        fields.entry(f).or_insert(sm.ty);
                    }
                }
            }
        }
        mi.fields = fields;
        if mi.tagsets.is_empty() {
            d.measurements.remove(&m);
        }
    }

    /// Removes a database (it must hold no series any more).
    pub fn remove_db(&mut self, db: u32) {
        if let Some(d) = self.dbs.get_mut(db as usize) {
            d.measurements.clear();
            // The name stays interned; the entry is renamed to nothing.
            d.removed = true;
        }
        self.full_rewrite = true;
    }

    /// The next series id to hand out.
    pub fn next_series_id(&self) -> SeriesId {
        self.next_id
    }

    /// Raises the next series id to at least `id`.
    pub fn bump_next_series_id(&mut self, id: SeriesId) {
        self.next_id = self.next_id.max(id);
    }

    /// The interned strings.
    pub fn strings(&self) -> &Interner {
        &self.strings
    }

    /// A database's index.
    pub fn db(&self, name: &str) -> Option<u32> {
        let id = self.strings.get(name)?;
        self.dbs
            .iter()
            .position(|d| d.name == id && !d.removed)
            .map(|i| i as u32)
    }

    /// A database entry by name, dropped or not.
    fn db_entry(&self, name: &str) -> Option<u32> {
        let id = self.strings.get(name)?;
        self.dbs.iter().position(|d| d.name == id).map(|i| i as u32)
    }

    /// Database names, in creation order.
    pub fn databases(&self) -> impl Iterator<Item = &str> {
        self.dbs
            .iter()
            .filter(|d| !d.removed)
            .map(|d| self.strings.resolve(d.name))
    }

    /// Creates a database (no-op if it exists); returns its index, or `None`
    /// if the database limit is reached.
    pub fn create_db(&mut self, name: &str) -> Option<u32> {
        if let Some(i) = self.db(name) {
            return Some(i);
        }
        if self.dbs.iter().filter(|d| !d.removed).count() >= self.limits.max_databases {
            return None;
        }
        if let Some(i) = self.db_entry(name) {
            // Created again after a drop: the same entry, revived.
            if let Some(d) = self.dbs.get_mut(i as usize) {
                d.removed = false;
            }
            self.unpersisted_dbs.push(i);
            return Some(i);
        }
        let name = self.strings.intern(name);
        self.dbs.push(DbInfo {
            name,
            measurements: Map::new(),
            removed: false,
        });
        let i = self.dbs.len() as u32 - 1;
        self.unpersisted_dbs.push(i);
        self.bytes += 64;
        Some(i)
    }

    fn canonical_key(buf: &mut Vec<u8>, db: u32, measurement: &str, sorted_tags: &[(&str, &str)]) {
        buf.clear();
        buf.extend_from_slice(&db.to_le_bytes());
        put_str(buf, measurement.as_bytes());
        for (k, v) in sorted_tags {
            put_str(buf, k.as_bytes());
            put_str(buf, v.as_bytes());
        }
    }

    /// Finds the tagset of (`db`, `measurement`, `tags`); `tags` sorted by key.
    pub fn find_tagset(
        &mut self,
        db: u32,
        measurement: &str,
        sorted_tags: &[(&str, &str)],
    ) -> Option<u32> {
        let mut buf = core::mem::take(&mut self.key_buf);
        Self::canonical_key(&mut buf, db, measurement, sorted_tags);
        let r = self.tagset_index.get(buf.as_slice()).copied();
        self.key_buf = buf;
        r
    }

    /// The type of `field` in (`db`, `measurement`), if any series has it.
    pub fn field_type(&self, db: u32, measurement: &str, field: &str) -> Option<FieldType> {
        let m = self.strings.get(measurement)?;
        let f = self.strings.get(field)?;
        self.dbs
            .get(db as usize)?
            .measurements
            .get(&m)?
            .fields
            .get(&f)
            .copied()
    }

    /// The series of `field` in `tagset`.
    pub fn find_field(&self, tagset: u32, field: &str) -> Option<SeriesIdx> {
        let t = self.tagsets.get(tagset as usize)?;
        t.fields
            .iter()
            .find(|(f, _)| self.strings.resolve(*f) == field)
            .map(|&(_, s)| s)
    }

    /// [`Catalog::find_field`], trying position `hint` first (the fields of
    /// a line usually come in the order they were first written).
    #[inline]
    pub fn find_field_hint(&self, tagset: u32, field: &str, hint: usize) -> Option<SeriesIdx> {
        let t = self.tagsets.get(tagset as usize)?;
        if let Some(&(f, s)) = t.fields.get(hint)
            && self.strings.resolve(f) == field
        {
            return Some(s);
        }
        t.fields
            .iter()
            .find(|(f, _)| self.strings.resolve(*f) == field)
            .map(|&(_, s)| s)
    }

    /// Creates the tagset (it must not exist).
    pub fn create_tagset(
        &mut self,
        db: u32,
        measurement: &str,
        sorted_tags: &[(&str, &str)],
    ) -> u32 {
        let mut buf = core::mem::take(&mut self.key_buf);
        Self::canonical_key(&mut buf, db, measurement, sorted_tags);
        let m = self.strings.intern(measurement);
        let tags: Box<[(StrId, StrId)]> = sorted_tags
            .iter()
            .map(|(k, v)| (self.strings.intern(k), self.strings.intern(v)))
            .collect();
        let idx = self.tagsets.len() as u32;
        self.bytes += buf.len() * 2 + tags.len() * 8 + 96;
        self.tagset_index.insert(buf.as_slice().into(), idx);
        self.key_buf = buf;
        if let Some(d) = self.dbs.get_mut(db as usize) {
            let mi = d.measurements.entry(m).or_default();
            mi.tagsets.push(idx);
            for &(k, v) in tags.iter() {
                mi.tag_index
                    .entry(k)
                    .or_default()
                    .entry(v)
                    .or_default()
                    .push(idx);
            }
        }
        self.tagsets.push(Tagset {
            db,
            measurement: m,
            tags,
            fields: Vec::new(),
        });
        idx
    }

    /// Creates the series `field` of `tagset`, with a new id (or `id` when
    /// loading a definition). Returns `None` at the series limit.
    pub fn create_series(
        &mut self,
        tagset: u32,
        field: &str,
        ty: FieldType,
        id: Option<SeriesId>,
    ) -> Option<SeriesIdx> {
        if self.series.len() >= self.limits.max_series && id.is_none() {
            return None;
        }
        let f = self.strings.intern(field);
        let id = id.unwrap_or(self.next_id);
        self.next_id = self.next_id.max(id + 1);
        let idx = self.series.len() as SeriesIdx;
        self.series.push(SeriesMeta {
            id,
            tagset,
            field: f,
            ty,
            dead: false,
        });
        self.live += 1;
        self.by_id.insert(id, idx);
        self.bytes += 64;
        let t = self.tagsets.get_mut(tagset as usize)?;
        t.fields.push((f, idx));
        let (db, m) = (t.db, t.measurement);
        if let Some(mi) = self
            .dbs
            .get_mut(db as usize)
            .and_then(|d| d.measurements.get_mut(&m))
        {
            mi.fields.entry(f).or_insert(ty);
        }
        self.unpersisted_series.push(idx);
        Some(idx)
    }

    /// The series at `idx`.
    pub fn series(&self, idx: SeriesIdx) -> Option<&SeriesMeta> {
        self.series.get(idx as usize)
    }

    /// The dense index of the series with persistent id `id`.
    pub fn by_id(&self, id: SeriesId) -> Option<SeriesIdx> {
        self.by_id.get(&id).copied()
    }

    /// The tagset at `idx`.
    pub fn tagset(&self, idx: u32) -> Option<&Tagset> {
        self.tagsets.get(idx as usize)
    }

    /// The measurement name, tags and field of a series, as strings.
    pub fn describe(&self, idx: SeriesIdx) -> Option<SeriesView<'_>> {
        let s = self.series.get(idx as usize)?;
        let t = self.tagsets.get(s.tagset as usize)?;
        Some(SeriesView {
            cat: self,
            meta: *s,
            tagset: t,
        })
    }

    /// Series and databases created since the last [`Catalog::mark_persisted`].
    pub fn unpersisted(&self) -> (&[SeriesIdx], &[u32]) {
        (&self.unpersisted_series, &self.unpersisted_dbs)
    }

    /// Everything so far is in a committed catalog segment.
    pub fn mark_persisted(&mut self, series: usize, dbs: usize) {
        self.unpersisted_series
            .drain(..series.min(self.unpersisted_series.len()));
        self.unpersisted_dbs
            .drain(..dbs.min(self.unpersisted_dbs.len()));
    }

    /// Forgets that anything is unpersisted (after loading from segments).
    pub fn clear_unpersisted(&mut self) {
        self.unpersisted_series.clear();
        self.unpersisted_dbs.clear();
    }

    /// Measurement names of a database, sorted.
    pub fn measurements(&self, db: u32) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .dbs
            .get(db as usize)
            .map(|d| {
                d.measurements
                    .keys()
                    .map(|&m| self.strings.resolve(m))
                    .collect()
            })
            .unwrap_or_default();
        crate::sort::sort(&mut v);
        v
    }

    fn meas(&self, db: u32, measurement: &str) -> Option<&MeasInfo> {
        let m = self.strings.get(measurement)?;
        self.dbs.get(db as usize)?.measurements.get(&m)
    }

    /// Tag keys of a measurement, sorted.
    pub fn tag_keys(&self, db: u32, measurement: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .meas(db, measurement)
            .map(|mi| {
                mi.tag_index
                    .keys()
                    .map(|&k| self.strings.resolve(k))
                    .collect()
            })
            .unwrap_or_default();
        crate::sort::sort(&mut v);
        v
    }

    /// Values of a tag key in a measurement, among the tagsets `expr` selects, sorted.
    pub fn tag_values(&self, db: u32, measurement: &str, key: &str, expr: &TagExpr) -> Vec<&str> {
        let Some(mi) = self.meas(db, measurement) else {
            return Vec::new();
        };
        let Some(k) = self.strings.get(key) else {
            return Vec::new();
        };
        let mut v: Vec<&str> = mi
            .tag_index
            .get(&k)
            .map(|vals| {
                vals.iter()
                    .filter(|(_, ts)| ts.iter().any(|&t| self.tagset_matches(t, expr)))
                    .map(|(&val, _)| self.strings.resolve(val))
                    .collect()
            })
            .unwrap_or_default();
        crate::sort::sort(&mut v);
        v
    }

    /// Field keys of a measurement with their types, sorted by name.
    pub fn field_keys(&self, db: u32, measurement: &str) -> Vec<(&str, FieldType)> {
        let mut v: Vec<(&str, FieldType)> = self
            .meas(db, measurement)
            .map(|mi| {
                mi.fields
                    .iter()
                    .map(|(&f, &t)| (self.strings.resolve(f), t))
                    .collect()
            })
            .unwrap_or_default();
        crate::sort::sort_by(&mut v, |a, b| a.0.cmp(b.0));
        v
    }

    fn tag_of(&self, t: &Tagset, key: &str) -> Option<&str> {
        t.tags
            .iter()
            .find(|(k, _)| self.strings.resolve(*k) == key)
            .map(|&(_, v)| self.strings.resolve(v))
    }

    fn tagset_matches(&self, idx: u32, expr: &TagExpr) -> bool {
        match self.tagsets.get(idx as usize) {
            Some(t) => expr.eval(&|k| self.tag_of(t, k)),
            None => false,
        }
    }

    /// Tagsets of a measurement that `expr` selects, ordered by their tags
    /// (key by key, values compared as strings), as InfluxDB orders series.
    pub fn select_tagsets(&self, db: u32, measurement: &str, expr: &TagExpr) -> Vec<u32> {
        let Some(mi) = self.meas(db, measurement) else {
            return Vec::new();
        };
        let candidates: &[u32] = match expr.required_eq() {
            Some((k, v)) => match (self.strings.get(k), self.strings.get(v)) {
                (Some(k), Some(v)) => mi
                    .tag_index
                    .get(&k)
                    .and_then(|m| m.get(&v))
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
                _ => &[],
            },
            None => &mi.tagsets,
        };
        let mut v: Vec<u32> = candidates
            .iter()
            .copied()
            .filter(|&t| self.tagset_matches(t, expr))
            .collect();
        crate::sort::sort_by(&mut v, |&a, &b| self.tagset_order(a, b));
        v
    }

    fn tagset_order(&self, a: u32, b: u32) -> core::cmp::Ordering {
        let (Some(ta), Some(tb)) = (self.tagsets.get(a as usize), self.tagsets.get(b as usize))
        else {
            return a.cmp(&b);
        };
        let ka = ta
            .tags
            .iter()
            .map(|&(k, v)| (self.strings.resolve(k), self.strings.resolve(v)));
        let kb = tb
            .tags
            .iter()
            .map(|&(k, v)| (self.strings.resolve(k), self.strings.resolve(v)));
        ka.cmp(kb)
    }

    /// The series key of a tagset, escaped as line protocol writes it:
    /// `cpu,host=a,region=b`, `disk\ io,name=a\=b`.
    pub fn tagset_key(&self, idx: u32) -> String {
        let mut s = String::new();
        if let Some(t) = self.tagsets.get(idx as usize) {
            escape_name_into(&mut s, self.strings.resolve(t.measurement), true);
            for &(k, v) in t.tags.iter() {
                s.push(',');
                escape_name_into(&mut s, self.strings.resolve(k), false);
                s.push('=');
                escape_name_into(&mut s, self.strings.resolve(v), false);
            }
        }
        s
    }

    /// Loads one definition read from a catalog segment or a WAL record.
    pub fn load_series(
        &mut self,
        db: &str,
        measurement: &str,
        sorted_tags: &[(&str, &str)],
        field: &str,
        ty: FieldType,
        id: SeriesId,
    ) -> Result<SeriesIdx, Conflict> {
        self.load_db(db);
        let Some(dbi) = self.db(db) else {
            return Err(Conflict);
        };
        let t = match self.find_tagset(dbi, measurement, sorted_tags) {
            Some(t) => t,
            None => self.create_tagset(dbi, measurement, sorted_tags),
        };
        if let Some(existing) = self.by_id(id) {
            // Already known (a WAL record repeating a segment's definition):
            // it must be the same series.
            let same = self
                .series(existing)
                .is_some_and(|s| s.tagset == t && self.strings.resolve(s.field) == field);
            return if same { Ok(existing) } else { Err(Conflict) };
        }
        if let Some(existing) = self.find_field(t, field) {
            return if self.series(existing).is_some_and(|s| s.id == id) {
                Ok(existing)
            } else {
                Err(Conflict)
            };
        }
        self.create_series(t, field, ty, Some(id)).ok_or(Conflict)
    }

    /// Creates a database while loading (not counted against the limit).
    pub fn load_db(&mut self, name: &str) {
        if self.db(name).is_some() {
            return;
        }
        if let Some(i) = self.db_entry(name) {
            if let Some(d) = self.dbs.get_mut(i as usize) {
                d.removed = false;
            }
            // Replayed from the WAL: the next catalog segment must hold it.
            self.unpersisted_dbs.push(i);
            return;
        }
        let id = self.strings.intern(name);
        self.dbs.push(DbInfo {
            name: id,
            measurements: Map::new(),
            removed: false,
        });
        self.unpersisted_dbs.push(self.dbs.len() as u32 - 1);
    }

    /// Every series, by dense index.
    pub fn all_series(&self) -> &[SeriesMeta] {
        &self.series
    }

    /// Every database.
    pub fn all_dbs(&self) -> &[DbInfo] {
        &self.dbs
    }

    /// Owned copy of a string (helper for error messages).
    pub fn owned(&self, id: StrId) -> String {
        self.strings.resolve(id).to_owned()
    }
}

/// A series with its strings resolved.
#[derive(Debug, Clone, Copy)]
pub struct SeriesView<'a> {
    cat: &'a Catalog,
    /// The series.
    pub meta: SeriesMeta,
    tagset: &'a Tagset,
}

impl<'a> SeriesView<'a> {
    /// Database name.
    pub fn db(&self) -> &'a str {
        self.cat
            .dbs
            .get(self.tagset.db as usize)
            .map(|d| self.cat.strings.resolve(d.name))
            .unwrap_or("")
    }
    /// Measurement name.
    pub fn measurement(&self) -> &'a str {
        self.cat.strings.resolve(self.tagset.measurement)
    }
    /// Tags, sorted by key.
    pub fn tags(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let cat = self.cat;
        self.tagset
            .tags
            .iter()
            .map(move |&(k, v)| (cat.strings.resolve(k), cat.strings.resolve(v)))
    }
    /// Value of one tag.
    pub fn tag(&self, key: &str) -> Option<&'a str> {
        self.cat.tag_of(self.tagset, key)
    }
    /// Field name.
    pub fn field(&self) -> &'a str {
        self.cat.strings.resolve(self.meta.field)
    }
}
