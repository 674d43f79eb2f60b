//! A full filesystem: the store on a small tmpfs fills up. No acknowledged
//! point may be lost, the server answers writes 507 and keeps serving
//! queries, and resumes writes by itself once space is back (no restart).
//!
//! Needs to mount a tmpfs: run as root (CI does).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use pulsardb_tests::{Server, TempDir, urlencode};

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount_tmpfs(at: &Path, size: &str) -> Mount {
    std::fs::create_dir_all(at).expect("mount point");
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .output()
        .expect("run mount");
    assert!(
        out.status.success(),
        "cannot mount a tmpfs at {} (this test needs root): {}",
        at.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Mount(at.to_path_buf())
}

fn count(s: &Server) -> i64 {
    let r = s.req(
        "GET",
        &format!(
            "/query?db=pulsardb&q={}",
            urlencode("SELECT count(v) FROM m")
        ),
        &[],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["results"][0]["series"][0]["values"][0][1]
        .as_i64()
        .unwrap_or(0)
}

fn batch(first: usize, n: usize, seed: &mut u64) -> String {
    let mut out = String::with_capacity(n * 40);
    for i in first..first + n {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let v = (*seed >> 11) as f64 / (1u64 << 53) as f64;
        out.push_str(&format!(
            "m,h=h{} v={v} {}\n",
            i % 8,
            1_600_000_000 + i as i64
        ));
    }
    out
}

#[test]
fn a_full_disk_refuses_writes_loses_nothing_and_recovers() {
    let dir = TempDir::new("diskfull");
    let mnt = dir.0.join("fs");
    let _m = mount_tmpfs(&mnt, "24m");
    // Space the test gives back later.
    let filler = mnt.join("filler");
    std::fs::write(&filler, vec![0u8; 10 << 20]).expect("filler");
    let data = mnt.join("data");
    let s = Server::start(
        &data,
        Some(r#"{"storage": {"max_disk_mb": 256, "sync": "always"}, "max_memory_mb": 16}"#),
    );
    let (mut acked, mut seed) = (0usize, 0x5EED_u64);
    let per = 20_000;
    let mut refused = None;
    for b in 0..200 {
        let r = s.write_lp("db=pulsardb&precision=s", &batch(b * per, per, &mut seed));
        match r.status {
            204 => acked += per,
            507 => {
                refused = Some(r.text());
                break;
            }
            other => panic!("batch {b}: {other} {}", r.text()),
        }
    }
    let msg = refused.expect("the disk never filled");
    assert!(msg.contains("disk full"), "{msg}");
    // Queries work and see every acknowledged point.
    assert_eq!(count(&s), acked as i64);
    let h = s.req("GET", "/health", &[], b"").json();
    assert_eq!(h["store"]["disk_full"], true, "{h}");
    // Still refused while full (a batch as large; a tiny one may still fit).
    let again = s.write_lp("db=pulsardb&precision=s", &batch(5_000_000, per, &mut seed));
    assert_eq!(again.status, 507, "{}", again.text());
    // Space comes back: writes resume without a restart.
    std::fs::remove_file(&filler).expect("remove filler");
    let t = Instant::now();
    let mut extra = 0;
    loop {
        let r = s.write_lp(
            "db=pulsardb&precision=s",
            &batch(10_000_000 + extra, 100, &mut seed),
        );
        if r.status == 204 {
            extra += 100;
            break;
        }
        assert_eq!(r.status, 507, "{}", r.text());
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "writes never resumed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(count(&s), (acked + extra) as i64);
    let h = s.req("GET", "/health", &[], b"").json();
    assert_eq!(h["store"]["disk_full"], false, "{h}");
    // And all of it survives a restart.
    let mut s = s;
    assert_eq!(s.stop(), 0);
    s.restart();
    assert_eq!(count(&s), (acked + extra) as i64);
    assert!(!s.log_text().contains("panicked"));
    println!(
        "disk full: {acked} points acknowledged before the 24 MiB tmpfs filled; then 507 ({msg}); queries kept working; after freeing 10 MiB writes resumed without a restart; {} points after a restart",
        acked + extra
    );
}
