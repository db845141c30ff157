#!/usr/bin/env bash
# Deep fuzzing: runs every libFuzzer harness (or those named) for a given time or number of
# executions, N at a time, from its grown corpus and the seed corpus in tests/fuzz/corpus/, then
# prints what each reached: executions, coverage (edges) and features, corpus size, and any
# crash (the reproducer stays in the working folder). CI keeps its short runs (ctest -L fuzz).
# Needs the asan preset built (clang): cmake --preset asan && cmake --build --preset asan.
# Usage: scripts/fuzz.sh [--seconds S | --runs N] [--jobs J] [--merge] [harness...]
#   --merge  minimises the grown corpus into tests/fuzz/corpus/<harness>/ (keep it a few MB).
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(pwd)/build/asan/tests/fuzz
seeds=$(pwd)/tests/fuzz/corpus
seconds=600 runs=0 jobs=$(nproc) merge=0
harnesses=()
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; seconds=0; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --merge) merge=1; shift ;;
    *) harnesses+=("$1"); shift ;;
  esac
done
if [ ${#harnesses[@]} -eq 0 ]; then
  for f in "$build"/fuzz_*; do [ -x "$f" ] && harnesses+=("$(basename "$f" | sed 's/^fuzz_//')"); done
fi
[ ${#harnesses[@]} -gt 0 ] || { echo "no harness built in $build (build the asan preset)" >&2; exit 2; }
work=$(realpath -m "${FUZZ_WORK:-build/fuzz-runs}")
mkdir -p "$work"
# malloc_context_size=10: ten frames per allocation and free site in a report instead of 30;
# recording those stacks is a fifth of the time of the YAML harnesses (config, rules), and
# detection does not change (+14 % executions/s for config, bench/RESULTS.md).
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:malloc_context_size=10
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

one() {
  local h=$1 corpus="$work/corpus_$1"
  mkdir -p "$corpus"
  local limit=(-max_total_time="$seconds")
  [ "$runs" -gt 0 ] && limit=(-runs="$runs")
  (cd "$work" && "$build/fuzz_$h" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "corpus_$h" "$seeds/$h" >"$h.log" 2>&1) \
    && echo ok >"$work/$h.status" || echo failed >"$work/$h.status"
}
export -f one
export build seeds work seconds runs
printf '%s\n' "${harnesses[@]}" | xargs -P "$jobs" -I{} bash -c 'one {}'

status=0
printf '%-10s %12s %8s %8s %10s %s\n' harness executions edges features corpus result
for h in "${harnesses[@]}"; do
  log="$work/$h.log"
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*' || echo 0)
  ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*' || echo 0)
  files=$(find "$work/corpus_$h" -type f | wc -l)
  result=$(cat "$work/$h.status")
  [ "$result" = ok ] || status=1
  printf '%-10s %12s %8s %8s %10s %s\n' "$h" "$execs" "$cov" "$ft" "$files" "$result"
  if [ "$merge" = 1 ] && [ "$result" = ok ]; then
    mkdir -p "$work/merged_$h"
    "$build/fuzz_$h" -merge=1 "$work/merged_$h" "$seeds/$h" "$work/corpus_$h" >/dev/null 2>&1
    cp -n "$work/merged_$h"/* "$seeds/$h/" 2>/dev/null || true
  fi
done
exit $status
