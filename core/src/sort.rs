//! Sorting, for the whole core, through these functions.
//!
//! By default they are the standard library's unstable sorts. With the
//! `small-code` feature they are one in-place heapsort: the standard sorts
//! are several KiB of code for every element type and comparison they are
//! used with (about 38 KiB of a firmware image), a heapsort a few hundred
//! bytes; O(n log n) either way, and the firmware sorts small slices.
//!
//! Unstable sorts, where order among equal keys matters the key breaks
//! the tie (a position, an id); and one stable sort by key, for data that
//! arrives mostly in order.

use core::cmp::Ordering;

/// Sorts `v` by `cmp` (not stable).
#[inline]
pub fn sort_by<T, F: FnMut(&T, &T) -> Ordering>(v: &mut [T], cmp: F) {
    #[cfg(not(feature = "small-code"))]
    v.sort_unstable_by(cmp);
    #[cfg(feature = "small-code")]
    heapsort(v, cmp);
}

/// Sorts `v` by the key `f` gives (not stable).
#[inline]
pub fn sort_by_key<T, K: Ord, F: FnMut(&T) -> K>(v: &mut [T], mut f: F) {
    sort_by(v, |a, b| f(a).cmp(&f(b)));
}

/// Sorts `v` by the key `f` gives, keeping the order of equal keys: the
/// standard library's stable sort, which finds runs already in order and
/// merges them (near-linear on data that is mostly sorted). Not with
/// `small-code`, whose callers sort positions with [`sort_by_key`].
#[cfg(not(feature = "small-code"))]
#[inline]
pub fn sort_stable_by_key<T, K: Ord, F: FnMut(&T) -> K>(v: &mut [T], f: F) {
    v.sort_by_key(f);
}

/// Sorts `v` (not stable).
#[inline]
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp);
}

/// In-place heapsort: no allocation, no recursion, small code.
///
/// The sort itself is compiled once ([`heap`]): it reaches the slice only
/// through one callback that compares or swaps two positions, so each
/// element type and comparison adds a few bytes, not a sort.
#[cfg(any(feature = "small-code", test))]
fn heapsort<T, F: FnMut(&T, &T) -> Ordering>(v: &mut [T], mut cmp: F) {
    let n = v.len();
    let mut op = |swap: bool, i: usize, j: usize| -> bool {
        if swap {
            v.swap(i, j);
            return false;
        }
        match (v.get(i), v.get(j)) {
            (Some(a), Some(b)) => cmp(a, b) == Ordering::Less,
            _ => false,
        }
    };
    heap(n, &mut op);
}

/// Heapsort of positions `0..n`: `op(false, i, j)` is whether element `i`
/// sorts before `j`, `op(true, i, j)` swaps them.
#[cfg(any(feature = "small-code", test))]
#[inline(never)]
fn heap(n: usize, op: &mut dyn FnMut(bool, usize, usize) -> bool) {
    // Moves the element at `root` down the max-heap of positions `..end`.
    let sift = |op: &mut dyn FnMut(bool, usize, usize) -> bool, mut root: usize, end: usize| {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && op(false, child, child + 1) {
                child += 1;
            }
            if !op(false, root, child) {
                return;
            }
            op(true, root, child);
            root = child;
        }
    };
    for i in (0..n / 2).rev() {
        sift(op, i, n);
    }
    for end in (1..n).rev() {
        op(true, 0, end);
        sift(op, 0, end);
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::*;

    #[test]
    fn heapsort_sorts_like_the_standard_library() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for n in [0usize, 1, 2, 3, 7, 16, 100, 1000] {
            for range in [3u64, 1000, u64::MAX] {
                let v: Vec<u64> = (0..n)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x % range
                    })
                    .collect();
                let mut a = v.clone();
                let mut b = v;
                heapsort(&mut a, u64::cmp);
                b.sort_unstable();
                assert_eq!(a, b, "n {n} range {range}");
            }
        }
    }
}
