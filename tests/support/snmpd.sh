#!/usr/bin/env bash
# A private snmpd (Debian's net-snmp agent) for the SNMP interface-name tests
# (tests/enrich_snmp_test.cc, tests/e2e_snmp_test.sh), run as the test's own
# user with its own configuration, state directory and port, on loopback
# only. It answers IF-MIB for the box's own interfaces (the kernel's: lo is
# ifIndex 1), to:
#   SNMPv2c  community "rf-public" (read-only), "rf-write" (read-write,
#            used once to set ifAlias.1 so that descriptions are tested too)
#            and "rf-system" (sees only the system group: no ifName)
#   SNMPv3   user "rfuser", authPriv, SHA / "rf-auth-pass", AES / "rf-priv-pass";
#            user "rfuser2" likewise with "rf-auth-pass2" / "rf-priv-pass2"
#            (net-snmp keeps one key per user and engine ID in a process, so
#            a wrong-password test needs a user of its own)
#
#   snmpd.sh start DIR PORT [ADDR...]   listens on udp ADDR:PORT (default
#                                       127.0.0.1), waits until it answers;
#                                       exit 77 with "SKIP: ..." when snmpd
#                                       or snmpget is not installed
#   snmpd.sh stop DIR                   stops the snmpd whose pid DIR holds
#
# Every client call here sets SNMP_PERSISTENT_DIR and SNMPCONFPATH to DIR,
# so nothing under /var/lib/snmp or ~/.snmp is read or written.
set -euo pipefail

cmd=${1:?start|stop}
dir=${2:?directory}
export SNMP_PERSISTENT_DIR=$dir/persist SNMPCONFPATH=$dir MIBS=

snmpd_bin() { command -v snmpd || { [ -x /usr/sbin/snmpd ] && echo /usr/sbin/snmpd; }; }

case $cmd in
start)
  port=${3:?port}
  shift 3
  addrs=("$@")
  [ ${#addrs[@]} -gt 0 ] || addrs=(127.0.0.1)
  bin=$(snmpd_bin) || true
  if [ -z "$bin" ] || ! command -v snmpget >/dev/null; then
    echo "SKIP: needs snmpd and snmpget (Debian snmpd, snmp: scripts/deps.sh --test)"
    exit 77
  fi
  mkdir -p "$dir/persist"
  listen=""
  for a in "${addrs[@]}"; do listen+="${listen:+,}udp:$a:$port"; done
  cat >"$dir/snmpd.conf" <<EOF
agentaddress $listen
rocommunity rf-public 127.0.0.0/8
rwcommunity rf-write 127.0.0.1
view systemonly included .1.3.6.1.2.1.1
rocommunity rf-system 127.0.0.0/8 -V systemonly
createUser rfuser SHA rf-auth-pass AES rf-priv-pass
rouser rfuser priv
createUser rfuser2 SHA rf-auth-pass2 AES rf-priv-pass2
rouser rfuser2 priv
master off
EOF
  # -C: only this file; -Lf: log to a file; no -f: it daemonises and writes
  # its pid, which stop reads (the only process this script ever stops).
  "$bin" -C -c "$dir/snmpd.conf" -p "$dir/snmpd.pid" -Lf "$dir/snmpd.log" \
    -I -smux,mteTrigger,mteTriggerConf,mteEvent,mteEventConf,mteObjects 2>"$dir/snmpd.err"
  for _ in $(seq 1 100); do
    if snmpget -v2c -c rf-public -t 0.2 -r 0 -On "${addrs[0]}:$port" 1.3.6.1.2.1.1.3.0 \
         >/dev/null 2>&1; then
      # ifAlias.1 ("lo"): a description to read back.
      snmpset -v2c -c rf-write -t 1 -r 1 "127.0.0.1:$port" \
        1.3.6.1.2.1.31.1.1.1.18.1 s "loopback for ringflow" >/dev/null 2>&1 || true
      exit 0
    fi
    sleep 0.1
  done
  echo "snmpd did not answer on ${addrs[0]}:$port; its log:" >&2
  cat "$dir/snmpd.log" >&2 || true
  exit 1
  ;;
stop)
  if [ -s "$dir/snmpd.pid" ]; then
    pid=$(cat "$dir/snmpd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  ;;
*)
  echo "usage: $0 start DIR PORT [ADDR...] | stop DIR" >&2
  exit 2
  ;;
esac
