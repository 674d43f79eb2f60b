//! The block allocator.
//!
//! The free set is derived, never stored: at open, every block referenced by
//! the committed manifest (superblock slots, manifest, WAL chain, tables) is
//! marked used and the rest is free. On flash ([`AllocPolicy::Rotate`]),
//! allocation is next-fit from a cursor that keeps moving forward (and is
//! saved in the manifest), so erases rotate over the whole device instead of
//! hammering the lowest free blocks. On a file ([`AllocPolicy::Compact`]),
//! where the filesystem and the disk's controller spread the wear, the lowest
//! free block is taken, so the used blocks stay packed at the start and the
//! file can be cut after the last of them.
//!
//! Blocks released by a change stay unavailable until the commit that drops
//! them from the manifest is durable: until then the previous commit, which a
//! power cut would fall back to, still points at them.

use alloc::vec;
use alloc::vec::Vec;

use crate::storage::BlockId;

/// Which free block the allocator takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AllocPolicy {
    /// Next-fit from a moving cursor: wear rotates over the device (flash).
    #[default]
    Rotate,
    /// The lowest free block: data stays packed at the start (files).
    Compact,
}

/// Tracks which blocks are in use.
#[derive(Clone, Debug)]
pub struct Allocator {
    policy: AllocPolicy,
    /// No block below this is free (`Compact`).
    low: BlockId,
    used: Vec<u64>,
    block_count: u32,
    free: u32,
    cursor: BlockId,
    /// Released, but still referenced by the last durable commit.
    pending_free: Vec<BlockId>,
    /// Blocks that only the manifest writer may take (see [`Allocator::alloc`]).
    reserve: u32,
}

impl Allocator {
    /// Everything free, cursor at `cursor`.
    pub fn new(block_count: u32, cursor: BlockId, reserve: u32) -> Self {
        Self {
            policy: AllocPolicy::Rotate,
            low: 0,
            used: vec![0; (block_count as usize).div_ceil(64)],
            block_count,
            free: block_count,
            cursor: if cursor < block_count { cursor } else { 0 },
            pending_free: Vec::new(),
            reserve,
        }
    }

    /// Number of blocks on the device.
    pub fn block_count(&self) -> u32 {
        self.block_count
    }

    /// Blocks neither in use nor waiting for a commit.
    pub fn free_blocks(&self) -> u32 {
        self.free
    }

    /// Blocks released but not reusable until the next durable commit.
    pub fn pending_blocks(&self) -> u32 {
        self.pending_free.len() as u32
    }

    /// Where the next search starts; saved in the manifest.
    pub fn cursor(&self) -> BlockId {
        self.cursor
    }

    /// Whether `block` is in use.
    pub fn is_used(&self, block: BlockId) -> bool {
        self.used
            .get(block as usize / 64)
            .is_some_and(|w| w & (1u64 << (block % 64)) != 0)
    }

    /// Marks `block` used (at open, for blocks the committed state references).
    /// Returns false if it was already marked: two structures claim one block.
    pub fn mark_used(&mut self, block: BlockId) -> bool {
        if block >= self.block_count || self.is_used(block) {
            return false;
        }
        if let Some(w) = self.used.get_mut(block as usize / 64) {
            *w |= 1u64 << (block % 64);
        }
        self.free -= 1;
        true
    }

    fn clear(&mut self, block: BlockId) {
        if self.is_used(block) {
            self.low = self.low.min(block);
            if let Some(w) = self.used.get_mut(block as usize / 64) {
                *w &= !(1u64 << (block % 64));
            }
            self.free += 1;
        }
    }

    /// Takes a free block for data (WAL, tables), leaving the reserve for
    /// manifest commits, so that a full device can still commit the change
    /// that frees space. `None` when only the reserve is left.
    pub fn alloc(&mut self) -> Option<BlockId> {
        if self.free <= self.reserve {
            return None;
        }
        self.alloc_any()
    }

    /// Takes a free block, the reserve included (manifest writes only).
    pub fn alloc_reserved(&mut self) -> Option<BlockId> {
        self.alloc_any()
    }

