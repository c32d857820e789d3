#!/usr/bin/env bash
# Wireshark decodes the interface table ringflow-gen --interface-names sends
# (options template 260: v9 scope Interface with NUL-padded interfaceName /
# interfaceDescription, IPFIX scope ingressInterface with variable-length
# ones) and agrees with its ground truth: every datagram dissects without an
# error or a warning, and the (ifIndex, IfName, IfDescr) of tshark's options
# records equal the truth's interface_names column, in order.
# Exits 77 (skipped) when tshark is not installed.
# Usage: gen_tshark_if_names_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf_need_tool tshark "Debian's tshark package"
[ -x "$gen" ] || fail "missing $gen (build the ringflow-gen target)"

for proto in v9 ipfix; do
  "$gen" --target 127.0.0.1:2055 --protocol "$proto" --interface-names --count 3 \
    --template-refresh 1 --write-pcap "$work/$proto.pcap" --truth "$work/$proto.tsv" -q
  want=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "interface_names") c = i }
                     NR == 2 { print $c }' "$work/$proto.tsv")
  [ -n "$want" ] && [ "$want" != - ] || fail "$proto: no interface_names in the truth"
  tshark -n -r "$work/$proto.pcap" -d udp.port==2055,cflow -V >"$work/$proto.txt" 2>&1
  ! grep -Eq 'Malformed|Expert Info \((Error|Warning)' "$work/$proto.txt" ||
    fail "$proto: tshark reports a problem: $(grep -E 'Malformed|Expert Info' "$work/$proto.txt" | head -3)"
  # Each options record: its ifIndex (ScopeInterface in v9, InputInt in
  # IPFIX), then IfName and IfDescr; the first table of the capture.
  got=$(awk '/^ *Flow [0-9]+$/ { idx = ""; name = "" }
             /^ *(ScopeInterface|InputInt): / { idx = $2 }
             /^ *IfName: / { sub(/^ *IfName: /, ""); name = $0 }
             /^ *IfDescr: / && idx != "" { sub(/^ *IfDescr: /, "");
               if (!(idx in seen)) { seen[idx] = 1; out = out (out == "" ? "" : ";") idx "=" name "=" $0 } }
             END { print out }' "$work/$proto.txt")
  [ "$got" = "$want" ] || fail "$proto: tshark $got, truth $want"
  echo "$proto: tshark decodes the 16 interfaces the truth lists"
done
echo PASS
