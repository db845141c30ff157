#!/usr/bin/env bash
# Installs what is missing, builds (Release), and starts triaged on the shipped config.
# State goes to ./data; the server listens on 127.0.0.1:9470. Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release --target triaged
exec build/release/triaged --config config/triaged.yaml "$@"
