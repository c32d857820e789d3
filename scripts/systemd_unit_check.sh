#!/usr/bin/env bash
# Runs the Debian package under a real systemd: boots a minimal Debian 12
# (debootstrap from Debian's mirror, cached in /var/cache/ringflow-unit-rootfs)
# in a systemd-nspawn container with its own network namespace, installs the
# package there and checks what tests/e2e_package_test.sh cannot where systemd
# is not PID 1: the unit's sandbox itself (system call filter, capabilities,
# ProtectSystem=, ...) lets ringflow start, receive over io_uring and write;
# it runs as ringflow with no capability and seccomp on; the journal gets its
# lines once stamped, with their priority; reload (SIGHUP) works; a crash is
# restarted; stop flushes every flow sent; purge removes it.
# Usage (root): scripts/systemd_unit_check.sh [BUILD_DIR]
# Slow the first time (debootstrap, about 2 minutes); not part of ctest.
# shellcheck disable=SC2016  # the single-quoted commands run in the container
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, systemd-nspawn)"
"$root/scripts/deps.sh" debootstrap systemd-container

rootfs=/var/cache/ringflow-unit-rootfs
# A root file system cached before a dependency changed lacks it: rebuild.
if [ ! -x "$rootfs/usr/lib/systemd/systemd" ] || ! compgen -G "$rootfs/usr/lib/*/libmicrohttpd.so.12" > /dev/null; then
  rm -rf "$rootfs"
  echo "debootstrap into $rootfs (once)" >&2
  rm -rf "$rootfs.tmp"
  # The package's dependencies come along, so it installs without a network.
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,adduser,curl,man-db,iproute2,libcap2,liburing2,libcurl4,libpcap0.8,libmicrohttpd12,libtomlplusplus3 \
    bookworm "$rootfs.tmp" http://deb.debian.org/debian > /tmp/ringflow-debootstrap.log 2>&1 ||
    { tail /tmp/ringflow-debootstrap.log >&2; fail "debootstrap failed"; }
  echo ringflow-unit-check > "$rootfs.tmp/etc/hostname"
  mv "$rootfs.tmp" "$rootfs"
fi
deb=$("$root/scripts/package.sh" "$build" "$rootfs/root")

log=$(mktemp)
systemd-nspawn -D "$rootfs" --boot --private-network --register=no --keep-unit --console=passive -q \
  > "$log" 2>&1 &
nspawn=$!
leader=
stop_container() {
  if [ -n "$leader" ]; then nsenter -t "$leader" -a systemctl poweroff > /dev/null 2>&1 || true; fi
  for _ in $(seq 1 100); do kill -0 "$nspawn" 2> /dev/null || break; sleep 0.1; done
  kill "$nspawn" 2> /dev/null || true
  rm -f "$log"
}
trap stop_container EXIT
for _ in $(seq 1 100); do
  leader=$(pgrep -P "$nspawn" -x systemd || true)
  [ -n "$leader" ] && break
  kill -0 "$nspawn" 2> /dev/null || { cat "$log" >&2; fail "systemd-nspawn exited"; }
  sleep 0.1
done
[ -n "$leader" ] || fail "no systemd in the container"
inside() { nsenter -t "$leader" -a /bin/bash -c "$1"; }
for _ in $(seq 1 100); do
  state=$(inside 'systemctl is-system-running 2> /dev/null' || true)
  case "$state" in running | degraded) break ;; esac
  sleep 0.2
done
echo "container up ($state)"

inside "cd /root && apt-get install -y -q ./$(basename "$deb") > /tmp/install.log 2>&1" || fail "install failed"
inside 'for i in $(seq 1 50); do systemctl is-active -q ringflow && exit 0; sleep 0.1; done; exit 1' ||
  { inside 'journalctl -u ringflow --no-pager | tail -20' >&2; fail "the service is not active after install"; }
echo "  ok  installed, enabled and started by the package"

status=$(inside 'grep -E "^(Uid|CapEff|CapPrm|CapAmb|NoNewPrivs|Seccomp):" /proc/$(systemctl show -p MainPID --value ringflow)/status')
uid=$(inside 'id -u ringflow')
grep -q "^Uid:	$uid	$uid	$uid	$uid$" <<< "$status" || fail "not running as ringflow: $status"
for set in CapEff CapPrm CapAmb; do
  grep -q "^$set:	0000000000000000$" <<< "$status" || fail "$set not empty: $status"
