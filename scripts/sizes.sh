#!/usr/bin/env bash
# Prints the size table (README): the stripped server per gateway target
# (profile device) and the firmware's code (.text + .rodata), without and
# with defmt. Build first (scripts/cross.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "| artifact | target | size |"
echo "|---|---|---:|"
gateways="armv7-unknown-linux-gnueabihf aarch64-unknown-linux-gnu"
# The musl build is made on request (PULSARDB_MUSL=1, scripts/cross.sh):
# without it, an older binary would pass for the current one.
[ "${PULSARDB_MUSL:-0}" = 1 ] && gateways="$gateways aarch64-unknown-linux-musl"
for t in $gateways; do
    f="target/$t/device/pulsardb"
    [ -f "$f" ] || continue
    awk -v t="$t" -v b="$(stat -c %s "$f")" \
        'BEGIN { printf "| pulsardb server, stripped | %s | %.2f MiB (%d bytes) |\n", t, b / 1048576, b }'
done
fw=boards/qemu-mps2-an386/target/thumbv7em-none-eabihf/release
for v in plain defmt; do
    f="$fw/pulsardb-fw-$v.elf"
    [ -f "$f" ] || continue
    arm-none-eabi-size -A "$f" | awk -v v="$v" '
        $1 == ".text" { t = $2 } $1 == ".rodata" { r = $2 }
        END { printf "| firmware code (.text + .rodata), %s | thumbv7em-none-eabihf | %.1f KiB (%d bytes) |\n",
                     (v == "plain" ? "without defmt" : "with defmt"), (t + r) / 1024, t + r }'
done
log="$fw/run.log"
if [ -f "$log" ]; then
    awk -F': ' '/^peak heap bytes \(whole run\)/ {
        printf "| firmware peak heap (bytes in use, whole run) | thumbv7em-none-eabihf | %.1f KiB (%d bytes) |\n", $2 / 1024, $2 }' "$log"
fi
