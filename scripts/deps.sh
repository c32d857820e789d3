#!/usr/bin/env bash
# Installs the Debian packages ringflow needs (run as root), or prints the
# exact apt-get line to run otherwise. Idempotent and quiet when everything is
# present.
#
#   scripts/deps.sh                 what the build needs
#   scripts/deps.sh --test          + everything the test suite, the fuzz run,
#                                   the package and the soak need (TEST_PKGS
#                                   below: clickhouse-server, prometheus for
#                                   promtool, clang, tshark, jq, grepcidr,
#                                   gnuplot, groff, man-db, systemd, dpkg-dev,
#                                   curl, ...).
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
      libpcap-dev libcurl4-openssl-dev libmicrohttpd-dev libcrypt-dev libcap-dev libsystemd-dev
      libmaxminddb-dev libjs-dygraphs libsnmp-dev)
# libjs-dygraphs: the web view's charts, embedded in the binary at build time
# (CMakeLists.txt, cmake/embed_assets.cmake; docs/api.md says why this one).
# What the tests and the scripts they run need (read the tests for the
# reason of each): the ClickHouse tests' private servers; promtool
# (prometheus) for the metrics and alert-rule tests; clang and its runtime
# for the fuzz targets; tshark for the generator's and the v9/IPFIX capture
# tests; jq and grepcidr for docs/querying.md's recipes and the dashboard;
# gnuplot for the traffic plot and the soak's RSS plot; groff, man and
# systemd-analyze for the man page and package tests; dpkg-dev, gzip and
# binutils for scripts/package.sh; curl (metrics scrapes), ss and ip netns (iproute2),
# pgrep (procps), setpriv (util-linux); pmacct (pmacctd) as a real v5
# exporter for e2e_v5_exporter_test, whose export dumpcap (tshark's) captures;
# dpkg-repack for e2e_package_test to save a ringflow package already
# installed and put it back; faketime for e2e_querying_test to start the
# collector's wall clock past an hour; softflowd (a real IPFIX biflow
# exporter) and nfdump (nfcapd, the peer collector) for
# e2e_softflowd_biflow_test; mmdb-bin (mmdblookup, the reference reader) and
# libmaxmind-db-writer-perl (MaxMind::DB::Writer, to build the test's own MMDB
# files) for enrich_mmdb_test; chromium (headless) for e2e_live_browser_test
# to render the web view and read its DOM; nfdump-sflow (sfcapd) and pmacct's
# sfacctd and pmacctd (sfprobe, a real sFlow exporter) for
# e2e_sflow_peers_test; snmpd (a real SNMP agent on loopback) and snmp
# (snmpget/snmpwalk, the reference reader) for the SNMP interface-name tests.
TEST_PKGS=(clickhouse-server clickhouse-client prometheus clang libclang-rt-14-dev
           tshark pmacct jq grepcidr gnuplot-nox groff-base man-db systemd
           dpkg-dev gzip binutils curl iproute2 procps util-linux dpkg-repack
           faketime softflowd nfdump nfdump-sflow mmdb-bin libmaxmind-db-writer-perl chromium
           openssl snmpd snmp)

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