    fn alloc_any(&mut self) -> Option<BlockId> {
        if self.free == 0 {
            return None;
        }
        let n = self.block_count;
        let mut b = match self.policy {
            AllocPolicy::Rotate => self.cursor,
            AllocPolicy::Compact => self.low.min(n.saturating_sub(1)),
        };
        // Bounded: at most one pass over the device, skipping full words.
        let mut scanned = 0u32;
        while scanned < n {
            let word = self.used.get(b as usize / 64).copied().unwrap_or(!0);
            if word == !0 && b.is_multiple_of(64) && n - b >= 64 {
                b = if b + 64 >= n { 0 } else { b + 64 };
                scanned += 64;
                continue;
            }
            if !self.is_used(b) {
                self.mark_used(b);
                self.cursor = if b + 1 >= n { 0 } else { b + 1 };
                if self.policy == AllocPolicy::Compact {
                    self.low = b + 1;
                }
                return Some(b);
            }
            b = if b + 1 >= n { 0 } else { b + 1 };
            scanned += 1;
        }
        None
    }

    /// How free blocks are picked.
    pub fn policy(&self) -> AllocPolicy {
        self.policy
    }

    /// Chooses how free blocks are picked.
    pub fn set_policy(&mut self, policy: AllocPolicy) {
        self.policy = policy;
        self.low = 0;
    }

    /// The highest block in use (released blocks waiting for a durable
    /// commit count as used), if any.
    pub fn highest_used(&self) -> Option<BlockId> {
        for (i, &w) in self.used.iter().enumerate().rev() {
            if w != 0 {
                return Some(i as u32 * 64 + (63 - w.leading_zeros()));
            }
        }
        None
    }

    /// Sets how many blocks only [`Allocator::alloc_reserved`] may take.
    pub fn set_reserve(&mut self, reserve: u32) {
        self.reserve = reserve;
    }

    /// Whether `n` data blocks can be allocated now.
    pub fn can_alloc(&self, n: u32) -> bool {
        self.free >= self.reserve.saturating_add(n)
    }

    /// Releases `block` once the next commit is durable.
    pub fn release(&mut self, block: BlockId) {
        self.pending_free.push(block);
    }

    /// Releases a block that no durable commit has ever referenced (an
    /// allocation abandoned before its commit): reusable at once.
    pub fn release_now(&mut self, block: BlockId) {
        self.clear(block);
    }

    /// The commit that dropped the pending blocks is durable: reuse them.
    /// Returns them, so the device can be told they are free.
    pub fn commit_durable(&mut self) -> Vec<BlockId> {
        let pending = core::mem::take(&mut self.pending_free);
        for &b in &pending {
            self.clear(b);
        }
        pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_takes_the_lowest_free_block() {
        let mut a = Allocator::new(200, 150, 0);
        a.set_policy(AllocPolicy::Compact);
        let got: Vec<_> = (0..5).filter_map(|_| a.alloc()).collect();
        assert_eq!(got, [0, 1, 2, 3, 4]);
        assert_eq!(a.highest_used(), Some(4));
        a.release(1);
        a.release(3);
        assert_eq!(a.alloc(), Some(5), "released blocks wait for the commit");
        a.commit_durable();
        assert_eq!(a.alloc(), Some(1));
        assert_eq!(a.alloc(), Some(3));
        assert_eq!(a.alloc(), Some(6));
        for b in 0..130 {
            a.mark_used(b);
        }
        assert_eq!(a.highest_used(), Some(129));
        assert_eq!(Allocator::new(10, 0, 0).highest_used(), None);
    }

    #[test]
    fn next_fit_rotates_and_respects_reserve() {
        let mut a = Allocator::new(10, 0, 2);
        a.mark_used(0);
        a.mark_used(1);
        let got: Vec<_> = core::iter::from_fn(|| a.alloc()).collect();
        assert_eq!(got, [2, 3, 4, 5, 6, 7]);
        assert_eq!(a.alloc_reserved(), Some(8));
        a.release(3);
        assert_eq!(a.alloc_reserved(), Some(9));
        assert_eq!(a.alloc_reserved(), None, "3 is pending until commit");
        a.commit_durable();
        assert_eq!(a.alloc_reserved(), Some(3));
    }

    #[test]
    fn cursor_moves_forward_past_freed_blocks() {
        let mut a = Allocator::new(130, 0, 0);
        for _ in 0..100 {
            let b = a.alloc().unwrap();
            a.release(b);
            a.commit_durable();
        }
        // Wear spread: 100 allocations touched 100 distinct blocks.
        assert_eq!(a.cursor(), 100);
        assert!(!a.mark_used(200));
    }
}
