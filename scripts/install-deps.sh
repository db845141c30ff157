#!/usr/bin/env bash
# Installs the Debian packages triaged needs to build, test and run. Idempotent: it installs
# only what is missing, and does nothing (not even apt-get update) when everything is present.
# Usage: scripts/install-deps.sh [build|test|e2e|all]   (default: build)
set -euo pipefail

what="${1:-build}"

build_pkgs=(
  build-essential cmake ninja-build pkg-config git ccache
  libboost-dev libboost-system-dev
  libsimdjson-dev libconcurrentqueue-dev prometheus-cpp-dev libyaml-cpp-dev
  libsqlite3-dev libpq-dev librdkafka-dev libcurl4-openssl-dev libspdlog-dev libfmt-dev libcli11-dev
  libhowardhinnant-date-dev tzdata libxxhash-dev libre2-dev libabsl-dev libsystemd-dev
  libssl-dev zlib1g-dev
)
test_pkgs=(
  catch2 libbenchmark-dev curl python3 systemd clang clang-format libclang-rt-14-dev sqlite3 openssl
  postgresql postgresql-client
)
e2e_pkgs=(
  prometheus prometheus-alertmanager golang-github-prometheus-alertmanager-dev python3-jsonschema wrk chromium
  chromium-driver python3-selenium redmine redmine-sqlite ruby-webrick python3-aiosmtpd haproxy lintian qemu-user
)

case "$what" in
  build) want=("${build_pkgs[@]}") ;;
  test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  e2e) want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${e2e_pkgs[@]}") ;;
  all) want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${e2e_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|e2e|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# The e2e peers start their own services on install under systemd; we never want that.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
