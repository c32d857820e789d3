# Shared by the gen_tshark*_test.sh scripts (sourced after support/e2e.sh):
# gt_setup RUN BUILD_DIR SOURCE_DIR: rf_setup, GEN and TMP, and the skips
# both scripts share: no tshark, or not root (RUN, their socket-path run,
# captures on lo with dumpcap).
gt_setup() {
  local run=$1
  shift
  rf_setup "$@"
  GEN=$gen TMP=$work
  [ -x "$GEN" ] || fail "missing $GEN (build the ringflow-gen target)"
  rf_need_tool tshark "Debian's tshark package"
  if [ "$(id -u)" != 0 ]; then
    rf_skip "the $run run captures on lo with dumpcap, which needs root (CI runs as root)"
  fi
}
# capture DIR GEN-ARGS...: sends to a loopback port while dumpcap captures lo,
# and leaves the datagrams sent, alone, in DIR/out.pcap (dissected on $PORT).
capture() {
  local dir=$1 port cap_pid sent rc=0
  shift
  # Nothing listens on the port: the probes (6 bytes) and the datagrams are
  # only captured, never received by anyone.
  port=$(rf_udp_port)
  dumpcap -q -i lo -f "udp dst port $port" -w "$dir/cap.pcapng" 2> "$dir/dumpcap.log" &
  cap_pid=$!
  # Capturing once a probe datagram is in the file (dumpcap writes as it goes).
  count() { capinfos -c -M "$dir/cap.pcapng" 2> /dev/null | awk '/Number of packets/ { print $NF }'; }
  probed() { echo probe > "/dev/udp/127.0.0.1/$port"; [ "$(count)" -gt 0 ] 2> /dev/null; }
  rf_wait 20 "dumpcap to capture on lo" probed || rc=1
  if [ $rc = 0 ]; then
    "$GEN" --target "127.0.0.1:$port" --truth "$dir/truth.tsv" --truth-keys "$dir/keys.tsv" -q "$@"
    sent=$(awk -F'\t' 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next} $1=="total"{print $c["datagrams"]}' "$dir/truth.tsv")
    # SIGINT drops what dumpcap has not written yet: stop once it wrote them all.
    all() { [ "$(tshark -r "$dir/cap.pcapng" -Y "udp.length > 20" 2> /dev/null | wc -l)" -ge "$sent" ]; }
    rf_wait 20 "dumpcap to write the $sent datagrams sent" all || rc=1
  fi
  kill -INT "$cap_pid"
  wait "$cap_pid" || true
  [ $rc = 0 ] || { cat "$dir/dumpcap.log"; return 1; }
  tshark -r "$dir/cap.pcapng" -Y "udp.length > 20" -F pcap -w "$dir/out.pcap" 2> /dev/null
  echo "$port" > "$dir/port"
}
