//! Shared helpers for the benchmark programs in `src/bin/`.
//!
//! Run one with `cargo run --release -p pulsardb-bench --bin NAME`.

use std::time::Instant;

/// Runs `f` and returns its result with the elapsed seconds.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed().as_secs_f64())
}

/// Peak resident set size of this process in bytes (Linux `VmHWM`), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Path of a file under the repository's `testdata/`.
pub fn testdata(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(rel)
}

#[expect(
    unsafe_code,
    reason = "a GlobalAlloc wrapper is unsafe by definition; it only counts and forwards"
)]
pub mod alloc_counter {
    //! A global allocator wrapper that tracks live and peak heap bytes.
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts bytes allocated through it.
    #[derive(Debug)]
    pub struct Counting;

    static LIVE: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    // SAFETY: forwards to the system allocator unchanged; only counts.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            // SAFETY: same contract as the caller's.
            let p = unsafe { System.alloc(l) };
            if !p.is_null() {
                let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            }
            p
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            LIVE.fetch_sub(l.size(), Ordering::Relaxed);
            // SAFETY: same contract as the caller's.
            unsafe { System.dealloc(p, l) }
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            // SAFETY: same contract as the caller's.
            let q = unsafe { System.realloc(p, l, new) };
            if !q.is_null() {
                if new >= l.size() {
                    let now = LIVE.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size();
                    PEAK.fetch_max(now, Ordering::Relaxed);
                } else {
                    LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
                }
            }
            q
        }
    }

    /// Live heap bytes.
    pub fn live() -> usize {
        LIVE.load(Ordering::Relaxed)
    }
    /// Peak heap bytes since the last reset.
    pub fn peak() -> usize {
        PEAK.load(Ordering::Relaxed)
    }
    /// Resets the peak to the live figure.
    pub fn reset_peak() {
        PEAK.store(live(), Ordering::Relaxed);
    }
}

pub mod data {
    //! Benchmark datasets as line protocol.
    use std::path::{Path, PathBuf};

    /// The NAB series as line protocol (`<folder>,file=<name> value=<v> <unix s>`),
    /// the same text `bench/gen_lp.py nab` of the peer benchmark produces.
    pub fn nab_lp() -> String {
        let root = super::testdata("nab");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
            .expect("testdata/nab")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        let mut out = String::new();
        for d in dirs {
            let folder = d.file_name().unwrap().to_string_lossy().to_string();
            let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "csv"))
                .collect();
            files.sort();
            for f in files {
                let name = f.file_stem().unwrap().to_string_lossy().to_string();
                let text = std::fs::read_to_string(&f).unwrap();
                for line in text.lines().skip(1) {
                    let Some((ts, v)) = line.split_once(',') else {
                        continue;
                    };
                    let secs = parse_utc(ts.trim());
                    out.push_str(&format!("{folder},file={name} value={} {secs}\n", v.trim()));
                }
            }
        }
        out
    }

    /// Seconds since the epoch of "YYYY-MM-DD HH:MM:SS" read as UTC.
    pub fn parse_utc(s: &str) -> i64 {
        let n = |a: usize, b: usize| s.get(a..b).and_then(|x| x.parse::<i64>().ok()).unwrap_or(0);
        let (y, mo, d, h, mi, se) = (n(0, 4), n(5, 7), n(8, 10), n(11, 13), n(14, 16), n(17, 19));
        // Days from civil (Howard Hinnant's algorithm).
        let y2 = if mo <= 2 { y - 1 } else { y };
        let era = y2.div_euclid(400);
        let yoe = y2 - era * 400;
        let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400 + h * 3600 + mi * 60 + se
    }

    /// The iot workload of the peer benchmark: generated by `bench/gen_lp.py`
    /// (or the path in `PULSARDB_IOT_LP`), cached under /tmp.
    pub fn iot_lp(points: u64) -> String {
        let path = std::env::var("PULSARDB_IOT_LP")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(format!("/tmp/pulsardb-iot-1000d-{points}p-s42.lp")));
        if !path.exists() {
            let gen_py = super::testdata("../bench/gen_lp.py");
            let st = std::process::Command::new("python3")
                .arg(&gen_py)
                .args(["iot", "--out"])
                .arg(&path)
                .args([
                    "--devices",
                    "1000",
                    "--points",
                    &points.to_string(),
                    "--seed",
                    "42",
                ])
                .status()
                .expect("python3");
            assert!(st.success(), "gen_lp.py failed");
        }
        std::fs::read_to_string(Path::new(&path)).expect("iot line protocol")
    }
}

/// A block device over a file, for benchmarks whose resident memory must not
/// include the device (a `RamDevice` image is resident). Erase is a no-op:
/// the store never trusts a block's old bytes (WAL blocks are stamped, tables
/// and manifests are reached through committed extents and checksummed).
pub mod file_device {
    use std::fs::File;
    use std::os::unix::fs::FileExt;

    use pulsardb_core::Geometry;
    use pulsardb_core::storage::{BlockDevice, BlockId};

    /// The device, counting bytes programmed.
    #[derive(Debug)]
    pub struct FileDev {
        file: File,
        geo: Geometry,
        /// Bytes programmed.
        pub programmed: u64,
    }

    impl FileDev {
        /// A sparse file of the geometry's capacity at `path` (replaced).
        pub fn create(path: &std::path::Path, geo: Geometry) -> std::io::Result<Self> {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)?;
            file.set_len(geo.capacity_bytes())?;
            Ok(Self {
                file,
                geo,
                programmed: 0,
            })
        }

        fn at(&self, b: BlockId, o: u32) -> u64 {
            u64::from(b) * u64::from(self.geo.block_size) + u64::from(o)
        }
    }

    impl BlockDevice for FileDev {
        type Error = std::io::ErrorKind;
        fn geometry(&self) -> Geometry {
            self.geo
        }
        fn read(&mut self, b: BlockId, o: u32, buf: &mut [u8]) -> Result<(), Self::Error> {
            self.file
                .read_exact_at(buf, self.at(b, o))
                .map_err(|e| e.kind())
        }
        fn program(&mut self, b: BlockId, o: u32, d: &[u8]) -> Result<(), Self::Error> {
            self.programmed += d.len() as u64;
            self.file
                .write_all_at(d, self.at(b, o))
                .map_err(|e| e.kind())
        }
        fn erase(&mut self, _b: BlockId) -> Result<(), Self::Error> {
            Ok(())
        }
        fn sync(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }
}
