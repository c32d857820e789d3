#!/usr/bin/env bash
# ringflow-gen's command line: --help/--version, exit 2 with a clear message
# for every kind of bad option, the loopback-only safety net, and a short real
# run whose truth file awk can read (the format docs/generator.md promises).
# Usage: gen_cli_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
GEN=$gen TMP=$work
[ -x "$GEN" ] || fail "missing $GEN (build the ringflow-gen target)"
fail=0

expect() {  # expect CODE PATTERN -- ARGS...: exit code and a stderr/stdout pattern
  local code=$1 pattern=$2
  shift 3
  local out rc=0
  out=$("$GEN" "$@" 2>&1) || rc=$?
  if [ "$rc" != "$code" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL: ringflow-gen $* -> exit $rc (want $code), output:"
    echo "$out" | sed 's/^/    /'
    fail=1
  else
    echo "ok: ringflow-gen $* -> $code"
  fi
}

expect 0 "Usage: ringflow-gen" -- --help
expect 0 "ringflow-gen [0-9]+\.[0-9]+" -- --version
expect 2 "pps" -- --pps abc
expect 2 "--pps and --fps" -- --pps 10 --fps 10
expect 2 "--records: expected 1..30" -- --records 31
expect 2 "--records: expected 1..30" -- --records 0
expect 2 "--exporters" -- --exporters 0
expect 2 "--loss: expected a probability" -- --loss 1.5
expect 2 "--zipf" -- --zipf -1
expect 2 "--sampling: expected MODE:INTERVAL" -- --sampling 4:10
expect 2 "--sampling: expected MODE:INTERVAL" -- --sampling 1:20000
expect 2 "--malformed-class: unknown class 'bogus'" -- --malformed-class too_short,bogus
expect 2 "--target: expected HOST:PORT" -- --target nonsense
expect 2 "port 0" -- --target 127.0.0.1:0
expect 2 "not a loopback address; pass --allow-remote" -- --target 192.0.2.1:2055
expect 2 "exporter-mode addr" -- --target [::1]:2055 --exporter-mode addr
expect 2 "only with --replay" -- --loop 3
expect 2 "apply to generated traffic only" -- --replay "$BASH_SOURCE" --loss 0.1
expect 2 "unknown|extra|not expected|The following argument" -- --no-such-option
# v9 / IPFIX options
expect 2 "protocol" -- --protocol v7
expect 2 "need --protocol v9 or ipfix" -- --ipv6-share 0.5
expect 2 "--varlen: NetFlow v9 has no variable-length fields" -- --protocol v9 --varlen
expect 2 "--withdraw-every: NetFlow v9 has no template withdrawal" -- --protocol v9 --withdraw-every 5
expect 2 "--ipv6-share: expected a fraction in 0..1" -- --protocol ipfix --ipv6-share 2
expect 2 "--samplers: expected rates like 100,1000" -- --protocol ipfix --samplers 10,x
expect 2 "--sampling: with --protocol ipfix expected a rate" -- --protocol ipfix --sampling 1:100
expect 2 "--template-refresh: expected N datagrams" -- --protocol v9 --template-refresh 20,x
expect 2 "--domain-collision: needs --domains 2" -- --protocol ipfix --domain-collision
expect 2 "--malformed-class: expected at least one class that --protocol v9" -- --protocol v9 --malformed-class count_zero
# sFlow options
expect 2 "only with --protocol sflow" -- --vxlan
expect 2 "only with --protocol sflow" -- --protocol ipfix --drops 0.1
expect 2 "--sub-agents: only with --protocol sflow" -- --sub-agents 2
expect 2 "--domains: with --protocol sflow give --sub-agents" -- --protocol sflow --domains 2
expect 2 "--sflow-records: expected a list" -- --protocol sflow --sflow-records header,bogus
expect 2 "--sflow-records: expected a list" -- --protocol sflow --sflow-records switch
expect 2 "--mpls and --vxlan: give one" -- --protocol sflow --mpls --vxlan
expect 2 "--header-bytes: expected 14..128" -- --protocol sflow --header-bytes 200
expect 2 "--cut-headers: needs the header record" -- --protocol sflow --sflow-records ip --cut-headers 0.1
expect 2 "apply to v9/ipfix only" -- --protocol sflow --template-separate
expect 2 "--malformed-class: expected at least one class that --protocol sflow" -- --protocol sflow --malformed-class count_zero
expect 2 "--malformed-class: expected at least one class that --protocol v5" -- --malformed-class agent_type

# A real run on loopback to a port nobody listens on (ICMP unreachable is
# fine: UDP sends still succeed). The truth must be readable with awk.
"$GEN" --target 127.0.0.1:9 --count 90 --exporters 3 --records 5 --quiet \
  --truth "$TMP/truth.tsv" --truth-keys "$TMP/keys.tsv"
awk -F'\t' '
  NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  $1 == "total" { total_d = $col["datagrams"]; total_f = $col["flows"]; next }
  { rows++; d += $col["datagrams"]; f += $col["flows"]
    if ($col["next_seq"] - $col["first_seq"] != 30 * 5 && $col["next_seq"] + 4294967296 - $col["first_seq"] != 150) bad = "sequence span" }
  END {
    if (rows != 3) bad = bad " rows=" rows
    if (d != 90 || total_d != 90) bad = bad " datagrams=" d "/" total_d
    if (f != 450 || total_f != 450) bad = bad " flows=" f "/" total_f
    if (bad != "") { print "FAIL: truth file: " bad; exit 1 }
    print "ok: truth file has 3 streams, 90 datagrams, 450 flows"
  }' "$TMP/truth.tsv" || fail=1
awk -F'\t' 'NR > 1 { f += $6 } END { if (f != 450) { print "FAIL: keys file flows " f; exit 1 } print "ok: keys file sums to 450 flows" }' \
  "$TMP/keys.tsv" || fail=1

# Same seed, same keys file (determinism of the traffic, not of the clock).
"$GEN" --target 127.0.0.1:9 --count 90 --exporters 3 --records 5 --quiet --truth-keys "$TMP/keys2.tsv"
if cmp -s "$TMP/keys.tsv" "$TMP/keys2.tsv"; then echo "ok: same seed, same per-key truth"; else echo "FAIL: keys differ for the same seed"; fail=1; fi
"$GEN" --target 127.0.0.1:9 --count 90 --exporters 3 --records 5 --quiet --seed 2 --truth-keys "$TMP/keys3.tsv"
if cmp -s "$TMP/keys.tsv" "$TMP/keys3.tsv"; then echo "FAIL: another seed gave the same keys"; fail=1; else echo "ok: another seed, other traffic"; fi

exit $fail
