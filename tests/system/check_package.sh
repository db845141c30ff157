#!/usr/bin/env bash
# The Debian package, for real on this machine: build it (CMakePresets.json "package": the
# portable CPU baseline, installed under /usr and /etc), lintian it (no errors), install it
# with dpkg, check what it installed and the installed configuration, start the installed
# binary as the triaged user until /-/ready answers 200 (and `triaged ctl` talks to it), then
# remove and purge it and check nothing is left.
# Needs root (dpkg); exits 77 (skipped) without it, or when a triaged package is already
# installed (this test never touches an installation it did not make).
# Usage: check_package.sh SOURCE_DIR
set -euo pipefail
src="$1"
skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "installing a package needs root"
command -v dpkg-deb >/dev/null && command -v lintian >/dev/null || skip "dpkg-deb and lintian are not installed (scripts/install-deps.sh e2e)"
if dpkg-query -W -f='${Status}' triaged 2>/dev/null | grep -q installed; then
  skip "a triaged package is already installed here; not touching it"
fi
fail() { echo "FAIL: $*"; exit 1; }

cd "$src"
cmake --preset package >/dev/null
cmake --build --preset package >/dev/null
rm -f build/package/triaged_*.deb
cpack --preset package >/dev/null
version=$(sed -n 's/^project(triaged VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
deb="build/package/triaged_${version}_$(dpkg --print-architecture).deb"
[ -f "$deb" ] || fail "no $deb"
echo "built $deb ($(stat -c %s "$deb") bytes)"

# lintian: no errors (warnings are listed for the reader).
lint=$(lintian "$deb" 2>&1 | grep -v 'running with root privileges' || true)
[ -n "$lint" ] && echo "$lint"
if echo "$lint" | grep -q '^E:'; then fail "lintian reports errors"; fi

# Depends comes from dpkg-shlibdeps: every library the binary links, nothing by hand.
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libstdc++6 libsqlite3-0 libpq5 libcurl4 libsystemd0; do
  echo "$depends" | grep -q "$lib" || fail "Depends lacks $lib: $depends"
done

# Built for the portable baseline: no AVX (ymm registers) in triaged's own code.
if command -v objdump >/dev/null && dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/triaged > /tmp/triaged-pkg-bin.$$; then
  ymm=$(objdump -d /tmp/triaged-pkg-bin.$$ | grep -c '%ymm' || true)
  rm -f /tmp/triaged-pkg-bin.$$
  [ "$ymm" -eq 0 ] || fail "the packaged binary uses AVX registers ($ymm instructions): not the x86-64-v2 baseline"
fi

# On a CPU without the baseline (qemu's user-mode emulator playing one: qemu64 lacks SSE4.2)
# the packaged binary refuses to start, saying why, with exit 78; on one with it (Nehalem,
# the first x86-64-v2 CPU) it runs.
if command -v qemu-x86_64 >/dev/null; then
  bin=$(mktemp)
  dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/triaged > "$bin"
  chmod +x "$bin"
  set +e
  msg=$(qemu-x86_64 -cpu qemu64 "$bin" --version 2>&1)
  rc=$?
  set -e
  [ "$rc" -eq 78 ] || { rm -f "$bin"; fail "on a CPU without x86-64-v2: exit $rc, want 78 ($msg)"; }
  echo "$msg" | grep -q 'this build needs an x86-64-v2 CPU' || { rm -f "$bin"; fail "no clear message: $msg"; }
  qemu-x86_64 -cpu Nehalem "$bin" --version >/dev/null || { rm -f "$bin"; fail "does not run on an x86-64-v2 CPU"; }
  rm -f "$bin"
  echo "baseline: refused on qemu64 (exit 78, with the reason), runs on Nehalem"
else
  echo "qemu-x86_64 (qemu-user) is not installed: the refusal on an older CPU is not checked"
fi

run=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  dpkg -P triaged >/dev/null 2>&1 || true
  rm -rf "$run"
}
trap cleanup EXIT

