#!/usr/bin/env bash
# ThreadSanitizer run of the unit and system tests (threads: I/O, shards, correlator, store
# writer, notifier). Too slow for every CI run on 2 cores; run it before resolving an issue
# that touches threads. Exits non-zero on any report (the system harness fails a test whose
# daemon printed one). Extra arguments go to ctest (e.g. -R correlation).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
cmake --preset tsan >/dev/null
cmake --build --preset tsan
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
ctest --preset tsan -j"$(nproc)" -L 'unit|system' "$@"
