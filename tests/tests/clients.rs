//! The InfluxDB Python clients against the real server: the PyPI packages
//! `influxdb` (5.3.x) and `influxdb-client` (1.50.x), installed in a virtual
//! environment under the target directory, run `tests/compat/clients.py`,
//! and `tests/compat/home_assistant.py` writes as Home Assistant does.

use std::path::Path;
use std::process::Command;

use pulsardb_tests::{Server, TempDir};

/// The virtual environment's python, with the clients installed (once:
/// the tests run in parallel and must not install into it together).
fn python() -> std::path::PathBuf {
    static PYTHON: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(install).clone()
}

fn install() -> std::path::PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let venv = target.join("compat-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        let st = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()
            .expect("python3");
        assert!(
            st.success(),
            "python3 -m venv failed (install python3-venv)"
        );
    }
    let pip = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "influxdb>=5.3,<5.4",
            "influxdb-client>=1.50,<1.51",
        ])
        .output()
        .expect("pip");
    assert!(
        pip.status.success(),
        "pip install failed: {}",
        String::from_utf8_lossy(&pip.stderr)
    );
    python
}

#[test]
fn python_influxdb_clients_work_unchanged() {
    let python = python();
    let dir = TempDir::new("clients");
    let s = Server::start(&dir.0, None);
    s.run_compat_script(
        &python,
        "clients.py",
        &["127.0.0.1".to_string(), s.addr.port().to_string()],
    );
}

/// Home Assistant's points carry string fields (`friendly_name_str`, ...):
/// refused by default, naming the field and the setting; with
/// `string_fields: "drop"` its numbers are stored and the strings counted.
#[test]
fn home_assistant_writes() {
    let python = python();
    for (mode, config) in [
        ("reject", None),
        ("drop", Some(r#"{"string_fields": "drop"}"#)),
    ] {
        let dir = TempDir::new(&format!("home-assistant-{mode}"));
        let s = Server::start(&dir.0, config);
        s.run_compat_script(
            &python,
            "home_assistant.py",
            &[
                "127.0.0.1".to_string(),
                s.addr.port().to_string(),
                mode.to_string(),
            ],
        );
    }
}
