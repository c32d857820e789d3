#!/usr/bin/env bash
# The Grafana dashboard (docs/grafana/ringflow.json) stays true (issue 18,
# item 5): it parses; every metric its queries use is documented in
# docs/metrics.md and is served by a running collector; every PromQL query
# parses (promtool); the ClickHouse panels use only columns of the table in
# docs/clickhouse.md; panels have unique ids and a data source variable.
# Usage: docs_dashboard_test.sh BUILD_DIR SOURCE_DIR
# shellcheck disable=SC2016  # backquotes are SQL's and Markdown's here
set -euo pipefail
# shellcheck source=tests/support/e2e.sh
. "$(dirname "$0")/support/e2e.sh"
rf_setup "$@"
dash=$src/docs/grafana/ringflow.json

# jq, promtool (Debian's prometheus) and curl: tests install nothing
# (scripts/deps.sh --test does), so without them this is skipped, loudly.
for tool in jq promtool curl; do
  command -v "$tool" > /dev/null ||
    { echo "SKIP: $tool is not installed (as root: scripts/deps.sh --test)" >&2; exit 77; }
done

jq empty "$dash" || fail "$dash is not valid JSON"
[ "$(jq -r .uid "$dash")" = ringflow ] || fail "dashboard uid is not 'ringflow'"
jq -e '.templating.list | map(.name) | index("datasource") and index("clickhouse")' "$dash" > /dev/null ||
  fail "no datasource / clickhouse variables"
dups=$(jq -r '[.. | objects | select(has("gridPos")) | .id] | group_by(.) | map(select(length > 1)[0]) | .[]' "$dash")
[ -z "$dups" ] || fail "duplicate panel ids: $dups"
bad=$(jq -r '.panels[] | select(.type != "row") |
             select((.datasource.uid | IN("${datasource}", "${clickhouse}")) | not) | .title' "$dash")
[ -z "$bad" ] || fail "panels without a data source variable: $bad"
empty=$(jq -r '.panels[] | select(.type != "row" and ((.targets // []) | length) == 0) | .title' "$dash")
[ -z "$empty" ] || fail "panels without queries: $empty"
echo "  ok  $(jq '[.panels[] | select(.type != "row")] | length' "$dash") panels, valid JSON, unique ids"

# PromQL: the panels' expressions and the variables' label_values() queries.
jq -r '.. | objects | select(.datasource.type? == "prometheus") | .expr? // empty' "$dash" > "$work/exprs"
jq -r '.templating.list[] | select(.type == "query") | .definition' "$dash" > "$work/vars"
[ "$(wc -l < "$work/exprs")" -ge 20 ] || fail "only $(wc -l < "$work/exprs") Prometheus queries found"
grep -ohE '\b(ringflow|process)_[a-z0-9_]+' "$work/exprs" "$work/vars" | sort -u > "$work/metrics"
missing=
while read -r m; do
  grep -q "^| \`$m\` |" "$src/docs/metrics.md" || missing="$missing $m"
done < "$work/metrics"
[ -z "$missing" ] || fail "metrics the dashboard uses but docs/metrics.md does not document:$missing"
echo "  ok  the $(wc -l < "$work/metrics") metrics it uses are in docs/metrics.md"

# Each expression as a recording rule, Grafana's variables given values.
{
  echo "groups:"
  echo "  - name: dashboard"
  echo "    rules:"
  n=0
  while IFS= read -r e; do
    n=$((n + 1))
    e=${e//\$__rate_interval/1m}
    e=${e//\$__range/1h}
    e=${e//\$instance/.*}
    e=${e//\$job/.*}
    printf '      - record: dashboard:query%d\n        expr: %s\n' "$n" "$(jq -Rn --arg e "$e" '$e')"
  done < "$work/exprs"
} > "$work/rules.yml"
promtool check rules "$work/rules.yml" > "$work/promtool.out" 2>&1 ||
  { cat "$work/promtool.out" >&2; fail "promtool rejects a dashboard query ($work/rules.yml)"; }
echo "  ok  promtool parses all $(wc -l < "$work/exprs") queries"

# ClickHouse panels: every `column` is one of the table's (docs/clickhouse.md).
sed -n '/^CREATE TABLE IF NOT EXISTS `default`.`ringflow_flows`/,/^) ENGINE/p' "$src/docs/clickhouse.md" |
  sed -n 's/^  `\([a-z_]*\)`.*/\1/p' | sort -u > "$work/columns"
[ "$(wc -l < "$work/columns")" -ge 10 ] || fail "no CREATE TABLE found in docs/clickhouse.md"
jq -r '.. | objects | select(.datasource.type? == "grafana-clickhouse-datasource") | .rawSql? // empty' "$dash" \
  > "$work/sql"
[ -s "$work/sql" ] || fail "no ClickHouse queries"
while read -r c; do
  grep -qx "$c" "$work/columns" || fail "ClickHouse panel uses column \`$c\`, not in docs/clickhouse.md's table"
done < <(grep -o '`[a-z_]*`' "$work/sql" | tr -d '`' | sort -u)
echo "  ok  ClickHouse queries use only columns of the documented table"

# A running collector serves every metric the dashboard uses (a csv sink, a
# ClickHouse sink whose server is down, traffic from one exporter).
rf_start_collector run --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --interval 1 \
  --output-dir "$work/out" \
  --set 'sink=[{type = "csv"}, {type = "clickhouse", url = "http://127.0.0.1:1", timeout_ms = 200}]'
port=$RF_PORT murl=$RF_MURL
[ -n "$murl" ] || fail "ringflow does not serve /metrics"
"$build/ringflow-gen" --target "127.0.0.1:$port" --count 100 --pps 1000 --quiet
served() {
  curl -sf "$murl" > "$work/scrape" || return 1
  grep -q '^ringflow_stream_lost_flows{' "$work/scrape" && grep -q '^ringflow_sink_rows_written_total{sink="csv"}' "$work/scrape"
}
deadline=$((SECONDS + 20))
until served; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the collector's scrape never showed its stream and sink series"
  sleep 0.2
done
missing=
while read -r m; do
  grep -q "^# TYPE $m " "$work/scrape" || missing="$missing $m"
done < "$work/metrics"
[ -z "$missing" ] || fail "metrics the dashboard uses that a running collector does not serve:$missing"
echo "  ok  a running collector serves all of them"
echo "docs_dashboard: PASS"
