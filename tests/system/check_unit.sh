#!/usr/bin/env bash
# Verifies the systemd unit: syntax (systemd-analyze verify) and hardening exposure of 2.0
# or lower ("OK") by systemd-analyze security, offline.
set -euo pipefail
unit="$1"
command -v systemd-analyze >/dev/null || { echo "systemd-analyze is missing (install systemd)"; exit 1; }
cd "$(dirname "$unit")"
systemd-analyze verify "./$(basename "$unit")"
out=$(systemd-analyze security --offline=true --threshold=20 "./$(basename "$unit")" 2>&1) || {
  echo "$out" | tail -30; echo "exposure above 2.0"; exit 1; }
echo "$out" | tail -1
