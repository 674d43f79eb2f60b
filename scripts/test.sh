#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what it needs first.
#   ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { echo; echo "=== $* ==="; }

step "setup"
./scripts/setup.sh

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-features -- -D warnings

step "core for Cortex-M (thumbv7em-none-eabihf)"
cargo build -p pulsardb-core --no-default-features --target thumbv7em-none-eabihf
cargo build -p pulsardb-core --no-default-features --features embedded-storage --target thumbv7em-none-eabihf

step "server binary (the scenario tests run it)"
cargo build -p pulsardb-server

step "tests"
# --nocapture: the crash, corruption and conformance tests print what they
# tried (cut points, flips, cases passed) so the log shows the work.
cargo test --workspace -- --nocapture

step "done"
