#!/usr/bin/env bash
# A private ClickHouse server for ringflow's tests and for trying the
# clickhouse sink by hand. Never touches the system service: everything (data,
# tmp, logs, config) lives under DIR, the server listens on 127.0.0.1 only, and
# it has no interserver port.
#
#   scripts/clickhouse.sh install          installs Debian's clickhouse-server
#                                          and clickhouse-client (scripts/deps.sh)
#   scripts/clickhouse.sh start DIR [HTTP_PORT [TCP_PORT]]
#                                          writes DIR/config.xml and DIR/users.xml,
#                                          starts the server in the background,
#                                          waits until GET /ping answers and prints
#                                          the HTTP port. Ports: given, else the ones
#                                          of a previous start in DIR (so a restart
#                                          comes back where clients expect it), else
#                                          free ones.
#   scripts/clickhouse.sh stop DIR         SIGTERM, wait up to 15 s, then SIGKILL.
#                                          (A graceful stop takes seconds: the
#                                          server keeps serving open keep-alive
#                                          connections while it shuts down.)
#   scripts/clickhouse.sh kill DIR         SIGKILL at once: a crash, for outage tests.
#   scripts/clickhouse.sh port DIR         prints the HTTP port of DIR's server.
#   scripts/clickhouse.sh cluster DIR N [NAME]
#                                          N servers DIR/shard1 .. DIR/shardN as the
#                                          shards of one cluster NAME (default
#                                          "ringflow"): each one's
#                                          config.d/cluster.xml lists every shard
#                                          (127.0.0.1 and its TCP port) under
#                                          <remote_servers>. Starts them and prints
#                                          their HTTP ports, one per line. Each
#                                          DIR/shardK is then an ordinary DIR for
#                                          start, stop, kill and port (a restart
#                                          keeps its ports and the cluster file).
#   scripts/clickhouse.sh cluster-stop DIR stops every DIR/shard*.
#
# Env RINGFLOW_CH_LISTEN=ADDR and RINGFLOW_CH_CLIENTS=CIDR (both or neither):
# also listen on ADDR and let clients from CIDR in, for a server inside a
# network namespace a test made (tests/e2e_cluster_netns_test.sh); never
# set them for a server in the host's own namespace.
#
# Users: "default" (no password) and "ringflow" with the password in
# DIR/password (random, made on first start) so that tests can check
# authentication and that the password never reaches a log.
set -euo pipefail

die() { echo "clickhouse.sh: $*" >&2; exit 1; }

server_bin() {
  local b
  for b in clickhouse-server /usr/sbin/clickhouse-server /usr/bin/clickhouse-server; do
    if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return 0; fi
  done
  return 1
}

port_free() {  # port_free PORT: nothing listens on 127.0.0.1:PORT (TCP)
  ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}
# port_unused PORT: no TCP socket in any state uses local port PORT (a
# restart on kept ports uses port_free: its old connections linger in
# TIME_WAIT, which the server's bind allows).
port_unused() {
  ! ss -Htan "sport = :$1" 2>/dev/null | grep -q .
}

# A free TCP port below the kernel's ephemeral range and not $1. A port
# inside that range can be taken between this check and the server's bind by
# any outgoing connection on the box (ctest runs two tests at a time, and
# their clients and the collectors' :0 listeners draw from that range): that
# failed a CI rehearsal with "Address already in use".
pick_port() {
  local lo=32768 p i span
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  span=$((lo - 20000))
  [ "$span" -ge 1000 ] || die "the ephemeral port range starts at $lo: no room below it for servers"
  for i in $(seq 1 200); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % span))
    [ "$p" != "${1:-}" ] && port_unused "$p" && { echo "$p"; return 0; }
  done
  die "no free port found"
}

