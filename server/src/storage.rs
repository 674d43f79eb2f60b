//! The store on disk: one file in the data directory, presented to the core
//! as a [`BlockDevice`].
//!
//! - `program` is `pwrite`, `read` is `pread` (bytes past the end of the file
//!   read as zeros: the file grows on demand, sparse, up to `max_disk_mb`);
//! - `sync` is `fdatasync`;
//! - `erase` does nothing: a file is overwritten in place, and the core
//!   never trusts a block's old bytes (WAL blocks are stamped, everything
//!   else is reached through committed extents and checksummed). Keeping
//!   the block allocated matters: punching it and writing it again would
//!   make every WAL `fdatasync` commit filesystem metadata too.
//! - `discard` (a block freed for good) does nothing either: the store
//!   allocates the lowest free block first (`AllocPolicy::Compact`), so
//!   freed blocks are reused before the file grows, and the file is cut
//!   after its highest block in use when the store is idle (see
//!   `Engine::trim_file`); the space goes back to the filesystem there.
//!
//! The file is created under a temporary name, formatted, synced, then
//! renamed into place and the directory synced: a crash during creation
//! leaves either no store or a complete empty one. An exclusive `flock` on
//! `pulsardb.lock` keeps a second process off the directory.
//!
//! Handles share one `File`: the engine's device, a reader per query, a
//! writer for flush jobs, and the group-commit syncer all use positional I/O
//! on it.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pulsardb_core::{BlockDevice, BlockId, Geometry};
use rustix::fs::{FallocateFlags, FlockOperation};

/// Name of the store file in the data directory.
pub const STORE_FILE: &str = "pulsardb.store";
/// Name of the lock file.
pub const LOCK_FILE: &str = "pulsardb.lock";
/// Block size of a new store. A file has no erase blocks: a block is only
/// the unit the store allocates. Small enough that what a store holds
/// beyond its data stays small (two superblock blocks, the WAL's block and
/// its reserved successor, the manifest, the unfilled end of each table and
/// catalog segment — about ten blocks, 160 KiB), large enough that the free
/// set (a bit per block) and the number of block switches in the WAL stay
/// small. A store keeps the block size it was created with.
pub const BLOCK_SIZE: u32 = 16 << 10;

/// Block sizes tried when learning an existing store's (see
/// [`FileDevice::open_existing`]): the current default first, then the
/// 64 KiB of earlier versions.
const KNOWN_BLOCK_SIZES: [u32; 8] = [
    BLOCK_SIZE,
    64 << 10,
    4 << 10,
    8 << 10,
    32 << 10,
    128 << 10,
    256 << 10,
    1 << 20,
];

/// Errors of the file device.
#[derive(Debug)]
pub enum FileError {
    /// The operating system refused.
    Io(io::Error),
    /// A write through a read-only handle.
    ReadOnly,
    /// Outside the device or misaligned.
    Access,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Io(e) => write!(f, "{e}"),
            FileError::ReadOnly => f.write_str("write through a read-only handle"),
            FileError::Access => f.write_str("access outside the store"),
        }
    }
}

/// A [`BlockDevice`] over the store file.
#[derive(Debug, Clone)]
pub struct FileDevice {
    file: Arc<File>,
    geo: Geometry,
    writable: bool,
    /// Bytes programmed through every handle (write amplification).
    programmed: Arc<std::sync::atomic::AtomicU64>,
    /// The file has disk space allocated up to here (see [`FileDevice::ensure`]).
    allocated_to: Arc<std::sync::atomic::AtomicU64>,
    /// Tests: every handle's syncs fail while set.
    #[cfg(test)]
    pub(crate) fail_syncs: Arc<std::sync::atomic::AtomicBool>,
    /// Tests: every handle's writes fail while set.
    #[cfg(test)]
    pub(crate) fail_writes: Arc<std::sync::atomic::AtomicBool>,
}

impl FileDevice {
    /// A device over an open file of `capacity_bytes`, in blocks of
    /// [`BLOCK_SIZE`] (a new store).
    pub fn new(file: File, capacity_bytes: u64) -> Self {
        Self::with_block_size(file, capacity_bytes, BLOCK_SIZE)
    }