dpkg -i "$deb" >/dev/null
for f in /usr/bin/triaged /etc/triaged/triaged.yaml /etc/triaged/rules/default.yaml \
         /usr/lib/systemd/system/triaged.service /usr/lib/sysusers.d/triaged.conf \
         /usr/lib/tmpfiles.d/triaged.conf /usr/share/man/man1/triaged.1.gz \
         /usr/share/doc/triaged/copyright /usr/share/doc/triaged/changelog.gz \
         /usr/share/doc/triaged/runbook.md /usr/share/doc/triaged/examples/rules/datacenter.yaml \
         /usr/share/triaged/monitoring/dashboards/triaged-overview.json \
         /usr/share/triaged/monitoring/prometheus/alerts.yaml; do
  [ -e "$f" ] || fail "not installed: $f"
done
conffiles=$(dpkg-query -W -f='${Conffiles}' triaged)
echo "$conffiles" | grep -q '/etc/triaged/triaged.yaml' || fail "triaged.yaml is not a conffile"
getent passwd triaged >/dev/null || fail "no triaged user after install"
[ "$(stat -c %U /var/lib/triaged)" = triaged ] || fail "/var/lib/triaged is not the triaged user's"
grep -q '^User=triaged$' /usr/lib/systemd/system/triaged.service || fail "the unit does not run as triaged"
grep -q '^ProtectSystem=strict$' /usr/lib/systemd/system/triaged.service || fail "the unit lost its hardening"
grep -q '^ExecStart=/usr/bin/triaged --config /etc/triaged/triaged.yaml$' /usr/lib/systemd/system/triaged.service ||
  fail "the unit does not start the installed binary with the installed config"
/usr/bin/triaged --check-config
man -l /usr/share/man/man1/triaged.1.gz >/dev/null 2>&1 || zcat /usr/share/man/man1/triaged.1.gz | grep -q '^.TH TRIAGED 1' ||
  fail "the man page does not render"

# The installed configuration as it is, on free ports (the shipped ones may be taken on a
# shared machine), started as the triaged user in its state directory, as the unit does.
ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(3)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
read -r http tcp syslog <<<"$ports"
sed -e "s/127.0.0.1:9470/127.0.0.1:$http/; s/127.0.0.1:9471/127.0.0.1:$tcp/; s/127.0.0.1:5514/127.0.0.1:$syslog/g" \
  -e "s#^  - rules/\*.yaml#  - /etc/triaged/rules/*.yaml#" \
  /etc/triaged/triaged.yaml > "$run/triaged.yaml"
chmod 0755 "$run" && chmod 0644 "$run/triaged.yaml"
(cd /var/lib/triaged && exec setpriv --reuid=triaged --regid=triaged --init-groups /usr/bin/triaged --config "$run/triaged.yaml") >"$run/log" 2>&1 &
pid=$!
ready=""
for _ in $(seq 1 100); do  # at most 20 s
  if curl -sf "http://127.0.0.1:$http/-/ready" >/dev/null; then ready=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
[ -n "$ready" ] || { cat "$run/log"; fail "the installed triaged did not become ready"; }
[ "$(stat -c %U /var/lib/triaged/data/triaged.db)" = triaged ] || fail "the state is not the triaged user's"
/usr/bin/triaged ctl --url "127.0.0.1:$http" services >/dev/null || fail "triaged ctl cannot talk to it"
kill "$pid"
wait "$pid" || fail "the installed triaged did not stop cleanly on SIGTERM"
pid=""

dpkg -r triaged >/dev/null
[ ! -e /usr/bin/triaged ] || fail "/usr/bin/triaged left after remove"
[ -e /etc/triaged/triaged.yaml ] || fail "remove must keep the conffiles"
dpkg -P triaged >/dev/null
for f in /etc/triaged /var/lib/triaged /usr/share/triaged /usr/share/doc/triaged \
         /etc/systemd/system/multi-user.target.wants/triaged.service; do
  [ ! -e "$f" ] || fail "left after purge: $f"
done
dpkg-query -W triaged >/dev/null 2>&1 && fail "dpkg still knows triaged after purge"
echo "package: built, lintian clean of errors, installed, started as triaged, ready, removed and purged"
