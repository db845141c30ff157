#!/usr/bin/env bash
# Formats every C++ source of the repository with clang-format (.clang-format: Google style,
# 100 columns, includes sorted). --check changes nothing and fails, listing the files, when
# one is not formatted (CI runs it).
# Usage: scripts/format.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
cf=$(command -v clang-format-14 || command -v clang-format || true)
[ -n "$cf" ] || { echo "format: clang-format is not installed (scripts/install-deps.sh test)" >&2; exit 2; }
# Tracked files and new ones not yet added (a new file must not wait for its commit to be seen).
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.cpp' '*.h' |
  grep -v '^tests/fuzz/corpus/' | sort -u)
if [ "${1:-}" = "--check" ]; then
  bad=()
  for f in "${files[@]}"; do
    if ! "$cf" --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
  done
  if [ ${#bad[@]} -gt 0 ]; then
    echo "format: ${#bad[@]} files are not formatted (run scripts/format.sh):" >&2
    printf '  %s\n' "${bad[@]}" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files formatted"
else
  "$cf" --style=file -i "${files[@]}"
fi
