#!/usr/bin/env bash
# Installs what building and testing PulsarDB needs, idempotently:
# rustup targets, rustfmt/clippy, and Debian packages (cross linkers, QEMU,
# InfluxDB 1.x: the reference the InfluxQL differential test compares with;
# tzdata: the zone database tz(...) reads).
# Safe to run again: it only installs what is missing.
set -euo pipefail

TARGETS="thumbv7em-none-eabihf thumbv7m-none-eabi armv7-unknown-linux-gnueabihf aarch64-unknown-linux-gnu aarch64-unknown-linux-musl"
DEBS="gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf qemu-user qemu-system-arm binutils-arm-none-eabi curl jq python3-venv influxdb tzdata"

log() { echo "[setup] $*" >&2; }

installed_targets="$(rustup target list --installed 2>/dev/null || true)"
missing_targets=""
for t in $TARGETS; do
    grep -qx "$t" <<<"$installed_targets" || missing_targets="$missing_targets $t"
done
if [ -n "$missing_targets" ]; then
    log "rustup target add$missing_targets"
    rustup target add $missing_targets
fi
for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || { log "rustup component add $c"; rustup component add "$c"; }
done

missing_debs=""
for p in $DEBS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing_debs="$missing_debs $p"
done
if [ -n "$missing_debs" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    log "apt-get install$missing_debs"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing_debs >/dev/null
fi
log "ready"
