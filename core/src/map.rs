//! The engine's in-memory maps, chosen by build.
//!
//! [`Map`] is an ordered map and [`Index`] an unordered lookup table. By
//! default they are `BTreeMap` and `hashbrown`'s `HashMap`: logarithmic and
//! constant-time whatever the catalog holds, for gateways with millions of
//! series. With the `small-code` feature (firmware) both are [`VecMap`], a
//! sorted vector: one small copy of code per key and value type instead of a
//! B-tree's insert, remove and rebalance code (about 1.5 KiB each) and
//! hashbrown with its hasher; lookups are binary searches and an insert or
//! removal moves the entries after it, fine for the tens or hundreds of
//! entries a microcontroller's catalog holds, quadratic for a gateway's.
//!
//! Only the methods the engine uses are provided, with `BTreeMap`'s names
//! and meaning, so the code is the same over both.

use alloc::vec::Vec;
use core::borrow::Borrow;

/// Ordered map (see the module docs).
#[cfg(not(feature = "small-code"))]
pub type Map<K, V> = alloc::collections::BTreeMap<K, V>;
/// Ordered map (see the module docs).
#[cfg(feature = "small-code")]
pub type Map<K, V> = VecMap<K, V>;

/// Lookup table (see the module docs).
#[cfg(not(feature = "small-code"))]
pub type Index<K, V> = hashbrown::HashMap<K, V>;
/// Lookup table (see the module docs).
#[cfg(feature = "small-code")]
pub type Index<K, V> = VecMap<K, V>;

/// A map kept as a vector of entries sorted by key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VecMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<K: Ord, V> VecMap<K, V> {
    /// An empty map.
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The value of `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).ok()?;
        self.entries.get(i).map(|(_, v)| v)
    }

    /// The value of `key`, mutable.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).ok()?;
        self.entries.get_mut(i).map(|(_, v)| v)
    }

    /// Whether `key` has a value.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_ok()
    }

    /// Sets the value of `key`; returns the one it replaces.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => self
                .entries
                .get_mut(i)
                .map(|e| core::mem::replace(&mut e.1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).ok()?;
        Some(self.entries.remove(i).1)
    }

    /// The entry of `key`, to fill if vacant.
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        let at = self.find(&key);
        Entry { map: self, key, at }
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Entries in key order, values mutable.
    pub fn iter_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = (&K, &mut V)> + ExactSizeIterator {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    /// Values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    /// Values in key order, mutable.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// Keeps the entries `f` accepts.
    pub fn retain(&mut self, mut f: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| f(k, v));
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = alloc::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a, K: Ord, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter =
        core::iter::Map<core::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

/// A place in a [`VecMap`]: `key`'s entry, or where it goes.
#[derive(Debug)]
pub struct Entry<'a, K, V> {
    map: &'a mut VecMap<K, V>,
    key: K,
    at: Result<usize, usize>,
}

impl<'a, K: Ord, V> Entry<'a, K, V> {
    /// The value, inserting `make()` first if vacant.
    pub fn or_insert_with(self, make: impl FnOnce() -> V) -> &'a mut V {
        let entries = &mut self.map.entries;
        let i = match self.at {
            Ok(i) => i,
            Err(i) => {
                entries.insert(i, (self.key, make()));
                i
            }
        };
        match entries.get_mut(i) {
            Some(e) => &mut e.1,
            // Found at `i`, or just inserted there.
            None => unreachable!("vec map entry {i} vanished"),
        }
    }

    /// The value, inserting `value` first if vacant.
    pub fn or_insert(self, value: V) -> &'a mut V {
        self.or_insert_with(|| value)
    }

    /// The value, inserting the default first if vacant.
    pub fn or_default(self) -> &'a mut V
    where
        V: Default,
    {
        self.or_insert_with(V::default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;

    /// Random operations on a `VecMap` and a `BTreeMap` agree step by step.
    #[test]
    fn agrees_with_btreemap() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut ops = 0;
        for _ in 0..50 {
            let mut a: VecMap<u16, u32> = VecMap::new();
            let mut b: BTreeMap<u16, u32> = BTreeMap::new();
            for _ in 0..400 {
                let k = (next() % 64) as u16;
                let v = next() as u32 % 1000;
                match next() % 7 {
                    0 | 1 => assert_eq!(a.insert(k, v), b.insert(k, v)),
                    2 => assert_eq!(a.remove(&k), b.remove(&k)),
                    3 => {
                        *a.entry(k).or_insert(v) += 1;
                        *b.entry(k).or_insert(v) += 1;
                    }
                    4 => {
                        *a.entry(k).or_default() += v;
                        *b.entry(k).or_default() += v;
                    }
                    5 => {
                        a.retain(|k, x| (*k as u32 + *x) % 5 != 0);
                        b.retain(|k, x| (*k as u32 + *x) % 5 != 0);
                    }
                    _ => {
                        assert_eq!(a.get(&k), b.get(&k));
                        assert_eq!(a.contains_key(&k), b.contains_key(&k));
                        if let (Some(x), Some(y)) = (a.get_mut(&k), b.get_mut(&k)) {
                            *x += 3;
                            *y += 3;
                        }
                    }
                }
                ops += 1;
                assert!(
                    a.iter()
                        .map(|(k, v)| (*k, *v))
                        .eq(b.iter().map(|(k, v)| (*k, *v)))
                );
                assert_eq!(a.len(), b.len());
            }
        }
        assert_eq!(ops, 50 * 400);
    }
}