write_config() {  # write_config DIR HTTP TCP
  local dir=$1 http=$2 tcp=$3
  mkdir -p "$dir/data" "$dir/tmp" "$dir/log" "$dir/user_files" "$dir/format_schemas"
  # 18.16's format (<yandex> root). Caches are small: the test machine is
  # shared, and the defaults (8 GiB + 5 GiB) are sized for a dedicated box.
  cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>information</level>
        <log>$dir/log/clickhouse-server.log</log>
        <errorlog>$dir/log/clickhouse-server.err.log</errorlog>
        <size>20M</size>
        <count>2</count>
    </logger>
    <http_port>$http</http_port>
    <tcp_port>$tcp</tcp_port>
    <listen_host>127.0.0.1</listen_host>${RINGFLOW_CH_LISTEN:+
    <listen_host>$RINGFLOW_CH_LISTEN</listen_host>}
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>32</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
</yandex>
EOF
  [ -s "$dir/password" ] || head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/password"
  local pw_sha
  pw_sha=$(tr -d '\n' <"$dir/password" | sha256sum | cut -d' ' -f1)
  cat >"$dir/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip>${RINGFLOW_CH_CLIENTS:+<ip>$RINGFLOW_CH_CLIENTS</ip>}</networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
        <ringflow>
            <password_sha256_hex>$pw_sha</password_sha256_hex>
            <networks><ip>127.0.0.1</ip><ip>::1</ip>${RINGFLOW_CH_CLIENTS:+<ip>$RINGFLOW_CH_CLIENTS</ip>}</networks>
            <profile>default</profile>
            <quota>default</quota>
        </ringflow>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

# The pid of DIR's server: from its pid file if that process still runs with
# DIR's config, else found by that exact --config-file argument (e.g. a pid
# file left by a killed server). Prints nothing when no server runs.
server_pid() {
  local dir=$1 pid
  if [ -s "$dir/server.pid" ]; then
    pid=$(cat "$dir/server.pid")
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--config-file=$dir/config.xml"; then
      echo "$pid"
      return 0
    fi
  fi
  pgrep -f -x -- ".*clickhouse-server --config-file=$dir/config.xml.*" | head -n 1 || true
}

pid_alive() { [ -n "$(server_pid "$1")" ]; }

cmd_start() {
  local dir=${1:?usage: clickhouse.sh start DIR [HTTP_PORT [TCP_PORT]]}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local bin
  bin=$(server_bin) || die "clickhouse-server is not installed (scripts/clickhouse.sh install)"
  if pid_alive "$dir"; then
    cat "$dir/http_port"
    return 0
  fi
  local http=${2:-} tcp=${3:-}
  [ -z "$http" ] && [ -s "$dir/http_port" ] && http=$(cat "$dir/http_port")
  [ -z "$tcp" ] && [ -s "$dir/tcp_port" ] && tcp=$(cat "$dir/tcp_port")
  [ -z "$http" ] && http=$(pick_port)
  [ -z "$tcp" ] && tcp=$(pick_port "$http")
  port_free "$http" || die "HTTP port $http is in use"
  port_free "$tcp" || die "TCP port $tcp is in use"
  echo "$http" >"$dir/http_port"
  echo "$tcp" >"$dir/tcp_port"
  write_config "$dir" "$http" "$tcp"

  # setsid: the server must not share the caller's process group, so that a
  # test killing its own children does not take the server down by accident.
  # setsid forks when it happens to lead a process group, so $! may not be
  # the server: server_pid finds it by its --config-file. The whole subshell
  # is redirected: nothing may keep the caller's stdout open (a
  # "$(clickhouse.sh start DIR)" would wait for it forever).
  rm -f "$dir/server.pid"
  ( cd "$dir" && exec setsid "$bin" --config-file="$dir/config.xml" ) \
      >>"$dir/log/stdout.log" 2>&1 </dev/null &
  local i
  for i in $(seq 1 300); do  # 30 s: the first start creates the system database
    if curl -fsS -m 1 "http://127.0.0.1:$http/ping" >/dev/null 2>&1; then
      server_pid "$dir" >"$dir/server.pid"
      echo "$http"
      return 0
    fi
    # Give the exec a moment before taking "no process" as "it died".
    [ "$i" -lt 20 ] || pid_alive "$dir" || break
    sleep 0.1
  done
  echo "clickhouse.sh: server in $dir did not answer /ping on port $http; last log lines:" >&2
  tail -n 20 "$dir/log/clickhouse-server.err.log" "$dir/log/stdout.log" >&2 2>/dev/null || true
  cmd_stop "$dir" >/dev/null 2>&1 || true
  exit 1
}

cmd_stop() {
  local dir=${1:?usage: clickhouse.sh stop DIR}
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd)
  local pid i
  pid=$(server_pid "$dir")
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "clickhouse.sh: server $pid ignored SIGTERM for 15 s; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$dir/server.pid"
}