    /// A device over an existing store file: in the block size the store
    /// was created with, read from its superblock (the start of block 0
    /// holds commit records whatever the block size, each naming the
    /// geometry). A file with no valid commit record gets [`BLOCK_SIZE`];
    /// opening it then reports it unformatted.
    pub fn open_existing(file: File, capacity_bytes: u64) -> Self {
        let file = Arc::new(file);
        for bs in KNOWN_BLOCK_SIZES {
            let mut probe = Self::with_shared(file.clone(), capacity_bytes, bs);
            probe.writable = false;
            // A valid record names the geometry, whichever size found it;
            // the next probe only runs if this one found no record.
            if let Ok(Some(stored)) = pulsardb_core::Store::stored_geometry(&mut probe)
                && stored.is_valid()
            {
                return Self::with_shared(file, capacity_bytes, stored.block_size);
            }
        }
        Self::with_shared(file, capacity_bytes, BLOCK_SIZE)
    }

    /// A device over an open file of `capacity_bytes` in blocks of `block_size`.
    pub fn with_block_size(file: File, capacity_bytes: u64, block_size: u32) -> Self {
        Self::with_shared(Arc::new(file), capacity_bytes, block_size)
    }

    fn with_shared(file: Arc<File>, capacity_bytes: u64, block_size: u32) -> Self {
        let geo = Geometry {
            block_size,
            block_count: u32::try_from(capacity_bytes / u64::from(block_size)).unwrap_or(u32::MAX),
            write_size: 1,
        };
        Self {
            file,
            geo,
            writable: true,
            programmed: Arc::default(),
            allocated_to: Arc::default(),
            #[cfg(test)]
            fail_syncs: Arc::default(),
            #[cfg(test)]
            fail_writes: Arc::default(),
        }
    }

    /// A handle for queries: reads only.
    pub fn reader(&self) -> Self {
        Self {
            writable: false,
            ..self.clone()
        }
    }

    /// A handle for a flush job writing its own (allocated) blocks.
    pub fn writer(&self) -> Self {
        self.clone()
    }

