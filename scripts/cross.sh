#!/usr/bin/env bash
# ARM builds and emulated tests, as CI runs them (called by scripts/test.sh;
# run alone after ./scripts/setup.sh):
#   - the server for the gateways (armv7 and aarch64; with PULSARDB_MUSL=1
#     also static aarch64 musl), with the `device` profile, and the size
#     table;
#   - the core's tests under qemu-arm (32-bit ARMv7);
#   - the HTTP scenarios against the armv7 server under qemu-arm;
#   - the Cortex-M4 firmware under qemu-system-arm, and its defmt build.
set -euo pipefail
cd "$(dirname "$0")/.."

export SUITE_T0="${SUITE_T0:-$(date +%s)}"
step() { echo; echo "=== $* === [$(($(date +%s) - SUITE_T0))s]"; }

ARMV7=armv7-unknown-linux-gnueabihf
GATEWAYS="$ARMV7 aarch64-unknown-linux-gnu"
# The static aarch64 build (musl) only on request: CI has 30 minutes, and
# it differs from the glibc one only in how it links.
if [ "${PULSARDB_MUSL:-0}" = 1 ]; then
    GATEWAYS="$GATEWAYS aarch64-unknown-linux-musl"
fi

step "server for the gateways (profile device)"
for t in $GATEWAYS; do
    cargo build --profile device -p pulsardb-server --target "$t"
done

step "core tests on armv7 under qemu-arm"
# --all-features: the small-code build too (the firmware's sorted-vector
# maps, compact sort and CRC), tested here only. Trimmed to fit CI (the
# default build ran them in full natively before): the exhaustive
# simulations cut at one programmed byte in 5 (every offset of a program
# unit still comes up) and at every erase and sync; 1,000 random cuts and
# 150 model sequences.
PULSARDB_CUT_STRIDE=5 PULSARDB_RANDOM_CUTS=1000 PULSARDB_MODEL_SEQUENCES=150 \
    cargo test --target "$ARMV7" -p pulsardb-core --all-features -- --nocapture

step "HTTP scenarios against the armv7 server under qemu-arm"
PULSARDB_BIN="$PWD/target/$ARMV7/device/pulsardb" \
PULSARDB_RUNNER="qemu-arm -L /usr/arm-linux-gnueabihf" \
    cargo test -p pulsardb-tests --test scenarios -- --nocapture

step "Cortex-M4 firmware under qemu-system-arm (mps2-an386)"
(
    cd boards/qemu-mps2-an386
    out=target/thumbv7em-none-eabihf/release
    mkdir -p "$out"
    # pipefail: the firmware's exit status (through qemu and cargo) is the step's.
    timeout 600 cargo run --release 2>&1 | tee "$out/run.log"
    echo "firmware exit status: 0"
    cp "$out/pulsardb-fw" "$out/pulsardb-fw-plain.elf"
    cargo build --release --features defmt
    cp "$out/pulsardb-fw" "$out/pulsardb-fw-defmt.elf"
)

step "sizes"
./scripts/sizes.sh
