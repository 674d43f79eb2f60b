//! Decoded chunks kept for queries that read them again.
//!
//! Dashboards ask the same ranges every few seconds; a chunk overlapping a
//! query's edge (or holding deletes, or points of several sources) is
//! decoded each time. [`ChunkCache`] keeps the most recently used decoded
//! chunks, keyed by the table reader's number (a database numbers every
//! reader it opens: see [`TableReader::with_instance`]; not the table's id,
//! which a compaction's output takes over from its newest input) and the
//! chunk's offset in the table. A table is immutable under its reader, so
//! an entry is never stale; entries of readers gone meanwhile age out. The
//! numbers are one store's (its open epoch above a count): a cache serves
//! the opens of one store, not several stores.
//!
//! Bounded by a byte budget (16 bytes a point); the least recently used
//! goes first; a budget of 0 keeps nothing. A query keeps at most 16 of the
//! chunks it decodes: a scan would otherwise push out what dashboards read
//! again.
//!
//! Queries run concurrently without the database: they reach the cache
//! through [`DecodedCache`], `&self`, which a host implements over a lock
//! (the server, over a `Mutex`) and single-threaded users get from a
//! `RefCell`.

#[cfg(doc)]
use crate::sstable::TableReader;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::cell::RefCell;

/// Where [`crate::db::Prepared::execute_cached`] looks for decoded
/// chunks before decoding them, and keeps what it decoded.
pub trait DecodedCache {
    /// Appends chunk `offset` of table reader `table` (its number) to `ts`
    /// and `bits` if held.
    fn get(&self, table: u64, offset: u64, ts: &mut Vec<i64>, bits: &mut Vec<u64>) -> bool;
    /// Keeps a decoded chunk.
    fn put(&self, table: u64, offset: u64, ts: &[i64], bits: &[u64]);
}

#[derive(Debug)]
struct Entry {
    last_use: u64,
    ts: Vec<i64>,
    bits: Vec<u64>,
}

/// A least-recently-used set of decoded chunks (see the module docs).
#[derive(Debug, Default)]
pub struct ChunkCache {
    /// (table, offset) → chunk.
    entries: BTreeMap<(u64, u64), Entry>,
    /// Last use → (table, offset): the oldest first.
    by_use: BTreeMap<u64, (u64, u64)>,
    budget: usize,
    used: usize,
    tick: u64,
    /// Chunks found.
    pub hits: u64,
    /// Chunks not found (then decoded).
    pub misses: u64,
}

impl ChunkCache {
    /// A cache holding at most `budget_bytes` of points.
    pub fn new(budget_bytes: usize) -> Self {
        Self {
            budget: budget_bytes,
            ..Self::default()
        }
    }

    /// Bytes of points held.
    pub fn bytes(&self) -> usize {
        self.used
    }

    /// See [`DecodedCache::get`].
    pub fn get(&mut self, table: u64, offset: u64, ts: &mut Vec<i64>, bits: &mut Vec<u64>) -> bool {
        let Some(e) = self.entries.get_mut(&(table, offset)) else {
            self.misses += 1;
            return false;
        };
        self.tick += 1;
        self.by_use.remove(&e.last_use);
        e.last_use = self.tick;
        self.by_use.insert(self.tick, (table, offset));
        ts.extend_from_slice(&e.ts);
        bits.extend_from_slice(&e.bits);
        self.hits += 1;
        true
    }

    /// See [`DecodedCache::put`].
    pub fn put(&mut self, table: u64, offset: u64, ts: &[i64], bits: &[u64]) {
        let need = ts.len() * 16;
        if need > self.budget
            || ts.len() != bits.len()
            || self.entries.contains_key(&(table, offset))
        {
            return;
        }
        while self.used + need > self.budget {
            let Some((_, key)) = self.by_use.pop_first() else {
                break;
            };
            if let Some(e) = self.entries.remove(&key) {
                self.used -= e.ts.len() * 16;
            }
        }
        self.tick += 1;
        self.entries.insert(
            (table, offset),
            Entry {
                last_use: self.tick,
                ts: ts.to_vec(),
                bits: bits.to_vec(),
            },
        );
        self.by_use.insert(self.tick, (table, offset));
        self.used += need;
    }
}

impl DecodedCache for RefCell<ChunkCache> {
    fn get(&self, table: u64, offset: u64, ts: &mut Vec<i64>, bits: &mut Vec<u64>) -> bool {
        self.borrow_mut().get(table, offset, ts, bits)
    }
    fn put(&self, table: u64, offset: u64, ts: &[i64], bits: &[u64]) {
        self.borrow_mut().put(table, offset, ts, bits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn keeps_the_most_recently_used_within_its_budget() {
        let mut c = ChunkCache::new(3 * 16 * 4);
        let pts = |k: i64| {
            (
                (0..4).map(|i| k * 10 + i).collect::<Vec<i64>>(),
                vec![k as u64; 4],
            )
        };
        for k in 0..3 {
            let (ts, bits) = pts(k);
            c.put(1, k as u64, &ts, &bits);
        }
        assert_eq!(c.bytes(), 3 * 64);
        let (mut ts, mut bits) = (vec![-1], vec![9]);
        // Chunk 0 used: chunk 1 is now the oldest.
        assert!(c.get(1, 0, &mut ts, &mut bits));
        assert_eq!(ts, [-1, 0, 1, 2, 3]);
        assert_eq!(bits, [9, 0, 0, 0, 0]);
        let (t3, b3) = pts(3);
        c.put(1, 3, &t3, &b3);
        assert_eq!(c.bytes(), 3 * 64);
        let (mut ts, mut bits) = (vec![], vec![]);
        assert!(!c.get(1, 1, &mut ts, &mut bits), "the oldest went");
        assert!(ts.is_empty() && bits.is_empty());
        for k in [0, 2, 3] {
            assert!(c.get(1, k, &mut ts, &mut bits), "{k}");
        }
        // Another table's chunk at the same offset is another chunk.
        assert!(!c.get(2, 0, &mut ts, &mut bits));
        assert_eq!((c.hits, c.misses), (4, 2));
        // Larger than the budget, or no budget: nothing kept.
        let big: Vec<i64> = (0..13).collect();
        c.put(5, 0, &big, &vec![0; 13]);
        assert!(!c.get(5, 0, &mut ts, &mut bits));
        let mut none = ChunkCache::new(0);
        none.put(1, 0, &t3, &b3);
        assert!(!none.get(1, 0, &mut ts, &mut bits));
        assert_eq!(none.bytes(), 0);
    }
}
