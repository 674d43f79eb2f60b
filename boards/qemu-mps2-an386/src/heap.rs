//! The heap: embedded-alloc's allocator over a static arena, counting the
//! peak of bytes in use so the firmware can report it.

use core::alloc::{GlobalAlloc, Layout};
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicUsize, Ordering};

use embedded_alloc::LlffHeap;

/// Arena size. The peak of bytes in use is what the run reports (and what
/// the 48 KiB budget is about); the arena leaves room for the first-fit
/// allocator's fragmentation, which a 48 KiB arena does not cover.
const ARENA: usize = 64 * 1024;

static mut ARENA_MEM: [MaybeUninit<u8>; ARENA] = [MaybeUninit::uninit(); ARENA];

struct Counting {
    heap: LlffHeap,
    live: AtomicUsize,
    peak: AtomicUsize,
}

// SAFETY: forwards to LlffHeap, which is a sound allocator; only counters
// are added around it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { self.heap.alloc(l) };
        if !p.is_null() {
            let now = self.live.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            self.peak.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { self.heap.dealloc(p, l) };
        self.live.fetch_sub(l.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static HEAP: Counting = Counting {
    heap: LlffHeap::empty(),
    live: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
};

/// Gives the arena to the allocator; call once, first thing in `main`.
pub fn init() {
    // SAFETY: called once before any allocation; the arena is used by
    // nothing else.
    unsafe { HEAP.heap.init(addr_of_mut!(ARENA_MEM) as usize, ARENA) }
}

/// Bytes allocated now.
pub fn live() -> usize {
    HEAP.live.load(Ordering::Relaxed)
}

/// Starts a new peak measurement from what is allocated now.
pub fn reset_peak() {
    HEAP.peak.store(live(), Ordering::Relaxed);
}

/// Most bytes allocated at once so far.
pub fn peak() -> usize {
    HEAP.peak.load(Ordering::Relaxed)
}