cmd_kill() {
  local dir=${1:?usage: clickhouse.sh kill DIR}
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd)
  local pid i
  pid=$(server_pid "$dir")
  if [ -n "$pid" ]; then
    kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$dir/server.pid"
}

# cluster DIR N [NAME]: ports first (all distinct, kept from a previous run
# of the same DIR), then every shard's cluster file, then the servers.
cmd_cluster() {
  local dir=${1:?usage: clickhouse.sh cluster DIR N [NAME]} n=${2:?usage: clickhouse.sh cluster DIR N [NAME]}
  local name=${3:-ringflow}
  [[ "$n" =~ ^[1-9][0-9]?$ ]] || die "cluster: N must be 1..99, found '$n'"
  [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "cluster: bad cluster name '$name'"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local k used="" http tcp
  local -a https tcps
  for k in $(seq 1 "$n"); do
    local sd=$dir/shard$k
    mkdir -p "$sd/config.d"
    http=""; tcp=""
    [ -s "$sd/http_port" ] && http=$(cat "$sd/http_port")
    [ -s "$sd/tcp_port" ] && tcp=$(cat "$sd/tcp_port")
    while [ -z "$http" ] || [[ " $used " == *" $http "* ]]; do http=$(pick_port); done
    used="$used $http"
    while [ -z "$tcp" ] || [[ " $used " == *" $tcp "* ]]; do tcp=$(pick_port); done
    used="$used $tcp"
    https[$k]=$http
    tcps[$k]=$tcp
  done
  local shards=""
  for k in $(seq 1 "$n"); do
    shards="$shards            <shard><replica><host>127.0.0.1</host><port>${tcps[$k]}</port></replica></shard>
"
  done
  for k in $(seq 1 "$n"); do
    # Merged into config.xml by the server (config.d next to the config
    # file); write_config leaves config.d alone, so restarts keep it.
    cat >"$dir/shard$k/config.d/cluster.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <remote_servers>
        <$name>
$shards        </$name>
    </remote_servers>
</yandex>
EOF
  done
  for k in $(seq 1 "$n"); do
    cmd_start "$dir/shard$k" "${https[$k]}" "${tcps[$k]}"
  done
}

cmd_cluster_stop() {
  local dir=${1:?usage: clickhouse.sh cluster-stop DIR} sd
  [ -d "$dir" ] || return 0
  for sd in "$dir"/shard*; do
    [ -d "$sd" ] && cmd_stop "$sd"
  done
  return 0
}

case "${1:-}" in
  install) exec bash "$(dirname "$0")/deps.sh" clickhouse-server clickhouse-client ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  kill) shift; cmd_kill "$@" ;;
  port) cat "${2:?usage: clickhouse.sh port DIR}/http_port" ;;
  cluster) shift; cmd_cluster "$@" ;;
  cluster-stop) shift; cmd_cluster_stop "$@" ;;
  *) echo "usage: clickhouse.sh install | start DIR [HTTP_PORT [TCP_PORT]] | stop DIR | kill DIR | port DIR" \
          "| cluster DIR N [NAME] | cluster-stop DIR" >&2; exit 2 ;;
esac
