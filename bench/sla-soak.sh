#!/usr/bin/env bash
# Soak of the SLA property test: N random histories (default 5000) replayed with
# `triaged replay --report` and compared, figure by figure, with the independent model of
# docs/sla.md (tests/system/sla_model.py). Seeds start after the normal suite's.
# Usage: bench/sla-soak.sh [N] [FIRST_SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-5000}"
first="${2:-1000}"
bin="${TRIAGED_BIN:-build/release/triaged}"
[ -x "$bin" ] || { echo "sla-soak: build first (cmake --build --preset release)" >&2; exit 2; }
# A copy of the binary, so that a rebuild during a long soak does not pull it away.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$bin" "$tmp/triaged"
export TRIAGED_BIN="$tmp/triaged" TRIAGED_SLA_HISTORIES="$n" TRIAGED_SLA_FIRST_SEED="$first"
cd tests/system
start=$(date +%s)
python3 -m unittest test_sla_model.SlaModel.test_random_histories_agree_with_the_model
echo "sla-soak: $n histories from seed $first agree with the model ($(( $(date +%s) - start ))s)"
