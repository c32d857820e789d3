#!/usr/bin/env bash
# Exposing the metrics listener (issue 24 item 3; docs/config.md, "Exposing
# the listener"; src/metrics/http_auth.h, src/metrics/metrics_server.h), on
# loopback addresses only. 127.0.0.0/8 is loopback, so the credentials are
# set explicitly here: they apply on any listener once set.
#
# A collector with a bearer token file and a basic-auth file (a SHA-256
# crypt(3) hash made by `openssl passwd -5`, not by ringflow),
# max_connections_per_ip = 2, max_request_bytes = 4096 and the Capture page:
#   - no credentials, a wrong token, a wrong password, an unknown user: 401
#     with a WWW-Authenticate challenge per scheme (Bearer and Basic), on
#     /metrics, /api/v1/overview and /api/v1/capture alike;
#   - the right token, the right user and password: 200;
#   - POST, PUT, DELETE with the right token: 405 with Allow: GET, HEAD;
#     POST without credentials: 401 (nothing is said before authentication);
#   - two idle connections from 127.0.0.2 fill its share: a third from
#     127.0.0.2 is closed unanswered, while 127.0.0.3 is served 200;
#   - a request whose headers exceed 4096 bytes is refused (431), one
#     below is served;
#   - ringflow_metrics_auth_failures_total counts the 401s and
#     connections_refused_total{reason="max_connections_per_ip"} the refusal.
# And the start-up refusal: the Capture page on a listener that is not
# loopback (0.0.0.0; never bound: the check comes first) without
# credentials stops the collector with the reason; with a token file it
# would start (not run here: it would bind beyond loopback).
#
# Usage: e2e_metrics_auth_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
rf_need_tool curl "Debian's curl package"
rf_need_tool openssl "Debian's openssl package"
rf_need_tool python3 "Debian's python3 package"

token=tok-0123456789abcdef-e2e
printf '%s\n' "$token" >"$work/token"
printf '# users of the web view\nalice:%s\n' "$(openssl passwd -5 -salt e2esalt1 'hunter22')" >"$work/htpasswd"
grep -q '^alice:\$5\$' "$work/htpasswd" || fail "openssl made no SHA-256 crypt hash: $(cat "$work/htpasswd")"

