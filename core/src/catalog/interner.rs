//! String interning: every measurement, tag key, tag value and field name is
//! stored once and referred to by a 4-byte id.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

/// Id of an interned string.
pub type StrId = u32;

/// A set of strings, each stored once.
#[derive(Default)]
pub struct Interner {
    strings: Vec<Box<str>>,
    table: HashTable<StrId>,
    hasher: DefaultHashBuilder,
    bytes: usize,
}

impl core::fmt::Debug for Interner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Interner")
            .field("strings", &self.strings.len())
            .finish()
    }
}

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
