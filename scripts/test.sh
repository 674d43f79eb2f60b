#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what it needs first.
#   ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step header shows the seconds since the start: CI has 30 minutes.
export SUITE_T0="${SUITE_T0:-$(date +%s)}"
step() { echo; echo "=== $* === [$(($(date +%s) - SUITE_T0))s]"; }

step "setup"
./scripts/setup.sh

step "format"
cargo fmt --all -- --check
# Outside the workspace: the firmware and the fuzz targets.
(cd boards/qemu-mps2-an386 && cargo fmt -- --check)
(cd fuzz && cargo fmt -- --check)

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

step "core tests again with small-code (the firmware's build: sorted-vector maps, compact sort)"
cargo test -p pulsardb-core --features small-code -- --nocapture

step "ARM: gateway builds, armv7 tests under qemu-arm, firmware under qemu-system-arm"
./scripts/cross.sh

step "fuzz smoke: each target replays its seeds, then fuzzes 30 s"
./scripts/fuzz.sh smoke 30

step "done"
