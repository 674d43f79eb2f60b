#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what it needs first.
#   ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step header shows the seconds since the start: CI has 30 minutes.
export SUITE_T0="${SUITE_T0:-$(date +%s)}"
step() { echo; echo "=== $* === [$(($(date +%s) - SUITE_T0))s]"; }

# The soak test (tests/tests/soak.rs): left out of the main test run, it
# runs at the end beside the fuzz smoke.
SOAK=simulated_months_stay_bounded_and_exact

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

step "tests (all but the soak, which runs beside the fuzz smoke below)"
# --nocapture: the crash, corruption and conformance tests print what they
# tried (cut points, flips, cases passed) so the log shows the work.
# The core's small-code build (the firmware's: sorted-vector maps, compact
# sort) is tested under qemu-arm by scripts/cross.sh (--all-features), with
# the simulations trimmed.
cargo test --workspace -- --nocapture --skip "$SOAK"

step "ARM: gateway builds, armv7 tests under qemu-arm, firmware under qemu-system-arm"
./scripts/cross.sh

step "fuzz smoke (each target replays its seeds, then fuzzes 30 s), and beside it the soak"
# Each keeps one core busy for four to five minutes: side by side they take
# the time of one. The fuzz targets are built first, on both cores. The
# soak's output follows the fuzz smoke's; either failing fails the suite.
./scripts/fuzz.sh build
soak_log="$(mktemp)"
# In its own process group (setsid), so that an interrupted run stops the
# test binary as well as cargo.
setsid -w cargo test --workspace --test soak -- --nocapture "$SOAK" >"$soak_log" 2>&1 &
soak_pid=$!
trap 'kill -- -"$soak_pid" 2>/dev/null || true' INT TERM
fuzz_rc=0
./scripts/fuzz.sh smoke 30 || fuzz_rc=$?
soak_rc=0
wait "$soak_pid" || soak_rc=$?
trap - INT TERM
step "soak"
cat "$soak_log"
rm -f "$soak_log"
if [ "$fuzz_rc" -ne 0 ]; then
    echo "fuzz smoke failed (exit $fuzz_rc)" >&2
    exit 1
fi
if [ "$soak_rc" -ne 0 ]; then
    echo "soak failed (exit $soak_rc)" >&2
    exit 1
fi

step "done"
