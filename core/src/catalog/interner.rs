//! String interning: every measurement, tag key, tag value and field name is
//! stored once and referred to by a 4-byte id.

use alloc::boxed::Box;
use alloc::vec::Vec;
#[cfg(not(feature = "small-code"))]
use core::hash::BuildHasher;

#[cfg(not(feature = "small-code"))]
use hashbrown::{DefaultHashBuilder, HashTable};

/// Id of an interned string.
pub type StrId = u32;

/// A set of strings, each stored once.
///
/// Found by hash; with the `small-code` feature (see `crate::map`), by a
/// binary search over the ids sorted by their strings.
#[derive(Default)]
pub struct Interner {
    strings: Vec<Box<str>>,
    #[cfg(not(feature = "small-code"))]
    table: HashTable<StrId>,
    #[cfg(not(feature = "small-code"))]
    hasher: DefaultHashBuilder,
    #[cfg(feature = "small-code")]
    sorted: Vec<StrId>,
    bytes: usize,
}

impl core::fmt::Debug for Interner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Interner")
            .field("strings", &self.strings.len())
            .finish()
    }
}

#[cfg(feature = "small-code")]
impl Interner {
    /// Where `s` is, or goes, in `sorted`.
    fn search(&self, s: &str) -> Result<usize, usize> {
        self.sorted.binary_search_by(|&id| self.resolve(id).cmp(s))
    }

    /// The id of `s`, if interned.
    pub fn get(&self, s: &str) -> Option<StrId> {
        let i = self.search(s).ok()?;
        self.sorted.get(i).copied()
    }

    /// Interns `s`.
    pub fn intern(&mut self, s: &str) -> StrId {
        let at = match self.search(s) {
            Ok(i) => return self.sorted.get(i).copied().unwrap_or(0),
            Err(at) => at,
        };
        let id = self.strings.len() as StrId;
        self.strings.push(s.into());
        self.bytes += s.len() + core::mem::size_of::<Box<str>>() + 8;
        self.sorted.insert(at, id);
        id
    }
}

#[cfg(not(feature = "small-code"))]
impl Interner {
    fn hash(&self, s: &str) -> u64 {
        self.hasher.hash_one(s)
    }

    /// The id of `s`, if interned.
    pub fn get(&self, s: &str) -> Option<StrId> {
        let h = self.hash(s);
        self.table
            .find(h, |&id| {
                self.strings.get(id as usize).is_some_and(|x| &**x == s)
            })
            .copied()
    }

    /// Interns `s`.
    pub fn intern(&mut self, s: &str) -> StrId {
        if let Some(id) = self.get(s) {
            return id;
        }
        let id = self.strings.len() as StrId;
        self.strings.push(s.into());
        self.bytes += s.len() + core::mem::size_of::<Box<str>>() + 8;
        let h = self.hash(s);
        let strings = &self.strings;
        let hasher = &self.hasher;
        self.table.insert_unique(h, id, |&i| {
            hasher.hash_one(strings.get(i as usize).map(|b| &**b).unwrap_or(""))
        });
        id
    }
}

impl Interner {
    /// The string with id `id` ("" for an unknown id).
    pub fn resolve(&self, id: StrId) -> &str {
        self.strings.get(id as usize).map(|b| &**b).unwrap_or("")
    }

    /// Heap bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// Whether it holds no string.
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}