    /// `fdatasync` of the file, from any thread.
    pub fn sync_data(&self) -> io::Result<()> {
        #[cfg(test)]
        if self.fail_syncs.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(io::Error::other("injected fsync failure"));
        }
        self.file.sync_data()
    }

    /// Bytes programmed since open, through any handle.
    pub fn programmed_bytes(&self) -> u64 {
        self.programmed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Cuts the file after `blocks` blocks when it is longer (nothing after
    /// the highest block in use is needed; reads past the end see zeros).
    /// Returns the bytes cut.
    pub fn cut_after(&self, blocks: u32) -> io::Result<u64> {
        use std::sync::atomic::Ordering;
        let keep = u64::from(blocks) * u64::from(self.geo.block_size);
        let len = self.file.metadata()?.len();
        // Space reserved past the end goes with the cut.
        self.allocated_to.fetch_min(keep, Ordering::AcqRel);
        if len > keep {
            self.file.set_len(keep)?;
            return Ok(len - keep);
        }
        Ok(0)
    }

    /// Makes sure the filesystem has given the file space up to `end`
    /// (`fallocate`, not changing its length): writes below it cannot fail
    /// for lack of space. An error (`ENOSPC`, `EDQUOT`) means the disk is
    /// full; nothing was written. Filesystems without `fallocate` are
    /// trusted as they are.
    pub fn ensure(&self, end: u64) -> io::Result<()> {
        use std::sync::atomic::Ordering;
        let end = end.min(self.geo.capacity_bytes());
        let from = self.allocated_to.load(Ordering::Acquire);
        if end <= from {
            return Ok(());
        }
        // In steps of 1 MiB, not to call it for every write.
        let to = end.next_multiple_of(1 << 20).min(self.geo.capacity_bytes());
        match rustix::fs::fallocate(&*self.file, FallocateFlags::KEEP_SIZE, from, to - from) {
            Ok(()) => {
                self.allocated_to.fetch_max(to, Ordering::AcqRel);
                Ok(())
            }
            Err(e) if e == rustix::io::Errno::OPNOTSUPP || e == rustix::io::Errno::NOSYS => {
                self.allocated_to.fetch_max(to, Ordering::AcqRel);
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Bytes the file occupies on disk (allocated blocks).
    pub fn allocated_bytes(&self) -> u64 {
        rustix::fs::fstat(&*self.file).map_or(0, |st| st.st_blocks as u64 * 512)
    }

    fn offset(&self, block: BlockId, offset: u32, len: usize) -> Result<u64, FileError> {
        if block >= self.geo.block_count
            || u64::from(offset) + len as u64 > u64::from(self.geo.block_size)
        {
            return Err(FileError::Access);
        }
        Ok(u64::from(block) * u64::from(self.geo.block_size) + u64::from(offset))
    }
}

impl BlockDevice for FileDevice {
    type Error = FileError;

    fn geometry(&self) -> Geometry {
        self.geo
    }

    fn read(&mut self, block: BlockId, offset: u32, buf: &mut [u8]) -> Result<(), FileError> {
        let mut at = self.offset(block, offset, buf.len())?;
        let mut done = 0;
        while done < buf.len() {
            let rest = buf.get_mut(done..).unwrap_or_default();
            match self.file.read_at(rest, at) {
                // Past the end of the (sparse, growing) file: never written.
                Ok(0) => {
                    rest.fill(0);
                    return Ok(());
                }
                Ok(n) => {
                    done += n;
                    at += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(FileError::Io(e)),
            }
        }
        Ok(())
    }

    fn program(&mut self, block: BlockId, offset: u32, data: &[u8]) -> Result<(), FileError> {
        if !self.writable {
            return Err(FileError::ReadOnly);
        }
        #[cfg(test)]
        if self.fail_writes.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(FileError::Io(io::Error::other("injected write failure")));
        }
        let at = self.offset(block, offset, data.len())?;
        self.file.write_all_at(data, at).map_err(FileError::Io)?;
        self.programmed
            .fetch_add(data.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    fn erase(&mut self, block: BlockId) -> Result<(), FileError> {
        self.offset(block, 0, 0).map(|_| ())
    }

    fn sync(&mut self) -> Result<(), FileError> {
        self.sync_data().map_err(FileError::Io)
    }

    fn discard(&mut self, block: BlockId) -> Result<(), FileError> {
        self.offset(block, 0, 0).map(|_| ())
    }
}

/// The data directory, locked for this process.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl DataDir {
    /// Creates (with parents) and locks the directory. A second process gets
    /// a clear error at once instead of waiting.
    pub fn lock(path: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(path)
            .map_err(|e| format!("cannot create data directory {}: {e}", path.display()))?;
        let lock_path = path.join(LOCK_FILE);
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
        if let Err(e) = rustix::fs::flock(&f, FlockOperation::NonBlockingLockExclusive) {
            let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
            let holder = holder.trim();
            return Err(if e == rustix::io::Errno::WOULDBLOCK {
                format!(
                    "data directory {} is in use by another pulsardb process{}; stop it or choose another --data-dir",
                    path.display(),
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" (pid {holder})")
                    }
                )
            } else {
                format!("cannot lock {}: {e}", lock_path.display())
            });
        }
        let _ = f.set_len(0);
        let _ = write!(f, "{}", std::process::id());
        let _ = f.sync_all();
        Ok(Self {
            path: path.to_path_buf(),
            _lock: f,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the store file, or creates an empty one with `format` (which
    /// formats the device it is given) and renames it into place.
    /// Returns the device and whether it was created.
    pub fn open_store<F, E>(
        &self,
        capacity_bytes: u64,
        format: F,
    ) -> Result<(FileDevice, bool), String>
    where
        F: FnOnce(FileDevice) -> Result<(), E>,
        E: std::fmt::Display,
    {
        let path = self.path.join(STORE_FILE);
        match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => return Ok((FileDevice::open_existing(f, capacity_bytes), false)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot open {}: {e}", path.display())),
        }
        let tmp = self.path.join(format!("{STORE_FILE}.new"));
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        let dev = FileDevice::new(f, capacity_bytes);
        format(dev.clone()).map_err(|e| format!("cannot format {}: {e}", tmp.display()))?;
        dev.sync_data()
            .map_err(|e| format!("cannot sync {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| format!("cannot rename {} to {}: {e}", tmp.display(), path.display()))?;
        sync_dir(&self.path)
            .map_err(|e| format!("cannot sync directory {}: {e}", self.path.display()))?;
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok((FileDevice::new(f, capacity_bytes), true))
    }
}