rf_start_toml auth '[receive]
listen = ["127.0.0.1:0"]
[aggregate]
interval = 1
[output]
directory = "'"$work"'/auth/out"
[metrics]
listen = "127.0.0.1:0"
auth_token_file = "'"$work"'/token"
auth_basic_file = "'"$work"'/htpasswd"
max_connections_per_ip = 2
max_request_bytes = 4096
capture_datagrams = 5
[log]
stats_interval = 0'
base=${RF_MURL%/metrics}
hostport=${base#http://}
port=${hostport##*:}

# code METHOD PATH [curl args...]: the HTTP status.
code() {
  local m=$1 p=$2
  shift 2
  curl -s -m 5 -o /dev/null -w '%{http_code}' -X "$m" "$@" "$base$p"
}
bearer=(-H "Authorization: Bearer $token")
failures=0
for p in /metrics /api/v1/overview /api/v1/capture; do
  for wrong in "" "-H=Authorization: Bearer wrong-token-0123456789" \
               "-uALICE:hunter22" "-ualice:hunter2" "-H=Authorization: Bearer"; do
    args=()
    [ -z "$wrong" ] || { [ "${wrong:0:3}" = "-H=" ] && args=(-H "${wrong:3}") || args=("$wrong"); }
    c=$(code GET "$p" "${args[@]}")
    [ "$c" = 401 ] || fail "GET $p with '${wrong:-no credentials}': HTTP $c, want 401"
    failures=$((failures + 1))
  done
  [ "$(code GET "$p" "${bearer[@]}")" = 200 ] || fail "GET $p with the token: not 200"
  [ "$(code GET "$p" -u alice:hunter22)" = 200 ] || fail "GET $p as alice: not 200"
done
hdrs=$(curl -s -m 5 -D - -o /dev/null "$base/metrics")
failures=$((failures + 1))
grep -qi '^WWW-Authenticate: Bearer realm="ringflow"' <<<"$hdrs" || fail "no Bearer challenge: $hdrs"
grep -qi '^WWW-Authenticate: Basic realm="ringflow"' <<<"$hdrs" || fail "no Basic challenge: $hdrs"
for m in POST PUT DELETE; do
  [ "$(code "$m" /api/v1/overview "${bearer[@]}" -d x=1)" = 405 ] || fail "$m with the token: not 405"
done
allow=$(curl -s -m 5 -D - -o /dev/null -X POST "${bearer[@]}" "$base/metrics" | tr -d '\r' |
  sed -n 's/^[Aa]llow: //p')
[ "$allow" = "GET, HEAD" ] || fail "405 without Allow: GET, HEAD ($allow)"
[ "$(code POST /metrics -d x=1)" = 401 ] || fail "POST without credentials: not 401"
failures=$((failures + 1))

# Oversized headers.
big=$(head -c 6000 /dev/zero | tr '\0' a)
c=$(code GET /metrics "${bearer[@]}" -H "X-Big: $big")
[ "$c" = 431 ] || fail "6000 bytes of headers with max_request_bytes = 4096: HTTP $c, want 431"
small=$(head -c 2000 /dev/zero | tr '\0' a)
[ "$(code GET /metrics "${bearer[@]}" -H "X-Big: $small")" = 200 ] || fail "2000 bytes of headers refused"

# Per-client limit: two idle connections from 127.0.0.2, a third is closed
# unanswered; 127.0.0.3 is served meanwhile.
python3 - "$port" "$token" "$base" <<'PY' || fail "per-address connection limit (above)"
import socket, subprocess, sys, time
port, token, base = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def conn():
    s = socket.socket(); s.bind(("127.0.0.2", 0)); s.connect(("127.0.0.1", port)); return s
held = [conn(), conn()]
# Each held connection is known to the server once it answers on it (keep-alive).
req = ("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % token).encode()
for s in held:
    s.sendall(req); s.settimeout(5)
    assert s.recv(12).startswith(b"HTTP/1.1 200"), "a held connection was not served"
third = conn(); third.settimeout(5)
try:
    third.sendall(req)
    got = third.recv(100)
except (ConnectionResetError, BrokenPipeError):
    got = b""
if got:
    print("FAIL: a third connection from 127.0.0.2 was answered: %r" % got[:40]); sys.exit(1)
out = subprocess.run(["curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
                      "--interface", "127.0.0.3", "-H", "Authorization: Bearer " + token,
                      base + "/metrics"], capture_output=True, text=True).stdout
if out != "200":
    print("FAIL: 127.0.0.3 got HTTP %s while 127.0.0.2 was at its limit" % out); sys.exit(1)
print("127.0.0.2: third connection closed unanswered; 127.0.0.3 served 200")
for s in held: s.close()
PY

page=$(curl -fsS -m 5 "${bearer[@]}" "$base/metrics")
got=$(rf_family_sum ringflow_metrics_auth_failures_total <<<"$page")
[ "$got" = "$failures" ] || fail "ringflow_metrics_auth_failures_total $got, want $failures"
grep -q '^ringflow_metrics_connections_refused_total{reason="max_connections_per_ip"} [1-9]' <<<"$page" ||
  fail "no per-address refusal counted: $(grep connections_refused <<<"$page")"
rf_stop_collector

# Start-up refusal: the Capture page beyond loopback without credentials.
mkdir -p "$work/open"
cat >"$work/open/netflow.toml" <<EOT
[receive]
listen = ["127.0.0.1:0"]
[output]
directory = "$work/open/out"
[metrics]
listen = "0.0.0.0:0"
capture_datagrams = 5
[log]
stats_interval = 0
EOT
rc=0
timeout 60 "$ringflow" -c "$work/open/netflow.toml" </dev/null >"$work/open/stdout" 2>"$work/open/stderr" || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "the Capture page on 0.0.0.0 without credentials started (rc $rc)"
grep -q 'capture_datagrams.*is not loopback: set metrics.auth_token_file or metrics.auth_basic_file' \
  "$work/open/stderr" || fail "no clear reason: $(cat "$work/open/stderr")"
grep -q 'metrics: serving' "$work/open/stderr" && fail "the listener was bound"
echo "PASS"