done
if ! grep -q "^NoNewPrivs:	1$" <<< "$status" || ! grep -q "^Seccomp:	2$" <<< "$status"; then
  fail "no_new_privs / seccomp filter missing: $status"
fi
echo "  ok  uid $uid, no capabilities, no_new_privs, seccomp filter"

inside 'ringflow-gen --target 127.0.0.1:2055 --pps 5000 --count 3000 --quiet --truth /tmp/truth.tsv'
inside 'for i in $(seq 1 100); do
      [ "$(curl -s http://127.0.0.1:9155/metrics | awk "/^ringflow_decode_datagrams_total/ { s += \$2 } END { print s + 0 }")" = 3000 ] && exit 0
      sleep 0.1
    done; exit 1' || fail "the service did not decode the 3000 datagrams sent"
echo "  ok  3000 datagrams received over the unit's sandbox"

inside 'systemctl reload ringflow' || fail "systemctl reload failed"
inside 'sleep 0.5; journalctl -u ringflow --no-pager -o cat | grep -q "^SIGHUP: reopening outputs$"' ||
  fail "reload did not reach ringflow"
echo "  ok  reload sends SIGHUP"
inside 'journalctl -u ringflow -o verbose --no-pager' > /tmp/ringflow-journal.txt
grep -q 'MESSAGE=running as ringflow' /tmp/ringflow-journal.txt || fail "no privilege line in the journal"
if grep -qE 'MESSAGE=([0-9]{4}-[0-9]{2}-[0-9]{2}T|<[0-9]>)' /tmp/ringflow-journal.txt; then
  fail "journal lines carry their own timestamp or an unparsed priority prefix"
fi
grep -B20 'MESSAGE=running as ringflow' /tmp/ringflow-journal.txt | grep -q 'PRIORITY=6' ||
  fail "journal lines have no priority"
rm -f /tmp/ringflow-journal.txt
echo "  ok  journal: one timestamp per line, priorities set"

before=$(inside 'systemctl show -p NRestarts --value ringflow')
inside 'kill -SEGV $(systemctl show -p MainPID --value ringflow)'
inside 'for i in $(seq 1 150); do
      [ "$(systemctl show -p NRestarts --value ringflow)" -gt '"$before"' ] && systemctl is-active -q ringflow && exit 0
      sleep 0.1
    done; exit 1' || fail "not restarted after a crash"
echo "  ok  Restart=on-failure after SIGSEGV"

inside 'ls /var/lib/ringflow > /tmp/files.before'
inside 'ringflow-gen --target 127.0.0.1:2055 --pps 5000 --count 2000 --seed 2 --quiet --truth /tmp/truth2.tsv'
inside 'for i in $(seq 1 100); do
      [ "$(curl -s http://127.0.0.1:9155/metrics | awk "/^ringflow_decode_datagrams_total/ { s += \$2 } END { print s + 0 }")" = 2000 ] && exit 0
      sleep 0.1
    done; exit 1' || fail "the restarted service did not decode the 2000 datagrams sent"
inside 'systemctl stop ringflow'
want=$(inside 'awk -F"\t" "NR == 1 { for (i = 1; i <= NF; i++) c[\$i] = i; next } \$1 == \"total\" { s += \$c[\"flows\"] } END { print s }" /tmp/truth2.tsv')
# The crash lost the first run's open interval (that is what a crash does);
# the second run's flows must all be in the files written after it.
got=$(inside 'cd /var/lib/ringflow && cat $(ls flows-*.csv | grep -vxF -f /tmp/files.before) | awk -F, "\$1 == \"interval_start\" { for (i = 1; i <= NF; i++) c[\$i] = i; next } { f += \$c[\"flows\"] } END { print f }"')
[ "$got" = "$want" ] || fail "the final interval file holds $got flows, ringflow-gen sent $want"
echo "  ok  stop flushed all $want flows of the last run to /var/lib/ringflow"

inside 'apt-get purge -y -q ringflow > /dev/null 2>&1'
inside '[ ! -e /var/lib/ringflow ] && [ ! -e /etc/ringflow ] && [ ! -e /lib/systemd/system/ringflow.service ]' ||
  fail "purge left files"
echo "  ok  purged"
echo "systemd_unit_check: PASS"
