//! The allocator's memory goes back to the system.
//!
//! glibc's malloc keeps freed memory for reuse: after a flush has dropped a
//! memtable of tens of MiB, the process would stay that large although
//! little is live (idle RSS is what an edge board runs out of). Two glibc
//! calls fix it: at start, at most two malloc arenas (worker threads would
//! otherwise each get one and fragment the heap apart); after a flush or a
//! compaction, `malloc_trim(0)` returns free pages. The only unsafe code of
//! the server; with musl (static builds) both are no-ops, as musl's
//! allocator returns memory by itself.

/// Limits glibc's malloc arenas. Call once at start, before threads.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any
    // other thread exists.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Returns free heap pages to the system.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim is thread-safe (it takes each arena's lock) and
    // only releases pages no allocation uses.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}
