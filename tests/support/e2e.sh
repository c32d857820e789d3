# Helpers for the end-to-end test scripts (tests/*_test.sh), sourced:
#   . "$src/tests/support/e2e.sh"
#
# Synchronise, don't sleep: a script waits for the counter or the file it
# needs, polling with a deadline, and fails naming what it waited for, rather
# than sleeping a guessed time (too short on a loaded CI box, wasted
# elsewhere). The 50 ms poll is the only sleep.
#
#   rf_wait SECONDS WHAT COMMAND...   runs COMMAND until it succeeds; after
#                                     SECONDS prints "timed out after S s
#                                     waiting for WHAT" and returns 1
#   rf_scrape URL                     GET URL (the /metrics page) to stdout
#   rf_metric URL FAMILY              sum of every sample of FAMILY on that
#                                     page; "" when the page cannot be read
#   rf_metric_is URL FAMILY VALUE     true when rf_metric equals VALUE
#   rf_metric_at_least URL FAMILY N   true when rf_metric >= N
#   rf_serving_url LOGFILE            the /metrics URL a collector logged
#                                     ("metrics: serving http://...")
#   rf_listening_port LOGFILE         the UDP port a collector logged
#                                     ("listening on 127.0.0.1:PORT")
#   rf_udp_port                       a UDP port on loopback that no socket
#                                     uses, below the ephemeral range (32768
#                                     up), where another test's socket could
#                                     take it before ringflow binds it
#   rf_truth_total TSV COLUMN         COLUMN of the "total" row of a truth
#                                     file ringflow-gen --truth wrote
#   rf_csv_sum DIR COLUMN             COLUMN summed over every row of the
#                                     csv sink's interval files in DIR
#
# Needs curl (scripts/deps.sh --test installs it).

rf_wait() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "timed out after $seconds s waiting for $what" >&2
      return 1
    fi
    sleep 0.05
  done
}

rf_scrape() {
  curl -fsS -m 5 "$1"
}

rf_metric() {
  local page
  page=$(rf_scrape "$1" 2>/dev/null) || { echo ""; return 0; }
  awk -v n="$2" 'substr($0, 1, 1) != "#" && ($1 == n || index($1, n "{") == 1) { s += $2; seen = 1 }
                 END { if (seen) printf "%.0f\n", s; else print "" }' <<<"$page"
}

rf_metric_is() {
  [ "$(rf_metric "$1" "$2")" = "$3" ]
}

rf_metric_at_least() {
  local v
  v=$(rf_metric "$1" "$2")
  [ -n "$v" ] && [ "$v" -ge "$3" ]
}

rf_serving_url() {
  sed -n 's/.*metrics: serving \(http:[^ ]*\).*/\1/p' "$1" 2>/dev/null | head -n 1
}

rf_listening_port() {
  sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" 2>/dev/null | head -n 1
}

rf_truth_total() {
  awk -F'\t' -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
                        $1 == "total" { print $k }' "$1"
}

rf_csv_sum() {
  awk -F, -v c="$2" 'FNR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next } { s += $k }
                     END { printf "%.0f\n", s }' "$1"/flows-*.csv
}

rf_udp_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 12000))
    ss -Huan "sport = :$p" | grep -q . || { echo "$p"; return 0; }
  done
  echo "no free UDP port in 20000..31999" >&2
  return 1
}
