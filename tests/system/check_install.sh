#!/usr/bin/env bash
# `cmake --install` puts the binary, the unit, the sysusers/tmpfiles snippets, the default
# config and rules in the usual places; the installed binary accepts the installed config.
set -euo pipefail
build="$1"
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
cmake --install "$build" --prefix "$dest/usr" >/dev/null
for f in usr/bin/triaged usr/lib/systemd/system/triaged.service usr/lib/sysusers.d/triaged.conf \
         usr/lib/tmpfiles.d/triaged.conf usr/etc/triaged/triaged.yaml usr/etc/triaged/rules/default.yaml; do
  [ -e "$dest/$f" ] || { echo "missing after install: $f"; exit 1; }
done
# The unit names the paths of the prefix configured at build time (CMAKE_INSTALL_PREFIX).
grep -Eq "^ExecStart=/.*/bin/triaged --config /.*/triaged/triaged.yaml$" \
  "$dest/usr/lib/systemd/system/triaged.service" || { echo "unit has no ExecStart with installed paths"; exit 1; }
"$dest/usr/bin/triaged" --check-config --config "$dest/usr/etc/triaged/triaged.yaml"
