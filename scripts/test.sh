#!/usr/bin/env bash
# Installs what is missing, builds (Release), and runs the whole test suite: unit, system
# (the real binary on 127.0.0.1), end-to-end (real Prometheus and Alertmanager), fuzz smoke
# and benchmark smoke. Extra arguments go to ctest (e.g. -L unit, -R alertmanager).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh e2e
cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release -j"$(nproc)" "$@"
