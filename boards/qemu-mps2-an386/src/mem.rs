//! Byte-at-a-time memory routines, replacing compiler-builtins' word-wise ones.
//!
//! compiler-builtins defines `memcpy`, `memmove`, `memset`, `memcmp` and the
//! `__aeabi_mem*` family weakly, unrolled for speed: 3.4 KiB of the image.
//! These take under 200 bytes. Copies in this firmware are small (chunks,
//! records, 4 KiB sectors at most), so the speed they give up does not show;
//! drop this module where copy speed matters more than flash.
//!
//! Volatile accesses keep the compiler from recognising the loops as the
//! very routines they implement (which would recurse).

use core::ptr::{read_volatile, write_volatile};

// The exported routines call these helpers, never each other: LLVM knows the
// C names and would turn such a call back into a call to the caller.

/// Copies `n` bytes upwards from `src` to `dst` (safe for `dst` ≤ `src`).
unsafe fn forward(dst: *mut u8, src: *const u8, n: usize) {
    for i in 0..n {
        unsafe { write_volatile(dst.add(i), read_volatile(src.add(i))) };
    }
}

/// Copies `n` bytes from `src` to `dst`, which may overlap.
unsafe fn copy(dst: *mut u8, src: *const u8, n: usize) {
    if (dst as usize) <= (src as usize) {
        unsafe { forward(dst, src, n) };
    } else {
        let mut i = n;
        while i > 0 {
            i -= 1;
            unsafe { write_volatile(dst.add(i), read_volatile(src.add(i))) };
        }
    }
}

/// Sets `n` bytes at `dst` to `c`.
unsafe fn fill(dst: *mut u8, c: u8, n: usize) {
    for i in 0..n {
        unsafe { write_volatile(dst.add(i), c) };
    }
}

/// Compares `n` bytes.
unsafe fn compare(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        let (x, y) = unsafe { (read_volatile(a.add(i)), read_volatile(b.add(i))) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    unsafe { forward(dst, src, n) };
    dst
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    unsafe { copy(dst, src, n) };
    dst
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    unsafe { fill(dst, c as u8, n) };
    dst
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    unsafe { compare(a, b, n) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    unsafe { compare(a, b, n) }
}

// The ARM EABI names the compiler calls; `memset`'s arguments come in a
// different order there.
macro_rules! aeabi {
    ($($copy:ident),* ; $($mv:ident),* ; $($set:ident),* ; $($clr:ident),*) => {
        $(#[unsafe(no_mangle)]
        pub unsafe extern "C" fn $copy(dst: *mut u8, src: *const u8, n: usize) {
            unsafe { forward(dst, src, n) };
        })*
        $(#[unsafe(no_mangle)]
        pub unsafe extern "C" fn $mv(dst: *mut u8, src: *const u8, n: usize) {
            unsafe { copy(dst, src, n) };
        })*
        $(#[unsafe(no_mangle)]
        pub unsafe extern "C" fn $set(dst: *mut u8, n: usize, c: i32) {
            unsafe { fill(dst, c as u8, n) };
        })*
        $(#[unsafe(no_mangle)]
        pub unsafe extern "C" fn $clr(dst: *mut u8, n: usize) {
            unsafe { fill(dst, 0, n) };
        })*
    };
}

aeabi!(
    __aeabi_memcpy, __aeabi_memcpy4, __aeabi_memcpy8;
    __aeabi_memmove, __aeabi_memmove4, __aeabi_memmove8;
    __aeabi_memset, __aeabi_memset4, __aeabi_memset8;
    __aeabi_memclr, __aeabi_memclr4, __aeabi_memclr8
);
