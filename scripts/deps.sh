#!/usr/bin/env bash
# Installs the Debian packages ringflow needs (run as root), or prints the
# exact apt-get line to run otherwise. Idempotent and quiet when everything is
# present.
#
#   scripts/deps.sh                 what the build needs
#   scripts/deps.sh --test          + everything the test suite, the fuzz run
#                                   and the soak need: clickhouse-server (its
#                                   private instances), prometheus (promtool),
#                                   clang (libFuzzer), curl, ss, pgrep.
#                                   scripts/test.sh and .ci/run call this once,
#                                   before ctest: no test installs anything.
#   scripts/deps.sh [--test] PKG... these as well
#
# Another apt/dpkg (unattended-upgrades, a parallel build) may hold the dpkg
# lock: apt-get waits up to RINGFLOW_APT_LOCK_WAIT seconds (default 600) for
# it, and a failed update or install is retried 3 times.
set -euo pipefail

PKGS=(g++ cmake ninja-build pkg-config ccache
      liburing-dev libconcurrentqueue-dev catch2 libtomlplusplus-dev libcli11-dev
      libpcap-dev libcurl4-openssl-dev libcpp-httplib-dev)
# Test tools. tshark is not needed: the capture's Wireshark decoding is
# committed as TSV (tests/data/).
TEST_PKGS=(clickhouse-server clickhouse-client prometheus clang libclang-rt-14-dev
           curl iproute2 procps)

if [ "${1:-}" = --test ]; then
  shift
  PKGS+=("${TEST_PKGS[@]}")
fi
PKGS+=("$@")

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "ringflow: missing Debian packages: ${missing[*]}" >&2
  echo "ringflow: run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "ringflow: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
lock=(-o "DPkg::Lock::Timeout=${RINGFLOW_APT_LOCK_WAIT:-600}")

# retry WHAT COMMAND...: up to 3 attempts, 10 s apart (the lock wait above
# covers dpkg's lock; this covers the lists lock and a flaky mirror).
retry() {
  local what=$1 i
  shift
  for i in 1 2 3; do
    if "$@"; then return 0; fi
    echo "ringflow: $what failed (attempt $i of 3)" >&2
    [ "$i" -lt 3 ] && sleep 10
  done
  echo "ringflow: giving up: $what" >&2
  return 1
}
retry "apt-get update" apt-get "${lock[@]}" update -qq >/dev/null
retry "apt-get install ${missing[*]}" \
  apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
