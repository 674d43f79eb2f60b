//! InfluxQL against the reference: InfluxDB 1.x (`influxd`, the Debian
//! package `influxdb`, which `scripts/setup.sh` installs) and PulsarDB get
//! the same writes and the same queries, and `tests/compat/influxql_diff.py`
//! compares every answer. A missing `influxd` fails the test: it is never
//! skipped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pulsardb_tests::{Server, TempDir, free_port};

/// `influxd` on free ports with a data directory under `dir`; killed on drop.
struct Influxd(Child);

impl Influxd {
    fn start(dir: &Path) -> (Self, u16) {
        let http = free_port();
        let rpc = free_port();
        let conf = dir.join("influxdb.conf");
        let data = dir.join("influx");
        std::fs::write(
            &conf,
            format!(
                "reporting-disabled = true\n\
                 bind-address = \"127.0.0.1:{rpc}\"\n\
                 [meta]\n  dir = \"{d}/meta\"\n  logging-enabled = false\n\
                 [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\
                 [monitor]\n  store-enabled = false\n\
                 [subscriber]\n  enabled = false\n\
                 [continuous_queries]\n  enabled = false\n\
                 [http]\n  bind-address = \"127.0.0.1:{http}\"\n  log-enabled = false\n\
                 [logging]\n  level = \"warn\"\n  suppress-logo = true\n",
                d = data.display()
            ),
        )
        .expect("influxdb.conf");
        let child = Command::new("influxd")
            .arg("-config")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "influxd not found: install the Debian package `influxdb` (scripts/setup.sh does)",
            );
        let me = Influxd(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let up = std::net::TcpStream::connect(("127.0.0.1", http)).is_ok_and(|mut s| {
                use std::io::{Read, Write};
                let _ = s.write_all(b"GET /ping HTTP/1.0\r\n\r\n");
                let mut b = [0u8; 12];
                s.read_exact(&mut b).is_ok() && b.starts_with(b"HTTP/1.") && &b[9..12] == b"204"
            });
            if up {
                break;
            }
            assert!(Instant::now() < deadline, "influxd did not answer /ping");
            std::thread::sleep(Duration::from_millis(100));
        }
        (me, http)
    }
}

impl Drop for Influxd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn influxql_answers_match_influxdb() {
    let dir = TempDir::new("influxql-diff");
    let (_influxd, influx_port) = Influxd::start(&dir.0);
    let pdb_dir = dir.0.join("pulsardb");
    let s = Server::start(&pdb_dir, None);
    s.run_compat_script(
        Path::new("python3"),
        "influxql_diff.py",
        &[
            format!("http://127.0.0.1:{influx_port}"),
            format!("http://{}", s.addr),
        ],
    );
}
